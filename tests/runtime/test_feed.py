"""A StreamFeed validates and timestamps each message once and hands it to every rule by direct calls."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from arrokoth.plan.rows import Row
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.builder import attach, build_rule, detach
from arrokoth.runtime.clock import VirtualClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse

START = 1_541_152_486_000


def stream(ddl: str) -> StreamDef:
    return StreamDef.from_ast(parse(ddl), ddl)


DEMO = stream('CREATE STREAM demo () WITH (DATASOURCE="demo", TYPE="mock")')
STRICT = stream(
    'CREATE STREAM strict (size BIGINT, color STRING) WITH (DATASOURCE="s", TYPE="mock", STRICT_VALIDATION="true")'
)
TIMED = stream('CREATE STREAM timed (ts BIGINT, v FLOAT) WITH (DATASOURCE="t", TYPE="mock", TIMESTAMP="ts")')


class Rule:
    """What a rule gives a feed: an ingest call and an error sink; it records what it got."""

    def __init__(self):
        self.rows: list[tuple[int, Row]] = []
        self.errors: list[str] = []

    def ingest(self, index: int, row: Row) -> None:
        self.rows.append((index, row))

    def error(self, message: str) -> None:
        self.errors.append(message)


def subscribed(feed: StreamFeed, n: int, **kw) -> list[Rule]:
    rules = [Rule() for _ in range(n)]
    for i, r in enumerate(rules):
        feed.subscribe(r.ingest, i, r.error, **kw)
    return rules


def test_every_subscriber_gets_the_very_same_message_object():
    feed = StreamFeed(DEMO, VirtualClock(START))
    rules = subscribed(feed, 3)
    msg = {"a": 1}
    feed.publish(msg, {"topic": "mock"})
    rows = [r.rows[0][1] for r in rules]
    assert all(row.msg is msg for row in rows)
    assert rows[0] is rows[1] is rows[2]
    assert [r.rows[0][0] for r in rules] == [0, 1, 2]
    assert rows[0].ts == START
    assert rows[0].meta == {"topic": "mock"}
    assert rows[0].emitter == "demo"


def test_publish_many_shares_each_message_among_subscribers():
    feed = StreamFeed(DEMO, VirtualClock(START))
    a, b = subscribed(feed, 2)
    msgs = [{"n": 1}, {"n": 2}]
    feed.publish_many(msgs)
    assert [row.msg for _, row in a.rows] == msgs
    assert all(x[1] is y[1] for x, y in zip(a.rows, b.rows))
    assert all(row.msg is m for (_, row), m in zip(b.rows, msgs))


def test_fan_out_is_a_direct_call_without_asyncio():
    feed = StreamFeed(DEMO, VirtualClock(START))
    seen: list = []

    def ingest(index: int, row: Row) -> None:
        # called from publish itself, with no event loop (no queue, no task) in between
        caller = inspect.currentframe().f_back
        seen.append(caller.f_code.co_name)
        with pytest.raises(RuntimeError):
            asyncio.get_running_loop()

    feed.subscribe(ingest, 0, lambda m: None)
    feed.subscribe(ingest, 1, lambda m: None)
    feed.publish({"a": 1})
    assert seen == ["publish", "publish"]


def test_several_real_rules_on_one_feed():
    clock = VirtualClock(START)
    feeds = {"demo": StreamFeed(DEMO, clock)}
    out_a: list = []
    out_b: list = []
    rule_a = build_rule("a", "SELECT a FROM demo", {"demo": DEMO}, out_a.append, clock)
    rule_b = build_rule("b", "SELECT a * 2 AS d FROM demo WHERE a > 1", {"demo": DEMO}, out_b.append, clock)
    for r in (rule_a, rule_b):
        attach(r, feeds)
        r.start()
    assert feeds["demo"].subscribers == 2
    for ts, a in ((START + 10, 1), (START + 20, 2)):
        clock.advance_to(ts)
        feeds["demo"].publish({"a": a}, ts=ts)
    detach(rule_b, feeds)
    feeds["demo"].publish({"a": 3}, ts=START + 30)
    for r in (rule_a, rule_b):
        r.stop()
    assert out_a == [[{"a": 1}], [{"a": 2}], [{"a": 3}]]
    assert out_b == [[{"d": 4}]]
    assert feeds["demo"].subscribers == 1


def test_strict_validation_errors_go_to_every_subscriber():
    feed = StreamFeed(STRICT, VirtualClock(START))
    rules = subscribed(feed, 3)
    feed.publish({"size": "big", "color": "red"})
    for r in rules:
        assert r.rows == []
        assert len(r.errors) == 1
        assert r.errors[0].startswith("error in preprocessor: field size type mismatch")


def test_strict_validation_missing_field_is_an_error():
    feed = StreamFeed(STRICT, VirtualClock(START))
    [rule] = subscribed(feed, 1)
    feed.publish({"size": 1})
    assert rule.errors == ["error in preprocessor: field color is not found"]


def test_strict_validation_converts_once_for_all_subscribers():
    feed = StreamFeed(STRICT, VirtualClock(START))
    a, b = subscribed(feed, 2)
    feed.publish({"size": 3.0, "color": "red"})
    [(_, row_a)] = a.rows
    [(_, row_b)] = b.rows
    assert row_a is row_b
    assert row_a.msg == {"size": 3, "color": "red"}
    assert type(row_a.msg["size"]) is int
    assert a.errors == b.errors == []


def test_strict_validation_in_publish_many_reports_each_bad_message():
    feed = StreamFeed(STRICT, VirtualClock(START))
    [rule] = subscribed(feed, 1)
    feed.publish_many([{"size": 1, "color": "a"}, {"size": "x", "color": "b"}, {"size": 2, "color": "c"}])
    assert [row.msg["color"] for _, row in rule.rows] == ["a", "c"]
    assert len(rule.errors) == 1


def test_event_time_subscribers_get_the_timestamp_field_others_the_arrival_time():
    feed = StreamFeed(TIMED, VirtualClock(START))
    [proc] = subscribed(feed, 1)
    [event] = subscribed(feed, 1, event_time=True)
    msg = {"ts": START - 500, "v": 1.0}
    feed.publish(msg)
    [(_, proc_row)] = proc.rows
    [(_, event_row)] = event.rows
    assert proc_row.ts == START
    assert event_row.ts == START - 500
    assert proc_row.msg is msg
    assert event_row.msg is msg


def test_missing_timestamp_field_is_an_error_for_every_subscriber():
    feed = StreamFeed(TIMED, VirtualClock(START))
    rules = subscribed(feed, 1) + subscribed(feed, 1, event_time=True)
    feed.publish({"v": 1.0})
    assert all(r.rows == [] for r in rules)
    assert all(len(r.errors) == 1 and "ts" in r.errors[0] for r in rules)


def test_timestamp_field_is_ignored_without_event_time_subscribers():
    feed = StreamFeed(TIMED, VirtualClock(START))
    [rule] = subscribed(feed, 1)
    feed.publish({"v": 1.0})
    assert rule.errors == []
    assert rule.rows[0][1].ts == START


def test_explicit_timestamp_overrides_the_clock():
    feed = StreamFeed(DEMO, VirtualClock(START))
    [rule] = subscribed(feed, 1)
    feed.publish({"a": 1}, ts=START + 42)
    assert rule.rows[0][1].ts == START + 42


def test_unsubscribe_removes_a_rule():
    # the callable given to subscribe, as RuleRuntime keeps its `ingest` closure
    feed = StreamFeed(DEMO, VirtualClock(START))
    a, b = Rule(), Rule()
    ingest_a = a.ingest
    feed.subscribe(ingest_a, 0, a.error)
    feed.subscribe(b.ingest, 1, b.error)
    feed.unsubscribe(ingest_a)
    assert feed.subscribers == 1
    feed.publish({"a": 1})
    assert a.rows == []
    assert len(b.rows) == 1


def test_unsubscribe_with_a_bound_method_accessed_again():
    feed = StreamFeed(DEMO, VirtualClock(START))
    a, b = subscribed(feed, 2)
    feed.unsubscribe(a.ingest)
    assert feed.subscribers == 1


def test_publish_without_subscribers_is_harmless():
    feed = StreamFeed(STRICT, VirtualClock(START))
    feed.publish({"size": "bad"})
    feed.publish_many([{"size": 1, "color": "x"}])
    assert feed.subscribers == 0
