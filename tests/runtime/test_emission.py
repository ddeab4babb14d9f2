"""What a firing does with its rows: joins, GROUP BY, HAVING, ORDER BY, LIMIT, row_number
and the last_agg_hit_* state (spec §4.5, §4.6, §5.5, §6)."""

from __future__ import annotations

import pytest

from arrokoth.io.lookup.memory import MemoryLookupTable
from arrokoth.io.memory_bus import bus
from arrokoth.runtime.emission import hashable

START = 1_541_152_486_000  # the rule start of the `rule` fixture (tests/runtime/conftest.py)
DEMO = 'CREATE STREAM demo () WITH (DATASOURCE="demo", TYPE="mock")'
DEMO1 = 'CREATE STREAM demo1 () WITH (DATASOURCE="demo1", TYPE="mock")'
TABLE = 'CREATE TABLE tbl () WITH (DATASOURCE="tbl", TYPE="mock", RETAIN_SIZE="2")'
LOOKUP = 'CREATE TABLE lk () WITH (DATASOURCE="test/emission/lk", TYPE="memory", KIND="lookup", KEY="id")'
JOIN_FIELDS = "demo.id AS l, demo1.id AS r, demo.v AS lv, demo1.v AS rv"


def window_join(rule, kind: str, fields: str = JOIN_FIELDS, on: str = "ON demo.id = demo1.id"):
    """Left rows 1(a), 2(b); right rows 2(x), 3(y), 2(z); one tumbling window."""
    h = rule(f"SELECT {fields} FROM demo {kind} demo1 {on} GROUP BY TUMBLINGWINDOW(ss, 1)", DEMO, DEMO1)
    h.send("demo", {"id": 1, "v": "a"}, at=100)
    h.send("demo", {"id": 2, "v": "b"}, at=200)
    h.send("demo1", {"id": 2, "v": "x"}, at=300)
    h.send("demo1", {"id": 3, "v": "y"}, at=400)
    h.send("demo1", {"id": 2, "v": "z"}, at=500)
    h.advance(1000)
    return h.take()


# --- joins inside a window --------------------------------------------------------------

B_X = {"l": 2, "r": 2, "lv": "b", "rv": "x"}
B_Z = {"l": 2, "r": 2, "lv": "b", "rv": "z"}


def test_inner_join_pairs_each_left_row_with_each_match(rule):
    assert window_join(rule, "INNER JOIN") == [[B_X, B_Z]]
    assert window_join(rule, "JOIN") == [[B_X, B_Z]]


def test_left_join_keeps_unmatched_left_rows(rule):
    assert window_join(rule, "LEFT JOIN") == [[{"l": 1, "lv": "a"}, B_X, B_Z]]


def test_right_join_walks_the_right_rows_in_order(rule):
    # eKuiper's evalSetWithRightJoin: each right row, then its matches, or the row alone
    assert window_join(rule, "RIGHT JOIN") == [[B_X, {"r": 3, "rv": "y"}, B_Z]]


def test_full_join_adds_unmatched_rows_of_both_sides(rule):
    assert window_join(rule, "FULL JOIN") == [[{"l": 1, "lv": "a"}, B_X, B_Z, {"r": 3, "rv": "y"}]]


def test_cross_join_pairs_everything(rule):
    out = window_join(rule, "CROSS JOIN", "demo.id AS l, demo1.id AS r", on="")
    assert out == [[{"l": 1, "r": 2}, {"l": 1, "r": 3}, {"l": 1, "r": 2}, {"l": 2, "r": 2}, {"l": 2, "r": 3}, {"l": 2, "r": 2}]]


def test_the_on_condition_may_be_any_boolean_expression(rule):
    out = window_join(rule, "INNER JOIN", "demo.id AS l, demo1.id AS r", on="ON demo.id < demo1.id")
    assert out == [[{"l": 1, "r": 2}, {"l": 1, "r": 3}, {"l": 1, "r": 2}, {"l": 2, "r": 3}]]


