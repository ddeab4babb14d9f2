"""The zmq sink: publishes each payload on a ZeroMQ PUB socket.

As eKuiper's zmq sink, the PUB socket binds `server` (required, e.g. tcp://127.0.0.1:5563;
subscribers connect to it) and sends `[topic, payload]` as a two-frame message when `topic`
is set, the payload alone otherwise. A PUB socket drops what no subscriber wants, so a send
fails only when the socket cannot take it; binding fails (and is retried) while the address
is in use.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
from typing import Any

from arrokoth.io import _zmq
from arrokoth.io.connectivity import DEFAULT_TIMEOUT, ConnectionCheckError, describe_os_error
from arrokoth.io.props import MissingExtra
from arrokoth.io.sinks.base import AsyncSink, SinkConfigError, SinkSendError, _prop


class ZmqSink(AsyncSink):
    def __init__(self, props: dict[str, Any]):
        super().__init__(props)
        try:
            _zmq.require_zmq()
            self.server = _zmq.check_server(_prop(props, "server"), bind=True)
            self.topic = _zmq.topic_prop(_prop(props, "topic"), "topic")
        except (MissingExtra, _zmq.ZmqConfigError) as e:
            raise SinkConfigError(str(e)) from None
        self._topic_bytes = self.topic.encode()
        self._socket = None

    @classmethod
    async def ping(cls, props: dict, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Bind the address once: the sink is the server, so the check is that it can listen."""
        try:
            zmq = _zmq.require_zmq()
            server = _zmq.check_server(_prop(props, "server"), bind=True)
        except ValueError as e:
            raise ConnectionCheckError(str(e)) from None
        # binding is local and immediate: `timeout` has nothing to bound
        if _bind_plain_tcp(server):
            return
        sock = _zmq.context().socket(zmq.PUB)
        sock.linger = 0
        try:
            sock.bind(server)
        except zmq.ZMQError as e:
            raise ConnectionCheckError(f"zmq sink cannot bind {server}: {_bind_error(zmq, e)}") from None
        finally:
            sock.close(linger=0)

    async def connect(self) -> None:
        zmq = _zmq.require_zmq()
        if self._socket is not None:
            return
        sock = _zmq.context().socket(zmq.PUB)
        sock.linger = 0
        try:
            sock.bind(self.server)
        except zmq.ZMQError as e:
            sock.close(linger=0)
            raise SinkSendError(f"zmq sink fails to bind to {self.server}: {_bind_error(zmq, e)}") from None
        self._socket = sock
        self.mark_connected()

    async def send_async(self, payload: bytes | None, data: Any) -> None:
        zmq = _zmq.require_zmq()
        sock = self._socket
        if sock is None:
            raise SinkSendError("zmq sink is not bound")
        body = payload or b""
        try:
            if self._topic_bytes:
                await sock.send_multipart([self._topic_bytes, body])
            else:
                await sock.send(body)
        except zmq.ZMQError as e:
            raise SinkSendError(f"send to zmq error {e}") from None

    async def aclose(self) -> None:
        sock, self._socket = self._socket, None
        if sock is not None:
            with contextlib.suppress(Exception):
                sock.close(linger=0)


def _bind_error(zmq: Any, e: Exception) -> str:
    if getattr(e, "errno", None) == zmq.EADDRINUSE:
        return "address already in use (by another process, or by another rule's zmq sink)"
    return str(e)


def _bind_plain_tcp(server: str) -> bool:
    """Check a tcp://ip:port address with a plain socket, which (unlike a ZeroMQ socket, closed
    by libzmq's I/O thread later) frees the port before the check returns, so that the sink can
    bind it right after. False when the address is not of that kind."""
    if not server.startswith("tcp://"):
        return False
    host, _, port = server[len("tcp://"):].rpartition(":")
    host = host.strip("[]")
    if host == "*":
        host = "0.0.0.0"
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
        number = int(port)
    except ValueError:
        return False  # an interface name or an ephemeral port: only libzmq knows
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # as libzmq does, so that a port in TIME_WAIT is not taken for one in use
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, number))
            sock.listen(1)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise ConnectionCheckError(
                    f"zmq sink cannot bind {server}: address already in use "
                    "(by another process, or by another rule's zmq sink)"
                ) from None
            raise ConnectionCheckError(f"zmq sink cannot bind {server}: {describe_os_error(e)}") from None
    return True
