"""The logical plan of a rule: plan-time checks, the plan's shape, and rules built from it.

Plan-time behaviour is checked on `plan_rule`/`plan_sql`; the runtime meaning of a plan
(naming, aliases, analytic functions before WHERE, error emissions) is checked by running
the rule on a virtual clock and collecting what it emits.
"""

from __future__ import annotations

import pytest

from arrokoth.functions import builtins
from arrokoth.functions.registry import registry
from arrokoth.plan.compiler import PlanError
from arrokoth.plan.logical import RulePlan, plan_rule
from arrokoth.plan.options import RuleOptions
from arrokoth.plan.rows import Row
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.builder import RuleError, build_rule, plan_sql
from arrokoth.runtime.clock import VirtualClock
from arrokoth.sql import parse

builtins.load()


def stream(ddl: str) -> StreamDef:
    return StreamDef.from_ast(parse(ddl), ddl)


STREAMS = {
    "demo": stream('CREATE STREAM demo () WITH (DATASOURCE="demo", TYPE="mock")'),
    "demo1": stream('CREATE STREAM demo1 () WITH (DATASOURCE="demo1", TYPE="mock")'),
    "s": stream('CREATE STREAM s () WITH (DATASOURCE="s", TYPE="mock")'),
    "typed": stream('CREATE STREAM typed (size BIGINT, color STRING) WITH (DATASOURCE="t", TYPE="mock")'),
    "table1": stream('CREATE TABLE table1 () WITH (DATASOURCE="lookup.json", TYPE="file")'),
    "table2": stream('CREATE TABLE table2 (id BIGINT) WITH (DATASOURCE="t2", TYPE="file")'),
}


def plan(sql: str, options: dict | None = None) -> RulePlan:
    return plan_sql(sql, STREAMS, options)


def plan_error(sql: str, options: dict | None = None) -> str:
    with pytest.raises(RuleError) as exc:
        plan(sql, options)
    return str(exc.value)


class Rule:
    """A rule on a virtual clock that starts at 0; `emitted` collects what reaches the sink."""

    def __init__(self, sql: str, options: dict | None = None, start: int = 0):
        self.clock = VirtualClock(start)
        self.emitted: list[list[dict]] = []
        opts = {"sendError": True}
        opts.update(options or {})
        self.runtime = build_rule("rule1", sql, STREAMS, self.emitted.append, self.clock, opts)
        self.runtime.start()

    def send(self, msg: dict, ts: int | None = None, stream: str | None = None) -> Rule:
        if ts is not None:
            self.clock.advance_to(ts)
        sources = self.runtime.plan.sources
        name = stream or sources[0].name
        index = next(i for i, s in enumerate(sources) if s.name == name)
        self.runtime.ingest(index, Row(msg, self.clock.now_ms(), {"topic": "mock"}, name))
        return self

    def advance(self, ts: int) -> Rule:
        self.clock.advance_to(ts)
        return self


def emissions(sql: str, msgs: list[dict], options: dict | None = None) -> list[list[dict]]:
    rule = Rule(sql, options)
    for i, m in enumerate(msgs):
        rule.send(m, ts=i * 10)
    return rule.emitted


