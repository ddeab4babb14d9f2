"""The Redis store, on redis-py (``pip install 'arrokoth[redis]'``).

Layout: one Redis hash per namespace, named ``<prefix>:kv:<ns>`` (prefix ``arrokoth`` by
default); a hash field is a key, its value the one-letter kind followed by the text
(``s`` + a str stored as-is, or ``j`` + JSON, see `arrokoth.store.base`). So ``items`` is one
``HGETALL``, ``clear`` one ``DEL``, and ``set_many`` one ``HSET`` (atomic). A hash that loses
its last field vanishes, so `namespaces` (a ``SCAN`` over the prefix) lists non-empty ones.

Durability is the Redis server's: configure AOF (``appendfsync always``) when an acknowledged
write must survive a crash of the Redis host.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from arrokoth.store.base import Store, StoreError, check_name, decode_value, encode_value

MISSING_EXTRA = "the Redis store needs redis-py: install it with pip install 'arrokoth[redis]'"


def _import_redis() -> Any:
    try:
        import redis
    except ImportError as e:
        raise StoreError(MISSING_EXTRA) from e
    return redis


class RedisStore(Store):
    def __init__(self, url: str, *, prefix: str = "arrokoth") -> None:
        redis = _import_redis()
        self.url = url
        self._error = redis.RedisError
        self._hash_prefix = f"{prefix}:kv:"
        self._lock = threading.Lock()  # guards close only: the client itself is thread-safe
        try:
            client = redis.Redis.from_url(url)
        except (ValueError, redis.RedisError) as e:
            raise StoreError(f"bad redis store url {url!r}: {e}") from e
        try:
            client.ping()
        except redis.RedisError as e:
            client.close()
            raise StoreError(f"cannot reach redis store {url}: {e}") from e
        self._client: Any = client

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r})"

    @contextmanager
    def _redis(self) -> Iterator[Any]:
        client = self._client
        if client is None:
            raise StoreError("the store is closed")
        try:
            yield client
        except self._error as e:
            raise StoreError(f"redis store {self.url}: {e}") from e

    def _hash(self, ns: str) -> str:
        return self._hash_prefix + check_name("namespace", ns)

    @staticmethod
    def _pack(value: Any) -> bytes:
        kind, text = encode_value(value)
        try:
            return (kind + text).encode("utf-8")
        except UnicodeEncodeError as e:
            raise StoreError(f"value cannot be stored: {e}") from e

    @staticmethod
    def _unpack(raw: bytes) -> Any:
        text = raw.decode("utf-8")
        return decode_value(text[:1], text[1:])

    def get(self, ns: str, key: str, default: Any = None) -> Any:
        with self._redis() as r:
            raw = r.hget(self._hash(ns), check_name("key", key))
        return default if raw is None else self._unpack(raw)

    def has(self, ns: str, key: str) -> bool:
        with self._redis() as r:
            return bool(r.hexists(self._hash(ns), check_name("key", key)))

    def set(self, ns: str, key: str, value: Any) -> None:
        packed = self._pack(value)
        with self._redis() as r:
            r.hset(self._hash(ns), check_name("key", key), packed)

    def set_many(self, ns: str, values: Mapping[str, Any]) -> None:
        mapping = {check_name("key", k): self._pack(v) for k, v in values.items()}
        if not mapping:
            return
        with self._redis() as r:
            r.hset(self._hash(ns), mapping=mapping)

    def delete(self, ns: str, key: str) -> bool:
        with self._redis() as r:
            return r.hdel(self._hash(ns), check_name("key", key)) > 0

    def keys(self, ns: str) -> list[str]:
        with self._redis() as r:
            raw = r.hkeys(self._hash(ns))
        return sorted(k.decode("utf-8") for k in raw)

    def items(self, ns: str) -> dict[str, Any]:
        with self._redis() as r:
            raw = r.hgetall(self._hash(ns))
        pairs = sorted((k.decode("utf-8"), v) for k, v in raw.items())
        return {k: self._unpack(v) for k, v in pairs}

    def clear(self, ns: str) -> None:
        with self._redis() as r:
            r.delete(self._hash(ns))

    def namespaces(self) -> list[str]:
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self._hash_prefix) + "*"
        start = len(self._hash_prefix.encode("utf-8"))
        with self._redis() as r:
            found = {name[start:].decode("utf-8") for name in r.scan_iter(match=pattern, _type="hash")}
        return sorted(found)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
