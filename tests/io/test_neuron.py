"""The neuron source and sink against a pynng Pair0 peer that plays Neuron's part.

The peer listens on an ipc path (or a tcp port) as Neuron's eKuiper app does, sends Neuron
events and records the write commands the sink sends; restarting it is Neuron restarting.
Every wait is a condition polled until a deadline (`eventually`).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pynng
import pytest

from arrokoth import confkeys
from arrokoth.engine import EngineError
from arrokoth.functions import jsonvalue
from arrokoth.io import _nng
from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.sinks.base import SinkConfigError, SinkNode, SinkSendError
from arrokoth.io.sinks.neuron import NeuronSink
from arrokoth.io.sinks.registry import sink_class
from arrokoth.io.sources.base import SourceConfigError
from arrokoth.io.sources.neuron import NeuronSource
from arrokoth.io.sources.registry import source_class
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.builder import attach, build_rule, detach
from arrokoth.runtime.clock import RealClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse

pytestmark = pytest.mark.anyio

EVENT = {
    "timestamp": 1646125996000,
    "node_name": "node1",
    "group_name": "group1",
    "values": {"tag_name1": 11.22, "tag_name2": "string"},
    "errors": {"tag_name3": 122},
}


@pytest.fixture(autouse=True)
def fast_redial(monkeypatch):
    # redial within tens of milliseconds so that restart tests finish quickly
    monkeypatch.setattr(_nng, "RECONNECT_MIN_MS", 10)
    monkeypatch.setattr(_nng, "RECONNECT_MAX_MS", 100)
    monkeypatch.setattr(_nng, "FIRST_DIAL_WAIT", 0.1)


@pytest.fixture
def ipc_url() -> Iterator[str]:
    # a short directory: a unix socket path must fit in 108 bytes, pytest's tmp_path may not
    directory = tempfile.mkdtemp(prefix="nng-", dir="/tmp")
    try:
        yield f"ipc://{directory}/neuron-ekuiper.ipc"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


class NeuronPeer:
    """Neuron's side: a Pair0 socket listening on `url`."""

    def __init__(self, url: str):
        self.url = url
        self.received: list[bytes] = []
        self._sock: Any = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._sock = pynng.Pair0(listen=self.url, send_timeout=5000)
        self._task = asyncio.get_running_loop().create_task(self._receive(self._sock))

    async def _receive(self, sock: Any) -> None:
        while True:
            try:
                self.received.append(await sock.arecv())
            except pynng.Closed:
                return

    @property
    def attached(self) -> bool:
        return bool(self._sock is not None and self._sock.pipes)

    @property
    def commands(self) -> list[Any]:
        return [jsonvalue.loads(m) for m in self.received]

    async def send(self, event: Any) -> None:
        await self._sock.asend(event if isinstance(event, bytes) else jsonvalue.encode(event))

    async def stop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        if self._task is not None:
            await self._task
            self._task = None

    async def restart(self) -> None:
        await self.stop()
        self.start()


@contextlib.asynccontextmanager
async def neuron(url: str) -> AsyncIterator[NeuronPeer]:
    peer = NeuronPeer(url)
    peer.start()
    try:
        yield peer
    finally:
        await peer.stop()


def stream(name: str = "demo", columns: str = "") -> StreamDef:
    sql = f'CREATE STREAM {name} ({columns}) WITH (TYPE="neuron", FORMAT="json")'
    return StreamDef.from_ast(parse(sql), sql)


@dataclass
class Running:
    source: NeuronSource
    out: list[dict]


@contextlib.asynccontextmanager
async def running(sql: str, props: dict, d: StreamDef | None = None) -> AsyncIterator[Running]:
    d = d or stream()
    clock = RealClock()
    feed = StreamFeed(d, clock)
    out: list[dict] = []
    runtime = build_rule(f"r_{d.name}", sql, {d.name: d}, out.extend, clock)
    feeds = {d.name: feed}
    attach(runtime, feeds)
    runtime.start()
    source = NeuronSource(d, props, feed)
    await source.start()
    try:
        yield Running(source, out)
    finally:
        await source.stop()
        detach(runtime, feeds)
        runtime.stop()


@contextlib.asynccontextmanager
async def connected_sink(**props: Any) -> AsyncIterator[NeuronSink]:
    sink = NeuronSink(props)
    with contextlib.suppress(SinkSendError):
        await sink.connect()
    try:
        yield sink
    finally:
        await sink.aclose()


