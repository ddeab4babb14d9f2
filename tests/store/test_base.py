"""The `Store` contract, run against every backend (the `store` fixture), and the value codec."""

from __future__ import annotations

import pytest

from arrokoth.store.base import StoreError, decode_value, encode_value

RULE_TEXT = (
    '{"id":"rule1",  "sql":"SELECT * FROM demo WHERE temp > 20",\n "actions":[{"log":{}}], "z":1, "a":2}'
)

ROUND_TRIPS = [
    pytest.param(RULE_TEXT, id="rule-json-text"),
    pytest.param("", id="empty-str"),
    pytest.param('CREATE STREAM demo () WITH (DATASOURCE="t", FORMAT="json")', id="stream-sql"),
    pytest.param("héllo ✓ 🚀\ttab\nnewline\x00nul", id="unicode-str"),
    pytest.param("null", id="str-that-looks-like-json"),
    pytest.param("42", id="str-of-digits"),
    pytest.param({"server": "tcp://127.0.0.1:1883", "qos": 1, "z": None, "a": [1, 2.5, True]}, id="dict"),
    pytest.param({}, id="empty-dict"),
    pytest.param([1, "two", {"three": [3.0]}, None, False], id="list"),
    pytest.param([], id="empty-list"),
    pytest.param(0, id="zero"),
    pytest.param(-(2**80), id="big-int"),
    pytest.param(1.0, id="float-integral"),
    pytest.param(-0.0, id="negative-zero"),
    pytest.param(0.1, id="float"),
    pytest.param(1e300, id="huge-float"),
    pytest.param(True, id="true"),
    pytest.param(False, id="false"),
    pytest.param(None, id="none"),
    pytest.param({"nested": {"emoji": "🚀", "escaped": "\ud800 lone surrogate"}}, id="nested-odd-strings"),
]


