"""Set-returning and multi-column functions; the planner expands their results."""

from __future__ import annotations

from typing import Any

from arrokoth.functions.registry import FuncKind, FunctionError, registry


@registry.function("unnest", FuncKind.SRF, args=1)
def unnest(v: Any) -> Any:
    if v is not None and type(v) is not list:
        raise FunctionError("the argument for the unnest function should be array")
    return v


@registry.function("extract", FuncKind.MULTI, args=1)
def extract(v: Any) -> Any:
    """Spreads the keys of an object into the output row."""
    if v is None:
        return {}
    if type(v) is not dict:
        raise FunctionError("the argument for the extract function should be map")
    return v
