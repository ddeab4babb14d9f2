"""What the websocket source and sink share: eKuiper's properties, the two modes, and one
client connection per remote endpoint kept alive with backoff.

Properties are eKuiper's. `addr` decides the mode:

* empty (the default): server mode. Arrokoth serves the endpoint on the shared HTTP
  listener (`basic.httpServerIp:httpServerPort`, `arrokoth.io.http_listener`) at the path
  (the stream's DATASOURCE for a source, `path` for a sink).
* `host:port` (or `ws://host:port`, `wss://host:port`): client mode. Arrokoth dials
  `<scheme>://<addr><path>`, with `scheme` ws (default) or wss and, for wss, the TLS keys
  of the MQTT connector (`insecureSkipVerify`, `certificationPath`, `privateKeyPath`,
  `rootCaPath`, the base64 `...Raw` variants, `tlsMinVersion`).

In client mode the source and sink of one URL (and TLS settings) share one connection, as
eKuiper's connection pool does: what a sink sends and what a source reads travel on the
same socket, so a request/answer protocol works. `WsClient` redials after 100 ms, 200 ms,
... up to 10 s while someone holds it.

websockets is an optional extra (`pip install arrokoth[websocket]`, websockets 15 or later:
the asyncio client, `send(text=...)` and `proxy=None` are used); uvicorn, which serves
server mode, finds it by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from arrokoth.io.connectivity import ConnectionCheckError, bounded, describe_os_error
from arrokoth.io.props import MissingExtra, prop, require_extra

log = logging.getLogger("arrokoth.websocket")

CONNECTED, CONNECTING, DISCONNECTED = 1, 0, -1
SCHEMES = ("ws", "wss")
#: the TLS keys of a client connection (those of eKuiper's cert.GenTLSConfig)
TLS_KEYS = ("insecureSkipVerify", "certificationPath", "privateKeyPath", "rootCaPath", "certificationRaw",
            "certficationRaw", "privateKeyRaw", "rootCARaw", "tlsMinVersion")
# the largest message read, as uvicorn's default for the server side (bytes)
MAX_MESSAGE = 16 * 1024 * 1024


class WsConfigError(Exception):
    """A property is wrong; the message names it."""


class WsNotConnected(Exception):
    """The client has no live connection."""


def require_websockets() -> Any:
    try:
        return require_extra("websockets", "websocket", "websocket")
    except MissingExtra as e:
        raise WsConfigError(str(e)) from None


# --- properties -------------------------------------------------------------------------


def str_prop(props: dict, name: str, default: str = "") -> str:
    v = prop(props, name, default)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, str | int | float):
        raise WsConfigError(f"{name}: expected a string but got {v!r}")
    return str(v)


def check_path(path: str, what: str) -> str:
    """An endpoint path: eKuiper requires a leading /."""
    if not path.startswith("/"):
        raise WsConfigError(f"{what}: the websocket endpoint must be a URL path starting with /, got {path!r}")
    return path


@dataclass(frozen=True)
class WsTarget:
    """The remote endpoint of client mode."""

    scheme: str
    addr: str  # host[:port]
    path: str
    tls: ssl.SSLContext | None
    #: the TLS settings as given, so that two holders share a connection only when they agree
    tls_key: tuple

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.addr}{self.path}"

    @classmethod
    def parse(cls, props: dict, path: str) -> WsTarget | None:
        """The target of `addr`, or None when `addr` is empty (server mode)."""
        addr = str_prop(props, "addr").strip()
        if not addr:
            return None
        scheme = str_prop(props, "scheme", "ws").lower() or "ws"
        if "://" in addr:
            scheme, _, addr = addr.partition("://")
            scheme = scheme.lower()
            if addr.rstrip("/").count("/"):
                raise WsConfigError(f"addr: {addr!r} holds a path; give it in path (the stream's DATASOURCE)")
            addr = addr.rstrip("/")
        if scheme not in SCHEMES:
            raise WsConfigError(f"scheme: expected ws or wss but got {scheme!r}")
        try:
            parts = urlsplit(f"//{addr}")
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise WsConfigError(f"addr: {addr!r} is not host:port, for example 127.0.0.1:8080") from None
        if not parts.hostname or parts.path or parts.query or parts.username:
            raise WsConfigError(f"addr: {addr!r} is not host:port, for example 127.0.0.1:8080")
        tls = _tls(props)
        return cls(
            scheme=scheme,
            addr=addr,
            path=path,
            tls=tls if scheme == "wss" else None,
            tls_key=tuple(str(prop(props, k, "")) for k in TLS_KEYS) if scheme == "wss" else (),
        )


def _tls(props: dict) -> ssl.SSLContext:
    # eKuiper's GenTLSConfig, shared with the MQTT connector; checked in both schemes as
    # there (a key file that does not exist is an error before the first dial)
    from arrokoth.io._mqtt_client import MqttConfigError, _tls_context

    try:
        return _tls_context(props)
    except MqttConfigError as e:
        raise WsConfigError(str(e)) from None


def is_text(payload: bytes) -> bool:
    """Whether a payload can go as a text frame (eKuiper sends text frames; a binary
    payload such as protobuf cannot be one)."""
    if payload.isascii():
        return True
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def describe(e: BaseException) -> str:
    """A dial or handshake failure in words."""
    from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

    if isinstance(e, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {e.verify_message or e}"
    if isinstance(e, ssl.SSLError):
        return f"TLS handshake failed: {e.reason or e}"
    if isinstance(e, TimeoutError):
        return "timed out during the websocket handshake"
    if isinstance(e, OSError):
        return describe_os_error(e)
    if isinstance(e, InvalidStatus):
        return f"the server rejected the websocket handshake with HTTP {e.response.status_code}"
    if isinstance(e, InvalidURI | InvalidHandshake):
        return f"websocket handshake failed: {e}"
    return str(e) or type(e).__name__


async def _dial(target: WsTarget, open_timeout: float) -> Any:
    from websockets.asyncio.client import connect

    kwargs: dict[str, Any] = {}
    if target.tls is not None:
        kwargs["ssl"] = target.tls
    # no permessage-deflate and no proxy, as eKuiper's gorilla dialer: on an edge device
    # compression costs more CPU than the loopback or LAN link saves
    return await connect(target.url, open_timeout=open_timeout, compression=None, proxy=None,
                         max_size=MAX_MESSAGE, close_timeout=2, **kwargs)


# --- the client connection --------------------------------------------------------------

Receiver = Callable[[bytes], None]
StatusListener = Callable[[int, str], None]


class WsClient:
    """One connection to a remote websocket server, redialled with backoff while held.

    Receivers get every message read (text frames as their UTF-8 bytes), called directly
    from the read loop. Status listeners get (status, message): 0 when dialling, 1 once
    connected, -1 when a dial fails before the first connection or when the link drops;
    later failed redials keep 0 with their message, as the MQTT session does.
    """

    BACKOFF_INITIAL = 0.1
    BACKOFF_MAX = 10.0
    #: eKuiper's dialer HandshakeTimeout (seconds)
    CONNECT_TIMEOUT = 3.0
    #: a connection that lasted this long resets the backoff (seconds); one the server
    #: closes at once keeps backing off instead of being redialled ten times a second
    STABLE_AFTER = 1.0

    def __init__(self, target: WsTarget, key: tuple):
        self.target = target
        self.key = key
        self.holders = 0
        self.status = CONNECTING
        self.message = ""
        self._receivers: list[Receiver] = []
        self._listeners: list[StatusListener] = []
        self._ws: Any = None
        self._task: asyncio.Task | None = None
        self._first_attempt = asyncio.Event()
        self._ever_connected = False
        self._stopping = False

    @property
    def connected(self) -> bool:
        return self._ws is not None and self.status == CONNECTED

    def add_receiver(self, receiver: Receiver) -> None:
        self._receivers.append(receiver)

    def remove_receiver(self, receiver: Receiver) -> None:
        self._receivers = [r for r in self._receivers if r != receiver]

    def add_listener(self, listener: StatusListener) -> None:
        """Follow the status; the listener hears the current one at once."""
        self._listeners.append(listener)
        listener(self.status, self.message)

    def remove_listener(self, listener: StatusListener) -> None:
        self._listeners = [x for x in self._listeners if x != listener]

    async def start(self, wait: float | None = None) -> None:
        """Start dialling; wait up to `wait` seconds for the first attempt to succeed or fail."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"websocket {self.target.url}")
        if wait:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._first_attempt.wait(), wait)

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def send(self, payload: bytes) -> None:
        ws = self._ws
        if ws is None:
            raise WsNotConnected(f"websocket client is not connected{': ' + self.message if self.message else ''}")
        from websockets.exceptions import ConnectionClosed

        try:
            await ws.send(payload, text=is_text(payload))
        except ConnectionClosed as e:
            raise WsNotConnected(f"the websocket connection to {self.target.url} is lost: {e}") from None

    def _set(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        for listener in tuple(self._listeners):
            try:
                listener(status, message)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the connection
                log.exception("websocket %s: status listener failed", self.target.url)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        url = self.target.url
        delay = self.BACKOFF_INITIAL
        while not self._stopping:
            self._set(CONNECTING, self.message)
            try:
                ws = await _dial(self.target, self.CONNECT_TIMEOUT)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - any dial failure is retried
                message = describe(e)
                log.warning("websocket: cannot connect to %s: %s", url, message)
                self._set(CONNECTING if self._ever_connected else DISCONNECTED, message)
                self._first_attempt.set()
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self.BACKOFF_MAX)
                continue
            self._ws = ws
            self._ever_connected = True
            log.info("websocket: connected to %s", url)
            self._set(CONNECTED, "")
            self._first_attempt.set()
            since = loop.time()
            try:
                reason = await self._read(ws)
            finally:
                self._ws = None
                with contextlib.suppress(Exception):
                    await asyncio.shield(ws.close())
            if loop.time() - since >= self.STABLE_AFTER:
                delay = self.BACKOFF_INITIAL
            log.warning("websocket: %s", reason)
            self._set(DISCONNECTED, reason)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self.BACKOFF_MAX)

    async def _read(self, ws: Any) -> str:
        """Hand every message to the receivers until the connection ends; why it ended."""
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                data = await ws.recv(decode=False)
                for receiver in tuple(self._receivers):
                    try:
                        receiver(data)
                    except Exception:  # noqa: BLE001 - a failing stream must not end the connection
                        log.exception("websocket %s: receiver failed", self.target.url)
        except ConnectionClosed as e:
            return f"the websocket connection to {self.target.url} is lost: {e}"


