"""What the Redis connectors share: eKuiper's connection properties, one way to build a
client, payload compression, and error messages a user can act on.

The lookup table and the redis sink name the server `addr`, redisSub and redisPub name it
`address` (each accepts the other spelling too); all take `username`, `password` and a
database number 0-15, as eKuiper's go-redis clients do. redis-py is the `redis` extra,
imported only when a connector is built so the core install does not need it.

Clients speak RESP2 (redis-py 8 would otherwise open with HELLO, which servers before 6
reject and which turns a missing password into a confusing HELLO error) and never retry
by themselves: the sink node, the source loop and the lookup table decide when to retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from arrokoth.io.connectivity import ConnectionCheckError, describe_os_error
from arrokoth.io.props import prop, require_extra

DEFAULT_ADDRESS = "127.0.0.1:6379"
DEFAULT_PORT = 6379
#: seconds to open a connection, and to wait for one command's answer
CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 5.0
COMPRESSIONS = ("zlib", "gzip", "flate", "zstd")


class RedisConfigError(ValueError):
    """A property is wrong; the message names it."""


def require_redis(connector: str) -> Any:
    """The redis module, or MissingExtra naming the `redis` extra."""
    return require_extra("redis", "redis", connector)


# --- properties -------------------------------------------------------------------------


def str_prop(props: dict, name: str, default: str = "") -> str:
    v = prop(props, name, default)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, str | int | float):
        raise RedisConfigError(f"{name}: expected a string but got {v!r}")
    return str(v)


def int_prop(props: dict, name: str, default: int) -> int:
    """An int given as 3, 3.0 or "3" (eKuiper decodes properties weakly)."""
    v = prop(props, name, default)
    if v is None or v == "":
        return default
    if isinstance(v, bool):
        raise RedisConfigError(f"{name}: expected an int but got {v!r}")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str):
        try:
            return int(v.strip())
        except ValueError:
            pass
    raise RedisConfigError(f"{name}: expected an int but got {v!r}")


def db_number(value: Any, name: str, connector: str) -> int:
    """A database number, 0-15 as eKuiper allows."""
    db = int_prop({name: value}, name, 0)
    if not 0 <= db <= 15:
        raise RedisConfigError(f"{name}: {connector} db should be in range 0-15")
    return db


def parse_address(text: str, name: str) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`); a missing port is Redis's 6379."""
    text = text.strip()
    if "://" in text:
        raise RedisConfigError(f"{name}: expected host:port such as 127.0.0.1:6379 but got {text!r}")
    host, port = text, DEFAULT_PORT
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise RedisConfigError(f"{name}: unbalanced [ in {text!r}")
        host, rest = text[1:end], text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise RedisConfigError(f"{name}: expected host:port but got {text!r}")
            port = _port(rest[1:], name, text)
    elif text.count(":") == 1:
        host, _, rest = text.partition(":")
        port = _port(rest, name, text)
    if not host:
        raise RedisConfigError(f"{name}: expected host:port but got {text!r}")
    return host, port