# --- properties ---------------------------------------------------------------------------------


def test_registered_with_shipped_defaults():
    assert source_class("neuron") is NeuronSource
    assert sink_class("neuron") is NeuronSink
    shipped = confkeys.shipped("sources", "neuron")
    assert shipped["default"] == {"url": "tcp://127.0.0.1:7081"}
    assert shipped["ipc"] == {"url": "ipc:///tmp/neuron-ekuiper.ipc"}


def test_url_defaults_to_neurons_ipc_socket():
    assert NeuronSource(stream(), {}, StreamFeed(stream(), RealClock())).url == "ipc:///tmp/neuron-ekuiper.ipc"
    assert NeuronSink({"raw": True}).url == "ipc:///tmp/neuron-ekuiper.ipc"
    assert NeuronSink({"URL": "tcp://127.0.0.1:7081", "raw": True}).url == "tcp://127.0.0.1:7081"


@pytest.mark.parametrize("url", ["3434", "http://127.0.0.1:7081", "tcp://127.0.0.1", "tcp://:7081", "ipc://", 7081])
def test_bad_urls_are_refused(url):
    with pytest.raises(SourceConfigError, match="^url: "):
        NeuronSource(stream(), {"url": url}, StreamFeed(stream(), RealClock()))
    with pytest.raises(SinkConfigError, match="^url: "):
        NeuronSink({"url": url, "raw": True})


@pytest.mark.parametrize(("props", "message"), [
    ({}, "nodeName: node name is required if raw is not set"),
    ({"nodeName": "n"}, "groupName: group name is required if raw is not set"),
    ({"nodeName": "n", "groupName": "g", "tags": "tag2"}, "tags: expected a list of strings"),
    ({"nodeName": "n", "groupName": "g", "raw": "yes"}, "raw: expected a bool"),
    ({"nodeName": "{{.n", "groupName": "g"}, "nodeName: invalid template"),
])
def test_sink_property_errors(props, message):
    with pytest.raises(SinkConfigError, match=message):
        NeuronSink(props)


def test_without_pynng_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynng", None)  # import pynng raises ImportError
    with pytest.raises(SourceConfigError, match=r"pip install 'arrokoth\[nng\]'"):
        NeuronSource(stream(), {}, StreamFeed(stream(), RealClock()))
    with pytest.raises(SinkConfigError, match=r"pip install 'arrokoth\[nng\]'"):
        NeuronSink({"raw": True})


# --- the source ---------------------------------------------------------------------------------


async def test_neuron_events_reach_the_rule(ipc_url, eventually):
    sql = "SELECT node_name, group_name, values->tag_name1 AS t1, errors FROM demo WHERE timestamp > 0"
    async with neuron(ipc_url) as peer, running(sql, {"url": ipc_url}) as r:
        assert r.source.status == 1 and r.source.last_connected > 0
        await peer.send(EVENT)
        await peer.send({**EVENT, "timestamp": 0})  # filtered out
        await peer.send(b"not json")
        await eventually(lambda: r.out and r.source.exceptions == 1, what="one row and one bad payload")
    assert r.out == [{"node_name": "node1", "group_name": "group1", "t1": 11.22, "errors": {"tag_name3": 122.0}}]
    assert r.source.records_in == 2


async def test_a_traced_event_loses_its_trace_header(ipc_url, eventually):
    async with neuron(ipc_url) as peer, running("SELECT node_name FROM demo", {"url": ipc_url}) as r:
        await peer.send(b"\x0a\xce" + bytes(range(24)) + jsonvalue.encode(EVENT))
        await eventually(lambda: r.out)
    assert r.out == [{"node_name": "node1"}]


async def test_streams_on_one_url_share_one_connection_and_every_event(ipc_url, eventually):
    async with (
        neuron(ipc_url) as peer,
        running("SELECT node_name FROM a", {"url": ipc_url}, stream("a")) as ra,
        running("SELECT group_name FROM b", {"url": ipc_url}, stream("b")) as rb,
    ):
        conn = _nng.shared(ipc_url)
        assert conn is not None and conn.refs == 2
        await peer.send(EVENT)
        await eventually(lambda: ra.out and rb.out)
        assert ra.out == [{"node_name": "node1"}] and rb.out == [{"group_name": "group1"}]
        assert len(peer._sock.pipes) == 1  # one pair connection, as Neuron's pair socket allows
    assert _nng.shared(ipc_url) is None  # closed with its last user


