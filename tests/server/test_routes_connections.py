"""Named connections (spec restapi §4): `/connections`, how rules reference them, anonymous
connections, persistence, connection.yaml, export/import and the connectivity checks,
through the real app in-process.

A broker that is down is a closed loopback port: the MQTT client is refused at once, so the
tests need no timeouts. The tests that need a broker up use the session's mosquitto.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from arrokoth.config import Config
from arrokoth.engine import Engine
from arrokoth.functions import jsonvalue
from arrokoth.io import connections as pool_module
from arrokoth.io._mqtt_session import MqttSession
from arrokoth.io.connections import Connection, ConnectionType
from arrokoth.io.memory_bus import bus
from arrokoth.server.app import create_app
from arrokoth.store import open_store

pytestmark = pytest.mark.anyio

TEXT = "text/plain; charset=utf-8"
RESPONSE_KEYS = ["id", "typ", "props", "isNamed", "status"]
DEADLINE = 10.0
_names = itertools.count()


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def closed_server(free_port: Callable[[], int]) -> Callable[[], str]:
    """`closed_server()`: a broker URL nothing listens on, so dialling it is refused at once."""
    return lambda: f"tcp://127.0.0.1:{free_port()}"


def unique(prefix: str) -> str:
    """A topic or memory topic of this test only (the memory bus and the broker are shared)."""
    return f"{prefix}{next(_names)}_{int(time.monotonic() * 1000)}"


def assert_error(resp: httpx.Response, message: str, code: int = 1000, status: int = 400) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == TEXT
    assert resp.content == jsonvalue.encode({"error": code, "message": message}) + b"\n"


def error_of(resp: httpx.Response, code: int = 1000, status: int = 400) -> str:
    """The message of an eKuiper error body, checking its shape."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == TEXT
    err = json.loads(resp.text)
    assert list(err) == ["error", "message"] and err["error"] == code
    return err["message"]


def assert_text(resp: httpx.Response, body: str, status: int = 200) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == TEXT
    assert resp.text == body


async def eventually(predicate: Callable, what: str, timeout: float = DEADLINE):
    """Poll an async predicate until it returns something truthy, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"not reached in {timeout:g}s: {what}"
        await asyncio.sleep(0.02)


async def create(api, cid: str, server: str, typ: str = "mqtt", **props) -> None:
    """Create a connection and wait for the outcome of its first dial (see `settle`)."""
    r = await api.post("/connections", json={"id": cid, "typ": typ, "props": {"server": server, **props}})
    assert_text(r, "success", 201)

    async def dialled():
        return (await get(api, cid))["status"] != "connecting"

    await eventually(dialled, f"the first dial of {cid}")


async def settle(engine: Engine) -> None:
    """Wait until no connection of the engine is dialling, before it closes.

    An MQTT session stopped in the middle of a dial leaves gmqtt's connect task to fail
    unobserved ("Task exception was never retrieved"), which anyio reports as an error of
    the test; with `slow_redial`, a session that has had its answer does not dial again.
    """
    deadline = time.monotonic() + DEADLINE
    while any(c.status == 0 for c in engine.connections.pool.list(force_all=True)):
        assert time.monotonic() < deadline, "connections still dialling"
        await asyncio.sleep(0.02)


async def get(api, cid: str) -> dict:
    r = await api.get(f"/connections/{cid}")
    assert r.status_code == 200, r.text
    return r.json()


async def status_is(api, cid: str, status: str) -> dict:
    async def check():
        body = await get(api, cid)
        return body if body["status"] == status else None

    return await eventually(check, f"connection {cid} {status}")


async def ids(api, force_all: bool = False) -> list[str]:
    r = await api.get("/connections", params={"forceAll": "true"} if force_all else None)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    return sorted(c["id"] for c in r.json())


async def mqtt_stream(api, name: str, topic: str, conf_key: str) -> None:
    sql = f'CREATE STREAM {name} () WITH (TYPE="mqtt", CONF_KEY="{conf_key}", DATASOURCE="{topic}", FORMAT="json")'
    r = await api.post("/streams", json={"sql": sql})
    assert r.status_code == 201, r.text


async def conf_key(api, kind: str, typ: str, key: str, props: dict) -> None:
    r = await api.put(f"/metadata/{kind}/{typ}/confKeys/{key}", json=props)
    assert r.status_code == 200, r.text


async def rule(api, rid: str, sql: str, actions: list | None = None) -> httpx.Response:
    return await api.post("/rules", json={"id": rid, "sql": sql,
                                          "actions": actions or [{"memory": {"topic": unique("out")}}]})


async def referenced_setup(api, server: str) -> str:
    """Connection c1 to `server`, confKey ck selecting it, stream s1 on topic t/1 through ck:
    the usual arrangement of spec §4.3. Returns the topic."""
    await create(api, "c1", server)
    await conf_key(api, "sources", "mqtt", "ck", {"connectionSelector": "c1"})
    await mqtt_stream(api, "s1", "t/1", "ck")
    return "t/1"


@asynccontextmanager
async def served(data_dir: Path, store: str = "sqlite::memory:") -> AsyncIterator[tuple[httpx.AsyncClient, Engine]]:
    """An engine of the test's own (a restart, a fresh engine to import into)."""
    eng = Engine(Config({"basic": {"httpServerIp": "127.0.0.1", "httpServerPort": 0}}, data_dir=data_dir),
                 open_store(store))
    await eng.open()
    try:
        await settle(eng)  # the stored connections have dialled once
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(eng)),
                                     base_url="http://test") as client:
            yield client, eng
    finally:
        await settle(eng)
        await eng.close()