# the client connections alive, by (event loop, url, TLS settings)
_clients: dict[tuple, WsClient] = {}


def acquire_client(target: WsTarget) -> WsClient:
    """The shared connection to `target`; release it with `release_client`."""
    key = (asyncio.get_running_loop(), target.url, target.tls_key)
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = WsClient(target, key)
    client.holders += 1
    return client


async def release_client(client: WsClient) -> None:
    client.holders -= 1
    if client.holders > 0:
        return
    if _clients.get(client.key) is client:
        del _clients[client.key]
    await client.stop()


# --- connectivity checks ------------------------------------------------------------------


async def ping_target(target: WsTarget, timeout: float) -> None:
    """Open one websocket to the target (handshake included) and close it."""
    what = f"websocket {target.url}"

    async def once() -> None:
        try:
            ws = await _dial(target, timeout)
        except TimeoutError:
            raise
        except Exception as e:  # noqa: BLE001 - every failure becomes a message
            raise ConnectionCheckError(f"{what}: {describe(e)}") from None
        with contextlib.suppress(Exception):
            await ws.close()

    await bounded(what, once(), timeout)


def ping_server_mode(path: str) -> None:
    """Server mode has nothing remote: check that the shared listener serves or can bind
    its address, so the endpoint can be served."""
    from arrokoth.io import http_listener

    listener = http_listener.shared()
    if listener.started or not listener.configured_port:
        return
    host, port = listener.host, listener.configured_port
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as e:
        raise ConnectionCheckError(
            f"websocket endpoint {path}: cannot listen on {host}:{port} (basic.httpServerIp/httpServerPort): "
            f"{describe_os_error(e)}"
        ) from None