def _same(a: object, b: object) -> bool:
    """Equal, and of the same types all the way down (1 == 1.0 == True would hide a change)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))  # type: ignore[arg-type]
    if isinstance(a, float):
        return repr(a) == repr(b)
    return a == b


@pytest.mark.parametrize("value", ROUND_TRIPS)
def test_round_trip_keeps_value_and_type(store, value):
    store.set("ns", "k", value)
    assert _same(store.get("ns", "k"), value)
    assert _same(store.items("ns")["k"], value)


def test_rule_text_comes_back_byte_for_byte(store):
    store.set("rules", "rule1", RULE_TEXT)
    got = store.get("rules", "rule1")
    assert type(got) is str
    assert got.encode() == RULE_TEXT.encode()


def test_returned_values_are_copies(store):
    store.set("ns", "k", {"a": [1]})
    store.get("ns", "k")["a"].append(2)
    assert store.get("ns", "k") == {"a": [1]}


def test_get_missing_gives_default(store):
    assert store.get("ns", "nope") is None
    assert store.get("ns", "nope", "dflt") == "dflt"
    assert not store.has("ns", "nope")


def test_stored_none_is_told_apart_by_has(store):
    store.set("ns", "k", None)
    assert store.has("ns", "k")
    assert store.get("ns", "k", "dflt") is None


def test_set_replaces_value_and_kind(store):
    store.set("ns", "k", "text")
    store.set("ns", "k", {"now": "a dict"})
    assert store.get("ns", "k") == {"now": "a dict"}
    store.set("ns", "k", "[1]")
    assert store.get("ns", "k") == "[1]"


def test_namespaces_are_isolated(store):
    store.set("sources.mqtt", "conf1", {"qos": 1})
    store.set("sinks.mqtt", "conf1", {"qos": 2})
    store.set("connections.mqtt", "conf1", {"server": "tcp://b:1883"})
    assert store.get("sources.mqtt", "conf1") == {"qos": 1}
    assert store.get("sinks.mqtt", "conf1") == {"qos": 2}
    store.clear("sources.mqtt")
    assert store.keys("sources.mqtt") == []
    assert store.get("sinks.mqtt", "conf1") == {"qos": 2}
    assert store.delete("sinks.mqtt", "conf1")
    assert store.get("connections.mqtt", "conf1") == {"server": "tcp://b:1883"}


def test_namespace_that_is_a_prefix_of_another_stays_apart(store):
    store.set("sources", "mqtt", 1)
    store.set("sources.mqtt", "k", 2)
    store.set("sources:mqtt", "k", 3)
    assert store.items("sources") == {"mqtt": 1}
    assert store.items("sources.mqtt") == {"k": 2}
    assert store.items("sources:mqtt") == {"k": 3}


def test_keys_and_items_are_sorted(store):
    for key in ["rule10", "b", "rule2", "A", "a", "é", "_x"]:
        store.set("rules", key, key.upper())
    expected = sorted(["rule10", "b", "rule2", "A", "a", "é", "_x"])
    assert store.keys("rules") == expected
    assert list(store.items("rules")) == expected
    assert store.items("rules")["rule2"] == "RULE2"


def test_delete_says_whether_the_key_existed(store):
    store.set("ns", "k", 1)
    assert store.delete("ns", "k") is True
    assert store.delete("ns", "k") is False
    assert store.delete("other", "k") is False
    assert not store.has("ns", "k")


def test_namespaces_lists_the_non_empty_ones(store):
    assert store.namespaces() == []
    store.set("streams", "demo", "CREATE STREAM demo () WITH ()")
    store.set("rules", "r1", "{}")
    store.set("rules", "r2", "{}")
    assert store.namespaces() == ["rules", "streams"]
    store.delete("streams", "demo")
    assert store.namespaces() == ["rules"]
    store.clear("rules")
    assert store.namespaces() == []


def test_set_many_writes_all(store):
    store.set("sinks.mqtt", "old", {"keep": True})
    store.set_many("sinks.mqtt", {"k1": {"topic": "a"}, "k2": "text", "old": 5})
    assert store.items("sinks.mqtt") == {"k1": {"topic": "a"}, "k2": "text", "old": 5}
    store.set_many("sinks.mqtt", {})
    assert store.keys("sinks.mqtt") == ["k1", "k2", "old"]


def test_set_many_with_a_bad_value_writes_nothing(store):
    with pytest.raises(StoreError):
        store.set_many("ns", {"good": 1, "bad": object()})
    assert store.keys("ns") == []


@pytest.mark.parametrize(
    "value",
    [
        pytest.param((1, 2), id="tuple"),
        pytest.param({1: "a"}, id="int-key"),
        pytest.param(float("nan"), id="nan"),
        pytest.param([float("inf")], id="inf"),
        pytest.param(b"bytes", id="bytes"),
        pytest.param({1, 2}, id="set"),
        pytest.param({"a": {"b": object()}}, id="nested-object"),
    ],
)
def test_values_that_would_not_round_trip_are_refused(store, value):
    with pytest.raises(StoreError):
        store.set("ns", "k", value)
    assert not store.has("ns", "k")


def test_str_subclass_is_refused_as_json():
    class Name(str):
        pass

    with pytest.raises(StoreError, match="Name"):
        encode_value(Name("x"))


def test_names_must_be_str(store):
    with pytest.raises(StoreError, match="key"):
        store.set("ns", 1, "v")
    with pytest.raises(StoreError, match="namespace"):
        store.get(None, "k")


def test_closed_store_refuses_calls_and_close_is_idempotent(store):
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.get("ns", "k")
    with pytest.raises(StoreError, match="closed"):
        store.set("ns", "k", 1)


def test_codec_kinds():
    assert encode_value("{}") == ("s", "{}")
    assert encode_value({"a": 1}) == ("j", '{"a":1}')
    assert decode_value("j", "[1]") == [1]
    with pytest.raises(StoreError, match="kind"):
        decode_value("x", "1")


def test_str_that_cannot_be_utf8_is_refused(store):
    with pytest.raises(StoreError):
        store.set("ns", "k", "lone \ud800 surrogate")
    assert not store.has("ns", "k")