# --- plan-time errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM nope", "stream nope not found"),
        ("SELECT * FROM demo INNER JOIN nope ON demo.a = nope.a GROUP BY TUMBLINGWINDOW(ss, 1)", "stream nope not found"),
        ("SELECT nofunc(a) FROM demo", "function nofunc not found"),
        ("SELECT abs(a, b) FROM demo", "abs: Expect 1 arguments but found 2."),
        ("SELECT a FROM demo WHERE count(*) > 1", "Not allowed to call aggregate functions in WHERE clause."),
        ("SELECT count(*) AS c FROM demo WHERE c > 1", "Not allowed to call aggregate functions in WHERE clause."),
        ("SELECT sum(count(*)) FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)",
         "invalid argument for func sum: aggregate argument is not allowed"),
        ("SELECT avg(a + max(b)) FROM demo", "invalid argument for func avg: aggregate argument is not allowed"),
        ("SELECT a FROM demo GROUP BY count(*), TUMBLINGWINDOW(ss, 1)",
         "Not allowed to call aggregate functions in GROUP BY clause."),
        ("SELECT a FROM demo GROUP BY a", "GROUP BY needs a window"),
        ("SELECT * FROM demo INNER JOIN demo1 ON demo.a = demo1.a", "a stream-to-stream join needs a window"),
        ("SELECT nope FROM typed", "unknown field nope"),
        ("SELECT size FROM typed WHERE nope > 1", "unknown field nope"),
        ("SELECT typed.nope FROM typed", "unknown field nope"),
        ("SELECT x.size FROM demo", "stream x not found"),
        ("SELECT * FROM table1", "a rule cannot select from tables only"),
        ("SELECT * FROM table1 INNER JOIN table2 ON table1.id = table2.id", "a rule cannot select from tables only"),
        ("SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1), COUNTWINDOW(2)", "Only one window function is allowed in GROUP BY"),
        ("SELECT count(*) FROM demo GROUP BY TUMBLINGWINDOW(ss, 0)", "Invalid parameter value for tumblingwindow"),
        ("SELECT count(*) FROM demo GROUP BY HOPPINGWINDOW(ss, 2, 0)", "Invalid parameter value for hoppingwindow"),
        ("SELECT count(*) FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) OVER (WHEN a > 1)",
         "only sliding windows support OVER (WHEN ...)"),
        ("SELECT unnest(a), unnest(b) FROM demo", "select statement can only have one set-returning function"),
        ("SELECT a FROM demo WHERE unnest(a) = 1", "function unnest is only allowed as a SELECT field"),
        ("SELECT a AS b, b AS a FROM demo", "alias b is referenced in a cycle"),
    ],
)
def test_plan_errors(sql, message):
    assert plan_error(sql) == message


@pytest.mark.parametrize(
    "sql",
    [
        # a window alone makes an aggregate statement in eKuiper's checker, as does a join
        "SELECT last_hit_count() FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)",
        "SELECT a, last_hit_time() AS t FROM demo GROUP BY COUNTWINDOW(2)",
        "SELECT demo.a FROM demo INNER JOIN table1 ON demo.id = table1.id WHERE last_hit_count() > 1",
        "SELECT color FROM demo GROUP BY color, TUMBLINGWINDOW(ss, 1) HAVING last_hit_count() > 1",
    ],
)
def test_no_agg_functions_are_rejected_in_aggregate_statements(sql):
    name = "last_hit_time" if "last_hit_time" in sql else "last_hit_count"
    assert plan_error(sql) == f"function {name} is not allowed in an aggregate query"


def test_no_agg_functions_are_allowed_in_the_sliding_window_trigger():
    p = plan("SELECT color, count(*) AS c FROM demo GROUP BY SLIDINGWINDOW(ss, 2) OVER (WHEN ts - last_hit_time() > 1000), color")
    assert p.window.trigger is not None
    assert p.uses_last_hit is True


def test_no_agg_functions_are_allowed_with_aggregates_but_no_window():
    # eKuiper only counts GROUP BY and joins as making an aggregate statement
    rule = Rule("SELECT last_hit_count() AS lc, count(*) AS c FROM demo WHERE size > 1")
    rule.send({"size": 3}).send({"size": 1}).send({"size": 5})
    assert rule.emitted == [[{"lc": 0, "c": 1}], [{"lc": 1, "c": 1}]]


def test_plan_rule_raises_plan_error_directly():
    stmt = parse("SELECT * FROM nope")
    with pytest.raises(PlanError, match="^stream nope not found$"):
        plan_rule(stmt, STREAMS, RuleOptions(), registry)


def test_bad_options_fail_before_planning():
    assert plan_error("SELECT * FROM demo", {"qos": 5}) == "invalid qos 5: it must be 0, 1 or 2"


# --- the plan's shape -----------------------------------------------------------------------


def test_sources_in_from_join_order_with_aliases():
    p = plan("SELECT * FROM demo AS d LEFT JOIN table1 AS t ON d.id = t.id")
    assert [(s.name, s.alias, s.ref, s.is_table) for s in p.sources] == [
        ("demo", "d", "d", False), ("table1", "t", "t", True),
    ]
    assert [s.name for s in p.streams] == ["demo", "table1"]
    assert p.is_join is True
    assert [(j.kind, j.index) for j in p.joins] == [("LEFT", 1)]
    assert p.joins[0].on is not None


def test_stream_table_join_needs_no_window():
    p = plan("SELECT demo.a, table1.b FROM demo INNER JOIN table1 ON demo.id = table1.id")
    assert p.window is None
    assert p.is_join is True


