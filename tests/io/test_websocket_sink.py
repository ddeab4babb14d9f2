"""The websocket sink (arrokoth.io.sinks.websocket) with real websockets.

Client mode: a `websockets` server of the test on a free loopback port records what the
sink sends; the test stops and restarts it to prove the sink recovers, and that with
`enableCache` the rows of the outage arrive afterwards. Server mode: `websockets` clients of
the test connect to the engine's shared listener and receive the rule's results.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from typing import Any

import pytest
from websockets.asyncio.client import connect

from arrokoth.engine import Engine, EngineError
from arrokoth.io import _websocket, http_listener
from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.memory_bus import bus
from arrokoth.io.sinks.base import AsyncSink, SinkConfigError, SinkSendError
from arrokoth.io.sinks.registry import sink_class
from arrokoth.io.sinks.websocket import WebsocketSink

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_ws_backoff")]


def ws_url(engine: Engine, path: str) -> str:
    return f"ws://127.0.0.1:{engine.http_listener.port}{path}"


# --- client mode: the sink alone ----------------------------------------------------------------


async def test_sends_text_and_binary_frames_to_the_server(ws_server, eventually):
    sink = sink_class("websocket")({"addr": ws_server.addr, "path": "/api/data"})
    assert isinstance(sink, WebsocketSink) and isinstance(sink, AsyncSink)
    await sink.connect()
    try:
        await sink.send_async(b'{"a":1}', None)
        await sink.send_async("{\"é\":2}".encode(), None)
        await sink.send_async(b"\x08\x96\x01\xff", None)  # not UTF-8 (protobuf): a binary frame
        await eventually(lambda: len(ws_server.received) == 3)
    finally:
        await sink.aclose()
    assert ws_server.received == ['{"a":1}', '{"é":2}', b"\x08\x96\x01\xff"]
    assert ws_server.paths == ["/api/data"]
    await eventually(lambda: not ws_server.clients, what="the sink closed its connection")
    assert _websocket._clients == {}


async def test_send_raises_while_the_server_is_down_and_recovers(eventually, ws_server_factory):
    server = ws_server_factory()
    sink = WebsocketSink({"addr": server.addr, "path": "/x"})
    statuses: list[int] = []
    sink._status_listener = lambda s: statuses.append(s.status)
    try:
        with pytest.raises(SinkSendError, match="connection refused"):
            await sink.connect()
        assert sink.status == -1
        with pytest.raises(SinkSendError, match="not connected"):
            await sink.send_async(b"{}", None)
        await server.start()
        await eventually(lambda: sink.status == 1, what="the client redialled")
        await sink.send_async(b'{"n":1}', None)
        await eventually(lambda: server.received == ['{"n":1}'])

        await server.stop()
        await eventually(lambda: sink.status != 1, what="the sink saw the server go")
        assert "lost" in sink.last_disconnected_message or "refused" in sink.last_disconnected_message
        with pytest.raises(SinkSendError):
            await sink.send_async(b'{"n":2}', None)
        await server.start()
        await eventually(lambda: sink.status == 1, what="reconnected")
        await sink.send_async(b'{"n":3}', None)
        await eventually(lambda: server.received == ['{"n":1}', '{"n":3}'])
    finally:
        await sink.aclose()
        await server.stop()
    assert statuses[:2] == [-1, 1] and statuses[-1] == 1


async def test_send_before_connect_raises():
    sink = WebsocketSink({"addr": "127.0.0.1:1", "path": "/x"})
    with pytest.raises(SinkSendError, match="not connected"):
        await sink.send_async(b"{}", None)


async def test_tls_with_a_client_certificate(tls_certs, eventually, ws_server_factory):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls_certs.server_cert, tls_certs.server_key)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(tls_certs.ca)
    server = ws_server_factory(ctx)
    await server.start()
    sink = WebsocketSink({"addr": f"wss://{server.addr}", "path": "/tls", "rootCaPath": str(tls_certs.ca),
                          "certificationPath": str(tls_certs.client_cert),
                          "privateKeyPath": str(tls_certs.client_key)})
    try:
        await sink.connect()
        await sink.send_async(b'{"tls":true}', None)
        await eventually(lambda: server.received == ['{"tls":true}'])
    finally:
        await sink.aclose()
        await server.stop()


@pytest.mark.parametrize(("props", "message"), [
    ({}, "path: the websocket endpoint path is required, for example /api/data"),
    ({"path": "api"}, "path: the websocket endpoint must be a URL path starting with /, got 'api'"),
    ({"path": "/x", "addr": "127.0.0.1:abc"}, "addr: '127.0.0.1:abc' is not host:port, for example 127.0.0.1:8080"),
    ({"path": "/x", "addr": "ftp://h:1"}, "scheme: expected ws or wss but got 'ftp'"),
    ({"path": "/x", "addr": "h:1", "certificationPath": "/nonexistent/c.pem"},
     "certificationPath: cannot read /nonexistent/c.pem: no such file"),
])
def test_bad_properties_name_the_property(props, message):
    with pytest.raises(SinkConfigError) as e:
        WebsocketSink(props)
    assert str(e.value) == message


# --- through the engine ---------------------------------------------------------------------------


async def test_a_rule_writes_to_a_server_and_caches_through_an_outage(engine, ws_server, eventually):
    engine.create_stream('CREATE STREAM readings () WITH (DATASOURCE="in/ws-cache", TYPE="memory")')
    await engine.create_rule({
        "id": "r1", "sql": "SELECT seq FROM readings",
        "actions": [{"websocket": {"addr": ws_server.addr, "path": "/out", "sendSingle": True,
                                   "enableCache": True, "resendInterval": 0}}],
    })

    def metric(name: str) -> Any:
        return engine.rule_status("r1")[1].get(name)

    await eventually(lambda: metric("sink_websocket_0_0_connection_status") == 1, what="the action connected")
    bus.publish("in/ws-cache", [{"seq": 0}, {"seq": 1}])
    await eventually(lambda: len(ws_server.received) == 2)

    await ws_server.stop()
    await eventually(lambda: metric("sink_websocket_0_0_connection_status") != 1, what="the action saw it")
    for seq in range(2, 7):
        bus.publish("in/ws-cache", [{"seq": seq}])
    await ws_server.start()
    await eventually(lambda: len(ws_server.received) == 7, what="the cached rows delivered")
    assert ws_server.received == [json.dumps({"seq": i}, separators=(",", ":")) for i in range(7)]
    assert ws_server.paths == ["/out", "/out"]
    assert metric("sink_websocket_0_0_connection_status") == 1
    assert metric("sink_websocket_0_0_records_out_total") == 7
    await engine.delete_rule("r1")
    await eventually(lambda: not ws_server.clients, what="the rule's connection closed")


async def test_server_mode_sends_every_result_to_every_client(engine, eventually):
    engine.create_stream('CREATE STREAM readings () WITH (DATASOURCE="in/ws-server", TYPE="memory")')
    await engine.create_rule({
        "id": "r1", "sql": "SELECT id, t * 2 AS t2 FROM readings WHERE t > 0",
        "actions": [{"websocket": {"path": "/results", "sendSingle": True}}],
    })
    assert engine.http_listener.websocket_endpoints() == {"/results": 0}
    # no client yet: the result goes nowhere, as in eKuiper
    bus.publish("in/ws-server", [{"id": 0, "t": 1}])
    async with connect(ws_url(engine, "/results"), proxy=None) as a, \
            connect(ws_url(engine, "/results"), proxy=None) as b:
        await eventually(lambda: engine.http_listener.websocket_endpoints() == {"/results": 2})
        bus.publish("in/ws-server", [{"id": 1, "t": 5}, {"id": 2, "t": -1}, {"id": 3, "t": 7}])
        for ws in (a, b):
            got = [await asyncio.wait_for(ws.recv(), 10) for _ in range(2)]
            assert got == ['{"id":1,"t2":10}', '{"id":3,"t2":14}']
    await eventually(lambda: engine.rule_status("r1")[1]["sink_websocket_0_0_records_out_total"] == 3)
    assert engine.rule_status("r1")[1]["sink_websocket_0_0_connection_status"] == 1
    await engine.stop_rule("r1")
    assert engine.http_listener.websocket_endpoints() == {}


async def test_server_mode_a_stream_and_an_action_on_one_path_answer_the_client(engine):
    # the path's clients feed the stream and receive the rule's results on the same socket
    engine.create_stream('CREATE STREAM s (x BIGINT) WITH (DATASOURCE="/echo", TYPE="websocket")')
    await engine.create_rule({"id": "r1", "sql": "SELECT x * 10 AS y FROM s",
                              "actions": [{"websocket": {"path": "/echo", "sendSingle": True}}]})
    async with connect(ws_url(engine, "/echo"), proxy=None) as ws:
        await ws.send('{"x": 4}')
        assert await asyncio.wait_for(ws.recv(), 10) == '{"y":40}'
    await engine.delete_rule("r1")
    assert engine.http_listener.websocket_endpoints() == {}


async def test_client_mode_a_stream_and_an_action_of_one_url_share_the_connection(engine, ws_server, eventually):
    got: list = []
    token = bus.subscribe("ws-out/shared", lambda topic, rows: got.extend(rows))
    try:
        extra = json.dumps(json.dumps({"addr": ws_server.addr}))
        engine.create_stream(f'CREATE STREAM s () WITH (DATASOURCE="/shared", TYPE="websocket", EXTRA={extra})')
        await engine.create_rule({"id": "r1", "sql": "SELECT * FROM s",
                                  "actions": [{"memory": {"topic": "ws-out/shared"}},
                                              {"websocket": {"addr": ws_server.addr, "path": "/shared",
                                                             "sendSingle": True}}]})
        await eventually(lambda: ws_server.clients)
        assert ws_server.paths == ["/shared"]  # one connection for both
        await ws_server.send('{"ping": 1}')
        # the stream read it, and the action sent the result back on the same connection
        await eventually(lambda: ws_server.received == ['{"ping":1}'])
        assert got == [{"ping": 1}]
    finally:
        bus.unsubscribe(token)


async def test_a_bad_action_fails_the_rule_creation(engine):
    engine.create_stream('CREATE STREAM s () WITH (DATASOURCE="in/x", TYPE="memory")')
    with pytest.raises(EngineError) as e:
        await engine.create_rule({"id": "r1", "sql": "SELECT * FROM s", "actions": [{"websocket": {"addr": "h:1"}}]})
    assert "path: the websocket endpoint path is required" in e.value.message


# --- connectivity checks ----------------------------------------------------------------------------


async def test_ping(ws_server, eventually, free_port):
    await WebsocketSink.ping({"addr": ws_server.addr, "path": "/check"}, 5)
    await eventually(lambda: ws_server.paths == ["/check"])
    port = free_port()
    with pytest.raises(ConnectionCheckError) as e:
        await WebsocketSink.ping({"addr": f"127.0.0.1:{port}", "path": "/check"}, 5)
    assert str(e.value) == f"websocket ws://127.0.0.1:{port}/check: connection refused"
    with pytest.raises(ConnectionCheckError, match="path: the websocket endpoint path is required"):
        await WebsocketSink.ping({"addr": ws_server.addr}, 5)


async def test_ping_times_out_on_a_server_that_never_answers():
    # a socket that accepts connections (the kernel's backlog) but never speaks
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        port = mute.getsockname()[1]
        with pytest.raises(ConnectionCheckError) as e:
            await WebsocketSink.ping({"addr": f"127.0.0.1:{port}", "path": "/x"}, 0.3)
    assert str(e.value) == f"websocket ws://127.0.0.1:{port}/x: timed out after 0.3s"


async def test_ping_in_server_mode():
    listener = http_listener.configure("127.0.0.1", 0)
    try:
        await WebsocketSink.ping({"path": "/anything"}, 5)  # port 0: always bindable
    finally:
        await listener.close()


# --- server mode: a client that lags ------------------------------------------------------------


async def test_a_lagging_client_loses_its_oldest_messages_and_holds_nobody_up(eventually):
    """The endpoint driven through its ASGI interface, with a client whose socket is stuck."""
    endpoint = http_listener.WebsocketEndpoint("/slow")
    incoming: asyncio.Queue = asyncio.Queue()
    await incoming.put({"type": "websocket.connect"})
    unstuck = asyncio.Event()
    sent: list[dict] = []

    async def send(message: dict) -> None:
        if message["type"] == "websocket.send":
            await unstuck.wait()
        sent.append(message)

    serving = asyncio.get_running_loop().create_task(endpoint.serve(incoming.get, send))
    await eventually(lambda: endpoint.clients)
    assert endpoint.broadcast(b'{"n":0}') == 1
    await eventually(lambda: sent == [{"type": "websocket.accept"}])
    client = next(iter(endpoint.clients.values()))
    await eventually(lambda: not client.queue, what="the writer took message 0 and is stuck sending it")
    for n in range(1, 1030):
        endpoint.broadcast(b'{"n":%d}' % n)
    assert endpoint.dropped == 5  # 1..5, the oldest of the 1029 queued behind the stuck one
    endpoint.broadcast(b"\xff\xfe")  # not UTF-8: a binary frame
    unstuck.set()
    await eventually(lambda: len(sent) == 1 + 1 + 1024)
    texts = [m.get("text") for m in sent[1:-1]]
    assert texts == ['{"n":0}'] + [f'{{"n":{n}}}' for n in range(7, 1030)]
    assert sent[-1] == {"type": "websocket.send", "bytes": b"\xff\xfe"}
    assert endpoint.dropped == 6
    await incoming.put({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(serving, 10)
    assert endpoint.clients == {}
