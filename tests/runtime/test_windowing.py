"""Windows on a virtual clock: alignment, every window type in processing time, event time,
and incremental aggregation (spec §5, conformance README "How eKuiper's test harness drives time").

The rule starts at START = 09:54:46.000 UTC; times in the tests are ms after START.
"""

from __future__ import annotations

import datetime as dt

import pytest

from arrokoth.replay import run_case
from arrokoth.runtime.windowing import align

START = 1_541_152_486_000  # the rule start of the `rule` fixture (tests/runtime/conftest.py)


def utc(s: str) -> int:
    """Epoch ms of an ISO time written in UTC."""
    return int(dt.datetime.fromisoformat(s).replace(tzinfo=dt.UTC).timestamp() * 1000)


def shifted(emissions: list[list[dict]], *keys: str) -> list[list[dict]]:
    """The emissions with the time-valued keys made relative to START."""
    return [[{k: (v - START if k in keys else v) for k, v in row.items()} for row in e] for e in emissions]


WS = "window_start() AS ws, window_end() AS we"
TS_DEMO = 'CREATE STREAM demo (a BIGINT, ts BIGINT) WITH (DATASOURCE="demo", TYPE="mock", TIMESTAMP="ts")'
TS_DEMO1 = 'CREATE STREAM demo1 (b BIGINT, ts BIGINT) WITH (DATASOURCE="demo1", TYPE="mock", TIMESTAMP="ts")'
EVENT_TIME = {"isEventTime": True}


# --- align ------------------------------------------------------------------------------


def test_start_is_the_corpus_rule_start():
    assert utc("2018-11-02T09:54:46") == START


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "09:54:47"),  # the next second
        (2, "09:54:48"),
        (5, "09:54:50"),
        (10, "09:54:50"),
        (15, "09:55:00"),
        (30, "09:55:00"),
        (50, "09:54:50"),  # sec <= n: minute start + n
        (59, "09:54:59"),
    ],
)
def test_align_seconds_is_the_next_multiple_within_the_minute(n, expected):
    assert align(START, n, "SS") == utc(f"2018-11-02T{expected}")


def test_align_seconds_when_the_second_equals_n_gives_t_itself():
    assert align(START, 46, "SS") == START
    # the fraction of the second is dropped, so the end is even before t
    assert align(START + 300, 46, "SS") == START


def test_align_seven_seconds_restarts_every_minute_instead_of_following_the_epoch():
    assert align(utc("2018-11-02T09:54:46"), 7, "SS") == utc("2018-11-02T09:54:49")
    assert align(utc("2018-11-02T09:54:50"), 7, "SS") == utc("2018-11-02T09:54:56")
    # 7 * (57 // 7 + 1) = 63 seconds after the minute start
    assert align(utc("2018-11-02T09:54:57"), 7, "SS") == utc("2018-11-02T09:55:03")
    # and in the next minute the count starts again from :00, not from :03
    assert align(utc("2018-11-02T09:55:02"), 7, "SS") == utc("2018-11-02T09:55:07")
    assert align(utc("2018-11-02T09:55:08"), 7, "SS") == utc("2018-11-02T09:55:14")


@pytest.mark.parametrize(
    ("offset", "n", "expected"),
    [
        (123, 100, 200),
        (123, 500, 500),
        (123, 123, 123),  # field == n: the end is t itself
        (0, 100, 100),
        (950, 100, 1000),  # the next second
        (999, 7, 1001),  # 7 * (999 // 7 + 1) = 1001 ms after the second start
    ],
)
def test_align_milliseconds_within_the_second(offset, n, expected):
    assert align(START + offset, n, "MS") == START + expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "09:55:00"),
        (5, "09:55:00"),
        (10, "10:00:00"),
        (7, "09:56:00"),  # 7 * (54 // 7 + 1) = 56
        (54, "09:54:00"),  # minute == n: hour start + n, before t
        (55, "09:55:00"),
    ],
)
def test_align_minutes_within_the_hour(n, expected):
    assert align(START, n, "MI") == utc(f"2018-11-02T{expected}")


@pytest.mark.parametrize(
    ("n", "expected"),
    [(1, "10:00"), (2, "10:00"), (4, "12:00"), (5, "10:00"), (9, "09:00"), (12, "12:00"), (24, "2018-11-03T00:00")],
)
def test_align_hours_within_the_day(n, expected):
    if "T" not in expected:
        expected = f"2018-11-02T{expected}"
    assert align(START, n, "HH") == utc(expected)


def test_align_days_is_local_midnight_n_days_later():
    assert align(START, 1, "DD") == utc("2018-11-03T00:00")
    assert align(START, 3, "DD") == utc("2018-11-05T00:00")


def test_align_uses_local_wall_clock_fields(local_tz):
    local_tz("Asia/Kolkata")  # UTC+05:30: START is 15:24:46 local
    assert align(START, 1, "HH") == utc("2018-11-02T10:30")  # 16:00 local
    assert align(START, 7, "MI") == utc("2018-11-02T09:58")  # 15:28 local, 7 * (24 // 7 + 1)
    assert align(START, 1, "DD") == utc("2018-11-02T18:30")  # local midnight
    assert align(START, 5, "SS") == utc("2018-11-02T09:54:50")  # whole-minute offset: seconds unchanged


