"""Array functions (spec section 10.10).

Elements compare with `=` semantics (values.equal): an int equals a float of the same
value, and nothing else crosses types; two nulls are the same element, and arrays or
objects compare by content.
"""

from __future__ import annotations

import random
from typing import Any

from arrokoth.functions.registry import FuncKind, FunctionError, registry
from arrokoth.functions.values import equal, to_string_all, typed

ERR_FIRST_NOT_ARRAY = "first argument should be array of interface{}"
ERR_SECOND_NOT_ARRAY = "second argument should be array of interface{}"


def same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if equal(a, b):
        return True
    ta = type(a)
    return ta is type(b) and (ta is list or ta is dict) and a == b


def _key(v: Any) -> Any:
    """A hashable key with `same` semantics, or None for arrays and objects."""
    t = type(v)
    if t is bool:
        return ("b", v)
    if t is int or t is float:
        return ("n", v)
    if t is str:
        return ("s", v)
    if v is None:
        return ("z",)
    if t is bytes:
        return ("y", v)
    return None


class _Seen:
    """A set with `same` semantics that also accepts unhashable values."""

    def __init__(self, items: list = ()) -> None:
        self.keys: set = set()
        self.others: list = []
        for x in items:
            self.add(x)

    def add(self, v: Any) -> None:
        k = _key(v)
        if k is None:
            self.others.append(v)
        else:
            self.keys.add(k)

    def __contains__(self, v: Any) -> bool:
        k = _key(v)
        if k is None:
            return any(same(v, o) for o in self.others)
        return k in self.keys

    def discard(self, v: Any) -> None:
        k = _key(v)
        if k is None:
            self.others = [o for o in self.others if not same(v, o)]
        else:
            self.keys.discard(k)


def _array(v: Any, message: str = ERR_FIRST_NOT_ARRAY) -> list:
    if type(v) is not list:
        raise FunctionError(message)
    return v


def _int_arg(v: Any, message: str) -> int:
    if type(v) is not int:
        raise FunctionError(message)
    return v


def _fn(name: str, args, **kw):
    return registry.function(name, FuncKind.SCALAR, args=args, **kw)


@_fn("cardinality", 1)
def fn_cardinality(a):
    """Number of elements; 0 for null or a non-array."""
    return len(a) if type(a) is list else 0


@_fn("array_cardinality", 1)
def fn_array_cardinality(a):
    """Number of non-null elements; null gives 0."""
    if a is None:
        return 0
    return sum(1 for x in _array(a) if x is not None)


@_fn("array_create", (0, None))
def fn_array_create(*args):
    """The non-null arguments as an array; null when there are none."""
    items = [a for a in args if a is not None]
    return items or None


@_fn("array_position", 2)
def fn_array_position(a, v):
    if a is None:
        return -1
    for i, x in enumerate(_array(a)):
        if same(x, v):
            return i
    return -1


@_fn("array_last_position", 2)
def fn_array_last_position(a, v):
    if a is None:
        return -1
    arr = _array(a)
    for i in range(len(arr) - 1, -1, -1):
        if same(arr[i], v):
            return i
    return -1


@_fn("element_at", 2, null_in_null_out=True)
def fn_element_at(a, index):
    """element_at(array, i) (a negative i counts from the end) or element_at(object, key)."""
    if type(a) is list:
        if type(index) is float and index.is_integer():
            index = int(index)
        if type(index) is not int:
            raise FunctionError(f"cannot convert {typed(index)} to int")
        if index >= len(a) or -index > len(a):
            raise FunctionError("index out of range")
        return a[index]
    if type(a) is dict:
        if type(index) is not str:
            raise FunctionError("second argument should be string")
        return a.get(index)
    raise FunctionError("first argument should be []interface{} or map[string]interface{}")


@_fn("array_contains", 2)
def fn_array_contains(a, v):
    if a is None:
        return False
    return any(same(x, v) for x in _array(a))


@_fn("array_contains_any", 2)
def fn_array_contains_any(a1, a2):
    if a1 is None or a2 is None:
        return False
    first, second = _array(a1), _array(a2, ERR_SECOND_NOT_ARRAY)
    seen = _Seen(second)
    return any(x in seen for x in first)


@_fn("array_remove", 2)
def fn_array_remove(a, v):
    if a is None:
        return None
    return [x for x in _array(a) if not same(x, v)]


@_fn("array_intersect", 2, null_in_null_out=True)
def fn_array_intersect(a1, a2):
    """Elements of a2 also in a1, without duplicates."""
    first, second = _array(a1), _array(a2, ERR_SECOND_NOT_ARRAY)
    pending = _Seen(first)
    out = []
    for x in second:
        if x in pending:
            out.append(x)
            pending.discard(x)
    return out


@_fn("array_union", 2)
def fn_array_union(a1, a2):
    """Elements of both, without duplicates; a null array counts as empty."""
    first = _array(a1) if a1 is not None else []
    second = _array(a2, ERR_SECOND_NOT_ARRAY) if a2 is not None else []
    seen = _Seen()
    out = []
    for x in (*first, *second):
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


@_fn("array_except", 2)
def fn_array_except(a1, a2):
    """Elements of a1 not in a2, without duplicates."""
    if a1 is None:
        return None
    first = _array(a1)
    seen = _Seen(_array(a2, ERR_SECOND_NOT_ARRAY) if a2 is not None else [])
    out = []
    for x in first:
        if x not in seen:
            out.append(x)
            seen.add(x)
    return out