def test_schema_is_taken_from_the_stream_definition():
    p = plan("SELECT size FROM typed")
    assert list(p.sources[0].columns) == ["size", "color"]
    assert plan("SELECT x FROM demo").sources[0].columns is None


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        ("TUMBLINGWINDOW(ss, 10)", dict(kind="TUMBLINGWINDOW", unit="SS", length=10_000, interval=0, n=10)),
        ("TUMBLINGWINDOW(ms, 500)", dict(kind="TUMBLINGWINDOW", unit="MS", length=500, n=500)),
        ("HOPPINGWINDOW(mi, 2, 1)", dict(kind="HOPPINGWINDOW", unit="MI", length=120_000, interval=60_000, n=2, hop_n=1)),
        ("SLIDINGWINDOW(hh, 1)", dict(kind="SLIDINGWINDOW", unit="HH", length=3_600_000, interval=0)),
        ("SLIDINGWINDOW(ss, 2, 1)", dict(kind="SLIDINGWINDOW", length=2000, interval=1000)),
        ("SESSIONWINDOW(dd, 1, 2)", dict(kind="SESSIONWINDOW", unit="DD", length=86_400_000, interval=172_800_000)),
        ("COUNTWINDOW(5)", dict(kind="COUNTWINDOW", length=5, interval=0)),
        ("COUNTWINDOW(5, 2)", dict(kind="COUNTWINDOW", length=5, interval=2)),
    ],
)
def test_window_specs(group_by, expected):
    w = plan(f"SELECT count(*) FROM demo GROUP BY {group_by}").window
    for attr, value in expected.items():
        assert getattr(w, attr) == value, attr


def test_window_filter_and_state_conditions_compile():
    w = plan("SELECT count(*) FROM demo GROUP BY COUNTWINDOW(2) FILTER (WHERE size > 1)").window
    assert w.filter(Row({"size": 2})) is True
    assert w.filter(Row({"size": 1})) is False
    s = plan("SELECT * FROM demo GROUP BY STATEWINDOW(a > 1, a < 0)").window
    assert s.state_begin(Row({"a": 2})) is True
    assert s.state_emit(Row({"a": -1})) is True
    one = plan("SELECT * FROM demo GROUP BY STATEWINDOW(a = 1)").window
    assert one.state_begin is None
    assert one.state_emit(Row({"a": 1})) is True


def test_window_partition():
    w = plan("SELECT * FROM demo GROUP BY STATEWINDOW(a = 1) OVER (PARTITION BY b)").window
    assert [p(Row({"b": "x"})) for p in w.partition] == ["x"]


@pytest.mark.parametrize(
    ("sql", "options", "pushed"),
    [
        ("SELECT * FROM demo WHERE a > 1 GROUP BY TUMBLINGWINDOW(ss, 1)", None, True),
        ("SELECT * FROM demo WHERE a > 1 GROUP BY HOPPINGWINDOW(ss, 2, 1)", None, True),
        ("SELECT * FROM demo WHERE a > 1 GROUP BY SESSIONWINDOW(ss, 2, 1)", None, True),
        ("SELECT * FROM demo WHERE a > 1 GROUP BY COUNTWINDOW(2)", None, False),
        ("SELECT * FROM demo WHERE a > 1 GROUP BY SLIDINGWINDOW(ss, 2)", None, False),
        ("SELECT * FROM demo WHERE a > 1 GROUP BY TUMBLINGWINDOW(ss, 1)", {"isEventTime": True}, False),
        ("SELECT * FROM demo INNER JOIN demo1 ON demo.a = demo1.a WHERE demo.a > 1 GROUP BY TUMBLINGWINDOW(ss, 1)",
         None, False),
        ("SELECT * FROM demo WHERE a > 1", None, False),
        ("SELECT * FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)", None, False),
    ],
)
def test_where_is_pushed_below_processing_time_windows_only(sql, options, pushed):
    assert plan(sql, options).where_pushed_down is pushed


@pytest.mark.parametrize(
    ("sql", "aggregate"),
    [
        ("SELECT a FROM demo", False),
        ("SELECT count(*) FROM demo", True),
        ("SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)", False),
        ("SELECT a FROM demo GROUP BY a, TUMBLINGWINDOW(ss, 1)", True),
        ("SELECT count(*) AS c, a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)", True),
        ("SELECT c FROM demo", False),
    ],
)
def test_aggregate_flag(sql, aggregate):
    assert plan(sql).aggregate is aggregate


