"""What the ZeroMQ source and sink share: the endpoint property, the context, the check.

Endpoints are ZeroMQ's: tcp://host:port, ipc:///path, inproc://name, and the other
transports libzmq knows. The source's SUB socket connects to the endpoint; the sink's PUB
socket binds it, as eKuiper's zmq plugins do.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any
from urllib.parse import urlsplit

from arrokoth.io.connectivity import ConnectionCheckError, describe_os_error
from arrokoth.io.props import require_extra

#: eKuiper's etc/sources/zmq.yaml default
DEFAULT_SERVER = "tcp://127.0.0.1:5563"

_ENDPOINT = re.compile(r"(tcp|ipc|inproc|pgm|epgm|ws|wss|tipc|vmci|udp)://\S+")


class ZmqConfigError(ValueError):
    """A bad property; the message names it."""


def require_zmq() -> Any:
    require_extra("zmq.asyncio", "zmq", "zmq", package="pyzmq")
    import zmq

    return zmq


def context() -> Any:
    """The process's asyncio ZeroMQ context (sockets are closed with linger 0, so it never blocks)."""
    import zmq.asyncio

    return zmq.asyncio.Context.instance()


def check_server(value: Any, *, bind: bool) -> str:
    """The `server` property: an endpoint to connect to, or with `bind` to bind."""
    if value is None or value == "":
        raise ZmqConfigError("server: missing server address")
    if not isinstance(value, str):
        raise ZmqConfigError(f"server: expected a string but got {value!r}")
    if not _ENDPOINT.fullmatch(value):
        raise ZmqConfigError(f"server: expected a ZeroMQ endpoint such as tcp://127.0.0.1:5563 but got {value!r}")
    if value.startswith("tcp://"):
        host, _, port = value[len("tcp://"):].rpartition(":")
        # "*" (any interface) and the ports "*" and "!" (ephemeral) only bind
        if not host or (host == "*" and not bind) or not (port.isdigit() or (bind and port in ("*", "!"))):
            raise ZmqConfigError(f"server: expected tcp://host:port but got {value!r}")
    return value


def topic_prop(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ZmqConfigError(f"{name}: expected a string but got {value!r}")
    return value


async def probe(server: str, timeout: float) -> None:
    """Reach the endpoint with a plain socket first: refused, unknown host and timeouts in words."""
    if server.startswith("tcp://"):
        parts = urlsplit(server)
        host, port = parts.hostname, parts.port
        connect = asyncio.open_connection(host, port)
    elif server.startswith("ipc://"):
        path = server[len("ipc://"):]
        if path.startswith("@"):
            return  # an abstract socket: only the handshake tells
        connect = asyncio.open_unix_connection(path)
    else:
        return
    try:
        _, writer = await asyncio.wait_for(connect, timeout)
    except TimeoutError:
        raise ConnectionCheckError(f"zmq server {server}: timed out after {timeout:g}s") from None
    except OSError as e:
        raise ConnectionCheckError(f"zmq server {server}: {describe_os_error(e)}") from None
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