def _extreme(arr: list, pick_max: bool) -> Any:
    """The aggregate max/min rule: the first non-null value decides the kind."""
    first = next((x for x in arr if x is not None), None)
    if first is None:
        return None
    t = type(first)
    if t is int:
        want, accepts = "int64", (int, float)  # floats are truncated, as Go's SAMEKIND cast does
    elif t is float:
        want, accepts = "float64", (float,)
    elif t is str:
        want, accepts = "string", (str,)
    else:
        raise FunctionError(f"found invalid arg {typed(first)}")
    values = []
    for x in arr:
        if x is None:
            continue
        if type(x) not in accepts:
            raise FunctionError(f"requires {want} but found {typed(x)}")
        values.append(int(x) if t is int else x)
    return max(values) if pick_max else min(values)


@_fn("array_max", 1, null_in_null_out=True)
def fn_array_max(a):
    return _extreme(_array(a), True)


@_fn("array_min", 1, null_in_null_out=True)
def fn_array_min(a):
    return _extreme(_array(a), False)


@_fn("repeat", 2, null_in_null_out=True)
def fn_repeat(v, n):
    count = _int_arg(n, "second argument should be int")
    if count < 0:
        raise FunctionError("second argument should be a non-negative int")
    return [v] * count


def _validate_sequence(args: list) -> None:
    if len(args) not in (2, 3):
        raise FunctionError(f"Expect two or three arguments but found {len(args)}.")


@_fn("sequence", (2, 3), null_in_null_out=True, validate=_validate_sequence)
def fn_sequence(start, stop, step=None):
    """sequence(start, stop [, step]): both ends included; the step defaults to ±1."""
    b = _int_arg(start, "first argument should be int")
    e = _int_arg(stop, "second argument should be int")
    if step is None:
        s = 1 if b < e else -1
    else:
        s = _int_arg(step, "third argument should be int")
        if s == 0:
            raise FunctionError("invalid step: should not be zero")
    n = int((e - b) / s) + 1  # Go's integer division truncates toward zero
    return [b + i * s for i in range(max(n, 0))]


@_fn("array_flatten", 1, null_in_null_out=True)
def fn_array_flatten(a):
    """One level: nested arrays are spliced in, other elements are kept."""
    out: list = []
    for x in _array(a):
        if type(x) is list:
            out.extend(x)
        else:
            out.append(x)
    return out


@_fn("array_distinct", 1, null_in_null_out=True)
def fn_array_distinct(a):
    """Duplicates removed, first occurrence kept; arrays and objects are never merged."""
    seen: set = set()
    out = []
    for x in _array(a):
        k = _key(x)
        if k is None:
            out.append(x)
        elif k not in seen:
            seen.add(k)
            out.append(x)
    return out


@_fn("array_map", 2, null_in_null_out=True)
def fn_array_map(name, a):
    """array_map("upper", arr): a registered scalar function applied to each element."""
    if type(name) is not str:
        raise FunctionError("first argument should be string")
    arr = _array(a, ERR_SECOND_NOT_ARRAY)
    fdef = registry.get(name)
    if fdef is None:
        raise FunctionError(f"unknown built-in function: {name}.")
    if fdef.kind is not FuncKind.SCALAR or fdef.needs_context:
        raise FunctionError("first argument should be a scalar function.")
    try:
        fdef.check_arity(1)
    except FunctionError:
        raise FunctionError(f"validate {name} arguments failed") from None
    out = []
    for x in arr:
        if x is None and fdef.null_in_null_out:
            out.append(None)
        else:
            out.append(fdef.impl(x))
    return out


def _validate_join(args: list) -> None:
    if len(args) not in (2, 3):
        raise FunctionError(f"Expect two or three arguments but found {len(args)}.")


@_fn("array_join", (2, 3), null_in_null_out=True, validate=_validate_join)
def fn_array_join(a, delimiter, null_replacement=""):
    """Elements joined by delimiter; nulls become null_replacement (dropped when empty)."""
    arr = _array(a)
    if type(delimiter) is not str:
        raise FunctionError("second argument should be string")
    if type(null_replacement) is not str:
        raise FunctionError("third argument should be string")
    parts = []
    for x in arr:
        if x is None:
            if null_replacement:
                parts.append(null_replacement)
            continue
        try:
            parts.append(to_string_all(x))
        except ValueError:
            raise FunctionError("array elements should be string") from None
    return delimiter.join(parts)


@_fn("array_shuffle", 1, null_in_null_out=True)
def fn_array_shuffle(a):
    out = list(_array(a))
    random.shuffle(out)
    return out


def _sort_key(v: Any) -> tuple:
    t = type(v)
    if t is int or t is float:
        return (0, v, "")
    if t is str:
        return (1, 0, v)
    return (2, 0, to_string_all(v) if t in (bool, bytes) else str(v))


@_fn("array_sort", 1, null_in_null_out=True)
def fn_array_sort(a):
    """Ascending; numbers (by value) before strings, then everything else."""
    if type(a) is not list:
        raise FunctionError("array elements should be array")
    return sorted(a, key=_sort_key)


@_fn("array_concat", (1, None))
def fn_array_concat(*arrays):
    """The arrays concatenated; a null argument counts as empty."""
    out: list = []
    for arr in arrays:
        if arr is None:
            continue
        if type(arr) is not list:
            raise FunctionError("array elements should be array")
        out.extend(arr)
    return out


@_fn("kvpair_array_to_obj", 1, null_in_null_out=True)
def fn_kvpair_array_to_obj(a):
    """[{"key": k, "value": v}, ...] → {k: v, ...}."""
    obj = {}
    for item in _array(a):
        if type(item) is not dict:
            raise FunctionError("array item should be map[string]interface{}")
        if len(item) != 2 or "key" not in item or "value" not in item or type(item["key"]) is not str:
            raise FunctionError("array item should be key-value pair")
        obj[item["key"]] = item["value"]
    return obj