def test_align_days_across_a_daylight_saving_change_is_a_calendar_midnight(local_tz):
    # New York leaves daylight saving time on 2018-11-04: midnight of the 5th is EST (-5)
    local_tz("America/New_York")
    assert align(START, 1, "DD") == utc("2018-11-03T04:00")  # EDT midnight
    assert align(START, 3, "DD") == utc("2018-11-05T05:00")  # EST midnight


def test_align_hours_on_a_daylight_saving_day_counts_from_the_real_midnight(local_tz):
    # eKuiper: time.Date(day, 00:00, local) + gap hours. Midnight of 2018-11-04 is EDT
    # (04:00Z); 10:00 EST is 15:00Z; hour 10 > 1, so gap = 11 h: 04:00Z + 11 h = 15:00Z
    local_tz("America/New_York")
    assert align(utc("2018-11-04T15:00"), 1, "HH") == utc("2018-11-04T15:00")
    assert align(utc("2018-11-04T15:30"), 2, "HH") == utc("2018-11-04T16:00")


# --- tumbling (processing time) ---------------------------------------------------------


def test_tumbling_fires_at_aligned_ends_with_the_rows_of_each_interval(rule):
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY TUMBLINGWINDOW(ss, 2)")
    h.send("demo", {"a": 1}, at=100)
    h.send("demo", {"a": 2}, at=1999)
    h.send("demo", {"a": 3}, at=2000)  # the timer at 2000 fires before this row: next window
    h.send("demo", {"a": 4}, at=3500)
    assert shifted(h.take(), "ws", "we") == [
        [{"a": 1, "ws": 0, "we": 2000}, {"a": 2, "ws": 0, "we": 2000}],
    ]
    h.advance(4000)
    assert shifted(h.take(), "ws", "we") == [[{"a": 3, "ws": 2000, "we": 4000}, {"a": 4, "ws": 2000, "we": 4000}]]


def test_tumbling_empty_windows_emit_an_empty_list(rule):
    h = rule("SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)")
    h.send("demo", {"a": 1}, at=500)
    h.advance(3000)
    assert h.take() == [[{"a": 1}], [], []]


def test_tumbling_aggregate_over_an_empty_window_emits_an_empty_list(rule):
    h = rule("SELECT count(*) AS c FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)")
    h.advance(2000)
    assert h.take() == [[], []]


def test_tumbling_first_window_starts_at_the_rule_start_and_may_be_short(rule):
    h = rule(f"SELECT count(*) AS c, {WS} FROM demo GROUP BY TUMBLINGWINDOW(ss, 2)", start=START + 1300)
    h.send("demo", {"a": 1}, at=1400)
    h.advance(4000)
    # align(:47.3, 2) = :48: the first window is only 700 ms long
    assert shifted(h.take(), "ws", "we") == [[{"c": 1, "ws": 1300, "we": 2000}], []]


def test_tumbling_with_sec_equal_to_n_fires_at_once(rule):
    h = rule(f"SELECT count(*) AS c, {WS} FROM demo GROUP BY TUMBLINGWINDOW(ss, 46)")
    h.advance(0)
    assert shifted(h.take(), "ws", "we") == [[]]
    h.send("demo", {"a": 1}, at=100)
    h.advance(45_999)
    assert h.take() == []
    h.advance(46_000)
    assert shifted(h.take(), "ws", "we") == [[{"c": 1, "ws": 0, "we": 46_000}]]


def test_tumbling_stop_cancels_the_timer(rule):
    h = rule("SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)")
    h.rule.stop()
    h.advance(5000)
    assert h.take() == []


# --- hopping ----------------------------------------------------------------------------


def test_hopping_fires_every_hop_with_the_rows_of_the_last_size(rule):
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY HOPPINGWINDOW(ss, 2, 1)")
    h.send("demo", {"a": 1}, at=100)
    h.send("demo", {"a": 2}, at=1100)
    h.send("demo", {"a": 3}, at=2500)
    h.advance(4000)
    out = shifted(h.take(), "ws", "we")
    assert [[r["a"] for r in e] for e in out] == [[1], [1, 2], [2, 3], [3]]
    assert [(e[0]["ws"], e[0]["we"]) for e in out] == [(-1000, 1000), (0, 2000), (1000, 3000), (2000, 4000)]


def test_hopping_window_start_is_the_previous_fire_minus_the_hop(rule):
    # size 3, hop 1: the rows are those of [T-3, T) but window_start is reported as T-2
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY HOPPINGWINDOW(ss, 3, 1)")
    for i, t in enumerate([100, 1100, 2100, 3100]):
        h.send("demo", {"a": i}, at=t)
    h.advance(4000)
    out = shifted(h.take(), "ws", "we")
    assert [[r["a"] for r in e] for e in out] == [[0], [0, 1], [0, 1, 2], [1, 2, 3]]
    assert [(e[0]["ws"], e[0]["we"]) for e in out] == [(-1000, 1000), (0, 2000), (1000, 3000), (2000, 4000)]


def test_hopping_is_aligned_on_the_hop(rule):
    h = rule(f"SELECT count(*) AS c, {WS} FROM demo GROUP BY HOPPINGWINDOW(ss, 10, 5)")
    h.send("demo", {"a": 1}, at=100)
    h.advance(4000)
    assert shifted(h.take(), "ws", "we") == [[{"c": 1, "ws": -5000, "we": 4000}]]  # :50


