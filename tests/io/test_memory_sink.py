"""The memory sink publishes a rule's results on the in-process bus."""

from __future__ import annotations

import pytest

from arrokoth.io.memory_bus import bus
from arrokoth.io.sinks.base import SinkConfigError, SinkNode
from arrokoth.io.sinks.memory import MemorySink


@pytest.fixture
def received():
    """Subscribe to `test/memory_sink/#` on the shared bus for the test's duration."""
    got: list[tuple[str, list]] = []
    token = bus.subscribe("test/memory_sink/#", lambda topic, rows: got.append((topic, rows)))
    yield got
    bus.unsubscribe(token)


def test_results_reach_a_subscriber_of_the_topic(received):
    props = {"topic": "test/memory_sink/out"}
    node = SinkNode(MemorySink(props), props)
    node.collect([{"a": 1}, {"a": 2}])
    assert received == [("test/memory_sink/out", [{"a": 1}, {"a": 2}])]


def test_send_single_publishes_each_row_as_a_list(received):
    props = {"topic": "test/memory_sink/single", "sendSingle": True}
    SinkNode(MemorySink(props), props).collect([{"a": 1}, {"a": 2}])
    assert received == [("test/memory_sink/single", [{"a": 1}]), ("test/memory_sink/single", [{"a": 2}])]


def test_rows_are_not_encoded(received):
    props = {"topic": "test/memory_sink/raw"}
    SinkNode(MemorySink(props), props).collect([{"f": 3.0, "b": b"x"}])
    [(_, rows)] = received
    assert rows == [{"f": 3.0, "b": b"x"}]
    assert type(rows[0]["f"]) is float


def test_a_subscriber_of_another_topic_gets_nothing(received):
    props = {"topic": "test/elsewhere"}
    SinkNode(MemorySink(props), props).collect([{"a": 1}])
    assert received == []


def test_topic_property_is_case_insensitive(received):
    props = {"TOPIC": "test/memory_sink/upper"}
    SinkNode(MemorySink(props), props).collect([{"a": 1}])
    assert received == [("test/memory_sink/upper", [{"a": 1}])]


@pytest.mark.parametrize("topic", ["a/+", "a/#", "#", "+"])
def test_wildcard_topic_is_rejected(topic: str):
    with pytest.raises(SinkConfigError, match="topic.*wildcard"):
        MemorySink({"topic": topic})


@pytest.mark.parametrize("props", [{}, {"topic": ""}, {"topic": 3}])
def test_a_topic_is_required(props: dict):
    with pytest.raises(SinkConfigError, match="topic"):
        MemorySink(props)


def test_optional_properties_are_kept():
    sink = MemorySink({"topic": "t", "rowkindField": "action", "keyField": "id"})
    assert (sink.topic, sink.rowkind_field, sink.key_field) == ("t", "action", "id")