def test_dimensions_order_limit_and_analytics():
    p = plan(
        "SELECT color, lag(size) AS l, count(*) AS c FROM demo "
        "GROUP BY color, size % 2, TUMBLINGWINDOW(ss, 1) ORDER BY c DESC, color LIMIT 3"
    )
    assert len(p.dimensions) == 2
    assert [desc for _, desc in p.order_by] == [True, False]
    assert p.limit == 3
    assert len(p.analytics) == 1
    assert p.uses_last_hit is False


def test_explain():
    p = plan("SELECT color, count(*) FROM demo WHERE size > 1 GROUP BY color, TUMBLINGWINDOW(ss, 1) HAVING count(*) > 1 ORDER BY color LIMIT 2")
    assert p.explain() == "\n".join([
        "source: demo",
        "  window: TUMBLINGWINDOW",
        "    filter (pushed below the window)",
        "      aggregate: 1 key(s)",
        "        having",
        "          order",
        "            project limit 2",
    ])
    assert plan("SELECT lag(a) FROM demo").explain() == "source: demo\n  analytic: 1 call(s)\n    project"


# --- running plans: output naming ----------------------------------------------------------


def test_unnamed_expressions_are_kuiper_field_n():
    assert emissions("SELECT size*5 FROM demo", [{"size": 3}]) == [[{"kuiper_field_0": 15}]]


def test_output_names_end_to_end():
    out = emissions(
        "SELECT demo.size, upper(color), size + 1, meta(topic), color AS c, abs(size) * 2 FROM demo",
        [{"size": -3, "color": "red"}],
    )
    assert out == [[{"size": -3, "upper": "RED", "kuiper_field_0": -2, "meta": "mock", "c": "red", "kuiper_field_1": 6}]]


def test_alias_same_name_as_column_end_to_end():
    assert emissions("SELECT size + 1 AS size, size + 1 AS b FROM demo", [{"size": 3}]) == [[{"size": 4, "b": 5}]]


def test_null_fields_are_omitted_and_kept_with_send_nil_field():
    msgs = [{"a": 1, "b": None}]
    assert emissions("SELECT a, b, c FROM demo", msgs) == [[{"a": 1}]]
    assert emissions("SELECT * FROM demo", msgs) == [[{"a": 1}]]
    assert emissions("SELECT a, b, c FROM demo", msgs, {"sendNilField": True}) == [[{"a": 1, "b": None, "c": None}]]
    assert emissions("SELECT * FROM demo", msgs, {"sendNilField": True}) == [[{"a": 1, "b": None}]]


def test_a_row_with_only_null_fields_is_an_empty_object():
    assert emissions("SELECT nothing FROM demo", [{"a": 1}]) == [[{}]]


# --- aliases in WHERE, ORDER BY, HAVING, ON --------------------------------------------------


def test_alias_in_where():
    assert emissions("SELECT size * 2 AS d FROM demo WHERE d > 4", [{"size": 1}, {"size": 3}]) == [[{"d": 6}]]


def test_alias_with_a_column_name_in_where_means_the_alias():
    assert emissions("SELECT size + 10 AS size FROM demo WHERE size > 12", [{"size": 1}, {"size": 3}]) == [[{"size": 13}]]


def test_alias_in_order_by_and_having_of_a_window():
    rule = Rule("SELECT color, count(*) AS c FROM demo GROUP BY color, TUMBLINGWINDOW(ss, 1) HAVING c > 1 ORDER BY c DESC")
    for ts, color in [(100, "a"), (200, "b"), (300, "b"), (400, "a"), (500, "a"), (600, "z")]:
        rule.send({"color": color}, ts=ts)
    rule.advance(1000)
    assert rule.emitted == [[{"color": "a", "c": 3}, {"color": "b", "c": 2}]]


def test_order_by_alias_of_a_plain_column_in_a_window():
    rule = Rule("SELECT size AS s FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) ORDER BY s DESC LIMIT 2")
    for ts, size in [(100, 2), (200, 9), (300, 5)]:
        rule.send({"size": size}, ts=ts)
    rule.advance(1000)
    assert rule.emitted == [[{"s": 9}, {"s": 5}]]


