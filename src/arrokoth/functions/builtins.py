"""Loads the built-in function catalogue into the shared registry.

The category modules register their functions when imported, so `load()` only has to
import each of them once; it is safe to call any number of times.
"""

from __future__ import annotations

import importlib

CATEGORIES = (
    "math", "string", "conversion", "hashing", "jsonpath", "datetime", "array", "object", "other", "srf",
    "aggregate", "analytic",
)

_loaded = False


def load() -> None:
    global _loaded
    if _loaded:
        return
    for name in CATEGORIES:
        importlib.import_module(f"arrokoth.functions.{name}")
    _loaded = True
