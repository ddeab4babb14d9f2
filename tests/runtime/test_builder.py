"""From rule text to a running rule: plan_sql, build_rule, attach and detach."""

from __future__ import annotations

import pytest

from arrokoth.plan.rows import Row
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.builder import RuleError, attach, build_rule, detach, plan_sql
from arrokoth.runtime.clock import VirtualClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import SqlSyntaxError, parse

START = 1_541_152_486_000


def stream(ddl: str) -> StreamDef:
    return StreamDef.from_ast(parse(ddl), ddl)


STREAMS = {
    d.name: d
    for d in map(
        stream,
        [
            'CREATE STREAM demo () WITH (DATASOURCE="demo", TYPE="mock")',
            'CREATE STREAM demo1 () WITH (DATASOURCE="demo1", TYPE="mock")',
            'CREATE STREAM typed (a BIGINT) WITH (DATASOURCE="typed", TYPE="mock")',
            'CREATE TABLE tbl () WITH (DATASOURCE="tbl", TYPE="mock")',
            'CREATE TABLE lk () WITH (DATASOURCE="lk", TYPE="memory", KIND="lookup", KEY="id")',
        ],
    )
}
LOOKUP_SQL = "SELECT demo.id AS id, lk.v AS v FROM demo INNER JOIN lk ON demo.id = lk.id"


# --- plan_sql ---------------------------------------------------------------------------


def test_plan_sql_gives_a_plan():
    plan = plan_sql("SELECT a FROM demo WHERE a > 1", STREAMS)
    assert [s.name for s in plan.sources] == ["demo"]
    assert plan.where is not None
    assert plan.window is None


def test_plan_sql_accepts_options_as_a_dict():
    plan = plan_sql("SELECT a FROM demo", STREAMS, {"sendError": True, "qos": 1})
    assert plan.options.send_error is True
    assert plan.options.qos == 1


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM nope", "stream nope not found"),
        ("SELECT nofunc(a) FROM demo", "function nofunc not found"),
        ("SELECT a FROM demo GROUP BY a", "GROUP BY needs a window"),
        ("SELECT * FROM demo JOIN demo1 ON demo.a = demo1.a", "a stream-to-stream join needs a window"),
        ("SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 0)", "Invalid parameter value for tumblingwindow"),
        ("SELECT a FROM demo WHERE count(*) > 1", "Not allowed to call aggregate functions in WHERE clause."),
        ("SELECT b FROM typed", "unknown field b"),
        ("SELECT * FROM tbl", "a rule cannot select from tables only"),
        ("SELECT sum(count(a)) FROM demo GROUP BY COUNTWINDOW(2)",
         "invalid argument for func sum: aggregate argument is not allowed"),
        ("SELECT unnest(a), unnest(b) FROM demo", "select statement can only have one set-returning function"),
        ("CREATE STREAM x () WITH (DATASOURCE=\"x\")", "the rule SQL must be a SELECT statement"),
    ],
)
def test_plan_errors_become_rule_errors(sql, message):
    with pytest.raises(RuleError) as info:
        plan_sql(sql, STREAMS)
    assert str(info.value) == message


def test_option_errors_become_rule_errors():
    with pytest.raises(RuleError, match="invalid qos 5"):
        plan_sql("SELECT a FROM demo", STREAMS, {"qos": 5})


def test_syntax_errors_stay_syntax_errors():
    with pytest.raises(SqlSyntaxError):
        plan_sql("SELECT FROM", STREAMS)


# --- build_rule -------------------------------------------------------------------------


def test_a_lookup_table_without_a_provider_is_an_error():
    with pytest.raises(RuleError, match="lookup table lk has no source to look up"):
        build_rule("r", LOOKUP_SQL, STREAMS, lambda rows: None, VirtualClock(START))
    with pytest.raises(RuleError, match="lookup table lk"):
        build_rule("r", LOOKUP_SQL, STREAMS, lambda rows: None, VirtualClock(START), lookups={"other": list})