async def test_source_reports_the_connection_and_redials_after_neuron_restarts(ipc_url, eventually):
    async with running("SELECT node_name FROM demo", {"url": ipc_url}) as r:
        # Neuron is not up yet: the rule runs, the socket dials in the background
        assert r.source.status == -1
        assert r.source.last_disconnected_message.startswith("neuron connection is not established: cannot reach")
        async with neuron(ipc_url) as peer:
            await eventually(lambda: r.source.status == 1, what="connected")
            await peer.send(EVENT)
            await eventually(lambda: len(r.out) == 1)
            await peer.stop()
            await eventually(lambda: r.source.status == -1, what="disconnected")
            assert r.source.last_disconnected_message == "neuron connection detached"
            peer.start()
            await eventually(lambda: r.source.status == 1 and peer.attached, what="reconnected")
            await peer.send({**EVENT, "node_name": "node2"})
            await eventually(lambda: len(r.out) == 2)
    assert r.out == [{"node_name": "node1"}, {"node_name": "node2"}]


async def test_source_over_tcp(eventually, free_port):
    url = f"tcp://127.0.0.1:{free_port()}"
    async with neuron(url) as peer, running("SELECT group_name FROM demo", {"url": url}) as r:
        await eventually(lambda: r.source.status == 1)
        await peer.send(EVENT)
        await eventually(lambda: r.out)
    assert r.out == [{"group_name": "group1"}]


# --- the sink -----------------------------------------------------------------------------------


ROW = {"temperature": 25.2, "humidity": 72, "status": "green", "node": "myNode"}


async def test_sink_writes_the_listed_tags(ipc_url, eventually):
    async with neuron(ipc_url) as peer, connected_sink(
        url=ipc_url, nodeName="node1", groupName="group1", tags=["temperature", "humidity", "missing"],
    ) as sink:
        assert sink.status == 1 and sink.wants_rows
        await sink.send_async(None, ROW)
        await eventually(lambda: peer.received)
    # eKuiper's field order; a tag the row lacks is left out
    assert peer.received == [
        b'{"group_name":"group1","node_name":"node1","tags":'
        b'[{"tag_name":"temperature","value":25.2},{"tag_name":"humidity","value":72}]}'
    ]


async def test_sink_without_tags_writes_every_field_and_one_command_per_row(ipc_url, eventually):
    async with neuron(ipc_url) as peer, connected_sink(url=ipc_url, nodeName="n", groupName="g") as sink:
        await sink.send_async(None, [{"a": 1, "b": "x"}, {"a": 2}])
        await eventually(lambda: len(peer.received) == 2)
    assert peer.commands == [
        {"group_name": "g", "node_name": "n", "tags": [{"tag_name": "a", "value": 1}, {"tag_name": "b", "value": "x"}]},
        {"group_name": "g", "node_name": "n", "tags": [{"tag_name": "a", "value": 2}]},
    ]


async def test_sink_renders_templated_names_per_row(ipc_url, eventually):
    async with neuron(ipc_url) as peer, connected_sink(
        url=ipc_url, nodeName="{{.node}}", groupName="grp-{{.status}}", tags=["{{.field}}"],
    ) as sink:
        await sink.send_async(None, [{**ROW, "field": "humidity"}])
        await eventually(lambda: peer.received)
    assert peer.commands == [
        {"group_name": "grp-green", "node_name": "myNode", "tags": [{"tag_name": "humidity", "value": 72}]},
    ]


async def test_raw_sends_the_payload_as_it_is(ipc_url, eventually):
    async with neuron(ipc_url) as peer, connected_sink(url=ipc_url, raw=True) as sink:
        assert not sink.wants_rows
        await sink.send_async(b'{"anything":"goes"}', None)
        await eventually(lambda: peer.received)
    assert peer.received == [b'{"anything":"goes"}']