@pytest.fixture(autouse=True)
def slow_redial(monkeypatch):
    """A refused MQTT dial is not retried within a test (see `settle`)."""
    monkeypatch.setattr(MqttSession, "BACKOFF_INITIAL", 60.0)


@pytest.fixture
async def engine(tmp_path):
    """conftest's engine, closed only once no connection is dialling."""
    eng = Engine(Config({"basic": {"httpServerIp": "127.0.0.1", "httpServerPort": 0}}, data_dir=tmp_path),
                 open_store("sqlite::memory:"))
    await eng.open()
    yield eng
    await settle(eng)
    await eng.close()


class FakeType(ConnectionType):
    """A stateless connection type of the tests: its remote end is up while `up` is True."""

    stateful = False

    def __init__(self) -> None:
        self.up = True
        self.pings = 0
        self.opened: list[str] = []
        self.closed: list[str] = []

    def check(self, props: dict) -> None:
        unknown = sorted(k for k in props if k not in ("server", "password"))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a property of a fake connection")

    async def open(self, conn: Connection) -> None:
        self.opened.append(conn.id)
        conn.client = dict(conn.props)

    async def close(self, conn: Connection) -> None:
        self.closed.append(conn.id)

    async def ping(self, conn: Connection) -> None:
        self.pings += 1
        if not self.up:
            raise ConnectionRefusedError("connection refused")


@pytest.fixture
def fake_type(monkeypatch) -> FakeType:
    kind = FakeType()
    monkeypatch.setitem(pool_module._TYPES, "fake", kind)
    return kind