def test_hopping_empty_window_emits_an_empty_list(rule):
    h = rule("SELECT a FROM demo GROUP BY HOPPINGWINDOW(ss, 2, 1)")
    h.send("demo", {"a": 1}, at=100)
    h.advance(4000)
    assert h.take() == [[{"a": 1}], [{"a": 1}], [], []]


# --- sliding ----------------------------------------------------------------------------


def test_sliding_fires_on_each_row_with_both_ends_included(rule):
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY SLIDINGWINDOW(ss, 2)")
    for i, t in enumerate([0, 1000, 2000, 2001, 4500]):
        h.send("demo", {"a": i}, at=t)
    out = shifted(h.take(), "ws", "we")
    assert [[r["a"] for r in e] for e in out] == [[0], [0, 1], [0, 1, 2], [1, 2, 3], [4]]
    assert [(e[0]["ws"], e[0]["we"]) for e in out] == [(-2000, 0), (-1000, 1000), (0, 2000), (1, 2001), (2500, 4500)]


def test_sliding_with_a_delay_emits_later_and_excludes_the_end(rule):
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY SLIDINGWINDOW(ss, 2, 1)")
    h.send("demo", {"a": 0}, at=0)
    h.send("demo", {"a": 1}, at=500)
    assert h.take() == []  # nothing before the delay
    h.send("demo", {"a": 2}, at=999)
    assert shifted(h.take(), "ws", "we") == []
    h.send("demo", {"a": 3}, at=1000)  # the delay of row 0 ends at 1000: [-2000, 1000) before row 3
    assert shifted(h.take(), "ws", "we") == [
        [{"a": 0, "ws": -2000, "we": 1000}, {"a": 1, "ws": -2000, "we": 1000}, {"a": 2, "ws": -2000, "we": 1000}],
    ]
    h.advance(1500)
    out = shifted(h.take(), "ws", "we")
    assert [[r["a"] for r in e] for e in out] == [[0, 1, 2, 3]]
    assert (out[0][0]["ws"], out[0][0]["we"]) == (-1500, 1500)


def test_sliding_over_when_only_matching_rows_trigger(rule):
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY SLIDINGWINDOW(ss, 2) OVER (WHEN a > 2)")
    for i, t in enumerate([0, 1000, 2000, 2500, 3000, 6000]):
        h.send("demo", {"a": i}, at=t)
    out = shifted(h.take(), "ws", "we")
    # rows 0-2 never trigger, but stay in the window of row 3
    assert [[r["a"] for r in e] for e in out] == [[1, 2, 3], [1, 2, 3, 4], [5]]
    assert [(e[0]["ws"], e[0]["we"]) for e in out] == [(500, 2500), (1000, 3000), (4000, 6000)]


def test_sliding_over_when_with_a_delay(rule):
    h = rule("SELECT a FROM demo GROUP BY SLIDINGWINDOW(ss, 1, 1) OVER (WHEN a = 1)")
    h.send("demo", {"a": 0}, at=0)
    h.send("demo", {"a": 1}, at=500)
    h.send("demo", {"a": 2}, at=1400)
    h.send("demo", {"a": 3}, at=1600)
    assert h.take() == [[{"a": 0}, {"a": 1}, {"a": 2}]]  # [-500, 1500)


# --- session ----------------------------------------------------------------------------


def test_session_closes_after_the_timeout(rule):
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY SESSIONWINDOW(ss, 10, 2)")
    h.send("demo", {"a": 0}, at=500)
    h.send("demo", {"a": 1}, at=1500)
    h.advance(3499)
    assert h.take() == []
    h.advance(3500)  # last row + timeout
    assert shifted(h.take(), "ws", "we") == [[{"a": 0, "ws": 500, "we": 3500}, {"a": 1, "ws": 500, "we": 3500}]]
    h.send("demo", {"a": 2}, at=6000)
    h.advance(20_000)
    assert shifted(h.take(), "ws", "we") == [[{"a": 2, "ws": 6000, "we": 8000}]]


def test_session_without_rows_emits_nothing(rule):
    h = rule("SELECT a FROM demo GROUP BY SESSIONWINDOW(ss, 2, 1)")
    h.advance(30_000)
    assert h.take() == []


def test_session_max_duration_tick_splits_a_long_session(rule):
    # ticks at align(:46, 2) = :48 (2000), then every 2 s; rows keep coming within the 1 s timeout
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY SESSIONWINDOW(ss, 2, 1)")
    for i, t in enumerate([500, 1200, 1900, 2600, 3300, 3900]):
        h.send("demo", {"a": i}, at=t)
    # tick at 2000: the oldest row is only 1500 ms old, no emission
    assert h.take() == []
    h.send("demo", {"a": 6}, at=4100)
    # tick at 4000: the oldest row is 3500 ms old; rows before the tick go out
    assert shifted(h.take(), "ws", "we") == [[{"a": i, "ws": 500, "we": 4000} for i in range(6)]]
    h.advance(10_000)
    # the rest of the session reports the tick as its start
    assert shifted(h.take(), "ws", "we") == [[{"a": 6, "ws": 4000, "we": 5100}]]