def test_three_streams_join_left_to_right(rule):
    demo2 = 'CREATE STREAM demo2 () WITH (DATASOURCE="demo2", TYPE="mock")'
    h = rule(
        "SELECT demo.id AS a, demo1.w AS b, demo2.u AS c FROM demo INNER JOIN demo1 ON demo.id = demo1.id "
        "LEFT JOIN demo2 ON demo1.w = demo2.w GROUP BY TUMBLINGWINDOW(ss, 1)",
        DEMO,
        DEMO1,
        demo2,
    )
    h.send("demo", {"id": 1}, at=100)
    h.send("demo", {"id": 2}, at=110)
    h.send("demo1", {"id": 1, "w": "p"}, at=200)
    h.send("demo1", {"id": 2, "w": "q"}, at=210)
    h.send("demo2", {"w": "q", "u": 9}, at=300)
    h.advance(1000)
    assert h.take() == [[{"a": 1, "b": "p"}, {"a": 2, "b": "q", "c": 9}]]


def test_a_join_without_result_emits_nothing_while_an_empty_window_emits_an_empty_list(rule):
    h = rule("SELECT * FROM demo INNER JOIN demo1 ON demo.id = demo1.id GROUP BY TUMBLINGWINDOW(ss, 1)", DEMO, DEMO1)
    h.send("demo", {"id": 1}, at=100)
    h.send("demo1", {"id": 2}, at=200)
    h.advance(2000)  # a window with unmatched rows, then an empty one
    assert h.take() == []
    plain = rule("SELECT * FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)")
    plain.advance(1000)
    assert plain.take() == [[]]


def test_select_star_over_a_join_is_flat_and_the_leftmost_source_wins(rule):
    h = rule("SELECT * FROM demo INNER JOIN demo1 ON demo.id = demo1.id GROUP BY TUMBLINGWINDOW(ss, 1)", DEMO, DEMO1)
    h.send("demo1", {"id": 1, "v": "right", "w": 5}, at=100)  # the right row arrives first
    h.send("demo", {"id": 1, "v": "left"}, at=200)
    h.advance(1000)
    assert h.take() == [[{"id": 1, "v": "left", "w": 5}]]


def test_select_source_wildcard_and_a_column_of_the_other(rule):
    h = rule(
        "SELECT demo1.*, demo.v AS lv FROM demo INNER JOIN demo1 ON demo.id = demo1.id GROUP BY TUMBLINGWINDOW(ss, 1)",
        DEMO,
        DEMO1,
    )
    h.send("demo", {"id": 1, "v": "left"}, at=100)
    h.send("demo1", {"id": 1, "v": "right"}, at=200)
    h.advance(1000)
    assert h.take() == [[{"id": 1, "v": "right", "lv": "left"}]]


def test_a_join_error_is_reported_for_the_trigger(rule):
    h = rule(
        "SELECT demo.id FROM demo INNER JOIN demo1 ON demo.id > demo1.id GROUP BY TUMBLINGWINDOW(ss, 1)",
        DEMO,
        DEMO1,
        options={"sendError": True},
    )
    h.send("demo", {"id": 1}, at=100)
    h.send("demo1", {"id": "x"}, at=200)
    h.advance(1000)
    [[row]] = h.take()
    assert row["error"].startswith("run Join error: invalid operation")
    assert h.metrics.exceptions == 1


# --- stream-table joins -----------------------------------------------------------------


def test_a_scan_table_join_needs_no_window_and_keeps_the_latest_retain_size_rows(rule):
    h = rule("SELECT demo.id AS id, tbl.name AS name FROM demo INNER JOIN tbl ON demo.id = tbl.id", DEMO, TABLE)
    h.send("demo", {"id": 1}, at=10)  # the table is still empty: nothing
    assert h.take() == []
    h.send("tbl", {"id": 1, "name": "a"}, at=20)
    assert h.take() == []  # table rows alone never trigger
    h.send("tbl", {"id": 2, "name": "b"}, at=30)
    h.send("demo", {"id": 1}, at=40)
    assert h.take() == [[{"id": 1, "name": "a"}]]
    h.send("tbl", {"id": 3, "name": "c"}, at=50)  # RETAIN_SIZE 2: row 1 is gone
    h.send("demo", {"id": 1}, at=60)
    h.send("demo", {"id": 3}, at=70)
    h.send("demo", {"id": 2}, at=80)
    assert h.take() == [[{"id": 3, "name": "c"}], [{"id": 2, "name": "b"}]]


def test_a_scan_table_left_join_and_select_star(rule):
    h = rule("SELECT * FROM demo LEFT JOIN tbl ON demo.id = tbl.id", DEMO, TABLE)
    h.send("tbl", {"id": 1, "name": "a", "v": "table"}, at=10)
    h.send("demo", {"id": 1, "v": "stream"}, at=20)
    h.send("demo", {"id": 5, "v": "stream"}, at=30)
    assert h.take() == [[{"id": 1, "name": "a", "v": "stream"}], [{"id": 5, "v": "stream"}]]


