"""Lookup tables queried by key: what a Redis or SQL lookup table implements.

`CREATE TABLE t () WITH (TYPE="redis", KIND="lookup", ...)` makes a table a rule does not
load: for each row reaching a join `... JOIN t ON s.id = t.id`, the rule evaluates the
stream side of each `t.col = expr` of the ON clause and asks the table for the rows whose
`col` equal those values (`lookup`). The rest of the ON clause then filters the result.

A table is constructed when a rule using it is created (checking its properties, without
connecting); it connects on its first lookup, reconnects after a failure, and is closed
when its definition is dropped or replaced. Lookups are synchronous calls from the rule:
implementations keep a short timeout (a failed lookup raises `LookupFailed`, which the
rule reports as an error for that row), and
the `lookup` section of the conf key (`cache`, `cacheTtl` seconds, `cacheMissingKey`)
puts a cache in front of them, as in eKuiper.
"""

from __future__ import annotations

import time
from typing import Any

from arrokoth.io.props import bool_prop, prop
from arrokoth.plan.rows import Row
from arrokoth.plan.streams import StreamDef


class LookupConfigError(Exception):
    """A lookup table property is wrong; the message names the property."""


class LookupFailed(Exception):
    """A lookup failed (the remote end is down, a query failed): the rule reports it."""


class LookupTable:
    """One lookup table over a remote store."""

    def __init__(self, stream: StreamDef, props: dict[str, Any]):
        self.stream = stream
        self.props = props

    def lookup(self, keys: list[str], values: list[Any]) -> list[dict]:
        """The rows whose columns `keys` equal `values`, as plain dicts."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class KeyedLookup:
    """What a rule holds for a lookup table: `rows(keys, values)` through the cache."""

    def __init__(self, table: LookupTable, props: dict[str, Any]):
        self.table = table
        self.name = table.stream.name
        conf = prop(props, "lookup") or {}
        if not isinstance(conf, dict):
            raise LookupConfigError("lookup: expected an object with cache, cacheTtl and cacheMissingKey")
        self.cache_on = bool_prop(conf, "cache", False, error=LookupConfigError)
        ttl = prop(conf, "cacheTtl", 600)
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl < 0:
            raise LookupConfigError(f"lookup.cacheTtl: expected a number of seconds but got {ttl!r}")
        self.ttl = float(ttl)
        self.cache_missing = bool_prop(conf, "cacheMissingKey", True, error=LookupConfigError)
        self._cache: dict[tuple, tuple[float, list[Row]]] = {}

    def rows(self, keys: list[str], values: list[Any]) -> list[Row]:
        if self.cache_on:
            try:
                ck = (tuple(keys), tuple(values))
                hit = self._cache.get(ck)
            except TypeError:  # a list or object as key value: not cacheable
                ck, hit = None, None
            now = time.monotonic()
            if hit is not None and (self.ttl == 0 or now - hit[0] < self.ttl):
                return hit[1]
        found = [Row(r, 0, None, self.name) for r in self.table.lookup(keys, values)]
        if self.cache_on and ck is not None and (found or self.cache_missing):
            if len(self._cache) >= 100_000:
                self._cache.clear()
            self._cache[ck] = (now, found)
        return found

    def close(self) -> None:
        self._cache.clear()
        self.table.close()