def test_session_after_a_tick_emptied_it_keeps_the_tick_as_start(rule):
    # eKuiper sets the session start only when its timeout timer is not armed: a row that
    # arrives after a tick took every row, but before the timeout, continues the session
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY SESSIONWINDOW(ss, 2, 1)")
    for i, t in enumerate([500, 1200, 1900, 2600, 3300, 3900]):
        h.send("demo", {"a": i}, at=t)
    h.advance(4000)
    assert len(h.take()) == 1
    h.send("demo", {"a": 6}, at=4600)
    h.advance(10_000)
    assert shifted(h.take(), "ws", "we") == [[{"a": 6, "ws": 4000, "we": 5600}]]


# --- count ------------------------------------------------------------------------------


def test_count_window_emits_every_n_rows(rule):
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY COUNTWINDOW(3)")
    for i in range(7):
        h.send("demo", {"a": i}, at=100 * i)
    out = shifted(h.take(), "ws", "we")
    assert [[r["a"] for r in e] for e in out] == [[0, 1, 2], [3, 4, 5]]
    # window_start = window_end = the time of the triggering row
    assert [{(r["ws"], r["we"]) for r in e} for e in out] == [{(200, 200)}, {(500, 500)}]


def test_count_window_with_an_interval_emits_the_last_n_rows_every_m(rule):
    h = rule("SELECT a FROM demo GROUP BY COUNTWINDOW(3, 2)")
    for i in range(8):
        h.send("demo", {"a": i}, at=100 * i)
    # row 1 is the 2nd row but fewer than 3 rows exist: nothing
    assert [[r["a"] for r in e] for e in h.take()] == [[1, 2, 3], [3, 4, 5], [5, 6, 7]]


def test_count_window_needs_no_timer(rule):
    h = rule("SELECT a FROM demo GROUP BY COUNTWINDOW(2)")
    h.send("demo", {"a": 1}, at=0)
    h.advance(60_000)
    assert h.take() == []


# --- state ------------------------------------------------------------------------------


def test_state_window_with_begin_and_emit_conditions(rule):
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY STATEWINDOW(a = 1, a = 3)")
    for i, a in enumerate([0, 3, 1, 3, 2, 3, 3, 1, 1, 5, 3]):
        h.send("demo", {"a": a}, at=100 * i)
    out = shifted(h.take(), "ws", "we")
    # idle rows (0, 3) are dropped; the opening row is not tested against emitCond
    assert [[r["a"] for r in e] for e in out] == [[1, 3], [1, 1, 5, 3]]
    assert [(e[0]["ws"], e[0]["we"]) for e in out] == [(200, 300), (700, 1000)]


def test_state_window_opening_row_does_not_close_it(rule):
    h = rule("SELECT a FROM demo GROUP BY STATEWINDOW(a > 0, a > 0)")
    for i, a in enumerate([1, 2, 0, 3]):
        h.send("demo", {"a": a}, at=100 * i)
    assert h.take() == [[{"a": 1}, {"a": 2}]]


def test_state_window_with_one_condition(rule):
    # the spec's example: statewindow(had_changed(true, a)) over 1,1,1,2,2,3
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY STATEWINDOW(had_changed(true, a))")
    for i, a in enumerate([1, 1, 1, 2, 2, 3]):
        h.send("demo", {"a": a}, at=100 * i)
    out = shifted(h.take(), "ws", "we")
    assert [[r["a"] for r in e] for e in out] == [[1, 1, 1], [2, 2]]
    assert [(e[0]["ws"], e[0]["we"]) for e in out] == [(0, 300), (300, 500)]


def test_state_window_with_one_condition_waits_for_the_first_hit(rule):
    h = rule("SELECT a FROM demo GROUP BY STATEWINDOW(a = 1)")
    for i, a in enumerate([0, 2, 1, 2, 1, 0, 1]):
        h.send("demo", {"a": a}, at=100 * i)
    assert h.take() == [[{"a": 1}, {"a": 2}], [{"a": 1}, {"a": 0}]]


def test_state_window_partition_by_keeps_one_state_machine_per_key(rule):
    h = rule(f"SELECT k, a, {WS} FROM demo GROUP BY STATEWINDOW(a = 1, a = 3) OVER (PARTITION BY k)")
    rows = [("x", 1), ("y", 1), ("x", 2), ("y", 3), ("x", 3), ("y", 3), ("x", 1)]
    for i, (k, a) in enumerate(rows):
        h.send("demo", {"k": k, "a": a}, at=100 * i)
    out = shifted(h.take(), "ws", "we")
    assert [[(r["k"], r["a"]) for r in e] for e in out] == [[("y", 1), ("y", 3)], [("x", 1), ("x", 2), ("x", 3)]]
    assert [(e[0]["ws"], e[0]["we"]) for e in out] == [(100, 300), (0, 400)]


def test_state_window_partition_with_one_condition(rule):
    h = rule("SELECT k, a FROM demo GROUP BY STATEWINDOW(a > 0) OVER (PARTITION BY k)")
    rows = [("x", 1), ("y", 0), ("y", 1), ("x", 0), ("y", 0), ("x", 2), ("y", 3)]
    for i, (k, a) in enumerate(rows):
        h.send("demo", {"k": k, "a": a}, at=100 * i)
    assert [[(r["k"], r["a"]) for r in e] for e in h.take()] == [
        [("x", 1), ("x", 0)],
        [("y", 1), ("y", 0)],
    ]


