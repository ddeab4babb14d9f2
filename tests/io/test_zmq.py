"""The zmq source and sink against pyzmq peers of the test on free loopback ports.

The source's peer is an XPUB socket: it sees the source's subscription arrive, so it
publishes only once the source will get the message (no slow-joiner race). The sink's peer
is a SUB socket connecting to the sink's bound address; since the sink cannot tell when a
subscription has arrived, those tests send probes until one gets through.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import zmq
import zmq.asyncio

from arrokoth import confkeys
from arrokoth.engine import EngineError
from arrokoth.functions import jsonvalue
from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.sinks.base import SinkConfigError, SinkSendError
from arrokoth.io.sinks.registry import sink_class
from arrokoth.io.sinks.zmq import ZmqSink
from arrokoth.io.sources.base import SourceConfigError
from arrokoth.io.sources.registry import source_class
from arrokoth.io.sources.zmq import ZmqSource
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.builder import attach, build_rule, detach
from arrokoth.runtime.clock import RealClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse

pytestmark = pytest.mark.anyio


@pytest.fixture
def endpoint(free_port) -> str:
    return f"tcp://127.0.0.1:{free_port()}"


def ctx() -> zmq.asyncio.Context:
    return zmq.asyncio.Context.instance()


# --- the publisher of the source's tests ---------------------------------------------------------


class Publisher:
    """An XPUB socket bound to `endpoint`; `subscribed(topic)` waits for a subscriber's subscription."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.subscriptions: list[bytes] = []
        self.sock: Any = None

    def start(self) -> None:
        self.sock = ctx().socket(zmq.XPUB)
        self.sock.linger = 0
        self.sock.bind(self.endpoint)

    async def subscribed(self, topic: str = "", timeout: float = 10) -> None:
        want = b"\x01" + topic.encode()
        while want not in self.subscriptions:
            self.subscriptions.append(await asyncio.wait_for(self.sock.recv(), timeout))

    async def publish(self, *frames: Any) -> None:
        await self.sock.send_multipart([f if isinstance(f, bytes) else jsonvalue.encode(f) for f in frames])

    def stop(self) -> None:
        if self.sock is not None:
            self.sock.close(linger=0)
            self.sock = None
        self.subscriptions.clear()


@contextlib.asynccontextmanager
async def publisher(endpoint: str) -> AsyncIterator[Publisher]:
    p = Publisher(endpoint)
    p.start()
    try:
        yield p
    finally:
        p.stop()


def stream(datasource: str = "demo", columns: str = "") -> StreamDef:
    sql = f'CREATE STREAM demo ({columns}) WITH (DATASOURCE="{datasource}", TYPE="zmq")'
    return StreamDef.from_ast(parse(sql), sql)


@dataclass
class Running:
    source: ZmqSource
    out: list[dict]


@contextlib.asynccontextmanager
async def running(sql: str, props: dict, d: StreamDef | None = None) -> AsyncIterator[Running]:
    d = d or stream()
    clock = RealClock()
    feed = StreamFeed(d, clock)
    out: list[dict] = []
    runtime = build_rule("r1", sql, {"demo": d}, out.extend, clock)
    feeds = {"demo": feed}
    attach(runtime, feeds)
    runtime.start()
    source = ZmqSource(d, props, feed)
    await source.start()
    try:
        yield Running(source, out)
    finally:
        await source.stop()
        detach(runtime, feeds)
        runtime.stop()


# --- properties ---------------------------------------------------------------------------------


def test_registered_with_shipped_defaults():
    assert source_class("zmq") is ZmqSource
    assert sink_class("zmq") is ZmqSink
    assert confkeys.shipped("sources", "zmq")["default"] == {"server": "tcp://127.0.0.1:5563"}


@pytest.mark.parametrize("server", [None, "", "127.0.0.1:5563", "tcp://127.0.0.1", "http://x:1", 5563])
def test_bad_servers_are_refused(server):
    props = {} if server is None else {"server": server}
    with pytest.raises(SourceConfigError, match="^server: "):
        ZmqSource(stream(), props, StreamFeed(stream(), RealClock()))
    with pytest.raises(SinkConfigError, match="^server: "):
        ZmqSink(props)


def test_accepted_properties():
    assert ZmqSource(stream("t"), {"SERVER": "ipc:///tmp/x.ipc"}, StreamFeed(stream(), RealClock())).topic == "t"
    sink = ZmqSink({"server": "tcp://*:5563", "topic": "out"})
    assert (sink.server, sink.topic) == ("tcp://*:5563", "out")
    with pytest.raises(SourceConfigError, match="^server: "):
        ZmqSource(stream(), {"server": "tcp://*:5563"}, StreamFeed(stream(), RealClock()))  # a wildcard only binds
    with pytest.raises(SinkConfigError, match="^topic: expected a string"):
        ZmqSink({"server": "tcp://127.0.0.1:5563", "topic": 1})


