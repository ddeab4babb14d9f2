"""What compiled sink data templates call as they run: execution errors, printing, field
access, argument conversion, and Go's comparisons (`arrokoth.io.templates`)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

from arrokoth.io import _template_funcs as F
from arrokoth.io._template_tree import PipeNode
from arrokoth.io._template_values import MISSING, FuncError, fmt_float, fmt_v, go_type

# --- execution ------------------------------------------------------------------------------------


class _Fail(Exception):
    """An execution error at a node; the message gets Go's location prefix at the top."""

    def __init__(self, node: Any, msg: str):
        super().__init__(msg)
        self.node = node
        self.msg = msg
        self.exec_name: str | None = None


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


_BREAK = _Break()
_CONTINUE = _Continue()


def _print(v: Any) -> str:
    t = type(v)
    if t is str:
        return v
    if t is int:
        return str(v)
    if t is float:
        return fmt_float(v)
    if v is MISSING or v is None:
        return "<no value>"
    return fmt_v(v)


def _fail(node: Any, msg: str) -> Callable:
    def ev(*_a: Any) -> Any:
        raise _Fail(node, msg)

    return ev


def _last_node(pipe: PipeNode) -> Any:
    """The node Go's state points at after evaluating a pipeline, for later errors."""
    arg = pipe.cmds[-1].args[-1]
    return _last_node(arg) if type(arg) is PipeNode else arg


def _field_type(recv: Any, fr: list) -> str:
    if recv is fr[0]:
        if isinstance(recv, list) and recv and all(type(r) is dict for r in recv):
            return "[]map[string]interface {}"
        return go_type(recv)
    return "interface {}"


def _field(recv: Any, name: str, node: Any, fr: list, has_args: bool = False) -> Any:
    if isinstance(recv, dict):
        if has_args:
            raise _Fail(node, f"{name} is not a method but has arguments")
        return recv.get(name, MISSING)
    if recv is MISSING:
        return MISSING
    if recv is None:
        raise _Fail(node, f"nil pointer evaluating interface {{}}.{name}")
    raise _Fail(node, f"can't evaluate field {name} in type {_field_type(recv, fr)}")


def _kind_check(kind: str) -> Callable[[Any], bool]:
    if kind == "str":
        return lambda v: type(v) is str
    if kind == "int":
        return lambda v: type(v) is int
    if kind == "f64":
        return lambda v: type(v) is float
    if kind == "bool":
        return lambda v: type(v) is bool
    if kind == "map":
        return lambda v: isinstance(v, dict)
    return lambda v: isinstance(v, _dt.datetime)


def _converter(kind: str, node: Any) -> Callable[[Any], Any]:
    """Go's validateType: a value passed to a parameter of a kind; errors point at node."""
    if kind == "val":
        return lambda v: v
    if kind == "any":
        return lambda v: None if v is MISSING else v
    ok = _kind_check(kind)
    expected = F.PARAM_TYPES[kind]

    def conv(v: Any) -> Any:
        if ok(v):
            return v
        if v is MISSING:
            if kind == "map":
                return None  # a nil map
            raise _Fail(node, f"invalid value; expected {expected}")
        got = "interface {}" if v is None else go_type(v)
        raise _Fail(node, f"wrong type for value; expected {expected}; got {got}")

    return conv


# --- comparisons (Go's eq, lt and friends over basic kinds) ------------------------------------


def _basic(v: Any) -> str | None:
    t = type(v)
    if t is int:
        return "int"
    if t is float:
        return "float"
    if t is str:
        return "string"
    if t is bool:
        return "bool"
    return None


def _go_kind(v: Any) -> str:
    if v is None or v is MISSING:
        return "invalid"
    return "map" if isinstance(v, dict) else "slice" if isinstance(v, list | tuple | bytes) else "struct"


def _eq(vals: list, types: list) -> bool:
    a = MISSING if vals[0] is None else vals[0]
    if len(vals) < 2:
        raise FuncError("missing argument for comparison")
    k1 = _basic(a)
    for b, tb in zip(vals[1:], types[1:]):
        b = MISSING if b is None else b
        k2 = _basic(b)
        if k1 != k2:
            if a is not MISSING and b is not MISSING:
                raise FuncError(
                    f"incompatible types for comparison: {types[0] or go_type(a)} and {tb or go_type(b)}"
                )
            continue
        if k1 is not None:
            if a == b:
                return True
            continue
        if _go_kind(a) != _go_kind(b) and a is not MISSING and b is not MISSING:
            raise FuncError(f"non-comparable types {fmt_v(a)}: {go_type(a)}, {go_type(b)}: {fmt_v(b)}")
        if a is MISSING or b is MISSING:
            if a is b:
                return True
            continue
        if _go_kind(b) != "struct":
            raise FuncError(f"non-comparable type {fmt_v(b)}: {go_type(b)}")
        if a == b:
            return True
    return False


def _lt(vals: list, types: list) -> bool:
    a, b = (MISSING if v is None else v for v in vals)
    k1, k2 = _basic(a), _basic(b)
    if k1 is None or k2 is None:
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError(
            f"incompatible types for comparison: {types[0] or go_type(a)} and {types[1] or go_type(b)}"
        )
    if k1 == "bool":
        raise FuncError("invalid type for comparison")
    return a < b


def _le(vals: list, types: list) -> bool:
    return _lt(vals, types) or _eq(vals, types)


_COMPARE: dict[str, Callable[[list, list], bool]] = {
    "eq": _eq,
    "ne": lambda vals, types: not _eq(vals, types),
    "lt": _lt,
    "le": _le,
    "gt": lambda vals, types: not _le(vals, types),
    "ge": lambda vals, types: not _lt(vals, types),
}