def test_state_window_condition_errors_count_as_false(rule):
    # eKuiper's isMatchCondition logs the error and goes on; nothing reaches the sink
    h = rule("SELECT a FROM demo GROUP BY STATEWINDOW(a > 0, a > 2)", options={"sendError": True})
    for i, a in enumerate(["x", 1, "y", 3]):
        h.send("demo", {"a": a}, at=100 * i)
    assert h.take() == [[{"a": 1}, {"a": "y"}, {"a": 3}]]
    assert h.metrics.exceptions == 0


def test_sliding_trigger_errors_count_as_false(rule):
    h = rule("SELECT a FROM demo GROUP BY SLIDINGWINDOW(ss, 5) OVER (WHEN a > 1)", options={"sendError": True})
    for i, a in enumerate(["x", 2]):
        h.send("demo", {"a": a}, at=100 * i)
    assert h.take() == [[{"a": "x"}, {"a": 2}]]
    assert h.metrics.exceptions == 0


# --- FILTER and WHERE placement ---------------------------------------------------------


def test_window_filter_runs_before_a_count_window(rule):
    h = rule("SELECT a FROM demo GROUP BY COUNTWINDOW(3) FILTER (WHERE a > 3)")
    for i in range(9):
        h.send("demo", {"a": i}, at=100 * i)
    assert h.take() == [[{"a": 4}, {"a": 5}, {"a": 6}]]


def test_window_filter_runs_before_a_sliding_window(rule):
    h = rule("SELECT a FROM demo GROUP BY SLIDINGWINDOW(ss, 5) FILTER (WHERE a > 1)")
    for i in range(4):
        h.send("demo", {"a": i}, at=100 * i)
    # rows 0 and 1 neither enter the window nor trigger it
    assert h.take() == [[{"a": 2}], [{"a": 2}, {"a": 3}]]


def test_window_filter_on_a_tumbling_window_keeps_empty_windows(rule):
    h = rule("SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) FILTER (WHERE a > 1)")
    h.send("demo", {"a": 1}, at=100)
    h.send("demo", {"a": 2}, at=1100)
    h.advance(2000)
    assert h.take() == [[], [{"a": 2}]]


@pytest.mark.parametrize(
    "window", ["TUMBLINGWINDOW(ss, 1)", "HOPPINGWINDOW(ss, 1, 1)", "SESSIONWINDOW(ss, 10, 1)"]
)
def test_where_is_pushed_below_tumbling_hopping_and_session_windows(rule, window):
    h = rule(f"SELECT a FROM demo WHERE a > 1 GROUP BY {window}")
    assert h.rule.plan.where_pushed_down
    h.send("demo", {"a": 1}, at=100)
    h.advance(2000)
    h.send("demo", {"a": 1}, at=2100)
    h.send("demo", {"a": 2}, at=2200)
    h.advance(4000)
    out = [e for e in h.take()]
    if window.startswith("SESSION"):
        # filtered rows never open a session
        assert out == [[{"a": 2}]]
    else:
        # the filtered window still fires and emits []
        assert out[:3] == [[], [], [{"a": 2}]]


def test_where_runs_after_a_count_window(rule):
    h = rule("SELECT a FROM demo WHERE a > 3 GROUP BY COUNTWINDOW(3)")
    assert not h.rule.plan.where_pushed_down
    for i in range(9):
        h.send("demo", {"a": i}, at=100 * i)
    # the first window (0,1,2) is emptied by WHERE and emits nothing
    assert h.take() == [[{"a": 4}, {"a": 5}], [{"a": 6}, {"a": 7}, {"a": 8}]]


def test_where_runs_after_a_sliding_window(rule):
    h = rule("SELECT a FROM demo WHERE a > 1 GROUP BY SLIDINGWINDOW(ss, 5)")
    assert not h.rule.plan.where_pushed_down
    for i in range(4):
        h.send("demo", {"a": i}, at=100 * i)
    # rows 0 and 1 trigger windows that WHERE empties; rows 2 and 3 see only what passes
    assert h.take() == [[{"a": 2}], [{"a": 2}, {"a": 3}]]


def test_where_after_a_sliding_window_keeps_rows_that_triggered(rule):
    h = rule("SELECT a FROM demo WHERE a < 2 GROUP BY SLIDINGWINDOW(ss, 5)")
    for i in range(4):
        h.send("demo", {"a": i}, at=100 * i)
    # rows 2 and 3 trigger, and the window they see still holds rows 0 and 1
    assert h.take() == [[{"a": 0}], [{"a": 0}, {"a": 1}], [{"a": 0}, {"a": 1}], [{"a": 0}, {"a": 1}]]


# --- event time -------------------------------------------------------------------------


def test_event_time_tumbling_fires_when_the_watermark_passes_the_end(rule):
    h = rule(f"SELECT a, ts, {WS} FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)", TS_DEMO, options=EVENT_TIME)
    h.send("demo", {"a": 0, "ts": START + 300}, at=10)
    h.send("demo", {"a": 1, "ts": START + 900}, at=20)
    assert h.take() == []
    h.advance(60_000)  # the clock alone fires nothing
    assert h.take() == []
    h.send("demo", {"a": 2, "ts": START + 1200}, at=60_010)
    # the first window starts at the first row's ts and ends at align(ts)
    assert shifted(h.take(), "ts", "ws", "we") == [
        [{"a": 0, "ts": 300, "ws": 300, "we": 1000}, {"a": 1, "ts": 900, "ws": 300, "we": 1000}],
    ]


