"""The embedded default store: one SQLite file on stdlib `sqlite3`.

Layout: a single table ``kv(ns, key, kind, value)`` keyed by ``(ns, key)``; ``kind`` is
``s`` (a str stored as-is) or ``j`` (JSON text), see `arrokoth.store.base`.

Durability: WAL journal with ``synchronous=FULL`` and autocommit, so every write has been
committed and fsynced when the call returns — an acknowledged write survives SIGKILL and
power loss. ``set_many`` runs in one ``BEGIN IMMEDIATE`` transaction.

One connection shared by all threads (``check_same_thread=False``) behind a lock: the server
may call from a threadpool. Other processes may open the same file; they wait up to
``timeout`` seconds for a write lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from arrokoth.store.base import Store, StoreError, check_name, decode_value, encode_value

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    ns    TEXT NOT NULL,
    key   TEXT NOT NULL,
    kind  TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID
"""

_UPSERT = (
    "INSERT INTO kv (ns, key, kind, value) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (ns, key) DO UPDATE SET kind = excluded.kind, value = excluded.value"
)


class SqliteStore(Store):
    def __init__(self, path: str | Path, *, timeout: float = 10.0) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open sqlite store {self.path}: {e}") from e
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has store schema {version}, newer than this Arrokoth ({SCHEMA_VERSION})"
                )
            conn.execute(_SCHEMA)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException as e:
            conn.close()
            if isinstance(e, sqlite3.Error):
                raise StoreError(f"cannot open sqlite store {self.path}: {e}") from e
            raise
        self._conn: sqlite3.Connection | None = conn

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                raise StoreError("the store is closed")
            try:
                yield self._conn
            except (sqlite3.Error, UnicodeEncodeError) as e:
                raise StoreError(f"sqlite store {self.path}: {e}") from e

    def get(self, ns: str, key: str, default: Any = None) -> Any:
        with self._db() as db:
            row = db.execute(
                "SELECT kind, value FROM kv WHERE ns = ? AND key = ?",
                (check_name("namespace", ns), check_name("key", key)),
            ).fetchone()
        return default if row is None else decode_value(*row)

    def has(self, ns: str, key: str) -> bool:
        with self._db() as db:
            row = db.execute(
                "SELECT 1 FROM kv WHERE ns = ? AND key = ?",
                (check_name("namespace", ns), check_name("key", key)),
            ).fetchone()
        return row is not None

    def set(self, ns: str, key: str, value: Any) -> None:
        kind, text = encode_value(value)
        with self._db() as db:
            db.execute(_UPSERT, (check_name("namespace", ns), check_name("key", key), kind, text))

    def set_many(self, ns: str, values: Mapping[str, Any]) -> None:
        check_name("namespace", ns)
        rows = [(ns, check_name("key", k), *encode_value(v)) for k, v in values.items()]
        if not rows:
            return
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(_UPSERT, rows)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def delete(self, ns: str, key: str) -> bool:
        with self._db() as db:
            cur = db.execute(
                "DELETE FROM kv WHERE ns = ? AND key = ?",
                (check_name("namespace", ns), check_name("key", key)),
            )
        return cur.rowcount > 0

    def keys(self, ns: str) -> list[str]:
        with self._db() as db:
            rows = db.execute("SELECT key FROM kv WHERE ns = ?", (check_name("namespace", ns),)).fetchall()
        return sorted(r[0] for r in rows)

    def items(self, ns: str) -> dict[str, Any]:
        with self._db() as db:
            rows = db.execute(
                "SELECT key, kind, value FROM kv WHERE ns = ?", (check_name("namespace", ns),)
            ).fetchall()
        return {key: decode_value(kind, text) for key, kind, text in sorted(rows)}

    def clear(self, ns: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM kv WHERE ns = ?", (check_name("namespace", ns),))

    def namespaces(self) -> list[str]:
        with self._db() as db:
            rows = db.execute("SELECT DISTINCT ns FROM kv").fetchall()
        return sorted(r[0] for r in rows)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
