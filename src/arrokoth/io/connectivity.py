"""Connectivity checks: can a source, sink or lookup configuration reach its remote end?

`POST /metadata/{sources|sinks|lookups}/connection/{type}` and `arrokoth connection check`
call `ping(props, timeout)` on the connector class. A connector with a remote end defines

    @classmethod
    async def ping(cls, props: dict, timeout: float) -> None

which validates the props, connects (and authenticates) once within `timeout` seconds,
disconnects, and raises `ConnectionCheckError` with a message a user can act on:
refused, timed out, bad credentials, unknown host. A class without `ping` has no remote
end to check.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable
from typing import Any

#: seconds a check may take unless the caller says otherwise
DEFAULT_TIMEOUT = 5.0


class ConnectionCheckError(Exception):
    """The remote end cannot be used; the message says why."""


async def bounded(what: str, step: Awaitable[Any], timeout: float) -> Any:
    """Await `step`, turning a timeout and the usual socket errors into ConnectionCheckError."""
    try:
        return await asyncio.wait_for(step, timeout)
    except ConnectionCheckError:
        raise
    except TimeoutError:
        raise ConnectionCheckError(f"{what}: timed out after {timeout:g}s") from None
    except OSError as e:
        raise ConnectionCheckError(f"{what}: {describe_os_error(e)}") from None


def describe_os_error(e: OSError) -> str:
    """A socket error in words: refused, unknown host, unreachable..."""
    if isinstance(e, socket.gaierror):
        return f"unknown host ({e.strerror or e})"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, ConnectionResetError):
        return "connection reset by peer"
    return e.strerror or str(e) or type(e).__name__


def socket_error(e: BaseException) -> OSError | None:
    """The socket's own error under a client library's: httpx wraps httpcore, which wraps
    anyio's "All connection attempts failed", whose cause groups the error of each address
    tried. The first one with an errno, else the first OSError found."""
    found: OSError | None = None
    seen: set[int] = set()
    stack: list[BaseException | None] = [e]
    while stack:
        c = stack.pop()
        if c is None or id(c) in seen:
            continue
        seen.add(id(c))
        if isinstance(c, OSError):
            if c.errno is not None:
                return c
            found = found or c
        if isinstance(c, BaseExceptionGroup):
            stack.extend(c.exceptions)
        stack.extend((c.__cause__, c.__context__))
    return found