def test_event_time_empty_windows_between_data_emit_empty_lists(rule):
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)", TS_DEMO, options=EVENT_TIME)
    h.send("demo", {"a": 0, "ts": START + 300}, at=10)
    h.send("demo", {"a": 1, "ts": START + 1200}, at=20)
    h.send("demo", {"a": 2, "ts": START + 4100}, at=30)
    assert shifted(h.take(), "ws", "we") == [
        [{"a": 0, "ws": 300, "we": 1000}],
        [{"a": 1, "ws": 1000, "we": 2000}],
        [],
        [],
    ]


def test_event_time_drops_late_rows_silently(rule):
    h = rule("SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)", TS_DEMO, options={**EVENT_TIME, "sendError": True})
    h.send("demo", {"a": 0, "ts": START + 300}, at=10)
    h.send("demo", {"a": 1, "ts": START + 250}, at=20)  # behind the watermark (300): dropped
    h.send("demo", {"a": 2, "ts": START + 300}, at=30)  # equal to the watermark: kept
    h.send("demo", {"a": 3, "ts": START + 1500}, at=40)
    assert h.take() == [[{"a": 0}, {"a": 2}]]
    assert h.metrics.exceptions == 0
    assert h.metrics.records_in == 4


def test_event_time_late_tolerance_holds_the_watermark_back(rule):
    h = rule(
        "SELECT a, ts FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)",
        TS_DEMO,
        options={**EVENT_TIME, "lateTolerance": 500},
    )
    for i, (at, ts) in enumerate([(10, 300), (20, 1100), (30, 700), (40, 500), (50, 1600), (60, 1400), (70, 2600)]):
        h.send("demo", {"a": i, "ts": START + ts}, at=at)
        if i == 3:
            # watermark 1100 - 500 = 600: row 3 (500) is late, row 2 (700) was not
            assert h.rule.window.watermark == START + 600
    assert shifted(h.take(), "ts") == [
        [{"a": 0, "ts": 300}, {"a": 2, "ts": 700}],
        [{"a": 1, "ts": 1100}, {"a": 5, "ts": 1400}, {"a": 4, "ts": 1600}],  # in ts order
    ]


def test_event_time_late_tolerance_accepts_a_duration_string(rule):
    h = rule("SELECT a FROM demo", TS_DEMO, options={**EVENT_TIME, "lateTolerance": "1s"})
    assert h.rule.plan.options.late_tolerance == 1000


def test_event_time_without_a_window_releases_rows_in_ts_order(rule):
    h = rule("SELECT a FROM demo", TS_DEMO, options={**EVENT_TIME, "lateTolerance": 500})
    for i, (at, ts) in enumerate([(10, 300), (20, 1100), (30, 700), (40, 500), (50, 1600)]):
        h.send("demo", {"a": i, "ts": START + ts}, at=at)
    # watermarks 600, 600, 600, 1100: row 3 is late; rows 2 and 1 follow in ts order
    assert h.take() == [[{"a": 0}], [{"a": 2}], [{"a": 1}]]


def test_event_time_first_hopping_window_starts_a_hop_before_the_first_row(rule):
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY HOPPINGWINDOW(ss, 2, 1)", TS_DEMO, options=EVENT_TIME)
    h.send("demo", {"a": 0, "ts": START + 300}, at=10)
    h.send("demo", {"a": 1, "ts": START + 1300}, at=20)
    h.send("demo", {"a": 2, "ts": START + 3000}, at=30)
    assert shifted(h.take(), "ws", "we") == [
        [{"a": 0, "ws": -700, "we": 1000}],
        [{"a": 0, "ws": 0, "we": 2000}, {"a": 1, "ws": 0, "we": 2000}],
        [{"a": 1, "ws": 1000, "we": 3000}],
    ]


def test_event_time_sliding_window_fires_at_each_released_row(rule):
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY SLIDINGWINDOW(ss, 1)", TS_DEMO, options={**EVENT_TIME, "lateTolerance": 200})
    h.send("demo", {"a": 0, "ts": START + 100}, at=10)
    h.send("demo", {"a": 1, "ts": START + 500}, at=20)
    h.send("demo", {"a": 2, "ts": START + 300}, at=30)
    h.send("demo", {"a": 3, "ts": START + 1000}, at=40)
    out = shifted(h.take(), "ws", "we")
    # watermark 800 releases rows 0, 2, 1 in ts order; each fires at its own ts
    assert [[r["a"] for r in e] for e in out] == [[0], [0, 2], [0, 2, 1]]
    assert [e[0]["we"] for e in out] == [100, 300, 500]


def test_event_time_session_closes_at_the_first_gap_longer_than_the_timeout(rule):
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY SESSIONWINDOW(ss, 10, 1)", TS_DEMO, options=EVENT_TIME)
    for i, ts in enumerate([100, 500, 1400, 3000, 3500]):
        h.send("demo", {"a": i, "ts": START + ts}, at=10 * i)
    # the gap 1400 -> 3000 closes the first session at 1400 + 1000
    assert shifted(h.take(), "ws", "we") == [[{"a": i, "ws": 100, "we": 2400} for i in range(3)]]
    h.send("demo", {"a": 5, "ts": START + 4400}, at=100)  # within the timeout: still open
    assert h.take() == []
    h.send("demo", {"a": 6, "ts": START + 6000}, at=110)
    assert shifted(h.take(), "ws", "we") == [[{"a": i, "ws": 3000, "we": 5400} for i in (3, 4, 5)]]


