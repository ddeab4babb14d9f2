"""A running rule: rule options (spec §7), unnest, errors that never stop it (§8), metrics."""

from __future__ import annotations

import pytest

from arrokoth.runtime.builder import RuleError

START = 1_541_152_486_000  # the rule start of the `rule` fixture (tests/runtime/conftest.py)
STRICT = 'CREATE STREAM demo (size BIGINT, color STRING) WITH (DATASOURCE="demo", TYPE="mock", STRICT_VALIDATION="true")'
TIMED = 'CREATE STREAM demo (a BIGINT, ts BIGINT) WITH (DATASOURCE="demo", TYPE="mock", TIMESTAMP="ts")'
WHERE_ERROR = "run Where error: invalid operation string(x) > int64(1)"


# --- sendError --------------------------------------------------------------------------


def test_send_error_turns_a_failing_row_into_an_error_message(rule):
    h = rule("SELECT a FROM demo WHERE a > 1", options={"sendError": True})
    h.send("demo", {"a": "x"}, at=10)
    h.send("demo", {"a": 2}, at=20)
    assert h.take() == [[{"error": WHERE_ERROR}], [{"a": 2}]]
    assert h.metrics.exceptions == 1
    assert h.metrics.last_exception == WHERE_ERROR
    assert h.metrics.last_exception_time == START + 10


def test_send_error_is_off_by_default_and_errors_are_still_counted(rule):
    h = rule("SELECT a FROM demo WHERE a > 1")
    assert h.rule.plan.options.send_error is False
    h.send("demo", {"a": "x"}, at=10)
    h.send("demo", {"a": 2}, at=20)
    assert h.take() == [[{"a": 2}]]
    assert h.metrics.exceptions == 1
    assert h.metrics.last_exception == WHERE_ERROR


def test_send_error_false_explicitly(rule):
    h = rule("SELECT a + 1 AS b FROM demo", options={"sendError": False})
    h.send("demo", {"a": "x"}, at=10)
    assert h.take() == []
    assert h.metrics.exceptions == 1
    assert h.metrics.last_exception.startswith("run Select error: alias: b expr: ")


def test_a_strict_validation_failure_is_an_error_of_the_rule(rule):
    for send_error in (True, False):
        h = rule("SELECT size, color FROM demo", STRICT, options={"sendError": send_error})
        h.send("demo", {"size": "red", "color": "x"}, at=10)
        h.send("demo", {"size": 3, "color": "x"}, at=20)
        message = "error in preprocessor: field size type mismatch: cannot convert string(red) to int64"
        errors = [[{"error": message}]] if send_error else []
        assert h.take() == [*errors, [{"size": 3, "color": "x"}]]
        assert h.metrics.exceptions == 1
        assert h.metrics.last_exception == message


# --- errors never stop the rule ---------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "bad", "prefix"),
    [
        ("SELECT a FROM demo WHERE a > 1", {"a": "x"}, "run Where error: "),
        ("SELECT a + 1 AS b FROM demo", {"a": "x"}, "run Select error: "),
        ("SELECT a FROM demo WHERE a > 1 GROUP BY COUNTWINDOW(1)", {"a": "x"}, "run Where error: "),
        ("SELECT abs(a) AS b FROM demo", {"a": "x"}, "run Select error: "),
        ("SELECT sum(a) AS s FROM demo GROUP BY COUNTWINDOW(1)", {"a": "x"}, "run Select error: "),
    ],
)
def test_a_bad_row_followed_by_a_good_one_still_emits(rule, sql, bad, prefix):
    h = rule(sql, options={"sendError": True})
    h.send("demo", bad, at=10)
    h.send("demo", {"a": 2}, at=20)
    h.send("demo", {"a": 3}, at=30)
    h.send("demo", {"a": 4}, at=40)
    out = h.take()
    assert h.rule.running
    assert out[0][0]["error"].startswith(prefix)
    assert h.metrics.exceptions == 1
    assert out[1:] and all("error" not in row for e in out[1:] for row in e)  # later rows give results
    assert h.metrics.records_in == 4


def test_an_error_in_a_window_does_not_stop_the_next_windows(rule):
    h = rule("SELECT sum(a) AS s FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)", options={"sendError": True})
    h.send("demo", {"a": "x"}, at=100)
    h.send("demo", {"a": 1}, at=1100)
    h.advance(2000)
    out = h.take()
    assert out[0][0]["error"].startswith("run Select error: ")
    assert out[1] == [{"s": 1}]


def test_a_window_forwards_an_upstream_error_at_once(rule):
    h = rule("SELECT size FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)", STRICT, options={"sendError": True})
    h.send("demo", {"size": 1, "color": "a"}, at=100)
    h.send("demo", {"size": "big", "color": "a"}, at=200)
    assert h.take() == [[{"error": "error in preprocessor: field size type mismatch: cannot convert string(big) to int64"}]]
    h.advance(1000)
    assert h.take() == [[{"size": 1}]]  # the bad row is not in the window