class HttpEndpoint:
    """A stdlib HTTP server in a thread on a free loopback port, answering `status` to all."""

    def __init__(self) -> None:
        self.status = 200
        self.paths: list[str] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                endpoint.paths.append(self.path)
                body = b"{}"
                self.send_response(endpoint.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_HEAD = _handle

            def log_message(self, format, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def http_endpoint():
    endpoint = HttpEndpoint()
    try:
        yield endpoint
    finally:
        endpoint.stop()


# --- POST /connections -----------------------------------------------------------------------


async def test_create_answers_before_dialling_and_reports_the_failure(api, closed_server):
    server = closed_server()
    r = await api.post("/connections", json={"id": "c1", "typ": "mqtt", "props": {"server": server}})
    assert_text(r, "success", 201)
    body = await status_is(api, "c1", "disconnected")
    assert list(body) == [*RESPONSE_KEYS, "err"]
    assert body["id"] == "c1" and body["typ"] == "mqtt" and body["isNamed"] is True
    assert body["props"] == {"server": server}
    assert server in body["err"]


async def test_create_against_a_broker_connects(api, mosquitto):
    await create(api, "c1", mosquitto.url)
    body = await status_is(api, "c1", "connected")
    # no err once connected, no refCount without rules
    assert body == {"id": "c1", "typ": "mqtt", "props": {"server": mosquitto.url}, "isNamed": True,
                    "status": "connected"}
    assert list(body) == RESPONSE_KEYS
    r = await api.get("/connections/c1")
    assert r.headers["content-type"] == "application/json"


async def test_create_stores_the_props(api, engine, closed_server):
    await create(api, "c1", closed_server(), username="u")
    assert engine.store.items("connections.mqtt") == {"c1": (await get(api, "c1"))["props"]}


async def test_a_type_is_matched_case_insensitively(api, engine, closed_server):
    server = closed_server()
    r = await api.post("/connections", json={"id": "c1", "typ": "MQTT", "props": {"server": server}})
    assert_text(r, "success", 201)
    assert (await get(api, "c1"))["typ"] == "mqtt"
    assert engine.store.items("connections.mqtt") == {"c1": {"server": server}}


async def test_create_a_duplicate(api, closed_server):
    await create(api, "c1", closed_server())
    r = await api.post("/connections", json={"id": "c1", "typ": "mqtt", "props": {"server": closed_server()}})
    assert_error(r, "create connection failed: connection c1 already been created")


@pytest.mark.parametrize("body", [
    {"typ": "mqtt", "props": {}},
    {"id": "c1", "props": {}},
    {"id": "", "typ": "mqtt"},
    {"id": "c1", "typ": ""},
    {},
    {"id": 5, "typ": "mqtt"},
])
async def test_create_needs_an_id_and_a_type(api, body):
    r = await api.post("/connections", json=body)
    assert_error(r, "create connection failed: connection id and type should be defined")


async def test_create_checks_the_id(api):
    r = await api.post("/connections", json={"id": "a b", "typ": "mqtt", "props": {}})
    message = error_of(r)
    assert message.startswith("create connection failed: ") and "a b" in message
    assert "invalid characters" in message


@pytest.mark.parametrize(("props", "named"), [
    ({"server": "nope://x"}, "server"),
    ({"server": "tcp://127.0.0.1:1883", "bogus": 1}, "bogus"),
    ({"server": "tcp://127.0.0.1:1883", "protocolVersion": "9"}, "protocolVersion"),
])
async def test_create_refuses_props_the_type_cannot_use(api, engine, props, named):
    """An Arrokoth improvement: eKuiper accepts them and the connection stays `connecting`."""
    r = await api.post("/connections", json={"id": "c1", "typ": "mqtt", "props": props})
    message = error_of(r)
    assert message.startswith("create connection failed: invalid props for a mqtt connection: ")
    assert named in message
    assert (await ids(api, force_all=True)) == []
    assert engine.store.items("connections.mqtt") == {}


async def test_create_refuses_an_unknown_type(api, engine):
    """An Arrokoth improvement: eKuiper accepts it and the connection stays `connecting`."""
    r = await api.post("/connections", json={"id": "c1", "typ": "nope", "props": {}})
    message = error_of(r)
    assert message.startswith("create connection failed: unknown connection type 'nope': expected one of ")
    assert "mqtt" in message
    assert (await ids(api, force_all=True)) == []
    assert not [ns for ns in engine.store.namespaces() if ns.startswith("connections.")]


@pytest.mark.parametrize(("body", "message"), [
    ([], "create connection failed: the body must be a JSON object"),
    ({"id": "c1", "typ": "mqtt", "props": []}, "create connection failed: props must be a JSON object"),
    ({"id": "c1", "typ": "mqtt", "props": "x"}, "create connection failed: props must be a JSON object"),
])
async def test_create_needs_json_objects(api, body, message):
    assert_error(await api.post("/connections", json=body), message)


async def test_create_with_a_body_that_is_not_json(api):
    assert error_of(await api.post("/connections", content=b"{")).startswith("invalid JSON body")
    assert_error(await api.post("/connections", content=b""), "unexpected end of JSON input")


async def test_create_without_props(api, fake_type):
    r = await api.post("/connections", json={"id": "f1", "typ": "fake"})
    assert_text(r, "success", 201)
    assert (await get(api, "f1"))["props"] == {}


# --- GET /connections, GET /connections/{id} -------------------------------------------------


async def test_get_a_missing_connection(api):
    assert_error(await api.get("/connections/x"), "connection x not existed")


async def test_list(api, closed_server):
    r = await api.get("/connections")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.content == b"[]"
    assert (await api.get("/connections", params={"forceAll": "true"})).json() == []
    await create(api, "c1", closed_server())
    await create(api, "c2", closed_server())
    body = (await api.get("/connections")).json()
    assert sorted(c["id"] for c in body) == ["c1", "c2"]
    for c in body:
        assert list(c)[:5] == RESPONSE_KEYS and c["isNamed"] is True
    assert (await ids(api, force_all=True)) == ["c1", "c2"]


async def test_a_stateless_connection_is_pinged_by_get(api, fake_type):
    await create(api, "f1", "fake://x", typ="fake")
    body = await status_is(api, "f1", "connected")
    assert list(body) == RESPONSE_KEYS
    pings = fake_type.pings
    await get(api, "f1")
    assert fake_type.pings > pings  # a live ping, not the remembered status

    fake_type.up = False
    body = await get(api, "f1")
    assert body["status"] == "disconnected" and body["err"] == "connection refused"
    assert list(body) == [*RESPONSE_KEYS, "err"]
    listed = (await api.get("/connections")).json()
    assert [(c["status"], c.get("err")) for c in listed] == [("disconnected", "connection refused")]

    # the remote end is back: the next GET tells so (the pool does not redial by itself)
    fake_type.up = True
    assert (await get(api, "f1"))["status"] == "connected"


async def test_a_stateless_connection_down_at_creation(api, fake_type):
    fake_type.up = False
    await create(api, "f1", "fake://x", typ="fake")
    body = await status_is(api, "f1", "disconnected")
    assert body["err"] == "connection refused"


# --- PUT /connections/{id} -------------------------------------------------------------------


async def test_update_replaces_the_connection(api, engine, mosquitto, closed_server):
    await create(api, "c1", closed_server())
    await status_is(api, "c1", "disconnected")
    old_client = engine.connections.pool.get("c1").client
    # the body's id is ignored: the path's wins
    r = await api.put("/connections/c1", json={"id": "other", "typ": "mqtt", "props": {"server": mosquitto.url}})
    assert_text(r, "success")
    body = await status_is(api, "c1", "connected")
    assert body["props"] == {"server": mosquitto.url}
    assert engine.connections.pool.get("c1").client is not old_client
    assert (await ids(api)) == ["c1"]
    assert engine.store.items("connections.mqtt") == {"c1": {"server": mosquitto.url}}


async def test_update_may_change_the_type(api, engine, fake_type, closed_server):
    await create(api, "c1", closed_server())
    r = await api.put("/connections/c1", json={"typ": "fake", "props": {"server": "fake://x"}})
    assert_text(r, "success")
    body = await status_is(api, "c1", "connected")
    assert body["typ"] == "fake" and body["props"] == {"server": "fake://x"}
    assert engine.store.items("connections.mqtt") == {}
    assert engine.store.items("connections.fake") == {"c1": {"server": "fake://x"}}

    r = await api.put("/connections/c1", json={"typ": "fake", "props": {"server": "fake://y"}})
    assert_text(r, "success")
    assert fake_type.closed == ["c1"] and fake_type.opened == ["c1", "c1"]


async def test_update_errors(api, engine, closed_server):
    server = closed_server()
    await create(api, "c1", server)
    assert_error(await api.put("/connections/x", json={"typ": "mqtt", "props": {}}),
                 "update connection failed: connection x not existed")
    assert_error(await api.put("/connections/c1", json={"props": {}}),
                 "update connection failed: connection id and type should be defined")
    message = error_of(await api.put("/connections/c1", json={"typ": "mqtt", "props": {"server": "nope://x"}}))
    assert message.startswith("update connection failed: invalid props for a mqtt connection: server")
    message = error_of(await api.put("/connections/c1", json={"typ": "nope", "props": {}}))
    assert message.startswith("update connection failed: unknown connection type 'nope'")
    # a refused update leaves the connection as it was
    assert (await get(api, "c1"))["props"] == {"server": server}
    assert engine.store.items("connections.mqtt") == {"c1": {"server": server}}


# --- DELETE /connections/{id} ----------------------------------------------------------------


async def test_delete_is_idempotent(api, engine, closed_server):
    await create(api, "c1", closed_server())
    assert_text(await api.delete("/connections/c1"), "success")
    assert_error(await api.get("/connections/c1"), "connection c1 not existed")
    assert engine.store.items("connections.mqtt") == {}
    assert_text(await api.delete("/connections/c1"), "success")
    assert_text(await api.delete("/connections/never"), "success")
    assert (await ids(api, force_all=True)) == []


async def test_delete_closes_the_client(api, fake_type):
    await create(api, "f1", "fake://x", typ="fake")
    assert_text(await api.delete("/connections/f1"), "success")
    assert fake_type.closed == ["f1"]


# --- references from rules -------------------------------------------------------------------


async def test_a_referenced_connection_cannot_be_dropped_or_updated(api, engine, closed_server):
    server = closed_server()
    topic = await referenced_setup(api, server)
    r = await rule(api, "r1", "SELECT * FROM s1")
    assert r.status_code == 201, r.text

    body = await get(api, "c1")
    assert body["refCount"] == 1
    assert list(body) == [*RESPONSE_KEYS, *(["err"] if "err" in body else []), "refCount"]
    assert_error(await api.delete("/connections/c1"),
                 f"drop connection failed: connection c1 can't be dropped due to rule references [r1_c1/{topic}_0]")
    assert_error(await api.put("/connections/c1", json={"typ": "mqtt", "props": {"server": server}}),
                 f"update connection failed: connection c1 can't be dropped due to rule references [r1_c1/{topic}_0]")
    assert engine.store.items("connections.mqtt") == {"c1": {"server": server}}

    # the rule's source is named after the connection and its datasource
    async def disconnected():
        status = (await api.get("/rules/r1/status")).json()
        return status if status.get(f"source_c1/{topic}_0_connection_status") == -1 else None

    status = await eventually(disconnected, "the rule sees the connection down")
    assert f"source_c1/{topic}_0_records_in_total" in status
    assert server in status[f"source_c1/{topic}_0_connection_last_disconnected_message"]
    assert not [k for k in status if k.startswith("source_s1_")]

    # references detach on stop
    assert (await api.post("/rules/r1/stop")).status_code == 200
    assert "refCount" not in await get(api, "c1")
    assert_text(await api.delete("/connections/c1"), "success")
    assert engine.store.items("connections.mqtt") == {}


async def test_two_rules_reference_the_same_connection(api, closed_server):
    topic = await referenced_setup(api, closed_server())
    await conf_key(api, "sources", "mqtt", "ck2", {"connectionSelector": "c1", "qos": 1})
    await mqtt_stream(api, "s2", "t/2", "ck2")
    assert (await rule(api, "r1", "SELECT * FROM s1")).status_code == 201
    assert (await rule(api, "r2", "SELECT * FROM s2")).status_code == 201
    assert (await rule(api, "r3", "SELECT * FROM s1")).status_code == 201
    assert (await get(api, "c1"))["refCount"] == 3
    assert_error(await api.delete("/connections/c1"),
                 "drop connection failed: connection c1 can't be dropped due to rule references "
                 f"[r1_c1/{topic}_0 r2_c1/t/2_0 r3_c1/{topic}_0]")
    # a restart re-attaches: the count does not grow
    assert (await api.post("/rules/r2/restart")).status_code == 200
    assert (await get(api, "c1"))["refCount"] == 3
    # deleting a rule detaches it too
    assert (await api.delete("/rules/r1")).status_code == 200
    assert (await api.post("/rules/r3/stop")).status_code == 200
    assert (await get(api, "c1"))["refCount"] == 1
    assert_error(await api.delete("/connections/c1"),
                 "drop connection failed: connection c1 can't be dropped due to rule references [r2_c1/t/2_0]")
    assert (await api.post("/rules/r2/stop")).status_code == 200
    assert_text(await api.delete("/connections/c1"), "success")


async def test_a_rule_selecting_a_missing_connection(api, engine):
    await conf_key(api, "sources", "mqtt", "ck", {"connectionSelector": "nope"})
    await mqtt_stream(api, "s1", "t/1", "ck")
    assert_error(await rule(api, "r1", "SELECT * FROM s1"), "connection nope not existed")
    assert not engine.sources and (await ids(api, force_all=True)) == []


async def test_a_rule_cannot_start_once_its_connection_is_dropped(api, closed_server):
    await referenced_setup(api, closed_server())
    assert (await rule(api, "r1", "SELECT * FROM s1")).status_code == 201
    assert (await api.post("/rules/r1/stop")).status_code == 200
    assert_text(await api.delete("/connections/c1"), "success")
    # as eKuiper, a start that fails is told by the rule's status
    assert_text(await api.post("/rules/r1/start"), "Rule r1 was started")
    status = (await api.get("/rules/r1/status")).json()
    assert status["status"] == "stopped by error" and "connection c1 not existed" in status["message"]
    assert (await ids(api, force_all=True)) == []


async def test_a_sink_selects_a_connection(api, engine, closed_server):
    server = closed_server()
    await create(api, "c1", server)
    r = await api.post("/streams", json={"sql": 'CREATE STREAM m () WITH (TYPE="memory", DATASOURCE="m")'})
    assert r.status_code == 201
    r = await rule(api, "r1", "SELECT * FROM m", [{"mqtt": {"connectionSelector": "c1", "topic": "t"}}])
    assert r.status_code == 201, r.text
    assert (await get(api, "c1"))["refCount"] == 1
    assert_error(await api.delete("/connections/c1"),
                 "drop connection failed: connection c1 can't be dropped due to rule references [r1_mqtt_0_0]")
    # the sink publishes through the connection's client: no anonymous connection of its own
    assert (await ids(api, force_all=True)) == ["c1"]

    async def sink_down():
        status = (await api.get("/rules/r1/status")).json()
        return status if status.get("sink_mqtt_0_0_connection_status") == -1 else None

    await eventually(sink_down, "the sink reports the connection down")
    assert (await api.post("/rules/r1/stop")).status_code == 200
    assert_text(await api.delete("/connections/c1"), "success")


async def test_a_sink_selects_a_connection_through_its_resource_id(api, closed_server):
    await create(api, "c1", closed_server())
    await conf_key(api, "sinks", "mqtt", "sk", {"connectionSelector": "c1"})
    r = await api.post("/streams", json={"sql": 'CREATE STREAM m () WITH (TYPE="memory", DATASOURCE="m")'})
    assert r.status_code == 201
    r = await rule(api, "r1", "SELECT * FROM m", [{"memory": {"topic": unique("o")}},
                                                  {"mqtt": {"resourceId": "sk", "topic": "t"}}])
    assert r.status_code == 201, r.text
    assert_error(await api.delete("/connections/c1"),
                 "drop connection failed: connection c1 can't be dropped due to rule references [r1_mqtt_1_0]")


async def test_a_sink_selecting_a_missing_connection(api):
    r = await api.post("/streams", json={"sql": 'CREATE STREAM m () WITH (TYPE="memory", DATASOURCE="m")'})
    assert r.status_code == 201
    r = await rule(api, "r1", "SELECT * FROM m", [{"mqtt": {"connectionSelector": "nope", "topic": "t"}}])
    assert_error(r, "connection nope not existed")
    await conf_key(api, "sinks", "mqtt", "sk", {"connectionSelector": "gone"})
    r = await rule(api, "r2", "SELECT * FROM m", [{"mqtt": {"resourceId": "sk", "topic": "t"}}])
    assert_error(r, "connection gone not existed")


async def test_rules_share_one_broker_connection(api, mosquitto):
    """One rule publishes through c1, another subscribes through c1: data flows, one client."""
    topic, src, out = unique("shared/"), unique("in"), unique("out")
    await create(api, "c1", mosquitto.url)
    await status_is(api, "c1", "connected")
    await conf_key(api, "sources", "mqtt", "ck", {"connectionSelector": "c1"})
    await mqtt_stream(api, "sub", topic, "ck")
    r = await api.post("/streams", json={"sql": f'CREATE STREAM pub () WITH (TYPE="memory", DATASOURCE="{src}")'})
    assert r.status_code == 201
    r = await rule(api, "reader", "SELECT * FROM sub", [{"memory": {"topic": out}}])
    assert r.status_code == 201, r.text
    r = await rule(api, "writer", "SELECT * FROM pub",
                   [{"mqtt": {"connectionSelector": "c1", "topic": topic, "sendSingle": True}}])
    assert r.status_code == 201, r.text

    rows: list[dict] = []
    token = bus.subscribe(out, lambda _t, batch: rows.extend(batch))
    try:
        async def arrived():
            bus.publish(src, [{"n": 1}])
            await asyncio.sleep(0.05)
            return rows

        assert (await eventually(arrived, "a row through the broker"))[0] == {"n": 1}
    finally:
        bus.unsubscribe(token)

    body = await get(api, "c1")
    assert body["status"] == "connected" and body["refCount"] == 2
    assert (await ids(api, force_all=True)) == ["c1"]
    status = (await api.get("/rules/reader/status")).json()
    assert status[f"source_c1/{topic}_0_connection_status"] == 1
    assert status[f"source_c1/{topic}_0_records_in_total"] >= 1


# --- anonymous connections -------------------------------------------------------------------


async def test_anonymous_connections(api, engine, closed_server):
    server = closed_server()
    topic = unique("anon")
    await conf_key(api, "sources", "mqtt", "direct", {"server": server})
    await mqtt_stream(api, "s3", "t/3", "direct")
    r = await rule(api, "r2", "SELECT * FROM s3", [{"mqtt": {"server": server, "topic": topic}}])
    assert r.status_code == 201, r.text

    assert (await ids(api)) == []
    listed = {c["id"]: c for c in (await api.get("/connections", params={"forceAll": "true"})).json()}
    source_id, sink_id = "s3-t/3-mqtt-source", f"{topic}-mqtt-sink"
    assert sorted(listed) == sorted([source_id, sink_id])
    for c in listed.values():
        assert c["isNamed"] is False and c["typ"] == "mqtt" and c["props"] == {"server": server}
        assert c["refCount"] == 1
        assert list(c)[:5] == RESPONSE_KEYS

    # readable (the source's id holds its topic's slash), but read-only
    assert (await get(api, source_id))["isNamed"] is False
    for cid in (source_id, sink_id):
        assert_error(await api.put(f"/connections/{cid}", json={"typ": "mqtt", "props": {"server": server}}),
                     f"internal connection {cid} can't be edit")
        assert_error(await api.delete(f"/connections/{cid}"), f"internal connection {cid} can't be edit")
    # nothing of them is stored
    assert not [ns for ns in engine.store.namespaces() if ns.startswith("connections.")]

    assert (await api.post("/rules/r2/stop")).status_code == 200
    assert (await ids(api, force_all=True)) == []
    assert_error(await api.get(f"/connections/{sink_id}"), f"connection {sink_id} not existed")


async def test_an_anonymous_id_does_not_clash_with_a_named_one(api, closed_server):
    server = closed_server()
    topic = unique("clash")
    await create(api, f"{topic}-mqtt-sink", server)
    r = await api.post("/streams", json={"sql": 'CREATE STREAM m () WITH (TYPE="memory", DATASOURCE="m")'})
    assert r.status_code == 201
    r = await rule(api, "r1", "SELECT * FROM m", [{"mqtt": {"server": server, "topic": topic}}])
    assert r.status_code == 201, r.text
    listed = {c["id"]: c["isNamed"] for c in (await api.get("/connections", params={"forceAll": "true"})).json()}
    # the sink's client gets a suffix; the named connection keeps its id
    assert listed == {f"{topic}-mqtt-sink": True, f"{topic}-mqtt-sink-2": False}


# --- persistence -----------------------------------------------------------------------------


async def test_connections_survive_a_restart(tmp_path, closed_server):
    store = f"sqlite:{tmp_path / 'arrokoth.db'}"
    server = closed_server()
    async with served(tmp_path, store) as (api, _):
        await create(api, "c1", server, username="u", password="p")
        await create(api, "c2", server)
        assert_text(await api.delete("/connections/c2"), "success")
        await conf_key(api, "sources", "mqtt", "ck", {"connectionSelector": "c1"})
        await mqtt_stream(api, "s1", "t/1", "ck")
        assert (await rule(api, "r1", "SELECT * FROM s1")).status_code == 201
    async with served(tmp_path, store) as (api, _):
        body = await get(api, "c1")
        assert body["isNamed"] is True and body["props"] == {"server": server, "username": "u", "password": "p"}
        # the connection opened before the rules: the running rule restarted and references it
        assert body["refCount"] == 1
        assert (await api.get("/rules/r1/status")).json()["status"] == "running"
        assert (await ids(api)) == ["c1"]


def write_yaml(tmp_path: Path, text: str) -> None:
    path = tmp_path / "etc" / "connections" / "connection.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def test_connection_yaml_seeds_the_store(tmp_path, closed_server):
    store = f"sqlite:{tmp_path / 'arrokoth.db'}"
    server, other = closed_server(), closed_server()
    write_yaml(tmp_path, f"mqtt:\n  c9:\n    server: {server}\n  c8:\n    server: {server}\n")
    async with served(tmp_path, store) as (api, _):
        assert (await ids(api)) == ["c8", "c9"]
        body = await get(api, "c9")
        assert body["typ"] == "mqtt" and body["isNamed"] is True and body["props"] == {"server": server}
        assert_text(await api.delete("/connections/c8"), "success")
        r = await api.put("/connections/c9", json={"typ": "mqtt", "props": {"server": other}})
        assert_text(r, "success")
    # the same file again: nothing re-created, nothing overwritten
    async with served(tmp_path, store) as (api, _):
        assert (await ids(api)) == ["c9"]
        assert (await get(api, "c9"))["props"] == {"server": other}
    # a changed file never overwrites an existing id, and `xOperation: delete` removes one
    write_yaml(tmp_path, f"mqtt:\n  c9:\n    server: {server}\n  c7:\n    server: {server}\n")
    async with served(tmp_path, store) as (api, _):
        assert (await ids(api)) == ["c7", "c9"]
        assert (await get(api, "c9"))["props"] == {"server": other}
    write_yaml(tmp_path, f"mqtt:\n  c9:\n    xOperation: delete\n  c7:\n    server: {server}\n")
    async with served(tmp_path, store) as (api, engine):
        assert (await ids(api)) == ["c7"]
        assert "c9" not in engine.store.items("connections.mqtt")
        assert engine.store.items("connections.mqtt")["c7"] == {"server": server}  # no xOperation kept


async def test_connection_yaml_with_an_explicit_create(tmp_path, closed_server):
    server = closed_server()
    write_yaml(tmp_path, f"mqtt:\n  c9:\n    server: {server}\n    xOperation: create\n")
    async with served(tmp_path) as (api, engine):
        assert (await get(api, "c9"))["props"] == {"server": server}
        assert engine.store.items("connections.mqtt") == {"c9": {"server": server}}


async def test_a_broken_connection_yaml_does_not_stop_the_engine(tmp_path, caplog, closed_server):
    server = closed_server()
    write_yaml(tmp_path, f"mqtt:\n  bad: {server}\n  good:\n    server: {server}\n  worse:\n    server: nope://x\n")
    with caplog.at_level(logging.ERROR, logger="arrokoth.connections"):
        async with served(tmp_path) as (api, _):
            assert (await ids(api)) == ["good"]
            assert (await api.get("/ping")).status_code == 200
    assert "bad" in caplog.text and "worse" in caplog.text
    write_yaml(tmp_path, "mqtt: [1, 2\n")
    async with served(tmp_path) as (api, _):
        assert (await ids(api)) == []


# --- export and import -----------------------------------------------------------------------


async def test_export_and_import(tmp_path, closed_server):
    server = closed_server()
    async with served(tmp_path / "a") as (api, _):
        await create(api, "c1", server, username="u")
        r = await api.get("/data/export")
        assert r.status_code == 200
        document = r.json()
    section = document["connectionConfig"]
    assert list(section) == ["mqtt"] and isinstance(section["mqtt"], str)
    assert json.loads(section["mqtt"]) == {"c1": {"server": server, "username": "u"}}

    async with served(tmp_path / "b") as (api, engine):
        r = await api.post("/data/import", json={"content": json.dumps(document)})
        assert r.status_code == 200, r.text
        body = await get(api, "c1")
        assert body["isNamed"] is True and body["props"] == {"server": server, "username": "u"}
        assert engine.store.items("connections.mqtt") == {"c1": {"server": server, "username": "u"}}


async def test_an_import_reopens_a_changed_connection(api, closed_server):
    server, other = closed_server(), closed_server()
    await create(api, "c1", server)
    document = {"connectionConfig": {"mqtt": json.dumps({"c1": {"server": other}, "c2": {"server": other}})}}
    r = await api.post("/data/import", params={"partial": "1"}, json={"content": json.dumps(document)})
    assert r.status_code == 200, r.text
    assert (await get(api, "c1"))["props"] == {"server": other}
    assert (await ids(api)) == ["c1", "c2"]


async def test_the_connection_confkeys_share_the_store(api, closed_server):
    """`PUT /metadata/connections/{typ}/confKeys/{key}` writes the stored connection only."""
    server = closed_server()
    await create(api, "c1", server)
    r = await api.get("/metadata/connections/yaml/mqtt")
    assert r.status_code == 200 and r.json()["c1"] == {"server": server}


# --- connectivity checks ---------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "typ", "message"), [
    ("sources", "memory", "source memory doesn't support ping connection"),
    ("sinks", "log", "sink log doesn't support ping connection"),
    ("sinks", "memory", "sink memory doesn't support ping connection"),
    ("lookups", "memory", "lookup source memory doesn't support ping connection"),
])
async def test_check_of_a_type_without_a_remote_end(api, kind, typ, message):
    assert_error(await api.post(f"/metadata/{kind}/connection/{typ}", json={}), message)


