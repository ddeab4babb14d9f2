"""Object functions (spec section 10.11)."""

from __future__ import annotations

from arrokoth.functions.registry import FunctionError, registry
from arrokoth.functions.string import string_args
from arrokoth.functions.values import format_value, to_string_all

ERR_NOT_MAP = "the argument should be map[string]interface{}"


def _map(v, message: str = ERR_NOT_MAP) -> dict:
    if type(v) is not dict:
        raise FunctionError(message)
    return v


@registry.function("keys", args=1, null_in_null_out=True)
def fn_keys(o):
    return list(_map(o))


@registry.function("values", args=1, null_in_null_out=True)
def fn_values(o):
    return list(_map(o).values())


@registry.function("object", args=2, null_in_null_out=True)
def fn_object(keys, values):
    """object(["a", "b"], [1, 2]) → {"a": 1, "b": 2}; empty arrays give null."""
    if type(keys) is not list:
        raise FunctionError("first argument should be []string")
    if type(values) is not list:
        raise FunctionError("second argument should be []interface{}")
    if len(keys) != len(values):
        raise FunctionError("the length of the arguments should be same")
    if not keys:
        return None
    out = {}
    for k, v in zip(keys, values):
        if type(k) is not str:
            raise FunctionError("first argument should be []string")
        out[k] = v
    return out


@registry.function("zip", args=1, null_in_null_out=True)
def fn_zip(pairs):
    """zip([["a", 1], ["b", 2]]) → {"a": 1, "b": 2}; null pairs are skipped."""
    if type(pairs) is not list:
        raise FunctionError("each argument should be [][2]interface{}")
    if not pairs:
        return None
    out = {}
    for item in pairs:
        if item is None:
            continue
        if type(item) is not list or len(item) != 2:
            raise FunctionError("each argument should be [][2]interface{}")
        if type(item[0]) is not str:
            raise FunctionError("the first element in the list item should be string")
        out[item[0]] = item[1]
    return out


@registry.function("items", args=1, null_in_null_out=True)
def fn_items(o):
    """{"a": 1} → [["a", 1]]; an empty object gives null."""
    m = _map(o, "first argument should be map[string]interface{}")
    if not m:
        return None
    return [[k, v] for k, v in m.items()]


@registry.function("object_concat", args=(2, None))
def fn_object_concat(*objects):
    """Shallow merge, later keys win; null arguments are skipped."""
    out: dict = {}
    for o in objects:
        if o is None:
            continue
        if type(o) is not dict:
            raise FunctionError(f"the argument should be map[string]interface{{}}, got {format_value(o)}")
        out.update(o)
    return out


def _validate_construct(args: list) -> None:
    if len(args) % 2:
        raise FunctionError("the args must be key value pairs")
    string_args(*range(0, len(args), 2))(args)


@registry.function("object_construct", args=(0, None), validate=_validate_construct)
def fn_object_construct(*args):
    """object_construct(k1, v1, k2, v2, ...); pairs with a null key or value are left out."""
    if len(args) % 2:
        raise FunctionError("the args must be key value pairs")
    out = {}
    for i in range(0, len(args), 2):
        k, v = args[i], args[i + 1]
        if k is None or v is None:
            continue
        if type(k) is not str and type(k) is not bytes:
            raise FunctionError(f"key {format_value(k)} is not a string")
        out[to_string_all(k)] = v
    return out


def _key_list(v) -> list[str]:
    try:
        return [to_string_all(x) for x in v]
    except ValueError as e:
        raise FunctionError(str(e)) from None


@registry.function("erase", args=2, null_in_null_out=True)
def fn_erase(o, keys):
    """erase(o, "k") or erase(o, ["k1", "k2"]) → a copy without those keys."""
    m = _map(o, f"the first argument should be map[string]interface{{}}, got {format_value(o)}")
    if type(keys) is str:
        drop = {keys}
    elif type(keys) is list:
        drop = set(_key_list(keys))
    else:
        raise FunctionError("the argument should be slice or string")
    return {k: v for k, v in m.items() if k not in drop}


@registry.function("object_size", args=1)
def fn_object_size(o):
    if o is None:
        return 0
    return len(_map(o, f"the first argument should be map[string]any, got {format_value(o)}"))


def _pick(out: dict, src: dict, key: str) -> None:
    """Copies key; a dotted key ("a.b") picks a nested value and keeps its nesting."""
    if "." not in key:
        if key in src:
            out[key] = src[key]
        return
    path = key.split(".")
    node = src
    for p in path[:-1]:
        node = node.get(p) if type(node) is dict else None
        if type(node) is not dict:
            return
    if path[-1] not in node:
        return
    target = out
    for p in path[:-1]:
        nxt = target.get(p)
        if type(nxt) is not dict:
            nxt = target[p] = {}
        target = nxt
    target[path[-1]] = node[path[-1]]


@registry.function("object_pick", args=(2, None))
def fn_object_pick(o, *keys):
    """object_pick(o, "a", "b.c") or object_pick(o, ["a", "b.c"]) → only those keys."""
    if o is None:
        return None
    m = _map(o, f"the first argument should be a map, got {format_value(o)}")
    out: dict = {}
    first = keys[0]
    names = (
        [k for k in first if type(k) is str] if type(first) is list else [k for k in keys if type(k) is str]
    )
    for k in names:
        _pick(out, m, k)
    return out


@registry.function("obj_to_kvpair_array", args=1, null_in_null_out=True)
def fn_obj_to_kvpair_array(o):
    """{"a": 1} → [{"key": "a", "value": 1}]."""
    m = _map(o, f"the first argument should be map[string]interface{{}}, got {format_value(o)}")
    return [{"key": k, "value": v} for k, v in m.items()]
