"""The in-process bus: MQTT-style wildcards in subscriptions, direct delivery, unsubscribe."""

from __future__ import annotations

import pytest

from arrokoth.io.memory_bus import MemoryBus, bus, topic_matches


@pytest.mark.parametrize(
    ("pattern", "topic", "matches"),
    [
        ("a/b", "a/b", True),
        ("a/b", "a/c", False),
        ("a/b", "a/b/c", False),
        ("a/b/c", "a/b", False),
        ("a/+", "a/b", True),
        ("a/+", "a/", True),
        ("a/+", "a", False),
        ("a/+", "a/b/c", False),
        ("+/b", "x/b", True),
        ("+/+", "/b", True),
        ("a/+/c", "a/x/c", True),
        ("a/+/c", "a/x/d", False),
        ("a/#", "a", True),
        ("a/#", "a/b", True),
        ("a/#", "a/b/c/d", True),
        ("a/#", "b/c", False),
        ("#", "anything/at/all", True),
        ("+/#", "a/b/c", True),
        ("a/+/#", "a", False),
        ("+", "a/b", False),
        ("devices", "devices", True),
        ("devices", "Devices", False),
    ],
)
def test_topic_matches(pattern: str, topic: str, matches: bool):
    assert topic_matches(pattern, topic) is matches


def test_publish_reaches_matching_subscribers_only():
    b = MemoryBus()
    got: dict[str, list] = {"exact": [], "plus": [], "hash": [], "other": []}
    b.subscribe("home/kitchen/temp", lambda t, rows: got["exact"].append((t, rows)))
    b.subscribe("home/+/temp", lambda t, rows: got["plus"].append((t, rows)))
    b.subscribe("home/#", lambda t, rows: got["hash"].append((t, rows)))
    b.subscribe("garden/#", lambda t, rows: got["other"].append((t, rows)))

    assert b.publish("home/kitchen/temp", [{"v": 1}]) == 3
    assert b.publish("home/hall/humidity", [{"v": 2}]) == 1

    assert got["exact"] == [("home/kitchen/temp", [{"v": 1}])]
    assert got["plus"] == [("home/kitchen/temp", [{"v": 1}])]
    assert got["hash"] == [("home/kitchen/temp", [{"v": 1}]), ("home/hall/humidity", [{"v": 2}])]
    assert got["other"] == []


def test_delivery_is_a_direct_call_with_the_same_rows():
    b = MemoryBus()
    got = []
    b.subscribe("t", lambda t, rows: got.append(rows))
    rows = [{"a": 1}]
    b.publish("t", rows)
    # delivered before publish returns, and not copied
    assert len(got) == 1
    assert got[0] is rows


def test_unsubscribe_stops_delivery_and_tokens_are_distinct():
    b = MemoryBus()
    got_a, got_b = [], []
    ta = b.subscribe("t", lambda t, rows: got_a.append(rows))
    tb = b.subscribe("t", lambda t, rows: got_b.append(rows))
    assert ta != tb
    b.publish("t", [{"n": 1}])
    b.unsubscribe(ta)
    assert b.publish("t", [{"n": 2}]) == 1
    assert got_a == [[{"n": 1}]]
    assert got_b == [[{"n": 1}], [{"n": 2}]]


def test_unsubscribe_twice_or_unknown_token_is_harmless():
    b = MemoryBus()
    t = b.subscribe("t", lambda topic, rows: None)
    b.unsubscribe(t)
    b.unsubscribe(t)
    b.unsubscribe(12345)
    assert b.publish("t", []) == 0


def test_a_handler_may_unsubscribe_itself_while_publishing():
    b = MemoryBus()
    got = []
    token = 0

    def once(topic, rows):
        got.append(rows)
        b.unsubscribe(token)

    token = b.subscribe("t", once)
    b.publish("t", [{"n": 1}])
    b.publish("t", [{"n": 2}])
    assert got == [[{"n": 1}]]


def test_publish_without_subscribers_delivers_to_nobody():
    assert MemoryBus().publish("nobody/listens", [{"a": 1}]) == 0


def test_module_bus_is_a_memory_bus():
    assert isinstance(bus, MemoryBus)
