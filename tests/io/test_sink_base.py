"""The common sink properties a SinkNode applies: sendSingle, omitIfEmpty, fields, dataField,
format, batchSize, lingerInterval, the cache settings, and the node's counters.

Payloads are observed through the real log sink, which writes each one to the engine log, or
through a recording sink. Delivery to an AsyncSink (buffer, retries, concurrency, cache)
is tested in test_sink_cache.py against a real TCP destination.
"""

from __future__ import annotations

import logging

import pytest

from arrokoth.functions import jsonvalue
from arrokoth.io.memory_bus import bus
from arrokoth.io.sinks.base import Sink, SinkConfigError, SinkNode, encoder_for
from arrokoth.io.sinks.log import LogSink
from arrokoth.io.sinks.memory import MemorySink
from arrokoth.runtime.clock import VirtualClock

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


@pytest.mark.parametrize("fmt", ["xml", 7, ["json"]])
def test_unknown_formats_are_rejected_naming_the_property(fmt):
    with pytest.raises(SinkConfigError, match="format"):
        node(format=fmt)


def test_a_format_that_needs_more_properties_names_them():
    with pytest.raises(SinkConfigError, match="^format: .*schemaId"):
        node(format="protobuf")


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


# --- the node: counters, formats, batching ---------------------------------------------------


class Recording(Sink):
    """A plain sink that keeps what it is sent; `fail` makes every send raise it."""

    def __init__(self, props: dict | None = None):
        super().__init__(props or {})
        self.sent: list[tuple[bytes | None, object]] = []
        self.fail: Exception | None = None
        self.opened = self.closed = 0

    def open(self) -> None:
        self.opened += 1

    def close(self) -> None:
        self.closed += 1

    def send(self, payload, data) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append((payload, data))

    @property
    def payloads(self) -> list:
        return [jsonvalue.loads(p) for p, _ in self.sent]


def rec_node(clock=None, **props) -> tuple[SinkNode, Recording]:
    sink = Recording(props)
    return SinkNode(sink, props, clock=clock or VirtualClock(START)), sink


START = 1_700_000_000_000


def test_counters_count_lists_in_and_messages_out():
    n, sink = rec_node(sendSingle=True)
    n.collect(ROWS)
    n.collect([{"a": 3}])
    assert (n.records_in, n.count, n.records_out) == (2, 3, 3)
    assert n.exceptions == 0


@pytest.mark.parametrize("props", [{}, {"sendSingle": True}])
def test_a_failing_sink_counts_an_exception_with_the_clock_time_and_keeps_going(props):
    clock = VirtualClock(START)
    n, sink = rec_node(clock, **props)
    sink.fail = ValueError("disk full")
    n.collect([{"a": 1}])
    clock.advance_to(START + 5)
    sink.fail = None
    n.collect([{"a": 2}])
    assert (n.records_in, n.count, n.exceptions) == (2, 1, 1)
    assert (n.last_exception, n.last_exception_time) == ("disk full", START)
    assert sink.payloads == [[{"a": 2}] if not props else {"a": 2}]


def test_the_plain_path_and_the_general_path_send_the_same_bytes():
    plain, s1 = rec_node()
    general, s2 = rec_node(omitIfEmpty=False, batchSize=0, fields=[])
    assert plain.collect.__func__ is SinkNode._collect_plain
    rows = [{"t": 3.0, "big": 1e21, "s": "x", "n": None}]
    plain.collect(rows)
    general.collect(rows)
    assert s1.sent == s2.sent == [(b'[{"t":3,"big":1e+21,"s":"x","n":null}]', rows)]


def test_format_comes_from_the_format_registry():
    n, sink = rec_node(format="delimited", sendSingle=True, fields=["a", "b"])
    n.collect(ROWS)
    assert [p for p, _ in sink.sent] == [b"1,x", b"2,y"]


def test_encoder_for_json_is_text_and_binary_is_not():
    assert encoder_for(None, {}).text and encoder_for("JSON", {}).encode([1]) == b"[1]"
    assert encoder_for("binary", {}).text is False


def test_batch_size_sends_every_n_rows_as_one_list():
    n, sink = rec_node(batchSize=3)
    n.collect([{"a": 1}])
    n.collect([{"a": 2}, {"a": 3}, {"a": 4}])  # a list counts as its rows
    assert sink.payloads == [[{"a": 1}, {"a": 2}, {"a": 3}]]
    n.collect([{"a": 5}, {"a": 6}, {"a": 7}, {"a": 8}])
    assert sink.payloads[1:] == [[{"a": 4}, {"a": 5}, {"a": 6}]]
    assert n.buffer_length_now == 2


