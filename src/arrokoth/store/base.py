"""The `Store` contract: a namespaced key-value store of JSON-able values.

A namespace is a flat string chosen by the caller (``"rules"``, ``"streams"``,
``"sources.mqtt"``, ``"connections.mqtt"`` …); keys are strings within it.

Values round-trip with their exact type:

* a ``str`` is stored as-is and comes back as the same ``str`` — a rule's JSON text is
  returned byte-for-byte, never re-encoded;
* anything else must be JSON-able (dict with ``str`` keys, list, int, float, bool, None),
  is stored as JSON and comes back equal and of the same types. Tuples, non-``str`` dict
  keys, NaN/infinity, bytes and other objects are refused with `StoreError` rather than
  silently changed (a tuple would come back a list, ``{1: …}`` as ``{"1": …}``).

Every getter returns fresh objects: mutating a returned dict does not touch the store.
Backends encode a value as a one-letter kind plus text (`encode_value`/`decode_value`).
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

STR_KIND = "s"
JSON_KIND = "j"


class StoreError(Exception):
    """A value that cannot be stored, a closed store, or a failing backend."""


def check_name(what: str, name: object) -> str:
    if not isinstance(name, str):
        raise StoreError(f"store {what} must be a str, not {type(name).__name__}")
    return name


def _check_jsonable(value: object, path: str) -> None:
    # exact types only: a str/int/float subclass (an enum, say) would not come back as itself
    kind = type(value)
    if value is None or kind in (str, bool, int):
        return
    if kind is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            raise StoreError(f"value at {path} is not finite: {value!r}")
        return
    if kind is list:
        for i, item in enumerate(value):  # type: ignore[arg-type]
            _check_jsonable(item, f"{path}[{i}]")
        return
    if kind is dict:
        for k, item in value.items():  # type: ignore[attr-defined]
            if type(k) is not str:
                raise StoreError(f"dict key {k!r} at {path} is not a str")
            _check_jsonable(item, f"{path}[{k!r}]")
        return
    raise StoreError(f"value at {path} is not JSON-able: {kind.__name__}")


def encode_value(value: Any) -> tuple[str, str]:
    """``(kind, text)`` for a value; raises `StoreError` if it would not round-trip."""
    if type(value) is str:
        return STR_KIND, value
    _check_jsonable(value, "$")
    return JSON_KIND, json.dumps(value, separators=(",", ":"))


def decode_value(kind: str, text: str) -> Any:
    if kind == STR_KIND:
        return text
    if kind == JSON_KIND:
        return json.loads(text)
    raise StoreError(f"unknown stored value kind {kind!r}")


class Store(ABC):
    """Namespaced key-value persistence. Every write is durable when it returns."""

    @abstractmethod
    def get(self, ns: str, key: str, default: Any = None) -> Any:
        """The value under ``key``, or ``default`` when absent (use `has` if None is stored)."""

    @abstractmethod
    def has(self, ns: str, key: str) -> bool: ...

    @abstractmethod
    def set(self, ns: str, key: str, value: Any) -> None:
        """Insert or replace one value."""

    @abstractmethod
    def set_many(self, ns: str, values: Mapping[str, Any]) -> None:
        """Insert or replace several values in one atomic write: all land or none do."""

    @abstractmethod
    def delete(self, ns: str, key: str) -> bool:
        """Remove a key; True if it existed."""

    @abstractmethod
    def keys(self, ns: str) -> list[str]:
        """The keys of a namespace, sorted."""

    @abstractmethod
    def items(self, ns: str) -> dict[str, Any]:
        """The whole namespace as a dict, in sorted key order."""

    @abstractmethod
    def clear(self, ns: str) -> None:
        """Remove every key of a namespace."""

    @abstractmethod
    def namespaces(self) -> list[str]:
        """The namespaces holding at least one key, sorted."""

    @abstractmethod
    def close(self) -> None:
        """Release the backend; idempotent. Later calls raise `StoreError`."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