def _port(text: str, name: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise RedisConfigError(f"{name}: invalid port in {whole!r}")
    return int(text)


def codec_prop(props: dict, name: str) -> str:
    """A compression method (zlib, gzip, flate, zstd) or ""."""
    method = str_prop(props, name).strip().lower()
    if not method:
        return ""
    if method not in COMPRESSIONS:
        raise RedisConfigError(f"{name}: unsupported method {method!r}, expected one of {', '.join(COMPRESSIONS)}")
    if method == "zstd":
        try:
            importlib.import_module("zstandard")
        except ImportError:
            raise RedisConfigError(f"{name}: zstd needs the zstandard package: pip install zstandard") from None
    return method


def compressor(method: str) -> Callable[[bytes], bytes]:
    from arrokoth.functions.conversion import compress

    return lambda data: compress(data, method)


def decompressor(method: str) -> Callable[[bytes], bytes]:
    from arrokoth.functions.conversion import decompress

    return lambda data: decompress(data, method)


# --- settings and clients ---------------------------------------------------------------


@dataclass(frozen=True)
class RedisSettings:
    host: str
    port: int
    db: int = 0
    username: str = ""
    password: str = ""

    @classmethod
    def parse(
        cls,
        props: dict,
        *,
        address: tuple[str, ...],
        db: int,
        default_address: str | None = DEFAULT_ADDRESS,
    ) -> RedisSettings:
        """The settings of `props`; `address` lists the accepted names of the server address,
        eKuiper's first. An empty address is `default_address` (None: an error)."""
        text = ""
        for name in address:
            text = str_prop(props, name)
            if text:
                break
        if not text:
            if default_address is None:
                raise RedisConfigError(f"{address[0]}: redis {address[0]} is null")
            text = default_address
        host, port = parse_address(text, address[0])
        return cls(host, port, db, str_prop(props, "username"), str_prop(props, "password"))

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        # for logs and messages: the password never appears
        user = self.username + (":***" if self.password else "") if self.username or self.password else ""
        return f"redis://{user + '@' if user else ''}{self.address}/{self.db}"

    def _kwargs(self, timeout: float | None, connect_timeout: float) -> dict:
        return {
            "host": self.host,
            "port": self.port,
            "db": self.db,
            "username": self.username or None,
            "password": self.password or None,
            "socket_connect_timeout": connect_timeout,
            "socket_timeout": timeout,
            "protocol": 2,
        }

    def async_client(self, *, timeout: float | None = COMMAND_TIMEOUT, connect_timeout: float = CONNECT_TIMEOUT):
        """A redis.asyncio client; `timeout` None waits for answers forever (subscriptions)."""
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        return Redis(retry=Retry(NoBackoff(), 0), **self._kwargs(timeout, connect_timeout))

    def sync_client(self, *, timeout: float = COMMAND_TIMEOUT, connect_timeout: float = CONNECT_TIMEOUT):
        from redis import Redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        return Redis(retry=Retry(NoBackoff(), 0), **self._kwargs(timeout, connect_timeout))


async def aclose(client: Any) -> None:
    """Close an asyncio client or pubsub, whatever state it is in."""
    if client is None:
        return
    # aclose: redis-py 5.0.1 and later; before it, close() (clients) and reset() (pubsub)
    close = getattr(client, "aclose", None) or getattr(client, "close", None) or client.reset
    with contextlib.suppress(Exception):  # a connection that is gone needs no goodbye
        await close()


# --- errors -----------------------------------------------------------------------------


def is_connection_error(e: BaseException) -> bool:
    """A failure of the link (refused, reset, timed out, bad credentials): retrying later may help."""
    import redis

    return isinstance(e, redis.ConnectionError | redis.TimeoutError | OSError | TimeoutError)


def describe_error(e: BaseException) -> str:
    """A redis-py or socket error in words a user can act on."""
    import redis

    if isinstance(e, redis.AuthenticationError):
        return f"bad credentials: {e}"
    if isinstance(e, redis.ResponseError):
        text = str(e)
        if "DB index is out of range" in text:
            return "the database does not exist (DB index is out of range)"
        if text.startswith(("NOAUTH", "WRONGPASS", "NOPERM")):
            return f"bad credentials: {text}"
        return text
    if isinstance(e, redis.TimeoutError | TimeoutError):
        return "timed out"
    if isinstance(e, OSError):
        return describe_os_error(e)
    cause: BaseException | None = e.__cause__ or e.__context__
    seen = 0
    while cause is not None and seen < 5:
        if isinstance(cause, OSError):
            return describe_os_error(cause)
        cause = cause.__cause__ or cause.__context__
        seen += 1
    text = str(e) or type(e).__name__
    lowered = text.lower()
    # redis-py words the errno into its message ("Error 111 connecting to h:p. Connection refused.")
    if "connection refused" in lowered or "connect call failed" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return f"unknown host ({text})"
    if "timeout" in lowered or "timed out" in lowered:
        return "timed out"
    return text


async def check(settings: RedisSettings, timeout: float) -> None:
    """Connect, authenticate, select the database and PING once within `timeout` seconds."""
    import redis

    what = f"redis {settings.address}"
    client = settings.async_client(timeout=timeout, connect_timeout=timeout)
    try:
        await asyncio.wait_for(client.ping(), timeout)
    except TimeoutError:
        raise ConnectionCheckError(f"{what}: timed out after {timeout:g}s") from None
    except (redis.RedisError, OSError) as e:
        raise ConnectionCheckError(f"{what}: {describe_error(e)}") from None
    finally:
        await aclose(client)

