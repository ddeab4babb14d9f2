"""nng pair0 connections to Neuron, one per URL, shared by every neuron source and sink.

Neuron's eKuiper app listens on one nng PAIR socket (pair0): `ipc:///tmp/neuron-ekuiper.ipc`
for older Neuron, `tcp://host:7081` for Neuron 2.4 and later. A pair socket has one peer, so
every rule on the URL shares one dialled socket, as eKuiper does: `acquire(url)` returns the
URL's `NngConnection` and counts the reference, `release` closes it with the last one.

The socket dials in the background and redials by itself (100 ms, backing off to 5 s) when
Neuron restarts. nng reports the pipe coming and going from its own threads; the callbacks
hop onto the event loop and tell every listener (the rules' connection_status). One receive
task hands each message to every subscribed source, so that all neuron streams see all
events; a message nobody subscribes to is dropped, so Neuron is never blocked by a full queue.

A later change moves this into the general connection pool; the interface is kept small
for that: acquire, release, subscribe, add_listener, send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.props import require_extra

log = logging.getLogger("arrokoth.io.nng")

#: eKuiper's DefaultNeuronUrl, used when a source or sink gives no url
DEFAULT_NEURON_URL = "ipc:///tmp/neuron-ekuiper.ipc"

# connection_status values in rule metrics
CONNECTED, CONNECTING, DISCONNECTED = 1, 0, -1

#: nng's redial backoff, as eKuiper sets it (ms); tests shorten it
RECONNECT_MIN_MS = 100
RECONNECT_MAX_MS = 5000
#: a send that Neuron does not take within this long fails (ms), eKuiper's nng timeout
SEND_TIMEOUT_MS = 5000
#: how long the first user of a new connection waits for the first dial (s)
FIRST_DIAL_WAIT = 1.0

NOT_CONNECTED = "neuron connection is not established"

StatusListener = Callable[[int, str], None]
Subscriber = Callable[[bytes], None]


class NngConfigError(ValueError):
    """A bad url; the message names the property."""


class NngNotConnected(Exception):
    """Neuron is not there (or does not take the message): the send may be retried."""


def require_pynng(connector: str = "neuron") -> Any:
    return require_extra("pynng", "nng", connector)


def check_url(value: Any) -> str:
    """The `url` property: tcp://host:port or ipc:///path, as eKuiper accepts."""
    if value is None or value == "":
        return DEFAULT_NEURON_URL
    if not isinstance(value, str):
        raise NngConfigError(f"url: expected a string but got {value!r}")
    parts = urlsplit(value)
    if parts.scheme not in ("tcp", "ipc"):
        raise NngConfigError(f"url: only tcp and ipc scheme are supported, got {value!r}")
    if parts.scheme == "tcp":
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None:
            raise NngConfigError(f"url: expected tcp://host:port but got {value!r}")
    elif not (parts.netloc + parts.path):
        raise NngConfigError(f"url: expected ipc:///path but got {value!r}")
    return value


