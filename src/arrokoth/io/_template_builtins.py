"""Go's template builtins (truth, len, index, the escapers), sprig's slice, and the JSON and
base64 functions of eKuiper and sprig, for sink data templates."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from arrokoth.functions import jsonvalue
from arrokoth.io._template_convert import _blen, _floatify, go_json, to_int64
from arrokoth.io._template_values import MISSING, FuncError, fmt_float, fmt_v, go_sprint, go_type, kind_name

# --- functions with more than one line ----------------------------------------------------------


def truth(v: Any) -> bool:
    """Go's template truth: false, 0, nil and empty strings, lists and maps are false."""
    t = type(v)
    if t is bool:
        return v
    if t is str or t is list or t is dict:
        return len(v) > 0
    if t is int or t is float:
        return v != 0
    if v is None or v is MISSING:
        return False
    if isinstance(v, dict | list | tuple | bytes | bytearray):
        return len(v) > 0
    return True


def f_len(v):
    if v is None:
        raise FuncError("len of nil pointer")
    if v is MISSING:
        raise FuncError("reflect: call of reflect.Value.Type on zero Value")
    if type(v) is str:
        return _blen(v)
    if isinstance(v, dict | list | tuple | bytes | bytearray):
        return len(v)
    raise FuncError(f"len of type {go_type(v)}")


def f_index(item, *indexes):
    if item is None or item is MISSING:
        raise FuncError("index of untyped nil")
    for x in indexes:
        if item is None:
            raise FuncError("index of nil pointer")
        if isinstance(item, dict):
            if x is None or x is MISSING:
                raise FuncError("value is nil; should be of type string")
            if type(x) is not str:
                raise FuncError(f"value has type {go_type(x)}; should be string")
            item = item.get(x)
            continue
        if not isinstance(item, str | list | tuple | bytes | bytearray):
            raise FuncError(f"can't index item of type {go_type(item)}")
        seq = item.encode() if isinstance(item, str) and not item.isascii() else item
        if x is None or x is MISSING:
            raise FuncError("cannot index slice/array with nil")
        if type(x) is not int:
            raise FuncError(f"cannot index slice/array with type {go_type(x)}")
        if x < 0 or x > len(seq):
            raise FuncError(f"index out of range: {x}")
        if x == len(seq):
            raise FuncError(f"reflect: {'string' if isinstance(item, str) else 'slice'} index out of range")
        item = ord(seq[x]) if isinstance(seq, str) else seq[x]
    return item


def f_slice(lst, *indices):
    """sprig's slice, which replaces the builtin in eKuiper's function map."""
    if not isinstance(lst, list | tuple | bytes | bytearray):
        raise FuncError(f"list should be type of slice or array but {kind_name(lst)}")
    n = len(lst)
    if n == 0:
        return None
    start = to_int64(indices[0]) if indices else 0
    end = to_int64(indices[1]) if len(indices) > 1 else n
    if start < 0 or end > n or start > end:
        raise FuncError("reflect: slice index out of range")
    return list(lst[start:end])


def _eval_args(args: tuple) -> str:
    """html, js and urlquery print their arguments as fmt.Sprint, nil as <no value>."""
    if len(args) == 1 and type(args[0]) is str:
        return args[0]
    return go_sprint(["<no value>" if a is None else a for a in args])


_HTML = str.maketrans({'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\0": "\ufffd"})
_JS = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "=": "\\u003D"}


def f_js(*args):
    out = []
    for ch in _eval_args(args):
        if ch in _JS:
            out.append(_JS[ch])
        elif ch < " ":
            out.append(f"\\u00{ord(ch):02X}")
        elif ch >= "\x80" and not ch.isprintable():
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _lenient_json(**opts: bool) -> Callable:
    def to_json(v):
        try:
            return go_json(v, **opts)
        except FuncError:
            return ""  # sprig ignores the marshalling error

    return to_json


def f_from_json(s):
    try:
        return _floatify(jsonvalue.loads(s))
    except (msgspec.DecodeError, ValueError):
        return None


def f_base64(v):
    """eKuiper's deprecated base64: the value's text (maps as JSON), base64-encoded."""
    t = type(v)
    if v is None:
        raise FuncError("based64 error for nil")
    if t is bool or t is int:
        s = fmt_v(v)
    elif t is float:
        s = format(Decimal(repr(v)), "f") if math.isfinite(v) else fmt_float(v)
        s = s[:-2] if s.endswith(".0") else s
    elif t is str:
        s = v
    elif isinstance(v, dict):
        s = go_json(v)
    else:
        raise FuncError(f"Unsupported data type {kind_name(v)} for base64 function.")
    return base64.b64encode(s.encode()).decode()


_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n")


def f_b64dec(s):
    try:
        return base64.b64decode(s.replace("\r", "").replace("\n", ""), validate=True).decode(
            "utf-8", "replace"
        )
    except (binascii.Error, ValueError):
        bad = next((i for i, c in enumerate(s) if c not in _B64_ALPHABET), len(s) - len(s) % 4)
        return f"illegal base64 data at input byte {bad}"  # sprig returns the error text
