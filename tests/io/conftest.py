"""Fixtures of the connector tests: an HTTP endpoint that records what it is sent.

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

DEADLINE = 10.0


@pytest.fixture
def anyio_backend():
    return "asyncio"


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