async def test_sink_fails_while_neuron_is_away_and_sends_again_after_it_restarts(ipc_url, eventually):
    async with connected_sink(url=ipc_url, nodeName="n", groupName="g") as sink:
        assert sink.status != 1
        with pytest.raises(SinkSendError, match="neuron connection is not established"):
            await sink.send_async(None, {"a": 1})
        async with neuron(ipc_url) as peer:
            await eventually(lambda: sink.status == 1, what="connected")
            await sink.send_async(None, {"a": 2})
            await eventually(lambda: len(peer.received) == 1)
            await peer.stop()
            await eventually(lambda: sink.status == -1, what="disconnected")
            with pytest.raises(SinkSendError):
                await sink.send_async(None, {"a": 3})
            peer.start()
            await eventually(lambda: sink.status == 1 and peer.attached, what="reconnected")
            await sink.send_async(None, {"a": 4})
            await eventually(lambda: len(peer.received) == 2)
    assert [c["tags"] for c in peer.commands] == [[{"tag_name": "a", "value": 2}], [{"tag_name": "a", "value": 4}]]


async def test_sink_node_caches_while_neuron_is_away(ipc_url, eventually, tmp_path):
    """Through the SinkNode: messages sent while Neuron is down arrive once it is up."""
    sink = NeuronSink({"url": ipc_url, "nodeName": "n", "groupName": "g"})
    node = SinkNode(sink, {"enableCache": True, "resendInterval": 10}, data_dir=tmp_path, rule_id="r1",
                    sink_type="neuron")
    await node.start()
    try:
        for i in range(3):
            node.collect([{"i": i}])
        async with neuron(ipc_url) as peer:
            await eventually(lambda: len(peer.received) == 3, what="the cached messages")
    finally:
        await node.stop()
    assert sorted(c["tags"][0]["value"] for c in peer.commands) == [0, 1, 2]


# --- ping ---------------------------------------------------------------------------------------


async def test_ping(ipc_url, closed_port):
    async with neuron(ipc_url):
        await NeuronSource.ping({"url": ipc_url}, 5)
        await NeuronSink.ping({"url": ipc_url}, 5)
    with pytest.raises(ConnectionCheckError, match="connection refused"):
        await NeuronSource.ping({"url": ipc_url}, 5)
    with pytest.raises(ConnectionCheckError, match="connection refused"):
        await NeuronSink.ping({"url": f"tcp://127.0.0.1:{closed_port}"}, 5)
    with pytest.raises(ConnectionCheckError, match="url: only tcp and ipc"):
        await NeuronSink.ping({"url": "http://x"}, 5)


async def test_ping_while_a_rule_holds_the_pair_connection(ipc_url, eventually):
    async with neuron(ipc_url), running("SELECT * FROM demo", {"url": ipc_url}) as r:
        await eventually(lambda: r.source.status == 1)
        await NeuronSource.ping({"url": ipc_url}, 5)


# --- through the engine -------------------------------------------------------------------------


async def test_a_rule_from_neuron_to_neuron_in_the_engine(engine, ipc_url, eventually):
    """Neuron's events in, write commands back to Neuron, on the one shared connection."""
    confkeys.put(engine, "sources", "neuron", "local", {"url": ipc_url})
    engine.create_stream('CREATE STREAM neuron_stream () WITH (FORMAT="json", TYPE="neuron", CONF_KEY="local")')
    async with neuron(ipc_url) as peer:
        await engine.create_rule({
            "id": "r1",
            "sql": "SELECT values->temperature AS temperature, node_name AS node FROM neuron_stream "
                   "WHERE values->temperature > 50",
            "actions": [{"neuron": {"url": ipc_url, "nodeName": "{{.node}}", "groupName": "alarms",
                                    "tags": ["temperature"]}}],
        })

        def metric(name: str) -> Any:
            return engine.rule_status("r1")[1].get(name)

        await eventually(lambda: metric("source_neuron_stream_0_connection_status") == 1
                         and metric("sink_neuron_0_0_connection_status") == 1, what="both connected")
        assert _nng.shared(ipc_url).refs == 2
        for t in (40, 60):
            await peer.send({**EVENT, "values": {"temperature": t}})
        await eventually(lambda: peer.received, what="a write command")
        assert peer.commands == [
            {"group_name": "alarms", "node_name": "node1", "tags": [{"tag_name": "temperature", "value": 60.0}]},
        ]
        await engine.stop_rule("r1")
    assert _nng.shared(ipc_url) is None


async def test_bad_properties_fail_rule_creation(engine):
    engine.create_stream('CREATE STREAM demo () WITH (TYPE="neuron")')
    with pytest.raises(EngineError, match="group name is required"):
        await engine.create_rule({"id": "r1", "sql": "SELECT * FROM demo",
                                  "actions": [{"neuron": {"nodeName": "n"}}]})
    assert engine.rules == {}