def test_batch_with_send_single_sends_each_row_of_a_full_batch():
    n, sink = rec_node(batchSize=2, sendSingle=True)
    n.collect([{"a": 1}])
    assert sink.sent == []
    n.collect([{"a": 2}])
    assert sink.payloads == [{"a": 1}, {"a": 2}]


def test_linger_interval_sends_a_partial_batch_on_the_clock():
    clock = VirtualClock(START)
    n, sink = rec_node(clock, lingerInterval=100)
    n.collect([{"a": 1}])
    clock.advance_to(START + 50)
    n.collect([{"a": 2}])
    clock.advance_to(START + 99)
    assert sink.sent == []
    clock.advance_to(START + 100)
    assert sink.payloads == [[{"a": 1}, {"a": 2}]]
    # the next batch starts its own timer with its first row
    n.collect([{"a": 3}])
    clock.advance_to(START + 150)
    assert len(sink.sent) == 1
    clock.advance_to(START + 200)
    assert sink.payloads[1:] == [[{"a": 3}]]
    # nothing pending: no empty batch is sent
    clock.advance_to(START + 1000)
    assert len(sink.sent) == 2


def test_batch_size_and_linger_whichever_comes_first():
    clock = VirtualClock(START)
    n, sink = rec_node(clock, batchSize=2, lingerInterval="1s")
    n.collect([{"a": 1}, {"a": 2}, {"a": 3}])
    assert sink.payloads == [[{"a": 1}, {"a": 2}]]
    clock.advance_to(START + 999)
    assert len(sink.sent) == 1
    clock.advance_to(START + 1000)
    assert sink.payloads[1:] == [[{"a": 3}]]


def test_omit_if_empty_applies_before_the_batch():
    clock = VirtualClock(START)
    n, sink = rec_node(clock, lingerInterval=10, omitIfEmpty=True)
    n.collect([])
    n.collect([{}])
    clock.advance_to(START + 100)
    assert sink.sent == []


@pytest.mark.anyio
async def test_start_and_stop_open_and_close_a_plain_sink_and_flush_the_batch():
    n, sink = rec_node(batchSize=10)
    await n.start()
    n.collect([{"a": 1}])
    assert (sink.opened, sink.sent) == (1, [])
    await n.stop()
    assert sink.closed == 1
    assert sink.payloads == [[{"a": 1}]]


@pytest.mark.parametrize(
    ("props", "match"),
    [
        ({"batchSize": -1}, "batchSize"),
        ({"batchSize": "x"}, "batchSize"),
        ({"lingerInterval": -5}, "lingerInterval"),
        ({"lingerInterval": "soon"}, "lingerInterval"),
        ({"bufferLength": -1}, "bufferLength"),
        ({"bufferLength": True}, "bufferLength"),
        ({"concurrency": "two"}, "concurrency"),
        ({"retryCount": -1}, "retryCount"),
        ({"retryInterval": -1}, "retryInterval"),
        ({"dataTemplate": 5}, "dataTemplate"),
        ({"enableCache": "maybe"}, "enableCache"),
        ({"cleanCacheAtStop": 3}, "cleanCacheAtStop"),
        ({"resendAlterQueue": "no way"}, "resendAlterQueue"),
        ({"resendIndicatorField": 1}, "resendIndicatorField"),
        ({"memoryCacheThreshold": -1}, "^memoryCacheThreshold:memoryCacheThreshold must be positive"),
        ({"maxDiskCache": -1}, "^maxDiskCache:maxDiskCache must be positive"),
        ({"bufferPageSize": 0}, "^bufferPageSize:bufferPageSize must be positive"),
        ({"resendInterval": -1}, "^resendInterval:resendInterval must be positive"),
        ({"bufferPageSize": 512, "memoryCacheThreshold": 256}, "^memoryCacheThresholdTooSmall"),
        ({"bufferPageSize": 256, "memoryCacheThreshold": 300}, "^memoryCacheThresholdNotMultiple"),
        ({"bufferPageSize": 256, "maxDiskCache": 128}, "^maxDiskCacheTooSmall"),
        ({"bufferPageSize": 256, "maxDiskCache": 1000}, "^maxDiskCacheNotMultiple"),
        ({"resendPriority": 2}, "^resendPriority:resendPriority must be -1, 0 or 1"),
    ],
)
def test_bad_common_properties_name_the_property(props: dict, match: str):
    with pytest.raises(SinkConfigError, match=match):
        SinkNode(Recording(), props)


def test_common_property_defaults():
    n = SinkNode(Recording(), {})
    assert (n.batch_size, n.linger_ms, n.buffer_length, n.concurrency) == (0, 0, 1024, 1)
    assert (n.retry_count, n.retry_interval) == (0, 1000)
    c = n.cache_options
    assert (c.enabled, c.memory_threshold, c.max_disk, c.page_size) == (False, 1024, 1024000, 256)
    assert (c.resend_interval, c.clean_at_stop, c.alter_queue, c.priority, c.indicator) == (0, False, False, 0, "")


