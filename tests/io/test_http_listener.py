"""The shared listener on httpServerIp:httpServerPort (arrokoth.io.http_listener)."""

from __future__ import annotations

import socket

import httpx
import pytest

from arrokoth.config import Config
from arrokoth.engine import Engine
from arrokoth.functions import jsonvalue
from arrokoth.io import http_listener
from arrokoth.io.http_listener import HttpListener, ListenerError
from arrokoth.server.app import create_app
from arrokoth.store import open_store

pytestmark = pytest.mark.anyio


@pytest.fixture
async def listener():
    lst = HttpListener("127.0.0.1", 0)
    await lst.start()
    yield lst
    await lst.close()


@pytest.fixture
async def client():
    async with httpx.AsyncClient(timeout=10) as c:
        yield c


async def test_a_registered_path_hands_over_the_body_and_answers_ok(listener, client):
    got = []
    listener.register("/api/data", "post", got.append)
    url = f"http://127.0.0.1:{listener.port}/api/data"
    resp = await client.post(url, content=b'{"a":1}')
    assert resp.status_code == 200
    assert resp.text == "ok"
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"
    assert got == [b'{"a":1}']
    assert listener.endpoints() == {"/api/data": ["POST"]}


async def test_other_methods_unknown_paths_and_unregistered_paths(listener, client):
    got = []
    listener.register("/a", "PUT", got.append)
    base = f"http://127.0.0.1:{listener.port}"
    assert (await client.post(f"{base}/a", content=b"{}")).status_code == 405
    missing = await client.post(f"{base}/b", content=b"{}")
    assert missing.status_code == 404
    assert missing.text == "404 page not found\n"
    listener.unregister("/a", "PUT", got.append)
    assert (await client.put(f"{base}/a", content=b"{}")).status_code == 404
    assert got == []
    assert listener.endpoints() == {}


async def test_every_handler_of_a_path_gets_the_body(listener, client):
    first, second = [], []
    listener.register("/shared", "POST", first.append)
    listener.register("/shared", "POST", second.append)
    await client.post(f"http://127.0.0.1:{listener.port}/shared", content=b"x")
    assert first == second == [b"x"]
    listener.unregister("/shared", "POST", first.append)
    await client.post(f"http://127.0.0.1:{listener.port}/shared", content=b"y")
    assert first == [b"x"] and second == [b"x", b"y"]


async def test_a_failing_handler_does_not_fail_the_request(listener, client, caplog):
    def boom(body: bytes) -> None:
        raise RuntimeError("boom")

    got = []
    listener.register("/x", "POST", boom)
    listener.register("/x", "POST", got.append)
    resp = await client.post(f"http://127.0.0.1:{listener.port}/x", content=b"1")
    assert resp.status_code == 200
    assert got == [b"1"]
    assert "boom" in caplog.text


async def test_cors_like_ekuipers_data_server(listener, client):
    listener.register("/c", "POST", lambda body: None)
    url = f"http://127.0.0.1:{listener.port}/c"
    pre = await client.options(url, headers={"Origin": "http://ui.example", "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "Content-Type"})
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "*"
    assert "POST" in pre.headers["access-control-allow-methods"]
    resp = await client.post(url, content=b"{}", headers={"Origin": "http://ui.example"})
    assert resp.headers["access-control-allow-origin"] == "*"


async def test_fixed_routes_are_served_beside_the_push_paths(listener, client):
    from starlette.responses import PlainTextResponse

    async def hello(request):
        return PlainTextResponse(f"hi {request.path_params['id']}")

    listener.add_route("/test/{id}", hello, methods=["GET"])
    resp = await client.get(f"http://127.0.0.1:{listener.port}/test/t1")
    assert resp.text == "hi t1"


async def test_start_is_idempotent_and_close_frees_the_port(free_port):
    port = free_port()
    lst = HttpListener("127.0.0.1", port)
    assert not lst.started and lst.port == port
    await lst.start()
    await lst.start()
    assert lst.started and lst.port == port
    await lst.close()
    assert not lst.started
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # no one listens any more
    await lst.start()  # and it can start again
    await lst.close()


async def test_a_busy_port_is_a_listener_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        lst = HttpListener("127.0.0.1", s.getsockname()[1])
        with pytest.raises(ListenerError, match="cannot listen on 127.0.0.1"):
            await lst.start()
        assert not lst.started


async def test_the_engine_owns_the_shared_listener(tmp_path, free_port):
    port = free_port()
    engine = Engine(Config({"basic": {"httpServerIp": "127.0.0.1", "httpServerPort": port}}, data_dir=tmp_path),
                    open_store("sqlite::memory:"))
    try:
        assert http_listener.shared() is engine.http_listener
        assert engine.http_listener.port == port
        assert not engine.http_listener.started  # nothing needed it yet
    finally:
        await engine.close()
    assert not engine.http_listener.started
    assert http_listener.shared() is not engine.http_listener


async def test_rule_test_sse_and_httppush_share_one_port(tmp_path, client, free_port):
    port = free_port()
    engine = Engine(Config({"basic": {"httpServerIp": "127.0.0.1", "httpServerPort": port}}, data_dir=tmp_path),
                    open_store("sqlite::memory:"))
    await engine.open()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(engine)),
                                     base_url="http://test") as api:
            for sql in ('CREATE STREAM pushed () WITH (DATASOURCE="/in", TYPE="httppush")',
                        'CREATE STREAM demo () WITH (DATASOURCE="rt", TYPE="memory")'):
                assert (await api.post("/streams", json={"sql": sql})).status_code == 201
            rule = {"id": "r1", "sql": "SELECT * FROM pushed", "actions": [{"nop": {}}]}
            assert (await api.post("/rules", json=rule)).status_code == 201
            trial = {"id": "t1", "sql": "SELECT a FROM demo",
                     "mockSource": {"demo": {"data": [{"a": 1}], "interval": 10, "loop": True}},
                     "sinkProps": {"sendSingle": True}}
            resp = await api.post("/ruletest", json=trial)
            assert resp.status_code == 200
            assert resp.json() == {"id": "t1", "port": port}
            assert (await api.post("/ruletest/t1/start")).status_code == 200
            async with client.stream("GET", f"http://127.0.0.1:{port}/test/t1") as sse:
                assert sse.headers["content-type"].startswith("text/event-stream")
                async for line in sse.aiter_lines():
                    if line.startswith("data:"):
                        assert jsonvalue.loads(line[5:]) == {"a": 1}
                        break
            pushed = await client.post(f"http://127.0.0.1:{port}/in", json={"x": 1})
            assert (pushed.status_code, pushed.text) == (200, "ok")
            assert (await client.get(f"http://127.0.0.1:{port}/test/nope")).status_code == 404
            assert (await api.delete("/ruletest/t1")).status_code == 200
    finally:
        await engine.close()
    with pytest.raises(httpx.ConnectError):
        await client.post(f"http://127.0.0.1:{port}/in", json={"x": 1})