@pytest.mark.parametrize("kind", ["sources", "sinks", "lookups"])
async def test_check_of_an_unknown_type(api, kind):
    assert "nope" in error_of(await api.post(f"/metadata/{kind}/connection/nope", json={}))


@pytest.mark.parametrize("kind", ["sources", "sinks"])
async def test_mqtt_check(api, mosquitto, kind):
    r = await api.post(f"/metadata/{kind}/connection/mqtt", json={"server": mosquitto.url})
    assert r.status_code == 200, r.text
    assert r.content == b""
    # a check leaves nothing in the pool
    assert (await ids(api, force_all=True)) == []


@pytest.mark.parametrize("kind", ["sources", "sinks"])
async def test_mqtt_check_of_a_closed_port(api, kind, closed_server):
    server = closed_server()
    message = error_of(await api.post(f"/metadata/{kind}/connection/mqtt", json={"server": server}), code=1003)
    assert message.startswith(f"found error when connecting for {server}: ")
    assert "refused" in message.lower()


async def test_mqtt_check_with_wrong_credentials(api, mosquitto_factory, tmp_path):
    import subprocess

    passwd = tmp_path / "passwd"
    passwd.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "alice", "s3cret"], check=True, capture_output=True)
    broker = mosquitto_factory("allow_anonymous false", f"password_file {passwd}")
    good = {"server": broker.url, "username": "alice", "password": "s3cret"}
    r = await api.post("/metadata/sources/connection/mqtt", json=good)
    assert (r.status_code, r.content) == (200, b"")
    for bad in ({**good, "password": "wrong"}, {"server": broker.url}):
        message = error_of(await api.post("/metadata/sinks/connection/mqtt", json=bad), code=1003)
        assert "not authori" in message.lower()
        assert "s3cret" not in message and "wrong" not in message


