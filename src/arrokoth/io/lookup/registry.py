"""Lookup table types by name (`TYPE` of a `KIND="lookup"` table). Built-ins register here
the way plugins will; `memory` is served by the engine's own `MemoryLookupTable`."""

from __future__ import annotations

from arrokoth.io.lookup.base import LookupConfigError, LookupTable

_LOOKUPS: dict[str, type[LookupTable]] = {}


def register_lookup(name: str, cls: type[LookupTable]) -> None:
    _LOOKUPS[name.lower()] = cls


def lookup_class(name: str) -> type[LookupTable]:
    cls = _LOOKUPS.get(name.lower())
    if cls is None:
        raise LookupConfigError(f"lookup table type {name} is not supported")
    return cls


def lookup_types() -> list[str]:
    return sorted({"memory", *_LOOKUPS})


def _register_builtins() -> None:
    from arrokoth.io.lookup.redis import RedisLookupTable
    from arrokoth.io.lookup.sql import SqlLookupTable

    register_lookup("redis", RedisLookupTable)
    register_lookup("sql", SqlLookupTable)


_register_builtins()
