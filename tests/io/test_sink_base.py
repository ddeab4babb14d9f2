"""The common sink properties a SinkNode applies: sendSingle, omitIfEmpty, fields, dataField, format.

Payloads are observed through the real log sink, which writes each one to the engine log.
"""

from __future__ import annotations

import logging

import pytest

from arrokoth.functions import jsonvalue
from arrokoth.io.memory_bus import bus
from arrokoth.io.sinks.base import Sink, SinkConfigError, SinkNode
from arrokoth.io.sinks.log import LogSink
from arrokoth.io.sinks.memory import MemorySink

PREFIX = "sink result: "


@pytest.fixture
def sent(caplog: pytest.LogCaptureFixture):
    """The payloads the log sink has written so far, decoded (ints kept)."""
    caplog.set_level(logging.INFO, logger="arrokoth.sink")

    def payloads() -> list:
        return [
            jsonvalue.loads(r.getMessage().removeprefix(PREFIX))
            for r in caplog.records
            if r.name == "arrokoth.sink" and r.getMessage().startswith(PREFIX)
        ]

    return payloads


def node(**props) -> SinkNode:
    return SinkNode(LogSink(props), props)


ROWS = [{"a": 1, "b": "x", "c": 2.5}, {"a": 2, "b": "y"}]


def test_default_sends_the_row_list_as_one_json_array(sent):
    n = node()
    n.collect(ROWS)
    n.collect([{"a": 3}])
    assert sent() == [ROWS, [{"a": 3}]]
    assert n.count == 2


def test_payload_bytes_are_go_json(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="arrokoth.sink")
    node().collect([{"t": 3.0, "big": 1e21}])
    assert [r.getMessage() for r in caplog.records] == [PREFIX + '[{"t":3,"big":1e+21}]']


def test_send_single_sends_each_row_as_an_object(sent):
    n = node(sendSingle=True)
    n.collect(ROWS)
    assert sent() == ROWS
    assert n.count == 2


def test_without_omit_if_empty_empty_results_are_sent(sent):
    n = node()
    n.collect([])
    n.collect([{}])
    assert sent() == [[], [{}]]


def test_omit_if_empty_drops_empty_results(sent):
    n = node(omitIfEmpty=True)
    n.collect([])
    n.collect([{}])
    n.collect([{"a": 1}])
    assert sent() == [[{"a": 1}]]
    assert n.count == 1


def test_omit_if_empty_with_send_single_drops_empty_rows(sent):
    n = node(omitIfEmpty=True, sendSingle=True)
    n.collect([{}, {"a": 1}, {}])
    assert sent() == [{"a": 1}]


def test_fields_keep_only_the_listed_keys(sent):
    node(fields=["a", "c"]).collect(ROWS)
    # a listed field a row lacks is sent as null, as eKuiper's selectMap does
    assert sent() == [[{"a": 1, "c": 2.5}, {"a": 2, "c": None}]]


def test_fields_with_send_single(sent):
    node(fields=["b"], sendSingle=True).collect(ROWS)
    assert sent() == [{"b": "x"}, {"b": "y"}]


def test_empty_fields_select_nothing_away(sent):
    node(fields=[]).collect(ROWS)
    assert sent() == [ROWS]


def test_data_field_picks_a_nested_key(sent):
    node(dataField="payload").collect([{"payload": {"x": 1, "y": 2}, "other": 3}])
    assert sent() == [{"x": 1, "y": 2}]


def test_data_field_reads_the_first_row_of_a_list(sent):
    # eKuiper's TransItem: for a list it takes dataField from the first element
    node(dataField="p").collect([{"p": [1]}, {"p": [2]}])
    assert sent() == [[1]]


def test_data_field_then_fields(sent):
    node(dataField="items", fields=["k"]).collect([{"items": [{"k": 1, "v": 2}, {"k": 3, "z": 0}]}])
    assert sent() == [[{"k": 1}, {"k": 3}]]


def test_data_field_with_send_single(sent):
    node(dataField="p", sendSingle=True).collect([{"p": {"n": 1}}, {"p": {"n": 2}}])
    assert sent() == [{"n": 1}, {"n": 2}]


@pytest.mark.parametrize(
    "props",
    [
        {"SENDSINGLE": True, "Fields": ["a"]},
        {"sendsingle": True, "FIELDS": ["a"]},
        {"SendSingle": True, "fields": ["a"]},
    ],
)
def test_property_names_are_case_insensitive(sent, props: dict):
    SinkNode(LogSink(props), props).collect(ROWS)
    assert sent() == [{"a": 1}, {"a": 2}]


def test_omit_if_empty_and_data_field_are_case_insensitive(sent):
    props = {"OMITIFEMPTY": True, "datafield": "p"}
    n = SinkNode(LogSink(props), props)
    n.collect([])
    n.collect([{"p": {"q": 1}}])
    assert sent() == [{"q": 1}]


def test_exact_property_name_wins_over_other_casing(sent):
    props = {"sendSingle": False, "SENDSINGLE": True}
    SinkNode(LogSink(props), props).collect(ROWS)
    assert sent() == [ROWS]


@pytest.mark.parametrize(
    ("text", "single"), [("true", True), ("True", True), ("1", True), ("false", False), ("0", False)]
)
def test_bool_properties_accept_go_bool_strings(sent, text: str, single: bool):
    node(sendSingle=text).collect(ROWS)
    assert sent() == (ROWS if single else [ROWS])


@pytest.mark.parametrize("bad", ["a,b", "a", ["a", 1], {"a": True}, 3])
def test_bad_fields_name_the_property(bad):
    with pytest.raises(SinkConfigError, match="fields"):
        node(fields=bad)


@pytest.mark.parametrize(("name", "bad"), [("sendSingle", "yes"), ("omitIfEmpty", 2), ("sendSingle", [])])
def test_bad_bool_property_names_the_property(name: str, bad):
    with pytest.raises(SinkConfigError, match=name):
        node(**{name: bad})


def test_bad_data_field_names_the_property():
    with pytest.raises(SinkConfigError, match="dataField"):
        node(dataField=["a"])


@pytest.mark.parametrize("fmt", ["json", "JSON", "Json", None, ""])
def test_json_format_is_the_default(sent, fmt):
    node(format=fmt).collect([{"a": 1}])
    assert sent() == [[{"a": 1}]]


@pytest.mark.parametrize("fmt", ["delimited", "protobuf", 7])
def test_other_formats_are_rejected_naming_the_property(fmt):
    with pytest.raises(SinkConfigError, match="format"):
        node(format=fmt)


def test_a_row_sink_gets_the_shaped_rows_without_encoding():
    got: list = []
    token = bus.subscribe("test/sink_base/rows", lambda topic, rows: got.append(rows))
    try:
        props = {"topic": "test/sink_base/rows", "fields": ["a"]}
        SinkNode(MemorySink(props), props).collect(ROWS)
    finally:
        bus.unsubscribe(token)
    assert got == [[{"a": 1}, {"a": 2}]]


def test_the_base_sink_must_be_subclassed():
    with pytest.raises(NotImplementedError):
        Sink({}).send(b"[]", [])
