"""The zmq source: subscribes to a topic of a ZeroMQ publisher.

A SUB socket connects to `server` (eKuiper's property; etc/sources/zmq.yaml defaults it to
tcp://127.0.0.1:5563) and subscribes to the stream's DATASOURCE, a topic prefix as ZeroMQ
matches it. As in eKuiper, with a topic the first frame of a multipart message is the topic
(`meta(topic)`) and the other frames, joined, the payload; without a topic every frame is
payload. A single-frame message under a topic is the payload after the topic prefix.

libzmq connects and reconnects by itself; a socket monitor reports the connection to the
rule's connection_status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from arrokoth.io import _zmq
from arrokoth.io.connectivity import DEFAULT_TIMEOUT, ConnectionCheckError
from arrokoth.io.props import MissingExtra, prop
from arrokoth.io.sources.base import CONNECTING, Source, SourceConfigError
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.feed import StreamFeed

log = logging.getLogger("arrokoth.source.zmq")

#: metadata objects shared by the messages of one topic
_META_CACHE_SIZE = 1024


class ZmqSource(Source):
    #: how long start() waits for the first connection attempt (s)
    FIRST_CONNECT_WAIT = 1.0

    def __init__(self, stream: StreamDef, props: dict, feed: StreamFeed):
        super().__init__(stream, props, feed)
        try:
            _zmq.require_zmq()
            self.server = _zmq.check_server(prop(props, "server"), bind=False)
        except (MissingExtra, _zmq.ZmqConfigError) as e:
            raise SourceConfigError(str(e)) from None
        self.topic = stream.datasource or ""
        self._topic_bytes = self.topic.encode()
        self._socket = None
        self._monitor = None
        self._tasks: list[asyncio.Task] = []
        self._attempted = asyncio.Event()
        self._metas: dict[bytes, dict] = {}

    @classmethod
    async def ping(cls, props: dict, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Connect a SUB socket and wait for ZeroMQ's handshake with the server."""
        try:
            zmq = _zmq.require_zmq()
            server = _zmq.check_server(prop(props, "server"), bind=False)
        except ValueError as e:
            raise ConnectionCheckError(str(e)) from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await _zmq.probe(server, timeout)
        sock = _zmq.context().socket(zmq.SUB)
        sock.linger = 0
        monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                                          | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        try:
            sock.connect(server)
            event = await asyncio.wait_for(_next_event(monitor), max(0.0, deadline - loop.time()))
        except TimeoutError:
            raise ConnectionCheckError(
                f"zmq server {server}: no ZeroMQ handshake within {timeout:g}s; is it a ZeroMQ publisher?"
            ) from None
        except zmq.ZMQError as e:
            raise ConnectionCheckError(f"zmq server {server}: {e}") from None
        finally:
            _close(sock, monitor)
        if event != zmq.EVENT_HANDSHAKE_SUCCEEDED:
            raise ConnectionCheckError(f"zmq server {server}: the ZeroMQ handshake failed; is it a ZeroMQ publisher?")

    async def start(self) -> None:
        zmq = _zmq.require_zmq()
        sock = _zmq.context().socket(zmq.SUB)
        sock.linger = 0
        self._monitor = sock.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED | zmq.EVENT_CONNECT_RETRIED
        )
        sock.setsockopt(zmq.SUBSCRIBE, self._topic_bytes)
        try:
            sock.connect(self.server)
        except zmq.ZMQError as e:
            _close(sock, self._monitor)
            self._monitor = None
            raise SourceConfigError(f"server: zmq source fails to connect to {self.server}: {e}") from None
        self._socket = sock
        self.last_try = self.feed.clock.now_ms()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._watch(), name=f"zmq monitor {self.stream.name}"),
            loop.create_task(self._receive(), name=f"zmq receive {self.stream.name}"),
        ]
        # a server that is down does not fail the rule: libzmq keeps reconnecting
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._attempted.wait(), self.FIRST_CONNECT_WAIT)

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._socket is not None:
            _close(self._socket, self._monitor)
        self._monitor = self._socket = None

    async def _watch(self) -> None:
        # keep reading whatever happens: libzmq blocks its I/O thread once the monitor queue is full
        zmq = _zmq.require_zmq()
        while True:
            try:
                event = await _next_event(self._monitor)
            except zmq.ZMQError as e:
                log.warning("zmq source %s: monitor failed: %s", self.stream.name, e)
                await asyncio.sleep(0.1)
                continue
            if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.connected()
            elif event == zmq.EVENT_DISCONNECTED:
                self.disconnected(f"zmq server {self.server} disconnected")
            elif event == zmq.EVENT_CONNECT_RETRIED and self.status == CONNECTING:
                # retried each 100 ms or so: the first failure says it, the others change nothing
                self.disconnected(f"cannot connect to zmq server {self.server}; retrying")
            self._attempted.set()

    async def _receive(self) -> None:
        zmq = _zmq.require_zmq()
        sock = self._socket
        while True:
            try:
                frames = await sock.recv_multipart()
            except zmq.ZMQError as e:
                self.fail(f"zmq source getting message error: {e}")
                await asyncio.sleep(0.1)
                continue
            try:
                self._publish(frames)
            except Exception as e:  # noqa: BLE001 - a failing rule must not stop the source
                log.exception("zmq source %s: cannot hand a message to the rules", self.stream.name)
                self.fail(str(e))

    def _publish(self, frames: list[bytes]) -> None:
        if not self._topic_bytes:
            self.publish_payload(b"".join(frames))
            return
        if len(frames) > 1:
            topic, payload = frames[0], b"".join(frames[1:])
        else:
            topic, payload = self._topic_bytes, frames[0][len(self._topic_bytes):]
        meta = self._metas.get(topic)
        if meta is None:
            if len(self._metas) >= _META_CACHE_SIZE:
                self._metas.clear()
            meta = self._metas[topic] = {"topic": topic.decode("utf-8", "replace")}
        self.publish_payload(payload, meta)


def _close(sock, monitor) -> None:
    """Stop the monitor before closing either socket. libzmq's I/O thread hands the events to
    the monitor with a blocking send on a PAIR socket: an event for a monitor whose reading end
    is gone blocks that thread, and with it every ZeroMQ socket of the process."""
    import zmq

    with contextlib.suppress(zmq.ZMQError):
        sock.disable_monitor()
    monitor.close(linger=0)
    sock.close(linger=0)


async def _next_event(monitor) -> int:
    from zmq.utils.monitor import parse_monitor_message

    return parse_monitor_message(await monitor.recv_multipart())["event"]