# --- sendNilField -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a, b FROM demo",
        "SELECT * FROM demo",
        "SELECT a, b FROM demo WHERE a > 0",
        "SELECT * FROM demo WHERE a > 0",
        "SELECT a, b, c FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)",
    ],
)
def test_send_nil_field_keeps_null_fields(rule, sql):
    omitted = rule(sql)
    kept = rule(sql, options={"sendNilField": True})
    for h in (omitted, kept):
        h.send("demo", {"a": 1, "b": None}, at=10)
        h.advance(1000)
    assert omitted.take() == [[{"a": 1}]]
    expected = {"a": 1, "b": None}
    if " c " in sql:
        expected["c"] = None  # a missing column is null too
    assert kept.take() == [[expected]]


def test_send_nil_field_keeps_null_function_results(rule):
    h = rule("SELECT a, lag(a) AS l FROM demo", options={"sendNilField": True})
    h.send("demo", {"a": 1}, at=10)
    assert h.take() == [[{"a": 1, "l": None}]]


def test_a_row_of_nulls_is_an_empty_object(rule):
    h = rule("SELECT b FROM demo")
    h.send("demo", {"a": 1}, at=10)
    assert h.take() == [[{}]]


# --- sendMetaToSink ---------------------------------------------------------------------


@pytest.mark.parametrize("sql", ["SELECT a FROM demo", "SELECT * FROM demo", "SELECT * FROM demo WHERE a > 0",
                                 "SELECT a, lag(a) AS l FROM demo"])
def test_send_meta_to_sink_adds_the_metadata_under_meta(rule, sql):
    h = rule(sql, options={"sendMetaToSink": True})
    h.send("demo", {"a": 1}, at=10, meta={"topic": "t/1"})
    h.send("demo", {"a": 2}, at=20)  # no metadata: no __meta key
    out = h.take()
    assert out[0][0]["__meta"] == {"topic": "t/1"}
    assert out[0][0]["a"] == 1
    assert "__meta" not in out[1][0]


def test_metadata_is_not_sent_by_default(rule):
    h = rule("SELECT * FROM demo")
    h.send("demo", {"a": 1}, at=10, meta={"topic": "t/1"})
    assert h.take() == [[{"a": 1}]]


def test_meta_function_copies_one_value(rule):
    h = rule("SELECT a, meta(topic) AS t FROM demo")
    h.send("demo", {"a": 1}, at=10, meta={"topic": "t/1"})
    assert h.take() == [[{"a": 1, "t": "t/1"}]]


def test_send_meta_to_sink_reaches_every_unnested_row(rule):
    h = rule("SELECT unnest(arr) AS x FROM demo", options={"sendMetaToSink": True})
    h.send("demo", {"arr": [1, 2]}, at=10, meta={"topic": "t"})
    assert h.take() == [[{"x": 1, "__meta": {"topic": "t"}}], [{"x": 2, "__meta": {"topic": "t"}}]]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)",
        "SELECT a FROM demo GROUP BY COUNTWINDOW(2)",
    ],
)
def test_send_meta_to_sink_is_rejected_with_a_window(rule, sql):
    with pytest.raises(RuleError, match="sendMetaToSink"):
        rule(sql, options={"sendMetaToSink": True})


# --- isEventTime / lateTolerance --------------------------------------------------------


def test_event_time_reads_the_timestamp_field(rule):
    h = rule("SELECT a, event_time() AS et FROM demo", TIMED, options={"isEventTime": True})
    h.send("demo", {"a": 1, "ts": START + 500}, at=10)
    h.send("demo", {"a": 2, "ts": START + 400}, at=20)  # behind the watermark: dropped
    h.send("demo", {"a": 3, "ts": START + 700}, at=30)
    assert h.take() == [[{"a": 1, "et": START + 500}], [{"a": 3, "et": START + 700}]]


def test_event_time_off_uses_the_arrival_time(rule):
    h = rule("SELECT a, event_time() AS et FROM demo", TIMED)
    assert h.rule.plan.options.is_event_time is False
    h.send("demo", {"a": 1, "ts": START + 500}, at=10)
    h.send("demo", {"a": 2, "ts": START + 400}, at=20)
    assert h.take() == [[{"a": 1, "et": START + 10}], [{"a": 2, "et": START + 20}]]


def test_late_tolerance_delays_and_orders_a_plain_rule(rule):
    h = rule("SELECT a FROM demo", TIMED, options={"isEventTime": True, "lateTolerance": "300ms"})
    assert h.rule.plan.options.late_tolerance == 300
    h.send("demo", {"a": 1, "ts": START + 500}, at=10)
    h.send("demo", {"a": 2, "ts": START + 300}, at=20)
    assert h.take() == []
    h.send("demo", {"a": 3, "ts": START + 900}, at=30)
    assert h.take() == [[{"a": 2}], [{"a": 1}]]


