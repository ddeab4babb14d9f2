"""Persistence of definitions and state: SQLite (embedded default) or Redis.

`open_store` turns a store spec (the ``--store`` option / config value) into a `Store`:

* ``sqlite`` or ``""`` → ``<data_dir>/arrokoth.db``
* ``sqlite:<path>`` → that file; a relative path is taken under ``data_dir``;
  ``sqlite::memory:`` is an in-memory store (tests)
* ``redis://host:port/db``, ``rediss://…``, ``unix:///path/redis.sock?db=0`` → `RedisStore`
"""

from __future__ import annotations

from pathlib import Path

from arrokoth.store.base import Store, StoreError
from arrokoth.store.sqlite import SqliteStore

__all__ = ["DEFAULT_DB_NAME", "SqliteStore", "Store", "StoreError", "open_store"]

DEFAULT_DB_NAME = "arrokoth.db"
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def open_store(spec: str | None, data_dir: str | Path | None = None) -> Store:
    spec = (spec or "sqlite").strip()
    if spec.startswith(_REDIS_SCHEMES):
        from arrokoth.store.redis import RedisStore  # lazy: redis-py is an optional extra

        return RedisStore(spec)
    if spec == "sqlite":
        return SqliteStore(_under(data_dir, DEFAULT_DB_NAME))
    if spec.startswith("sqlite:"):
        path = spec[len("sqlite:") :]
        if not path:
            raise StoreError("store spec 'sqlite:' names no file")
        if path == ":memory:" or Path(path).is_absolute():
            return SqliteStore(path)
        return SqliteStore(_under(data_dir, path))
    raise StoreError(
        f"unknown store {spec!r}: use 'sqlite', 'sqlite:/path/file.db' or 'redis://host:port/db'"
    )


def _under(data_dir: str | Path | None, name: str) -> Path:
    if data_dir is None:
        raise StoreError(f"a data directory is needed for the sqlite store file {name!r}")
    return Path(data_dir) / name