def test_alias_in_join_on():
    rule = Rule(
        "SELECT demo.ts AS ts1, demo1.ts AS ts2, v FROM demo INNER JOIN demo1 ON ts1 = ts2 GROUP BY TUMBLINGWINDOW(ss, 1)"
    )
    rule.send({"ts": 1, "v": "a"}, ts=100, stream="demo")
    rule.send({"ts": 1}, ts=200, stream="demo1")
    rule.send({"ts": 2}, ts=300, stream="demo1")
    rule.advance(1000)
    assert rule.emitted == [[{"ts1": 1, "ts2": 1, "v": "a"}]]


# --- analytic functions run before WHERE ----------------------------------------------------


def test_lag_sees_rows_that_where_drops():
    # corpus TestLagAlias: the row with size 4 gets lastSize = 2 from a filtered-out row
    out = emissions("SELECT lag(size) AS lastSize, size FROM demo WHERE size > 2", [{"size": 3}, {"size": 2}, {"size": 4}])
    assert out == [[{"size": 3}], [{"lastSize": 2, "size": 4}]]


def test_analytic_function_in_where():
    out = emissions("SELECT size FROM demo WHERE lag(size) > 1", [{"size": 3}, {"size": 1}, {"size": 5}])
    assert out == [[{"size": 1}]]


def test_over_partition_by_keeps_state_per_key():
    out = emissions(
        "SELECT color, lag(size) OVER (PARTITION BY color) AS l FROM demo",
        [{"size": 1, "color": "a"}, {"size": 2, "color": "b"}, {"size": 3, "color": "a"}, {"size": 4, "color": "b"}],
    )
    assert out == [[{"color": "a"}], [{"color": "b"}], [{"color": "a", "l": 1}], [{"color": "b", "l": 2}]]


def test_over_when_updates_state_only_when_true():
    out = emissions(
        "SELECT size, lag(size) OVER (WHEN size > 1) AS l FROM demo",
        [{"size": 5}, {"size": 1}, {"size": 3}, {"size": 4}],
    )
    # size 1 never enters the history: the next valid row still sees 5
    assert out[0] == [{"size": 5}]
    assert out[2:] == [[{"size": 3, "l": 5}], [{"size": 4, "l": 3}]]


def test_acc_sum_over_when_keeps_its_last_value():
    out = emissions("SELECT acc_sum(size) OVER (WHEN size > 1) AS s FROM demo", [{"size": 3}, {"size": 1}, {"size": 5}])
    assert out == [[{"s": 3.0}], [{"s": 3.0}], [{"s": 8.0}]]


def test_analytic_functions_run_per_row_before_a_window():
    rule = Rule("SELECT lag(size) AS l, size FROM demo WHERE size > 1 GROUP BY COUNTWINDOW(2)")
    for size in (1, 2, 3, 4):
        rule.send({"size": size})
    # the count window counts all rows; WHERE runs after it; lag saw every row
    assert rule.emitted == [[{"l": 1, "size": 2}], [{"l": 2, "size": 3}, {"l": 3, "size": 4}]]


# --- aggregates without a window ------------------------------------------------------------


def test_aggregates_without_a_window_see_the_single_row():
    out = emissions("SELECT count(*) AS c, sum(size) AS s, avg(size) AS a, max(size) AS m FROM demo", [{"size": 3}, {"size": 8}])
    assert out == [[{"c": 1, "s": 3, "a": 3, "m": 3}], [{"c": 1, "s": 8, "a": 8, "m": 8}]]


def test_having_without_a_window_filters_single_rows():
    out = emissions("SELECT size, count(*) AS c FROM demo HAVING size > 2", [{"size": 3}, {"size": 1}])
    assert out == [[{"size": 3, "c": 1}]]


# --- runtime errors, as emitted with sendError -----------------------------------------------


def test_where_type_mismatch_is_emitted_as_an_error():
    out = emissions("SELECT size FROM demo WHERE color > 2", [{"size": 3, "color": "blue"}, {"size": 1, "color": 5}])
    assert out == [[{"error": "run Where error: invalid operation string(blue) > int64(2)"}], [{"size": 1}]]


def test_where_on_select_star_reports_the_same_error():
    out = emissions("SELECT * FROM demo WHERE size > 2", [{"size": "blue"}, {"size": 3}])
    assert out == [[{"error": "run Where error: invalid operation string(blue) > int64(2)"}], [{"size": 3}]]


