"""The sink cache: messages a sink could not deliver, kept in order until it recovers.

A `SinkCache` is a FIFO in two tiers. The oldest messages stay in memory (up to
`memoryCacheThreshold`) so that they can be resent at once; newer ones are written to an
SQLite file in pages of `bufferPageSize` rows (one transaction per page), bounded by
`maxDiskCache`. The newest page is filled in memory before it is written, so a crash loses
at most that page and the memory tier, as in eKuiper; a clean stop writes both to the file
(`flush`), and the next start of the rule resends them.

Nothing within `memoryCacheThreshold + maxDiskCache` messages is lost. Beyond that the
oldest messages are dropped, counted in `dropped` and logged.

Layout of the file `<data_dir>/sinkCache/<rule id>/<sink type>_<action index>.db`::

    CREATE TABLE cache (seq INTEGER PRIMARY KEY, payload BLOB, data BLOB, raw BLOB)

`seq` orders the messages (a stop writes the memory tier in front of the disk head with
smaller, possibly negative, numbers). `payload` is the encoded bytes the sink sends,
`data` the shaped value handed to the sink beside them, and `raw` the result rows the
message was made from (kept only when `resendIndicatorField` needs to render them again);
`data` and `raw` are MessagePack.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections import deque
from pathlib import Path
from typing import Any

import msgspec

log = logging.getLogger("arrokoth.sink")

#: a cached message: (payload, data, raw)
Message = tuple

_NONE = object()


def _enc_hook(v: Any) -> Any:
    from arrokoth.functions import jsonvalue

    out = jsonvalue.to_jsonable(v)
    return str(v) if out is v else out


_pack = msgspec.msgpack.Encoder(enc_hook=_enc_hook).encode
_unpack = msgspec.msgpack.Decoder().decode


def cache_path(data_dir: str | os.PathLike, rule_id: str, sink_type: str, index: int) -> Path:
    """Where the disk cache of one sink of one rule lives."""
    return Path(data_dir) / "sinkCache" / rule_id / f"{sink_type}_{index}.db"


def remove_rule_caches(data_dir: str | os.PathLike, rule_id: str) -> None:
    """Delete every sink cache of a rule (when the rule is deleted)."""
    folder = Path(data_dir) / "sinkCache" / rule_id
    if not folder.is_dir():
        return
    for f in folder.iterdir():
        f.unlink(missing_ok=True)
    folder.rmdir()


class SinkCache:
    """A bounded FIFO of messages: memory first, then an SQLite file.

    `path=None` keeps the disk tier in an in-memory SQLite database (nothing survives
    a restart, the bounds are the same).
    """

    def __init__(
        self,
        path: str | os.PathLike | None,
        *,
        memory_threshold: int = 1024,
        max_disk: int = 1024000,
        page_size: int = 256,
        name: str = "sink",
    ):
        if page_size <= 0 or memory_threshold < page_size or max_disk < page_size:
            raise ValueError("the cache needs 0 < bufferPageSize <= memoryCacheThreshold, maxDiskCache")
        self.memory_threshold = memory_threshold
        self.max_disk = max_disk
        self.page_size = page_size
        self.name = name
        self.path = Path(path) if path is not None else None
        self.dropped = 0
        self._mem: deque[Message] = deque()
        self._page: list[Message] = []
        self._disk = 0
        self._head = 0  # smallest seq on disk (when _disk > 0)
        self._tail = 0  # the next seq to write at the back
        self._db = self._open()

    # --- storage -----------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        if self.path is None:
            db = sqlite3.connect(":memory:")
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS cache (seq INTEGER PRIMARY KEY, payload BLOB, data BLOB, raw BLOB)")
        db.commit()
        lo, hi, n = db.execute("SELECT MIN(seq), MAX(seq), COUNT(*) FROM cache").fetchone()
        if n:
            self._disk, self._head, self._tail = n, lo, hi + 1
            log.info("sink cache %s: %d messages restored from %s", self.name, n, self.path)
        return db

    @staticmethod
    def _row(m: Message) -> tuple:
        payload, data, raw = m
        return (
            payload,
            None if data is None else _pack(data),
            None if raw is None else _pack(raw),
        )

    @staticmethod
    def _message(row: tuple) -> Message:
        payload, data, raw = row
        return (
            payload,
            None if data is None else _unpack(data),
            None if raw is None else _unpack(raw),
        )

    def _write_back(self, items: list[Message]) -> None:
        rows = [(self._tail + i, *self._row(m)) for i, m in enumerate(items)]
        with self._db:
            self._db.executemany("INSERT INTO cache VALUES (?, ?, ?, ?)", rows)
        if not self._disk:
            self._head = self._tail
        self._tail += len(items)
        self._disk += len(items)

    def _write_front(self, items: list[Message]) -> None:
        start = (self._head if self._disk else self._tail) - len(items)
        rows = [(start + i, *self._row(m)) for i, m in enumerate(items)]
        with self._db:
            self._db.executemany("INSERT INTO cache VALUES (?, ?, ?, ?)", rows)
        if not self._disk:
            self._tail = start + len(items)
        self._head = start
        self._disk += len(items)

    def _read_front(self, n: int, *, keep: bool = True) -> list[Message]:
        """Take the `n` oldest messages off the disk (decoded only if `keep`)."""
        with self._db:
            rows = self._db.execute(
                "SELECT seq, payload, data, raw FROM cache ORDER BY seq LIMIT ?", (n,)
            ).fetchall()
            if rows:
                self._db.execute("DELETE FROM cache WHERE seq <= ?", (rows[-1][0],))
        self._disk -= len(rows)
        if self._disk:
            self._head = rows[-1][0] + 1
        return [self._message(r[1:]) for r in rows] if keep else []

    # --- the queue ---------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._mem) + self._disk + len(self._page)

    @property
    def capacity(self) -> int:
        return self.memory_threshold + self.max_disk

    @property
    def memory_len(self) -> int:
        """Messages held in memory (the memory tier and the page being filled)."""
        return len(self._mem) + len(self._page)

    @property
    def disk_len(self) -> int:
        return self._disk

    def add(self, m: Message) -> None:
        """Append the newest message; beyond the bounds the oldest one is dropped."""
        if not self._disk and not self._page and len(self._mem) < self.memory_threshold:
            self._mem.append(m)
            return
        self._page.append(m)
        excess = len(self) - self.capacity
        if excess > 0:
            self._drop_oldest(excess)
        if len(self._page) >= self.page_size:
            self._write_page()

    def push_front(self, m: Message) -> None:
        """Put back the oldest message (a resend that failed)."""
        self._mem.appendleft(m)
        excess = len(self) - self.capacity
        if excess > 0:
            self._drop_oldest(excess)

    def pop(self) -> Message | None:
        """Take the oldest message, or None when the cache is empty."""
        if self._mem:
            return self._mem.popleft()
        if self._disk:
            self._mem.extend(self._read_front(self.page_size))
            return self._mem.popleft()
        if self._page:
            self._mem.extend(self._page)
            self._page = []
            return self._mem.popleft()
        return None

    def _write_page(self) -> None:
        page = self._page
        self._page = []
        if not self._disk:
            # nothing older is on disk: the memory tier may take the page while it has room
            room = self.memory_threshold - len(self._mem)
            if room > 0:
                self._mem.extend(page[:room])
                page = page[room:]
            if not page:
                return
        over = self._disk + len(page) - self.max_disk
        if over > 0:
            # keep the disk within its bound: its oldest messages move up to memory, which
            # has the room because the whole cache is within memory + disk bounds
            self._mem.extend(self._read_front(over))
        self._write_back(page)

    def _drop_oldest(self, n: int) -> None:
        dropped = 0
        while n > 0 and self._mem:
            self._mem.popleft()
            n -= 1
            dropped += 1
        if n > 0 and self._disk:
            k = min(n, self._disk)
            self._read_front(k, keep=False)
            n -= k
            dropped += k
        if n > 0 and self._page:
            k = min(n, len(self._page))
            del self._page[:k]
            dropped += k
        before = self.dropped
        self.dropped += dropped
        # one line when dropping starts and then one per page of drops, not one per message
        if before == 0 or before // self.page_size != self.dropped // self.page_size:
            log.warning(
                "sink cache %s is full (%d in memory, %d on disk): dropped the oldest messages, %d so far",
                self.name, self.memory_threshold, self.max_disk, self.dropped,
            )

    # --- lifecycle ---------------------------------------------------------------

    def flush(self) -> None:
        """Write the memory tier and the open page to the file, keeping the order."""
        if self._mem:
            self._write_front(list(self._mem))
            self._mem.clear()
        if self._page:
            self._write_back(self._page)
            self._page = []

    def clear(self) -> None:
        self._mem.clear()
        self._page = []
        with self._db:
            self._db.execute("DELETE FROM cache")
        self._disk = 0
        self._head = self._tail = 0

    def close(self, *, persist: bool = True) -> None:
        """Close the file; `persist` first flushes what is in memory."""
        if self._db is None:
            return
        if persist and self.path is not None:
            self.flush()
        self._db.close()
        self._db = None  # type: ignore[assignment]

    def destroy(self) -> None:
        """Forget everything and delete the file (cleanCacheAtStop)."""
        if self._db is not None:
            self._db.close()
            self._db = None  # type: ignore[assignment]
        self._mem.clear()
        self._page = []
        self._disk = 0
        if self.path is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
