"""The websocket source (arrokoth.io.sources.websocket) with real websockets.

Server mode: `websockets` clients of the test connect to the engine's shared listener on a
free loopback port. Client mode: a `websockets` server of the test, on a free loopback port,
which the test stops and starts again to prove the source reconnects.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import sys
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from arrokoth.engine import Engine, EngineError
from arrokoth.io import _websocket
from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.memory_bus import bus
from arrokoth.io.sources.base import CONNECTED, DISCONNECTED, SourceConfigError
from arrokoth.io.sources.registry import source_class
from arrokoth.io.sources.websocket import WebsocketSource
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.clock import RealClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_ws_backoff")]


@pytest.fixture
def results():
    """Rows the memory sinks publish, by topic."""
    got: dict[str, list] = {}
    token = bus.subscribe("ws/#", lambda topic, rows: got.setdefault(topic, []).extend(rows))
    yield got
    bus.unsubscribe(token)


def extra(**props: Any) -> str:
    return json.dumps(json.dumps(props))


async def add_rule(engine: Engine, rule_id: str, stream: str, sql: str | None = None) -> None:
    await engine.create_rule({
        "id": rule_id, "sql": sql or f"SELECT * FROM {stream}",
        "actions": [{"memory": {"topic": f"ws/{rule_id}"}}],
    })
    assert engine.rules[rule_id].status == "running", engine.rules[rule_id].message


def ws_url(engine: Engine, path: str) -> str:
    return f"ws://127.0.0.1:{engine.http_listener.port}{path}"


# --- server mode: clients connect to the engine ----------------------------------------------


async def test_server_mode_reads_what_every_client_sends(engine, results, eventually):
    engine.create_stream('CREATE STREAM s (id BIGINT, name STRING) WITH (DATASOURCE="/api/data", TYPE="websocket")')
    await add_rule(engine, "r1", "s")
    assert engine.sources["s"].status == CONNECTED
    assert engine.http_listener.websocket_endpoints() == {"/api/data": 0}
    async with connect(ws_url(engine, "/api/data"), proxy=None) as a, \
            connect(ws_url(engine, "/api/data"), proxy=None) as b:
        await a.send('{"id": 1, "name": "a", "extra": true}')
        await eventually(lambda: len(results.get("ws/r1", [])) == 1)
        await b.send(b'[{"id": 2, "name": "b"}, {"id": 3, "name": "b"}]')  # a binary frame
        await eventually(lambda: len(results["ws/r1"]) == 3)
        assert engine.http_listener.websocket_endpoints() == {"/api/data": 2}
    assert results["ws/r1"] == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "b"}]
    assert type(results["ws/r1"][0]["id"]) is int
    assert engine.sources["s"].records_in == 3


async def test_a_message_that_does_not_decode_is_an_exception_of_the_rule(engine, results, eventually):
    engine.create_stream('CREATE STREAM s () WITH (DATASOURCE="/s", TYPE="websocket")')
    await add_rule(engine, "r1", "s")
    async with connect(ws_url(engine, "/s"), proxy=None) as ws:
        await ws.send("{not json")
        await eventually(lambda: engine.sources["s"].exceptions == 1)
        await ws.send('{"ok": true}')  # the connection is still fine
        await eventually(lambda: results.get("ws/r1") == [{"ok": True}])
    assert engine.rules["r1"].runtime.metrics.exceptions == 1


async def test_the_path_is_served_only_while_a_rule_reads_the_stream(engine, results, eventually):
    engine.create_stream('CREATE STREAM s () WITH (DATASOURCE="/s", TYPE="websocket")')
    await add_rule(engine, "r1", "s")
    ws = await connect(ws_url(engine, "/s"), proxy=None)
    await engine.stop_rule("r1")
    # the endpoint goes away: its clients are told so (1001 going away) and new ones refused
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd.code == 1001
    assert engine.http_listener.websocket_endpoints() == {}
    with pytest.raises(InvalidStatus):
        await connect(ws_url(engine, "/s"), proxy=None)
    await engine.start_rule("r1")
    async with connect(ws_url(engine, "/s"), proxy=None) as again:
        await again.send('{"n": 1}')
        await eventually(lambda: results.get("ws/r1") == [{"n": 1}])


async def test_a_websocket_path_and_an_httppush_path_can_be_the_same(engine, results, eventually):
    import httpx

    engine.create_stream('CREATE STREAM w () WITH (DATASOURCE="/same", TYPE="websocket")')
    engine.create_stream('CREATE STREAM h () WITH (DATASOURCE="/same", TYPE="httppush")')
    await add_rule(engine, "rw", "w")
    await add_rule(engine, "rh", "h")
    async with connect(ws_url(engine, "/same"), proxy=None) as ws:
        await ws.send('{"via": "ws"}')
        async with httpx.AsyncClient(timeout=10) as client:
            resp = await client.post(f"http://127.0.0.1:{engine.http_listener.port}/same", json={"via": "http"})
        assert resp.status_code == 200
        await eventually(lambda: "ws/rw" in results and "ws/rh" in results)
    assert results == {"ws/rw": [{"via": "ws"}], "ws/rh": [{"via": "http"}]}


# --- client mode: the engine connects to a server --------------------------------------------


async def test_client_mode_reads_the_servers_messages(engine, ws_server, results, eventually):
    engine.create_stream(f'CREATE STREAM s () WITH (DATASOURCE="/api/data", TYPE="websocket", '
                         f'EXTRA={extra(addr=ws_server.addr)})')
    await add_rule(engine, "r1", "s")
    await eventually(lambda: ws_server.clients, what="the source connected")
    assert ws_server.paths == ["/api/data"]
    assert engine.sources["s"].status == CONNECTED
    await ws_server.send('{"t": 1}')
    await ws_server.send(b'{"t": 2}')
    await eventually(lambda: results.get("ws/r1") == [{"t": 1}, {"t": 2}])
    status = engine.rule_status("r1")[1]
    assert status["source_s_0_connection_status"] == 1


async def test_client_mode_reconnects_when_the_server_comes_back(engine, ws_server, results, eventually):
    confkeys_props = {"addr": f"ws://{ws_server.addr}"}
    from arrokoth import confkeys

    confkeys.put(engine, "sources", "websocket", "remote", confkeys_props)
    engine.create_stream('CREATE STREAM s () WITH (DATASOURCE="/feed", TYPE="websocket", CONF_KEY="remote")')
    await add_rule(engine, "r1", "s")
    source = engine.sources["s"]
    await eventually(lambda: ws_server.clients)
    await ws_server.send('{"n": 1}')
    await eventually(lambda: results.get("ws/r1") == [{"n": 1}])

    await ws_server.stop()
    await eventually(lambda: source.status != CONNECTED, what="the source saw the server go")
    assert "lost" in source.last_disconnected_message or "refused" in source.last_disconnected_message
    await ws_server.start()
    await eventually(lambda: ws_server.clients and source.status == CONNECTED, what="the source reconnected")
    await ws_server.send('{"n": 2}')
    await eventually(lambda: results["ws/r1"] == [{"n": 1}, {"n": 2}])
    assert ws_server.paths == ["/feed", "/feed"]


async def test_a_server_that_is_down_does_not_fail_the_rule(engine, results, eventually, ws_server_factory):
    server = ws_server_factory()  # not started yet
    engine.create_stream(f'CREATE STREAM s () WITH (DATASOURCE="/late", TYPE="websocket", '
                         f'EXTRA={extra(addr=server.addr)})')
    await add_rule(engine, "r1", "s")
    source = engine.sources["s"]
    assert source.status == DISCONNECTED
    assert source.last_disconnected_message == "connection refused"
    await server.start()
    try:
        await eventually(lambda: server.clients and source.status == CONNECTED)
        await server.send('{"late": true}')
        await eventually(lambda: results.get("ws/r1") == [{"late": True}])
    finally:
        await server.stop()


async def test_client_mode_over_tls(engine, tls_certs, results, eventually, ws_server_factory):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls_certs.server_cert, tls_certs.server_key)
    ctx.verify_mode = ssl.CERT_REQUIRED  # and the client must show its certificate
    ctx.load_verify_locations(tls_certs.ca)
    server = ws_server_factory(ctx)
    await server.start()
    try:
        props = {"addr": server.addr, "scheme": "wss", "rootCaPath": str(tls_certs.ca),
                 "certificationPath": str(tls_certs.client_cert), "privateKeyPath": str(tls_certs.client_key)}
        engine.create_stream(f'CREATE STREAM s () WITH (DATASOURCE="/tls", TYPE="websocket", EXTRA={extra(**props)})')
        await add_rule(engine, "r1", "s")
        await eventually(lambda: server.clients)
        await server.send('{"secure": 1}')
        await eventually(lambda: results.get("ws/r1") == [{"secure": 1}])

        # a CA that did not sign the server's certificate: no connection, and the status says why
        wrong = dict(props, rootCaPath=str(tls_certs.other_ca))
        engine.create_stream(f'CREATE STREAM bad () WITH (DATASOURCE="/tls", TYPE="websocket", '
                             f'EXTRA={extra(**wrong)})')
        await add_rule(engine, "r2", "bad")
        bad = engine.sources["bad"]
        assert bad.status == DISCONNECTED
        assert bad.last_disconnected_message.startswith("TLS certificate verification failed")
    finally:
        await server.stop()


async def test_the_source_alone_in_client_mode(ws_server, eventually):
    sql = 'CREATE STREAM s () WITH (DATASOURCE="/alone", TYPE="websocket")'
    d = StreamDef.from_ast(parse(sql), sql)
    feed = StreamFeed(d, RealClock())
    rows: list = []
    feed.subscribe(lambda index, row: rows.append(row.msg), 0, lambda e: None)
    source = source_class("websocket")(d, {"addr": ws_server.addr}, feed)
    assert isinstance(source, WebsocketSource)
    await source.start()
    try:
        assert source.status == CONNECTED
        await ws_server.send('{"a": 1}')
        await eventually(lambda: rows == [{"a": 1}])
    finally:
        await source.stop()
    await eventually(lambda: not ws_server.clients, what="the connection closed")
    assert _websocket._clients == {}


# --- properties and the missing extra ----------------------------------------------------------


@pytest.mark.parametrize(("options", "message"), [
    ('DATASOURCE="api/data"', "DATASOURCE: the websocket endpoint must be a URL path starting with /, got 'api/data'"),
    ("", "DATASOURCE: the websocket endpoint must be a URL path starting with /, got ''"),
    ('DATASOURCE="/x", EXTRA=' + extra(addr="127.0.0.1:99999"),
     "addr: '127.0.0.1:99999' is not host:port, for example 127.0.0.1:8080"),
    ('DATASOURCE="/x", EXTRA=' + extra(addr="127.0.0.1:80", scheme="http"), "scheme: expected ws or wss but got 'http'"),
    ('DATASOURCE="/x", EXTRA=' + extra(addr="ws://127.0.0.1:80/x"),
     "addr: '127.0.0.1:80/x' holds a path; give it in path (the stream's DATASOURCE)"),
    ('DATASOURCE="/x", EXTRA=' + extra(addr="h:1", rootCaPath="/nonexistent/ca.pem"),
     "rootCaPath: cannot read /nonexistent/ca.pem: no such file"),
    ('DATASOURCE="/x", EXTRA=' + extra(addr="h:1", insecureSkipVerify="maybe"),
     "insecureSkipVerify: expected true or false but got 'maybe'"),
])
async def test_bad_properties_fail_the_rule_creation_naming_them(engine, options, message):
    sep = ", " if options else ""
    engine.create_stream(f'CREATE STREAM s () WITH ({options}{sep}TYPE="websocket")')
    with pytest.raises(EngineError) as e:
        await engine.create_rule({"id": "r1", "sql": "SELECT * FROM s", "actions": [{"nop": {}}]})
    assert e.value.message == f"fail to create source of stream s: {message}"
    assert "r1" not in engine.rules


async def test_path_stands_in_for_an_empty_datasource(engine, results, eventually):
    engine.create_stream(f'CREATE STREAM s () WITH (TYPE="websocket", EXTRA={extra(path="/by-path")})')
    await add_rule(engine, "r1", "s")
    async with connect(ws_url(engine, "/by-path"), proxy=None) as ws:
        await ws.send('{"p": 1}')
        await eventually(lambda: results.get("ws/r1") == [{"p": 1}])


async def test_without_the_websockets_package_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "websockets", None)  # import websockets now fails
    sql = 'CREATE STREAM s () WITH (DATASOURCE="/x", TYPE="websocket")'
    d = StreamDef.from_ast(parse(sql), sql)
    with pytest.raises(SourceConfigError, match=r"install the websocket extra, pip install 'arrokoth\[websocket\]'"):
        WebsocketSource(d, {}, StreamFeed(d, RealClock()))


# --- connectivity checks -------------------------------------------------------------------------


async def test_ping_a_live_server(ws_server, eventually):
    await WebsocketSource.ping({"addr": ws_server.addr, "datasource": "/p"}, 5)
    await WebsocketSource.ping({"addr": ws_server.addr}, 5)  # the path defaults to /
    await eventually(lambda: ws_server.paths == ["/p", "/"])


async def test_ping_a_closed_port_is_refused(free_port):
    port = free_port()
    with pytest.raises(ConnectionCheckError) as e:
        await WebsocketSource.ping({"addr": f"127.0.0.1:{port}", "path": "/p"}, 5)
    assert str(e.value) == f"websocket ws://127.0.0.1:{port}/p: connection refused"


async def test_ping_a_path_the_server_does_not_serve(engine, http_endpoint):
    # an engine's listener, where nothing serves /p
    await engine.http_listener.start()
    with pytest.raises(ConnectionCheckError, match="rejected the websocket handshake with HTTP 403"):
        await WebsocketSource.ping({"addr": f"127.0.0.1:{engine.http_listener.port}", "path": "/p"}, 5)
    # a plain HTTP/1.0 server
    with pytest.raises(ConnectionCheckError, match="websocket handshake failed: did not receive a valid HTTP"):
        await WebsocketSource.ping({"addr": f"127.0.0.1:{http_endpoint.port}", "path": "/p"}, 5)


async def test_ping_checks_the_certificate(tls_certs, ws_server_factory):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls_certs.server_cert, tls_certs.server_key)
    server = ws_server_factory(ctx)
    await server.start()
    try:
        props = {"addr": f"wss://{server.addr}", "path": "/p"}
        await WebsocketSource.ping(dict(props, rootCaPath=str(tls_certs.ca)), 5)
        await WebsocketSource.ping(dict(props, insecureSkipVerify=True), 5)
        with pytest.raises(ConnectionCheckError, match="TLS certificate verification failed"):
            await WebsocketSource.ping(dict(props, rootCaPath=str(tls_certs.other_ca)), 5)
    finally:
        await server.stop()


async def test_ping_in_server_mode_checks_the_listener_can_bind(free_port):
    from arrokoth.io import http_listener

    listener = http_listener.configure("127.0.0.1", free_port())
    try:
        await WebsocketSource.ping({"datasource": "/x"}, 5)
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", listener.configured_port))
            busy.listen(1)
            with pytest.raises(ConnectionCheckError, match="cannot listen on 127.0.0.1"):
                await WebsocketSource.ping({"datasource": "/x"}, 5)
        await listener.start()
        await WebsocketSource.ping({"datasource": "/x"}, 5)  # served already
    finally:
        await listener.close()
    with pytest.raises(ConnectionCheckError, match="must be a URL path starting with /"):
        await WebsocketSource.ping({"datasource": "x"}, 5)