def test_without_pyzmq_the_error_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "zmq" or m.startswith("zmq.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(SourceConfigError, match=r"pip install 'arrokoth\[zmq\]'"):
        ZmqSource(stream(), {"server": "tcp://127.0.0.1:5563"}, StreamFeed(stream(), RealClock()))
    with pytest.raises(SinkConfigError, match=r"pip install 'arrokoth\[zmq\]'"):
        ZmqSink({"server": "tcp://127.0.0.1:5563"})


# --- the source ---------------------------------------------------------------------------------


async def test_topic_messages_reach_the_rule_with_their_topic(endpoint, eventually):
    sql = "SELECT temperature, meta(topic) AS topic FROM demo WHERE temperature > 50"
    async with publisher(endpoint) as pub, running(sql, {"server": endpoint}, stream("dev")) as r:
        await pub.subscribed("dev")
        await eventually(lambda: r.source.status == 1, what="connected")
        await pub.publish(b"dev1", {"temperature": 60})
        await pub.publish(b"dev2", {"temperature": 20})  # filtered out by the rule
        await pub.publish(b"other", {"temperature": 99})  # not subscribed
        await pub.publish(b"dev1", b'[{"temperature": 70},', b'{"temperature": 80}]')  # frames joined
        await pub.publish(b'dev{"temperature": 90}')  # one frame: the payload follows the topic
        await pub.publish(b"dev1", b"not json")
        await eventually(lambda: len(r.out) == 4 and r.source.exceptions == 1, what="four rows and one error")
    assert r.out == [
        {"temperature": 60.0, "topic": "dev1"},
        {"temperature": 70.0, "topic": "dev1"},
        {"temperature": 80.0, "topic": "dev1"},
        {"temperature": 90.0, "topic": "dev"},
    ]


async def test_without_a_topic_every_message_and_every_frame_is_payload(endpoint, eventually):
    async with publisher(endpoint) as pub, running("SELECT * FROM demo", {"server": endpoint}, stream("")) as r:
        await pub.subscribed("")
        await pub.publish({"a": 1})
        await pub.publish(b'{"b":', b"2}")
        await eventually(lambda: len(r.out) == 2)
    assert r.out == [{"a": 1.0}, {"b": 2.0}]


async def test_source_reports_the_connection_and_reconnects(endpoint, eventually):
    async with running("SELECT a FROM demo", {"server": endpoint}) as r:
        # nothing listens yet: the rule runs and libzmq keeps reconnecting
        assert r.source.status == -1
        assert "cannot connect to zmq server" in r.source.last_disconnected_message
        async with publisher(endpoint) as pub:
            await pub.subscribed("demo")
            await eventually(lambda: r.source.status == 1, what="connected")
            await pub.publish(b"demo", {"a": 1})
            await eventually(lambda: len(r.out) == 1)
            pub.stop()
            await eventually(lambda: r.source.status == -1, what="disconnected")
            assert r.source.last_disconnected_message == f"zmq server {endpoint} disconnected"
            pub.start()
            await pub.subscribed("demo")
            await eventually(lambda: r.source.status == 1, what="reconnected")
            await pub.publish(b"demo", {"a": 2})
            await eventually(lambda: len(r.out) == 2)
    assert r.out == [{"a": 1.0}, {"a": 2.0}]


async def test_source_over_ipc(tmp_path, eventually):
    server = f"ipc://{tmp_path}/feed.ipc"
    async with publisher(server) as pub, running("SELECT a FROM demo", {"server": server}) as r:
        await pub.subscribed("demo")
        await pub.publish(b"demo", {"a": 1})
        await eventually(lambda: r.out)
        assert r.source.status == 1
    assert r.out == [{"a": 1.0}]


# --- the sink -----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def subscriber(server: str, topic: str = "") -> AsyncIterator[Any]:
    sock = ctx().socket(zmq.SUB)
    sock.linger = 0
    sock.setsockopt(zmq.SUBSCRIBE, topic.encode())
    sock.connect(server)
    try:
        yield sock
    finally:
        sock.close(linger=0)


async def until_received(sub: Any, send, timeout: float = 10) -> list[bytes]:
    """Send probes until the subscriber gets one (its subscription has reached the sink)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await send()
        if await sub.poll(50):
            return await sub.recv_multipart()
    raise AssertionError(f"no message within {timeout}s")


async def test_sink_binds_and_publishes_topic_and_payload(endpoint):
    sink = ZmqSink({"server": endpoint, "topic": "out"})
    await sink.connect()
    try:
        assert sink.status == 1
        async with subscriber(endpoint, "out") as sub:
            assert await until_received(sub, lambda: sink.send_async(b'{"probe":1}', None)) == [b"out", b'{"probe":1}']
            await sink.send_async(b'{"a":1}', None)
            while (frames := await asyncio.wait_for(sub.recv_multipart(), 10)) == [b"out", b'{"probe":1}']:
                pass
            assert frames == [b"out", b'{"a":1}']
    finally:
        await sink.aclose()


async def test_sink_without_a_topic_sends_the_payload_alone(endpoint):
    sink = ZmqSink({"server": endpoint})
    await sink.connect()
    try:
        async with subscriber(endpoint) as sub:
            assert await until_received(sub, lambda: sink.send_async(b'{"a":1}', None)) == [b'{"a":1}']
    finally:
        await sink.aclose()


async def test_sink_cannot_bind_an_address_in_use(endpoint):
    other = ctx().socket(zmq.PUB)
    other.linger = 0
    other.bind(endpoint)
    sink = ZmqSink({"server": endpoint})
    try:
        with pytest.raises(SinkSendError, match="address already in use"):
            await sink.connect()
        with pytest.raises(SinkSendError, match="not bound"):
            await sink.send_async(b"{}", None)
    finally:
        other.close(linger=0)
        await sink.aclose()
    # free again (once libzmq's I/O thread has closed the other socket): a later connect binds,
    # as the SinkNode's reconnection does
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        try:
            await sink.connect()
            break
        except SinkSendError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.01)
    assert sink.status == 1
    await sink.aclose()


# --- ping ---------------------------------------------------------------------------------------


async def test_source_ping(endpoint, closed_port, http_endpoint):
    async with publisher(endpoint):
        await ZmqSource.ping({"server": endpoint}, 5)
    with pytest.raises(ConnectionCheckError, match="connection refused"):
        await ZmqSource.ping({"server": f"tcp://127.0.0.1:{closed_port}"}, 5)
    with pytest.raises(ConnectionCheckError, match="is it a ZeroMQ publisher"):
        await ZmqSource.ping({"server": f"tcp://127.0.0.1:{http_endpoint.port}"}, 1)
    with pytest.raises(ConnectionCheckError, match="^server: "):
        await ZmqSource.ping({"server": "nowhere"}, 5)


async def test_source_ping_over_ipc(tmp_path):
    server = f"ipc://{tmp_path}/feed.ipc"
    with pytest.raises(ConnectionCheckError, match="No such file"):
        await ZmqSource.ping({"server": server}, 5)
    async with publisher(server):
        await ZmqSource.ping({"server": server}, 5)


async def test_sink_ping(endpoint):
    await ZmqSink.ping({"server": endpoint}, 5)
    async with publisher(endpoint):
        with pytest.raises(ConnectionCheckError, match="address already in use"):
            await ZmqSink.ping({"server": endpoint}, 5)
    with pytest.raises(ConnectionCheckError, match="^server: missing"):
        await ZmqSink.ping({}, 5)


# --- through the engine -------------------------------------------------------------------------


async def test_a_rule_from_zmq_to_zmq_in_the_engine(engine, eventually, free_port):
    source_server, sink_server = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    confkeys.put(engine, "sources", "zmq", "local", {"server": source_server})
    engine.create_stream('CREATE STREAM demo () WITH (DATASOURCE="sensors", TYPE="zmq", CONF_KEY="local")')
    async with publisher(source_server) as pub, subscriber(sink_server, "alerts") as sub:
        await engine.create_rule({
            "id": "r1",
            "sql": "SELECT n, temperature FROM demo WHERE temperature > 50",
            "actions": [{"zmq": {"server": sink_server, "topic": "alerts"}}],
        })

        def metric(name: str) -> Any:
            return engine.rule_status("r1")[1].get(name)

        await pub.subscribed("sensors")
        await eventually(lambda: metric("source_demo_0_connection_status") == 1
                         and metric("sink_zmq_0_0_connection_status") == 1, what="both connected")
        n = 0

        async def probe() -> None:
            nonlocal n
            n += 1
            await pub.publish(b"sensors/1", {"n": n, "temperature": 60})

        first = await until_received(sub, probe)
        assert first[0] == b"alerts"
        await pub.publish(b"sensors/1", {"n": -1, "temperature": 20})  # filtered out
        await pub.publish(b"sensors/2", {"n": -2, "temperature": 70})
        while True:
            topic, payload = await asyncio.wait_for(sub.recv_multipart(), 10)
            if jsonvalue.loads(payload)[0]["n"] < 0:
                break
        assert (topic, jsonvalue.loads(payload)) == (b"alerts", [{"n": -2.0, "temperature": 70.0}])
        await engine.stop_rule("r1")
    assert "demo" not in engine.sources


async def test_a_sink_without_a_server_fails_rule_creation(engine):
    engine.create_stream('CREATE STREAM demo () WITH (DATASOURCE="t", TYPE="zmq")')
    with pytest.raises(EngineError, match="server: missing server address"):
        await engine.create_rule({"id": "r1", "sql": "SELECT * FROM demo", "actions": [{"zmq": {"topic": "x"}}]})
    assert engine.rules == {}
