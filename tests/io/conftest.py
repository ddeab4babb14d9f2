"""Fixtures of the connector tests: an HTTP endpoint that records what it is sent, an
engine, a redis client, a persistent MQTT subscriber, quick redials and a websockets server.

The endpoint is a stdlib HTTP server in a thread on a free loopback port (optionally
https with a self-signed certificate), so it answers whatever the event loop under test
is doing. Tests wait for it with deadlines (`eventually`), never with bare sleeps.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import gmqtt
import pytest
import redis
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from arrokoth.io._mqtt_session import MqttSession
from arrokoth.io._websocket import WsClient

DEADLINE = 10.0


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


Answer = tuple[int, dict[str, str], bytes]


class RecordingServer:
    """Records every request; `respond(request) -> (status, headers, body)` answers it."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None):
        self.requests: list[Recorded] = []
        self.respond: Callable[[Recorded], Answer] = lambda req: (200, {"Content-Type": "application/json"}, b"{}")
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                req = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                               self.rfile.read(length) if length else b"")
                server.requests.append(req)
                status, headers, body = server.respond(req)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

            def log_message(self, format, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                pass  # a client that gave up (a timeout test) is not an error of the server

        self._server = Server(("127.0.0.1", 0), Handler)
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def answer(self, status: int = 200, body: bytes | str = b"{}", content_type: str = "application/json") -> None:
        """Answer every request alike."""
        data = body.encode() if isinstance(body, str) else body
        self.respond = lambda req: (status, {"Content-Type": content_type}, data)

    def slow(self, seconds: float) -> Callable[[Recorded], Answer]:
        """A responder that waits (until the server stops) before answering `{}`."""
        def respond(req: Recorded) -> Answer:
            self.stopping.wait(seconds)
            return 200, {"Content-Type": "application/json"}, b"{}"
        return respond

    def to(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.split("?")[0] == path]

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def http_endpoint() -> Iterator[RecordingServer]:
    """A recording HTTP server on a free loopback port."""
    server = RecordingServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def https_endpoint(tmp_path: Path) -> Iterator[RecordingServer]:
    """The same over https, with a self-signed certificate no client trusts."""
    cert, key = _self_signed(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server = RecordingServer(ctx)
    try:
        yield server
    finally:
        server.stop()


async def _eventually(predicate: Callable[[], object], timeout: float = DEADLINE, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what or predicate}")
        await asyncio.sleep(0.01)


@pytest.fixture
def eventually():
    """`await eventually(lambda: cond, what=...)`: polls the condition until a deadline."""
    return _eventually


# --- an engine, clients of the shared brokers, quick redials ----------------------------------


@pytest.fixture
def r(redis_server) -> Iterator[redis.Redis]:
    """A redis client of the session's redis-server, on db 0."""
    client = redis.Redis(host=redis_server.host, port=redis_server.port, db=0)
    yield client
    client.close()


async def _persistent_subscriber(broker, topic: str, received: list[bytes], client_id: str) -> gmqtt.Client:
    """A QoS 1 subscriber whose session (clean_session false) the broker keeps, and persists, while
    it is away; the payloads it receives are appended to `received`."""
    client = gmqtt.Client(client_id, clean_session=False)
    client.set_config({"reconnect_retries": 0})
    client.on_message = lambda cl, t, payload, qos, props: received.append(payload)
    subscribed = asyncio.Event()
    client.on_subscribe = lambda *args: subscribed.set()
    # MQTT 3.1.1: a session without clean_session outlives the connection (MQTT 5 would
    # need a session expiry interval for that)
    await client.connect(broker.host, broker.port, version=4)
    client.subscribe(topic, qos=1)
    await asyncio.wait_for(subscribed.wait(), 10)
    return client


@pytest.fixture
def persistent_subscriber() -> Callable[..., Awaitable[gmqtt.Client]]:
    """`await persistent_subscriber(broker, topic, received, client_id)`: a QoS 1 subscriber, session kept."""
    return _persistent_subscriber


@pytest.fixture
def fast_mqtt_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """MQTT clients redial within tens of milliseconds, so reconnect tests finish quickly."""
    monkeypatch.setattr(MqttSession, "BACKOFF_INITIAL", 0.02)
    monkeypatch.setattr(MqttSession, "BACKOFF_MAX", 0.2)


@pytest.fixture
def fast_ws_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Websocket clients redial within tens of milliseconds, so reconnect tests finish quickly."""
    monkeypatch.setattr(WsClient, "BACKOFF_INITIAL", 0.02)
    monkeypatch.setattr(WsClient, "BACKOFF_MAX", 0.2)


# --- a websockets server of the test ----------------------------------------------------------


class WsServer:
    """A websockets server on a loopback port: records the paths dialled and what clients
    send, sends to them on demand, and can stop and start again on the same port."""

    def __init__(self, port: int, ssl_context: ssl.SSLContext | None = None):
        self.port = port
        self.ssl = ssl_context
        self.paths: list[str] = []
        self.received: list[str | bytes] = []
        self.clients: set[Any] = set()
        self._server: Any = None

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _handle(self, ws: Any) -> None:
        self.paths.append(ws.request.path)
        self.clients.add(ws)
        try:
            async for message in ws:
                self.received.append(message)
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(ws)

    async def start(self) -> None:
        self._server = await serve(self._handle, "127.0.0.1", self.port, ssl=self.ssl, compression=None)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def send(self, message: str | bytes) -> None:
        for ws in list(self.clients):
            await ws.send(message)


@pytest.fixture
async def ws_server_factory(free_port: Callable[[], int]) -> AsyncIterator[Callable[..., WsServer]]:
    """`ws_server_factory(ssl_context=None)`: a WsServer on a free port, not started; stopped at the end."""
    servers: list[WsServer] = []

    def make(ssl_context: ssl.SSLContext | None = None) -> WsServer:
        server = WsServer(free_port(), ssl_context)
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            await server.stop()


@pytest.fixture
async def ws_server(ws_server_factory: Callable[..., WsServer]) -> WsServer:
    """A started WsServer (plain ws)."""
    server = ws_server_factory()
    await server.start()
    return server