class NngConnection:
    """One pair0 socket dialling `url`; see the module docstring."""

    def __init__(self, url: str):
        pynng = self._pynng = require_pynng()
        self.url = url
        self.status = CONNECTING
        self.message = ""
        self.refs = 0
        self._loop = asyncio.get_running_loop()
        self._pipes = 0
        self._subscribers: list[Subscriber] = []
        self._listeners: list[StatusListener] = []
        self._up = asyncio.Event()
        self._first_deadline = time.monotonic() + FIRST_DIAL_WAIT
        self._closed = False
        self._socket = pynng.Pair0(
            reconnect_time_min=RECONNECT_MIN_MS, reconnect_time_max=RECONNECT_MAX_MS, send_timeout=SEND_TIMEOUT_MS,
        )
        # nng runs these in its own threads
        self._socket.add_post_pipe_connect_cb(lambda pipe: self._from_nng(self._pipe_added))
        self._socket.add_post_pipe_remove_cb(lambda pipe: self._from_nng(self._pipe_removed))
        try:
            # a non-blocking dial never fails on a missing peer: nng keeps redialling
            self._socket.dial(url, block=False)
        except pynng.NNGException as e:
            self._socket.close()
            raise NngConfigError(f"url: cannot dial {url}: {e}") from None
        self._receiver = self._loop.create_task(self._receive(), name=f"nng receive {url}")
        self._first_dial_timer = self._loop.call_later(FIRST_DIAL_WAIT, self._first_dial_over)

    @property
    def connected(self) -> bool:
        return self.status == CONNECTED

    # --- users ---------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> None:
        self._subscribers.append(callback)

    def unsubscribe(self, callback: Subscriber) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(callback)

    def add_listener(self, listener: StatusListener) -> None:
        """`listener(status, message)` on every change, and once now with the current status."""
        self._listeners.append(listener)
        listener(self.status, self.message)

    def remove_listener(self, listener: StatusListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    async def wait_first_dial(self) -> None:
        """Wait (up to FIRST_DIAL_WAIT after the connection was made) for the peer."""
        remaining = self._first_deadline - time.monotonic()
        if self.connected or remaining <= 0:
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._up.wait(), remaining)
        if not self.connected:
            self._first_dial_over()  # (its timer may not have fired yet)

    async def send(self, data: bytes) -> None:
        """Send one message; NngNotConnected when Neuron is not there or does not take it."""
        pynng = self._pynng
        if not self.connected or self._closed:
            raise NngNotConnected(NOT_CONNECTED)
        try:
            await self._socket.asend(data)
        except pynng.Timeout:
            raise NngNotConnected(f"neuron did not take the message within {SEND_TIMEOUT_MS} ms") from None
        except pynng.Closed:
            raise NngNotConnected(NOT_CONNECTED) from None

    # --- nng's side ----------------------------------------------------------------------

    def _from_nng(self, step: Callable[[], None]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is left to tell
            self._loop.call_soon_threadsafe(step)

    def _first_dial_over(self) -> None:
        # nng does not report a failed dial: say so once the first wait is over
        if self.status == CONNECTING and not self._closed:
            self._set_status(DISCONNECTED, f"{NOT_CONNECTED}: cannot reach neuron at {self.url}; redialling")

    def _pipe_added(self) -> None:
        self._pipes += 1
        if self._closed:
            return
        if self.status != CONNECTED:
            log.info("neuron connection to %s attached", self.url)
            self._set_status(CONNECTED, "")
        self._up.set()

    def _pipe_removed(self) -> None:
        self._pipes = max(0, self._pipes - 1)
        if self._pipes or self._closed:
            return
        log.warning("neuron connection to %s detached; redialling", self.url)
        self._up.clear()
        self._set_status(DISCONNECTED, "neuron connection detached")

    def _set_status(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        for listener in list(self._listeners):
            try:
                listener(status, message)
            except Exception:  # noqa: BLE001 - one user's failure must not hide the news from others
                log.exception("neuron connection %s: a status listener failed", self.url)

    async def _receive(self) -> None:
        pynng = self._pynng
        while True:
            try:
                data = await self._socket.arecv()
            except pynng.Closed:
                return
            except pynng.NNGException as e:
                log.warning("neuron connection %s: receive failed: %s", self.url, e)
                await asyncio.sleep(RECONNECT_MIN_MS / 1000)
                continue
            for callback in list(self._subscribers):
                try:
                    callback(data)
                except Exception:  # noqa: BLE001 - a failing rule must not stop the others
                    log.exception("neuron connection %s: a subscriber failed", self.url)

    async def close(self) -> None:
        self._closed = True
        self._first_dial_timer.cancel()
        self._listeners.clear()
        self._subscribers.clear()
        self._socket.close()
        self._receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._receiver


# --- the registry: one connection per URL -----------------------------------------------------

_connections: dict[str, NngConnection] = {}


def acquire(url: str) -> NngConnection:
    """The shared connection of `url`, dialled on first use; release it when done."""
    conn = _connections.get(url)
    if conn is not None and (conn._closed or conn._loop is not asyncio.get_running_loop()):
        # left behind by an event loop that is gone (tests run one loop each)
        conn._closed = True
        with contextlib.suppress(Exception):
            conn._socket.close()
        conn = None
    if conn is None:
        conn = _connections[url] = NngConnection(url)
    conn.refs += 1
    return conn


async def release(conn: NngConnection) -> None:
    conn.refs -= 1
    if conn.refs > 0:
        return
    if _connections.get(conn.url) is conn:
        del _connections[conn.url]
    await conn.close()


def shared(url: str) -> NngConnection | None:
    """The live connection of `url`, if a rule holds one."""
    conn = _connections.get(url)
    return conn if conn is not None and not conn._closed else None


async def ping(props: dict, timeout: float) -> None:
    """Can a neuron source or sink with `props` reach Neuron? Dials once, within `timeout`."""
    from arrokoth.io.props import prop

    try:
        pynng = require_pynng()
        url = check_url(prop(props, "url"))
    except ValueError as e:  # MissingExtra, NngConfigError
        raise ConnectionCheckError(str(e)) from None
    conn = shared(url)
    if conn is not None and conn.connected:
        return  # a rule holds the pair connection: dialling a second one would be refused
    sock = pynng.Pair0()
    try:
        await asyncio.wait_for(asyncio.to_thread(sock.dial, url, block=True), timeout)
    except TimeoutError:
        raise ConnectionCheckError(f"neuron at {url}: timed out after {timeout:g}s") from None
    except pynng.ConnectionRefused:
        raise ConnectionCheckError(
            f"neuron at {url}: connection refused; is Neuron running with its eKuiper app listening there?"
        ) from None
    except pynng.AddressInvalid:
        raise ConnectionCheckError(f"neuron at {url}: invalid address or unknown host") from None
    except pynng.NNGException as e:
        raise ConnectionCheckError(f"neuron at {url}: {e}") from None
    finally:
        # also aborts a dial still running in its thread after a timeout
        sock.close()