def test_numbers_and_durations_take_the_spellings_of_rule_json():
    n = SinkNode(Recording(), {"batchSize": "5", "lingerInterval": "1.5s", "bufferLength": 8.0,
                               "retryInterval": "250ms", "RESENDINTERVAL": "2s", "retrycount": 3})
    assert (n.batch_size, n.linger_ms, n.buffer_length, n.retry_interval, n.retry_count) == (5, 1500, 8, 250, 3)
    assert n.cache_options.resend_interval == 2000


@pytest.mark.parametrize("value", [0, -3])
def test_a_concurrency_below_one_runs_one_worker(value: int):
    assert SinkNode(Recording(), {"concurrency": value}).concurrency == 1


def test_global_cache_defaults_apply_under_the_action_properties():
    defaults = {"enableCache": True, "memoryCacheThreshold": 512, "bufferPageSize": 128, "resendInterval": 10}
    c = SinkNode(Recording(), {"resendInterval": 20}, defaults=defaults).cache_options
    assert (c.enabled, c.memory_threshold, c.page_size, c.resend_interval) == (True, 512, 128, 20)


# --- dataTemplate ------------------------------------------------------------------------------


def test_a_template_renders_each_row_with_send_single():
    n, sink = rec_node(sendSingle=True, dataTemplate='{"x":{{.a}},"b":"{{.b}}"}')
    n.collect(ROWS)
    assert [p for p, _ in sink.sent] == [b'{"x":1,"b":"x"}', b'{"x":2,"b":"y"}']
    assert n.count == 2


def test_a_template_renders_the_row_list_without_send_single():
    n, sink = rec_node(dataTemplate="{{range .}}{{.a}};{{end}}")
    n.collect(ROWS)
    assert sink.sent == [(b"1;2;", "1;2;")]


def test_an_empty_render_is_sent_unless_omit_if_empty():
    template = "{{if .keep}}{{.a}}{{end}}"
    rows = [{"a": 1, "keep": True}, {"a": 2, "keep": False}]
    n, sink = rec_node(sendSingle=True, dataTemplate=template)
    n.collect(rows)
    assert [p for p, _ in sink.sent] == [b"1", b""]
    n, sink = rec_node(sendSingle=True, dataTemplate=template, omitIfEmpty=True)
    n.collect(rows)
    assert [p for p, _ in sink.sent] == [b"1"]


def test_data_field_and_fields_select_from_the_template_output():
    # eKuiper's order: the template first, then dataField, then fields, then the format
    n, sink = rec_node(sendSingle=True, dataField="tele", fields=["h"],
                       dataTemplate='{"tele":{"h":{{.h}},"t":{{.t}}},"id":{{.id}}}')
    n.collect([{"h": 80.5, "t": 31, "id": 1}])
    assert sink.sent == [(b'{"h":80.5}', {"h": 80.5})]


def test_a_row_sink_gets_the_template_output_decoded():
    got: list = []
    token = bus.subscribe("test/sink_base/template", lambda topic, rows: got.append(rows))
    try:
        props = {"topic": "test/sink_base/template", "sendSingle": True, "dataTemplate": '{"y":{{.a}}}'}
        SinkNode(MemorySink(props), props).collect(ROWS)
    finally:
        bus.unsubscribe(token)
    assert got == [[{"y": 1}], [{"y": 2}]]


def test_a_template_error_counts_an_exception_and_drops_that_message():
    n, sink = rec_node(sendSingle=True, dataTemplate="{{index .l 1}}")
    n.collect([{"l": [1]}, {"l": [1, 2]}])
    assert sink.sent == [(b"2", "2")]
    assert n.exceptions == 1 and "index" in n.last_exception


def test_a_template_whose_output_is_not_json_fails_a_selection():
    n, sink = rec_node(sendSingle=True, dataTemplate="plain {{.a}}", fields=["a"])
    n.collect([{"a": 1}])
    assert sink.sent == [] and n.exceptions == 1
    assert "after applying dataTemplate" in n.last_exception


@pytest.mark.parametrize("bad", ["{{.a", "{{if}}{{end}}", "{{nosuchfunc .}}"])
def test_a_bad_template_names_the_property(bad: str):
    with pytest.raises(SinkConfigError, match="^dataTemplate: "):
        rec_node(dataTemplate=bad)


def test_a_template_with_a_text_format_is_the_payload_as_is():
    n, sink = rec_node(format="delimited", dataTemplate="{{.a}}|{{.b}}", sendSingle=True)
    n.collect(ROWS)
    assert [p for p, _ in sink.sent] == [b"1|x", b"2|y"]
