"""The things compiled expressions are evaluated against.

A `Row` is one event of one stream. A `JoinedRow` is one combination of rows from the
streams and tables of a join. A `Group` is a set of rows (a window, a GROUP BY group,
or a single row of an aggregate rule without a window). Compiled expressions know at
plan time which of these they receive, so they never test the type per event.
"""

from __future__ import annotations

from typing import Any


class Row:
    """One event: the decoded message, its metadata, timestamp (ms) and emitter.

    ``cache`` holds values computed for the row before WHERE (analytic functions),
    keyed by call-site; it is created only for rules that need it.
    """

    __slots__ = ("msg", "meta", "ts", "emitter", "cache")

    def __init__(self, msg: dict, ts: int = 0, meta: dict | None = None, emitter: str = "", cache: dict | None = None):
        self.msg = msg
        self.ts = ts
        self.meta = meta
        self.emitter = emitter
        self.cache = cache

    def __repr__(self) -> str:
        return f"Row({self.emitter}@{self.ts}: {self.msg!r})"


class JoinedRow:
    """A combination of rows from the sources of a join, in FROM/JOIN order.

    ``parts[i]`` is the Row of the i-th source, or None when an outer join left it
    unmatched.
    """

    __slots__ = ("parts", "ts", "cache")

    def __init__(self, parts: list[Row | None], ts: int = 0):
        self.parts = parts
        self.ts = ts
        self.cache = None

    @property
    def meta(self) -> dict | None:
        for p in self.parts:
            if p is not None:
                return p.meta
        return None

    def merged(self) -> dict:
        """All columns in one flat object; the leftmost source wins a clash."""
        out: dict[str, Any] = {}
        for p in reversed(self.parts):
            if p is not None:
                out.update(p.msg)
        return out

    def __repr__(self) -> str:
        return f"JoinedRow({self.parts!r})"


class Group:
    """Rows aggregated together; non-aggregated columns read the first row."""

    __slots__ = ("rows", "key", "cache")

    def __init__(self, rows: list, key: Any = None):
        self.rows = rows
        self.key = key
        self.cache = None

    @property
    def first(self):
        return self.rows[0] if self.rows else None

    def __repr__(self) -> str:
        return f"Group({self.key!r}, {len(self.rows)} rows)"