def test_a_scan_table_joined_in_a_window(rule):
    h = rule(
        "SELECT demo.id AS id, tbl.name AS name FROM demo INNER JOIN tbl ON demo.id = tbl.id "
        "GROUP BY TUMBLINGWINDOW(ss, 1)",
        DEMO,
        TABLE,
    )
    h.send("tbl", {"id": 1, "name": "a"}, at=10)
    h.send("demo", {"id": 1}, at=100)
    h.send("demo", {"id": 2}, at=200)
    h.send("tbl", {"id": 2, "name": "b"}, at=300)
    h.advance(1000)
    # the window joins the table as it is when the window fires
    assert h.take() == [[{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]]


@pytest.fixture
def lookup_table():
    t = MemoryLookupTable("lk", "test/emission/lk", "id")
    yield t
    t.close()


def test_a_lookup_table_inner_join_drops_unmatched_rows(rule, lookup_table):
    h = rule(
        "SELECT demo.id AS id, lk.name AS name FROM demo INNER JOIN lk ON demo.id = lk.id",
        DEMO,
        LOOKUP,
        lookups={"lk": lookup_table.rows},
    )
    bus.publish("test/emission/lk", [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
    h.send("demo", {"id": 1}, at=10)
    h.send("demo", {"id": 3}, at=20)
    bus.publish("test/emission/lk", [{"id": 1}], kinds=["delete"], key_field="id")
    h.send("demo", {"id": 1}, at=30)  # deleted since: no match any more
    h.send("demo", {"id": 2}, at=40)
    assert h.take() == [[{"id": 1, "name": "a"}], [{"id": 2, "name": "b"}]]


def test_a_lookup_table_left_join_keeps_unmatched_rows(rule, lookup_table):
    h = rule(
        "SELECT demo.id AS id, lk.name AS name FROM demo LEFT JOIN lk ON demo.id = lk.id",
        DEMO,
        LOOKUP,
        lookups={"lk": lookup_table.rows},
    )
    bus.publish("test/emission/lk", [{"id": 1, "name": "a"}])
    h.send("demo", {"id": 1}, at=10)
    h.send("demo", {"id": 3}, at=20)
    assert h.take() == [[{"id": 1, "name": "a"}], [{"id": 3}]]


# --- GROUP BY and HAVING ----------------------------------------------------------------


def grouped(rule, sql: str, rows: list[dict], options: dict | None = None, until: int = 1000):
    h = rule(sql, options=options)
    for i, r in enumerate(rows):
        h.send("demo", r, at=100 + 10 * i)
    h.advance(until)
    return h.take()


def test_groups_come_out_in_first_seen_order(rule):
    rows = [{"k": "b", "v": 1}, {"k": "a", "v": 2}, {"k": "c", "v": 3}, {"k": "a", "v": 4}, {"k": "b", "v": 5}]
    out = grouped(rule, "SELECT k, sum(v) AS s FROM demo GROUP BY k, TUMBLINGWINDOW(ss, 1)", rows)
    assert out == [[{"k": "b", "s": 6}, {"k": "a", "s": 6}, {"k": "c", "s": 3}]]


def test_group_keys_are_expressions_and_non_aggregated_columns_read_the_first_row(rule):
    rows = [{"n": 1, "t": "first"}, {"n": 2, "t": "second"}, {"n": 3, "t": "third"}]
    out = grouped(rule, "SELECT n % 2 AS odd, t, count(*) AS c FROM demo GROUP BY n % 2, SLIDINGWINDOW(ss, 5)", rows)
    assert out[-1] == [{"odd": 1, "t": "first", "c": 2}, {"odd": 0, "t": "second", "c": 1}]


def test_group_keys_treat_an_integral_float_like_the_int(rule):
    assert hashable(1.0) == hashable(1)
    out = grouped(rule, "SELECT count(*) AS c FROM demo GROUP BY v, TUMBLINGWINDOW(ss, 1)", [{"v": 1}, {"v": 1.0}])
    assert out == [[{"c": 2}]]


def test_a_window_without_keys_is_one_group(rule):
    out = grouped(rule, "SELECT count(*) AS c, max(v) AS m FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)", [{"v": 1}, {"v": 7}])
    assert out == [[{"c": 2, "m": 7}]]


def test_having_keeps_the_groups_it_holds_for(rule):
    rows = [{"k": "a"}, {"k": "b"}, {"k": "a"}]
    out = grouped(rule, "SELECT k, count(*) AS c FROM demo GROUP BY k, TUMBLINGWINDOW(ss, 1) HAVING count(*) > 1", rows)
    assert out == [[{"k": "a", "c": 2}]]


def test_having_that_no_group_passes_emits_nothing(rule):
    out = grouped(rule, "SELECT count(*) AS c FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) HAVING count(*) > 5", [{"v": 1}])
    assert out == []


def test_having_removes_empty_windows_unless_it_holds_for_them(rule):
    sql = "SELECT count(*) AS c FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) HAVING count(*) {}"
    assert grouped(rule, sql.format("> 0"), [], until=3000) == []
    assert grouped(rule, sql.format("= 0"), [], until=2000) == [[], []]
    keyed = "SELECT k, count(*) AS c FROM demo GROUP BY k, TUMBLINGWINDOW(ss, 1) HAVING count(*) = 0"
    assert grouped(rule, keyed, [], until=2000) == []  # with keys there is no group to test


def test_having_alias_of_an_aggregate(rule):
    out = grouped(rule, "SELECT k, sum(v) AS s FROM demo GROUP BY k, TUMBLINGWINDOW(ss, 1) HAVING s >= 3",
                  [{"k": "a", "v": 1}, {"k": "b", "v": 3}])
    assert out == [[{"k": "b", "s": 3}]]


def test_having_error_is_reported(rule):
    out = grouped(rule, "SELECT count(*) AS c FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) HAVING max(v) > 1",
                  [{"v": "x"}], options={"sendError": True})
    assert len(out) == 1
    assert out[0][0]["error"].startswith("run Having error: ")


# --- ORDER BY and LIMIT -----------------------------------------------------------------


def values(out: list[list[dict]]) -> list[list]:
    return [[r.get("a") for r in e] for e in out]


def test_order_by_is_ascending_by_default(rule):
    out = grouped(rule, "SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) ORDER BY a", [{"a": 2}, {"a": 3.5}, {"a": 1}])
    assert values(out) == [[1, 2, 3.5]]


def test_order_by_desc(rule):
    out = grouped(rule, "SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) ORDER BY a DESC", [{"a": 2}, {"a": 3.5}, {"a": 1}])
    assert values(out) == [[3.5, 2, 1]]


def test_order_by_several_keys_and_strings(rule):
    rows = [{"a": 1, "s": "b"}, {"a": 2, "s": "a"}, {"a": 3, "s": "b"}]
    out = grouped(rule, "SELECT a, s FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) ORDER BY s DESC, a DESC", rows)
    assert values(out) == [[3, 1, 2]]


def test_order_by_an_aggregate_alias_sorts_the_groups(rule):
    rows = [{"k": "a", "v": 1}, {"k": "b", "v": 5}, {"k": "c", "v": 3}]
    out = grouped(rule, "SELECT k, sum(v) AS s FROM demo GROUP BY k, TUMBLINGWINDOW(ss, 1) ORDER BY s DESC", rows)
    assert [[r["k"] for r in e] for e in out] == [["b", "c", "a"]]


def test_order_by_on_a_column_that_is_not_selected(rule):
    rows = [{"a": 1, "b": 3}, {"a": 2, "b": 1}, {"a": 3, "b": 2}]
    out = grouped(rule, "SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) ORDER BY b", rows)
    assert values(out) == [[2, 3, 1]]


def test_order_by_incompatible_types_is_an_error(rule):
    out = grouped(rule, "SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) ORDER BY a", [{"a": 2}, {"a": "x"}],
                  options={"sendError": True})
    assert out == [[{"error": "run Order By error: incompatible types for comparison: int and string"}]]


def test_order_by_error_without_send_error_emits_nothing_but_counts(rule):
    h = rule("SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) ORDER BY a")
    h.send("demo", {"a": 2}, at=100)
    h.send("demo", {"a": "x"}, at=200)
    h.advance(1000)
    assert h.take() == []
    assert h.metrics.exceptions == 1
    assert h.metrics.last_exception.startswith("run Order By error: incompatible types for comparison:")


def test_limit_caps_the_rows_of_each_emission(rule):
    out = grouped(rule, "SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) ORDER BY a DESC LIMIT 2",
                  [{"a": 1}, {"a": 3}, {"a": 2}])
    assert values(out) == [[3, 2]]


def test_limit_zero_emits_nothing_at_all(rule):
    assert grouped(rule, "SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) LIMIT 0", [{"a": 1}], until=2000) == []
    h = rule("SELECT a FROM demo LIMIT 0")
    h.send("demo", {"a": 1}, at=10)
    assert h.take() == []


def test_limit_applies_to_the_rows_unnest_expands(rule):
    out = grouped(rule, "SELECT unnest(arr) AS x FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) LIMIT 3",
                  [{"arr": [1, 2]}, {"arr": [3, 4]}])
    assert out == [[{"x": 1}, {"x": 2}, {"x": 3}]]


# --- row_number -------------------------------------------------------------------------


def test_row_number_numbers_the_rows_of_one_emission(rule):
    out = grouped(rule, "SELECT a, row_number() AS rn FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)", [{"a": 5}, {"a": 6}])
    assert out == [[{"a": 5, "rn": 1}, {"a": 6, "rn": 2}]]


def test_row_number_is_given_before_order_by(rule):
    # eKuiper's WindowFuncOp runs between HAVING and ORDER BY
    out = grouped(rule, "SELECT a, row_number() AS rn FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) ORDER BY a DESC LIMIT 2",
                  [{"a": 2}, {"a": 3}, {"a": 1}])
    assert out == [[{"a": 3, "rn": 2}, {"a": 2, "rn": 1}]]


def test_order_by_row_number(rule):
    out = grouped(rule, "SELECT a, row_number() AS rn FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) ORDER BY rn DESC",
                  [{"a": 2}, {"a": 3}, {"a": 1}])
    assert out == [[{"a": 1, "rn": 3}, {"a": 3, "rn": 2}, {"a": 2, "rn": 1}]]


def test_row_number_numbers_groups(rule):
    rows = [{"k": "a"}, {"k": "b"}, {"k": "a"}]
    out = grouped(rule, "SELECT k, row_number() AS rn FROM demo GROUP BY k, TUMBLINGWINDOW(ss, 1)", rows)
    assert out == [[{"k": "a", "rn": 1}, {"k": "b", "rn": 2}]]


def test_row_number_is_one_for_every_row_of_a_plain_rule(rule):
    h = rule("SELECT a, row_number() AS rn FROM demo")
    h.send("demo", {"a": 1}, at=10)
    h.send("demo", {"a": 2}, at=20)
    assert h.take() == [[{"a": 1, "rn": 1}], [{"a": 2, "rn": 1}]]


# --- last_agg_hit_count / last_agg_hit_time --------------------------------------------


def test_last_agg_hit_values_read_the_previous_hit_and_update_when_having_holds(rule):
    h = rule(
        "SELECT count(*) AS c, last_agg_hit_count() AS lc, last_agg_hit_time() AS lt FROM demo "
        "GROUP BY TUMBLINGWINDOW(ss, 1) HAVING count(*) > 1"
    )
    h.send("demo", {}, at=100)
    h.send("demo", {}, at=200)
    h.send("demo", {}, at=1100)  # a window HAVING drops: no hit
    h.send("demo", {}, at=2100)
    h.send("demo", {}, at=2200)
    h.send("demo", {}, at=3100)
    h.send("demo", {}, at=3200)
    h.advance(4000)
    assert h.take() == [
        [{"c": 2, "lc": 0, "lt": 0}],
        [{"c": 2, "lc": 1, "lt": START + 1000}],  # the end of the window that last hit
        [{"c": 2, "lc": 2, "lt": START + 3000}],
    ]


def test_last_agg_hit_count_in_having_sees_the_state_before_this_window(rule):
    h = rule(
        "SELECT count(*) AS c FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) HAVING last_agg_hit_count() < 2",
    )
    for t in (100, 1100, 2100, 3100):
        h.send("demo", {}, at=t)
    h.advance(4000)
    assert h.take() == [[{"c": 1}], [{"c": 1}]]


def test_last_agg_hit_counts_every_emitting_window_without_having(rule):
    h = rule("SELECT count(*) AS c, last_agg_hit_count() AS lc FROM demo GROUP BY COUNTWINDOW(1)")
    for t in (100, 200, 300):
        h.send("demo", {}, at=t)
    assert h.take() == [[{"c": 1, "lc": 0}], [{"c": 1, "lc": 1}], [{"c": 1, "lc": 2}]]