def test_a_missing_timestamp_is_an_error(rule):
    h = rule("SELECT a FROM demo", TIMED, options={"isEventTime": True, "sendError": True})
    h.send("demo", {"a": 1}, at=10)
    [[row]] = h.take()
    assert row["error"].startswith("error in preprocessor: cannot find timestamp field ts")


# --- the other options ------------------------------------------------------------------


def test_buffer_length_and_qos_are_parsed(rule):
    h = rule("SELECT a FROM demo", options={"bufferLength": 2048, "qos": 2, "checkpointInterval": "1s"})
    opts = h.rule.plan.options
    assert (opts.buffer_length, opts.qos, opts.checkpoint_interval) == (2048, 2, 1000)
    default = rule("SELECT a FROM demo").rule.plan.options
    assert (default.buffer_length, default.qos) == (1024, 0)


def test_qos_does_not_change_the_results(rule):
    outs = []
    for qos in (0, 1, 2):
        h = rule("SELECT a FROM demo WHERE a > 1", options={"qos": qos})
        for i, a in enumerate([1, 2, 3]):
            h.send("demo", {"a": a}, at=10 * i)
        outs.append(h.take())
    assert outs[0] == outs[1] == outs[2] == [[{"a": 2}], [{"a": 3}]]


@pytest.mark.parametrize(
    ("options", "match"),
    [({"qos": 3}, "invalid qos 3"), ({"bufferLength": -1}, "bufferLength"), ({"sendError": "yes"}, "sendError"),
     ({"lateTolerance": "soon"}, "lateTolerance")],
)
def test_invalid_options_make_the_rule_fail_to_build(rule, options, match):
    with pytest.raises(RuleError, match=match):
        rule("SELECT a FROM demo", options=options)


def test_unknown_options_are_ignored(rule):
    h = rule("SELECT a FROM demo", options={"somethingNew": 1})
    h.send("demo", {"a": 1}, at=10)
    assert h.take() == [[{"a": 1}]]


# --- unnest -----------------------------------------------------------------------------


def test_unnest_in_a_plain_rule_emits_one_message_per_row(rule):
    h = rule("SELECT unnest(arr) AS x, b FROM demo", options={"sendError": True})
    h.send("demo", {"arr": [1, 2, 3], "b": 0}, at=10)
    assert h.take() == [[{"x": 1, "b": 0}], [{"x": 2, "b": 0}], [{"x": 3, "b": 0}]]
    assert h.metrics.records_out == 3


def test_unnest_objects_spread_their_keys_over_other_columns(rule):
    h = rule("SELECT unnest(arr), b FROM demo")
    h.send("demo", {"arr": [{"b": 5, "c": 6}], "b": 0}, at=10)
    assert h.take() == [[{"b": 5, "c": 6}]]


def test_unnest_of_a_non_array_is_an_error(rule):
    h = rule("SELECT unnest(a) AS x FROM demo", options={"sendError": True})
    h.send("demo", {"a": 3}, at=10)
    h.send("demo", {"a": [1]}, at=20)
    assert h.take() == [[{"error": "the argument for the unnest function should be array"}], [{"x": 1}]]
    assert h.metrics.exceptions == 1


def test_unnest_in_a_window_is_one_emission(rule):
    h = rule("SELECT unnest(arr) AS x, b FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)")
    h.send("demo", {"arr": [1, 2], "b": 0}, at=100)
    h.send("demo", {"arr": [3], "b": 1}, at=200)
    h.advance(1000)
    assert h.take() == [[{"x": 1, "b": 0}, {"x": 2, "b": 0}, {"x": 3, "b": 1}]]
    assert h.metrics.records_out == 1


# --- metrics ----------------------------------------------------------------------------


def test_metrics_count_records_in_out_and_exceptions(rule):
    h = rule("SELECT a FROM demo WHERE a > 1", options={"sendError": True})
    assert h.metrics.started == START
    for i, a in enumerate([1, 2, "x", 3]):
        h.send("demo", {"a": a}, at=10 * i)
    assert h.metrics.records_in == 4
    assert h.metrics.records_out == 2  # error messages are not results
    assert h.metrics.exceptions == 1
    assert len(h.take()) == 3


def test_metrics_of_a_window_rule_count_emissions(rule):
    h = rule("SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)")
    for i in range(5):
        h.send("demo", {"a": i}, at=100 * i)
    h.advance(2000)
    assert h.metrics.records_in == 5
    assert h.metrics.records_out == 2  # one full window and one empty
    assert h.metrics.exceptions == 0


def test_stop_and_start(rule):
    h = rule("SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)")
    assert h.rule.running
    h.rule.stop()
    assert not h.rule.running
    h.advance(3000)
    assert h.take() == []


def test_ingest_batch_feeds_rows_in_order(rule):
    from arrokoth.plan.rows import Row

    h = rule("SELECT a FROM demo WHERE a > 1")
    h.rule.ingest_batch(0, [Row({"a": a}, START, None, "demo") for a in (1, 2, 3)])
    assert h.take() == [[{"a": 2}], [{"a": 3}]]
    assert h.metrics.records_in == 3