def test_build_rule_wires_lookups_by_source_index():
    rows = [Row({"id": 1, "v": "a"}, 0, None, "lk")]
    rt = build_rule("r", LOOKUP_SQL, STREAMS, lambda rows: None, VirtualClock(START), lookups={"lk": lambda: rows})
    assert list(rt.lookups) == [1]
    assert rt.lookups[1]() == rows
    assert rt.id == "r"


def test_build_rule_does_not_start_the_rule():
    rt = build_rule("r", "SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)", STREAMS, lambda rows: None,
                    VirtualClock(START))
    assert not rt.running
    rt.start()
    assert rt.running
    assert rt.metrics.started == START


# --- attach / detach --------------------------------------------------------------------


def feeds_for(clock: VirtualClock, *names: str) -> dict[str, StreamFeed]:
    return {n: StreamFeed(STREAMS[n], clock) for n in names}


def test_attach_subscribes_the_rule_to_each_stream_it_reads():
    clock = VirtualClock(START)
    out: list = []
    rt = build_rule("r", "SELECT demo.id AS id, tbl.v AS v FROM demo INNER JOIN tbl ON demo.id = tbl.id",
                    STREAMS, out.append, clock)
    feeds = feeds_for(clock, "demo", "tbl", "demo1")
    attach(rt, feeds)
    rt.start()
    assert (feeds["demo"].subscribers, feeds["tbl"].subscribers, feeds["demo1"].subscribers) == (1, 1, 0)
    feeds["tbl"].publish({"id": 1, "v": "x"})
    feeds["demo"].publish({"id": 1})
    assert out == [[{"id": 1, "v": "x"}]]


def test_attach_skips_lookup_tables():
    clock = VirtualClock(START)
    out: list = []
    rt = build_rule("r", LOOKUP_SQL, STREAMS, out.append, clock, lookups={"lk": lambda: [Row({"id": 1, "v": "a"})]})
    feeds = feeds_for(clock, "demo", "lk")
    attach(rt, feeds)
    assert feeds["lk"].subscribers == 0
    attach(rt, feeds_for(clock, "demo"))  # no feed for the lookup table is needed at all
    rt.start()
    feeds["demo"].publish({"id": 1})
    assert out == [[{"id": 1, "v": "a"}]]


def test_attach_passes_event_time_to_the_feed():
    clock = VirtualClock(START)
    d = stream('CREATE STREAM ev (a BIGINT, ts BIGINT) WITH (DATASOURCE="ev", TYPE="mock", TIMESTAMP="ts")')
    out: list = []
    rt = build_rule("r", "SELECT a, event_time() AS et FROM ev", {"ev": d}, out.append, clock, {"isEventTime": True})
    feed = StreamFeed(d, clock)
    attach(rt, {"ev": feed})
    rt.start()
    feed.publish({"a": 1, "ts": START + 5})
    assert out == [[{"a": 1, "et": START + 5}]]


def test_attach_reports_feed_errors_to_the_rule():
    clock = VirtualClock(START)
    d = stream('CREATE STREAM s (a BIGINT) WITH (DATASOURCE="s", TYPE="mock", STRICT_VALIDATION="true")')
    out: list = []
    rt = build_rule("r", "SELECT a FROM s", {"s": d}, out.append, clock, {"sendError": True})
    feed = StreamFeed(d, clock)
    attach(rt, {"s": feed})
    feed.publish({"a": "x"})
    assert out == [[{"error": "error in preprocessor: field a type mismatch: cannot convert string(x) to int64"}]]
    assert rt.metrics.exceptions == 1


def test_detach_unsubscribes_and_tolerates_missing_feeds():
    clock = VirtualClock(START)
    out: list = []
    rt = build_rule("r", "SELECT id FROM demo", STREAMS, out.append, clock)
    feeds = feeds_for(clock, "demo")
    attach(rt, feeds)
    detach(rt, feeds)
    detach(rt, {})
    assert feeds["demo"].subscribers == 0
    feeds["demo"].publish({"id": 1})
    assert out == []