def test_event_time_session_max_duration_tick(rule):
    h = rule(f"SELECT a, {WS} FROM demo GROUP BY SESSIONWINDOW(ss, 2, 1)", TS_DEMO, options=EVENT_TIME)
    for i, ts in enumerate([500, 1200, 1900, 2600, 3300, 3900, 4600]):
        h.send("demo", {"a": i, "ts": START + ts}, at=10 * i)
    # ticks at :48 (2000, the oldest row too young) and :50 (4000): rows before 4000 go out
    assert shifted(h.take(), "ws", "we") == [[{"a": i, "ws": 500, "we": 4000} for i in range(6)]]
    h.send("demo", {"a": 7, "ts": START + 7000}, at=100)
    assert shifted(h.take(), "ws", "we") == [[{"a": 6, "ws": 4000, "we": 5600}]]


def test_event_time_count_window_counts_released_rows_in_ts_order(rule):
    h = rule("SELECT a FROM demo GROUP BY COUNTWINDOW(2)", TS_DEMO, options={**EVENT_TIME, "lateTolerance": 1000})
    for i, ts in enumerate([500, 200, 900, 2600]):
        h.send("demo", {"a": i, "ts": START + ts}, at=10 * i)
    assert h.take() == [[{"a": 1}, {"a": 0}]]


def test_event_time_where_runs_after_the_window(rule):
    h = rule("SELECT a FROM demo WHERE a > 0 GROUP BY TUMBLINGWINDOW(ss, 1)", TS_DEMO, options=EVENT_TIME)
    assert not h.rule.plan.where_pushed_down
    h.send("demo", {"a": 0, "ts": START + 300}, at=10)
    h.send("demo", {"a": 1, "ts": START + 1300}, at=20)
    h.send("demo", {"a": 2, "ts": START + 3300}, at=30)
    # the first window is emptied by WHERE and the empty :48 window is too: nothing for them
    assert h.take() == [[{"a": 1}]]


def test_event_time_watermark_waits_for_every_stream(rule):
    h = rule(
        "SELECT a, b FROM demo INNER JOIN demo1 ON demo.a = demo1.b GROUP BY TUMBLINGWINDOW(ss, 1)",
        TS_DEMO,
        TS_DEMO1,
        options=EVENT_TIME,
    )
    h.send("demo", {"a": 1, "ts": START + 100}, at=10)
    h.send("demo", {"a": 2, "ts": START + 1500}, at=20)
    h.send("demo", {"a": 3, "ts": START + 2500}, at=30)
    assert h.take() == []  # demo1 has produced nothing: the watermark has not moved
    h.send("demo1", {"b": 1, "ts": START + 200}, at=40)
    assert h.rule.window.watermark == START + 200  # the minimum of both streams
    assert h.take() == []
    h.send("demo1", {"b": 2, "ts": START + 2200}, at=50)
    # the :47 window joins 1 with 1; the :48 window (a=2 alone) joins nothing and is silent
    assert h.take() == [[{"a": 1, "b": 1}]]


def test_event_time_replayed_case_fires_nothing_after_the_last_input():
    case = {
        "streams": [TS_DEMO],
        "rule": {"sql": "SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)", "options": EVENT_TIME},
        "inputs": {
            "demo": [
                {"timestamp": START + 100, "data": {"a": 1, "ts": START + 100}},
                {"timestamp": START + 2500, "data": {"a": 2, "ts": START + 2500}},
            ]
        },
    }
    result = run_case(case)
    assert result.error is None
    assert result.emissions == [[{"a": 1}]]  # the window of row 2 would need a later event


# --- incremental aggregation ------------------------------------------------------------

AGG_FIELDS = (
    "k, count(*) AS c, avg(v) AS av, min(v) AS mn, max(v) AS mx, sum(v) AS s, "
    "collect(v) AS vs, last_value(v, true) AS lv"
)
AGG_ROWS = [
    (100, {"k": "x", "v": 1}),
    (200, {"k": "y", "v": 10}),
    (300, {"k": "x", "v": 4}),
    (400, {"k": "x"}),
    (1200, {"k": "y", "v": 3}),
    (1300, {"k": "y", "v": 7}),
    (1400, {"k": "z", "v": 2.5}),
    (3100, {"k": "x", "v": -2}),
]


def _run(rule, sql: str) -> tuple[list, object]:
    h = rule(sql)
    for at, msg in AGG_ROWS:
        h.send("demo", msg, at=at)
    h.advance(5000)
    return h.take(), h.rule.plan