async def test_mqtt_check_of_bad_props(api):
    message = error_of(await api.post("/metadata/sources/connection/mqtt", json={"server": "nope://x"}))
    assert "server" in message


async def test_check_through_a_named_connection(api, mosquitto):
    await create(api, "c1", mosquitto.url)
    r = await api.post("/metadata/sources/connection/mqtt", json={"connectionSelector": "c1"})
    assert r.status_code == 200 and r.content == b""
    assert_error(await api.post("/metadata/sinks/connection/mqtt", json={"connectionSelector": "nope"}),
                 "connection nope not existed")


@pytest.mark.parametrize(("kind", "typ"), [("sinks", "rest"), ("sources", "httppull")])
async def test_http_check(api, http_endpoint, kind, typ):
    r = await api.post(f"/metadata/{kind}/connection/{typ}", json={"url": f"{http_endpoint.url}/data"})
    assert r.status_code == 200, r.text
    assert r.content == b""
    assert "/data" in http_endpoint.paths

    http_endpoint.status = 401
    message = error_of(await api.post(f"/metadata/{kind}/connection/{typ}", json={"url": f"{http_endpoint.url}/d"}),
                       code=1003)
    assert "401" in message


@pytest.mark.parametrize(("kind", "typ"), [("sinks", "rest"), ("sources", "httppull")])
async def test_http_check_of_a_closed_port_says_refused(api, kind, typ, free_port):
    url = f"http://127.0.0.1:{free_port()}/data"
    message = error_of(await api.post(f"/metadata/{kind}/connection/{typ}", json={"url": url}), code=1003)
    assert message.startswith(url)
    assert "refused" in message.lower()


@pytest.mark.parametrize("body", [b"[]", b'"x"'])
async def test_check_needs_an_object(api, body):
    r = await api.post("/metadata/sources/connection/mqtt", content=body)
    assert error_of(r) == "the body must be a JSON object of the connector's properties"


# --- secrets ---------------------------------------------------------------------------------


async def test_secrets_are_never_logged(api, caplog, closed_server):
    secret = "s3cr3t-pw"
    with caplog.at_level(logging.DEBUG):
        await create(api, "c1", closed_server(), username="u", password=secret)
        await status_is(api, "c1", "disconnected")
        r = await api.post("/connections", json={"id": "c2", "typ": "mqtt",
                                                 "props": {"server": "nope://x", "password": secret}})
        assert secret not in error_of(r)
        r = await api.post("/metadata/sources/connection/mqtt", json={"server": closed_server(), "password": secret})
        assert secret not in error_of(r, code=1003)
        await api.put("/connections/c1", json={"typ": "mqtt", "props": {"server": closed_server(), "password": secret}})
        await status_is(api, "c1", "disconnected")
    assert caplog.records  # the failures were logged, without the password
    assert secret not in caplog.text