def test_where_must_be_boolean():
    out = emissions("SELECT size FROM demo WHERE size", [{"size": 3}])
    assert out == [[{"error": "run Where error: invalid condition that returns non-bool value int64(3)"}]]


def test_where_with_null_is_false():
    assert emissions("SELECT size FROM demo WHERE missing > 2 OR missing = 1", [{"size": 3}]) == []


def test_select_error_is_emitted_with_alias_and_expression():
    rule = Rule("SELECT size * 5 AS c FROM s")
    rule.send({"size": "red"})
    assert rule.emitted == [[{
        "error": "run Select error: alias: c expr: binaryExpr:{ s.size * 5 } meet error, "
                 "err:invalid operation string(red) * int64(5)"
    }]]


def test_select_error_without_alias():
    rule = Rule("SELECT size * 5 FROM s")
    rule.send({"size": True})
    assert rule.emitted == [[{
        "error": "run Select error: expr: binaryExpr:{ s.size * 5 } meet error, err:invalid operation bool(true) * int64(5)"
    }]]


def test_out_of_range_index_is_a_select_error():
    rule = Rule("SELECT arr[5] AS x FROM demo")
    rule.send({"arr": [1, 2, 3, 4, 5]})
    (error,) = rule.emitted[0]
    assert error["error"].startswith("run Select error: alias: x expr: ")
    assert error["error"].endswith("meet error, err:out of index: 5 of 5")


def test_errors_are_dropped_without_send_error_and_the_rule_goes_on():
    out = emissions("SELECT size FROM demo WHERE color > 2", [{"size": 3, "color": "blue"}, {"size": 4, "color": 9}],
                    {"sendError": False})
    assert out == [[{"size": 4}]]


# --- joins ----------------------------------------------------------------------------------


def test_join_output_names_and_leftmost_wins():
    rule = Rule("SELECT * FROM demo INNER JOIN demo1 ON demo.id = demo1.id GROUP BY TUMBLINGWINDOW(ss, 1)")
    rule.send({"id": 1, "v": "left"}, ts=100, stream="demo")
    rule.send({"id": 1, "v": "right", "w": 2}, ts=200, stream="demo1")
    rule.advance(1000)
    assert rule.emitted == [[{"id": 1, "v": "left", "w": 2}]]


def test_analytic_function_in_a_join_rule():
    # analytic arguments are evaluated on each source row before the join
    rule = Rule("SELECT lag(demo.v) AS l, demo.v FROM demo INNER JOIN demo1 ON demo.id = demo1.id "
                "GROUP BY TUMBLINGWINDOW(ss, 1)")
    rule.send({"id": 1, "v": "a"}, ts=100, stream="demo")
    rule.send({"id": 1}, ts=150, stream="demo1")
    rule.send({"id": 1, "v": "b"}, ts=200, stream="demo")
    rule.advance(1000)
    assert rule.emitted == [[{"v": "a"}, {"l": "a", "v": "b"}]]


def test_window_filter_in_a_join_rule():
    # the FILTER runs on each source's rows before the window and the join
    rule = Rule("SELECT demo.v, demo1.w FROM demo INNER JOIN demo1 ON demo.id = demo1.id "
                "GROUP BY TUMBLINGWINDOW(ss, 1) FILTER (WHERE id > 0)")
    rule.send({"id": 0, "v": "dropped"}, ts=100, stream="demo")
    rule.send({"id": 1, "v": "keep"}, ts=120, stream="demo")
    rule.send({"id": 1, "w": 7}, ts=150, stream="demo1")
    rule.send({"id": 0, "w": 8}, ts=160, stream="demo1")
    rule.advance(1000)
    assert rule.emitted == [[{"v": "keep", "w": 7}]]


def test_join_without_a_result_emits_nothing():
    rule = Rule("SELECT * FROM demo INNER JOIN demo1 ON demo.id = demo1.id GROUP BY TUMBLINGWINDOW(ss, 1)")
    rule.send({"id": 1}, ts=100, stream="demo")
    rule.send({"id": 2}, ts=200, stream="demo1")
    rule.advance(2500)
    assert rule.emitted == []


def test_a_window_without_a_join_emits_empty_windows():
    rule = Rule("SELECT * FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)")
    rule.send({"a": 1}, ts=100)
    rule.advance(2000)
    assert rule.emitted == [[{"a": 1}], []]