def test_incremental_tumbling_aggregates_like_a_buffered_window(rule):
    inc, inc_plan = _run(rule, f"SELECT {AGG_FIELDS} FROM demo GROUP BY k, TUMBLINGWINDOW(ss, 1)")
    buf, buf_plan = _run(rule, f"SELECT {AGG_FIELDS} FROM demo GROUP BY k, HOPPINGWINDOW(ss, 1, 1)")
    assert inc_plan.accumulators is not None  # the tumbling rule keeps no rows
    assert buf_plan.accumulators is None
    assert inc == buf
    assert inc == [
        [
            {"k": "x", "c": 3, "av": 2, "mn": 1, "mx": 4, "s": 5, "vs": [1, 4, None], "lv": 4},
            {"k": "y", "c": 1, "av": 10, "mn": 10, "mx": 10, "s": 10, "vs": [10], "lv": 10},
        ],
        [
            {"k": "y", "c": 2, "av": 5, "mn": 3, "mx": 7, "s": 10, "vs": [3, 7], "lv": 7},
            {"k": "z", "c": 1, "av": 2.5, "mn": 2.5, "mx": 2.5, "s": 2.5, "vs": [2.5], "lv": 2.5},
        ],
        [],
        [{"k": "x", "c": 1, "av": -2, "mn": -2, "mx": -2, "s": -2, "vs": [-2], "lv": -2}],
        [],
    ]


def test_incremental_tumbling_with_where_having_and_order(rule):
    fields = "k, count(*) AS c, sum(v) AS s"
    tail = "HAVING count(*) > 1 ORDER BY s DESC"
    inc, inc_plan = _run(rule, f"SELECT {fields} FROM demo WHERE v > 0 GROUP BY k, TUMBLINGWINDOW(ss, 1) {tail}")
    buf, _ = _run(rule, f"SELECT {fields} FROM demo WHERE v > 0 GROUP BY k, HOPPINGWINDOW(ss, 1, 1) {tail}")
    assert inc_plan.accumulators is not None
    assert inc == buf == [[{"k": "x", "c": 2, "s": 5}], [{"k": "y", "c": 2, "s": 10}]]


def test_incremental_tumbling_without_group_keys(rule):
    inc, _ = _run(rule, "SELECT count(*) AS c, max(v) AS mx, k FROM demo GROUP BY TUMBLINGWINDOW(ss, 2)")
    buf, _ = _run(rule, "SELECT count(*) AS c, max(v) AS mx, k FROM demo GROUP BY HOPPINGWINDOW(ss, 2, 2)")
    # a non-aggregated column reads the first row of the window
    assert inc == buf == [[{"c": 7, "mx": 10, "k": "x"}], [{"c": 1, "mx": -2, "k": "x"}]]


def test_incremental_tumbling_in_event_time_matches_the_buffer(rule):
    ddl = 'CREATE STREAM demo (k STRING, v BIGINT, ts BIGINT) WITH (DATASOURCE="demo", TYPE="mock", TIMESTAMP="ts")'
    outs = []
    for window in ("TUMBLINGWINDOW(ss, 1)", "HOPPINGWINDOW(ss, 1, 1)"):
        h = rule(f"SELECT k, count(*) AS c, sum(v) AS s FROM demo WHERE v > 1 GROUP BY k, {window}", ddl,
                 options=EVENT_TIME)
        for i, (at, msg) in enumerate(AGG_ROWS):
            h.send("demo", {**msg, "ts": START + at}, at=i)
        h.send("demo", {"k": "x", "v": 0, "ts": START + 9000}, at=100)
        outs.append((h.take(), h.rule.plan.accumulators is not None))
    (inc, inc_flag), (buf, buf_flag) = outs
    assert inc_flag and not buf_flag
    assert inc == buf
    # WHERE runs before the grouping: x's first row (v=1) is dropped, so y is seen first
    assert inc == [
        [{"k": "y", "c": 1, "s": 10}, {"k": "x", "c": 1, "s": 4}],
        [{"k": "y", "c": 2, "s": 10}, {"k": "z", "c": 1, "s": 2.5}],
    ]


def test_incremental_error_in_an_aggregate_fails_the_window_like_the_buffer(rule):
    outs = []
    for window in ("TUMBLINGWINDOW(ss, 1)", "HOPPINGWINDOW(ss, 1, 1)"):
        h = rule(f"SELECT sum(a) AS s FROM demo GROUP BY {window}", options={"sendError": True})
        h.send("demo", {"a": 1}, at=100)
        h.send("demo", {"a": "x"}, at=200)
        h.send("demo", {"a": 2}, at=300)
        h.send("demo", {"a": 5}, at=1100)
        h.advance(2000)
        outs.append((h.take(), h.metrics.exceptions))
    assert outs[0] == outs[1]
    assert outs[0] == (
        [
            [{"error": "run Select error: alias: s expr: Call:{ name:sum, args:[demo.a] } meet error, "
                       "err:requires int but found string(x)"}],
            [{"s": 5}],
        ],
        1,
    )


def test_incremental_error_in_a_group_key_fails_the_window_like_the_buffer(rule):
    outs = []
    for window in ("TUMBLINGWINDOW(ss, 1)", "HOPPINGWINDOW(ss, 1, 1)"):
        h = rule(f"SELECT count(*) AS c FROM demo GROUP BY a + 1, {window}", options={"sendError": True})
        h.send("demo", {"a": 1}, at=100)
        h.send("demo", {"a": "x"}, at=200)
        h.send("demo", {"a": 1}, at=1100)
        h.advance(2000)
        outs.append(h.take())
    assert outs[0] == outs[1]
    assert len(outs[0]) == 2
    assert outs[0][0][0]["error"].startswith("run Group By error: ")
    assert outs[0][1] == [{"c": 1}]
