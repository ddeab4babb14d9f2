"""Conversions for sink data template functions: spf13/cast as sprig uses it (failures give
zero), sprig's string, slice and emptiness helpers, and encoding/json's Marshal."""

from __future__ import annotations

import math
from typing import Any

import msgspec

from arrokoth.functions import jsonvalue
from arrokoth.io._template_values import MISSING, FuncError, fmt_v, kind_name

# --- conversions (spf13/cast, as sprig uses it: failures give zero) -------------------------------


def _trim_zero_decimal(s: str) -> str:
    seen_zero = False
    for i in range(len(s), 0, -1):
        c = s[i - 1]
        if c == ".":
            if seen_zero:
                return s[: i - 1]
        elif c == "0":
            seen_zero = True
        else:
            return s
    return s


def parse_go_int(s: str, base0: bool = True) -> int | None:
    """strconv.ParseInt(s, 0, 64), or with base0 off strconv.Atoi; None when Go fails."""
    body = s[1:] if s[:1] in "+-" else s
    neg = s[:1] == "-"
    base, digits, prefixed = 10, body, False
    if base0 and len(body) > 1 and body[0] == "0":
        p = body[1].lower()
        prefixed = p in "xob"
        base, digits = {"x": (16, body[2:]), "o": (8, body[2:]), "b": (2, body[2:])}.get(p, (8, body[1:]))
    if not digits or not digits.isascii() or "__" in digits or digits.endswith("_"):
        return None
    # underscores only with base 0, between digits or right after a base prefix
    if "_" in digits and (not base0 or (digits[0] == "_" and not prefixed)):
        return None
    try:
        x = int(digits.replace("_", ""), base)
    except ValueError:
        return None
    x = -x if neg else x
    return x if -(1 << 63) <= x < (1 << 63) else None


def to_int64(v: Any) -> int:
    t = type(v)
    if t is int:
        return v
    if t is float:
        return int(v) if -9.223372036854775e18 <= v <= 9.223372036854775e18 else -(1 << 63)
    if t is bool:
        return 1 if v else 0
    if t is str:
        x = parse_go_int(_trim_zero_decimal(v))
        return 0 if x is None else x
    return 0


def parse_go_float(s: str) -> float | None:
    if not s or s != s.strip() or not s.isascii():
        return None
    try:
        body = s.lstrip("+-")
        if body[:2].lower() == "0x":
            return float.fromhex(s.replace("_", ""))
        return float(s)
    except ValueError:
        return None


def to_float64(v: Any) -> float:
    t = type(v)
    if t is float:
        return v
    if t is int or t is bool:
        return float(v)
    if t is str:
        x = parse_go_float(v)
        return 0.0 if x is None else x
    return 0.0


def wrap64(x: int) -> int:
    if -(1 << 63) <= x < (1 << 63):
        return x
    return ((x + (1 << 63)) % (1 << 64)) - (1 << 63)


def strval(v: Any) -> str:
    """sprig's strval: strings and bytes as they are, time.Time via String(), else %v."""
    if type(v) is str:
        return v
    if isinstance(v, bytes | bytearray):
        return bytes(v).decode("utf-8", "replace")
    return fmt_v(v)


def _strslice(v: Any) -> list[str]:
    if isinstance(v, list | tuple):
        return [strval(x) for x in v if x is not None]
    if v is None:
        return []
    return [strval(v)]


def _seq(v: Any, what: str) -> list:
    if isinstance(v, list | tuple):
        return list(v)
    if isinstance(v, bytes | bytearray):
        return list(v)
    raise FuncError(f"Cannot {what} on type {kind_name(v)}")


def _deep_equal(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_deep_equal(x, y) for x, y in zip(a, b))
    return a == b


def empty(v: Any) -> bool:
    """sprig's empty, which is Go's template truth negated."""
    t = type(v)
    if t is bool:
        return not v
    if t is int or t is float:
        return v == 0
    if t is str or isinstance(v, dict | list | tuple | bytes | bytearray):
        return len(v) == 0
    return v is None or v is MISSING


def _byte_slice(s: str, a: int | None, b: int | None) -> str:
    if s.isascii():
        return s[a:b]
    return s.encode()[a:b].decode("utf-8", "replace")


def _blen(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode())


def _bounds(a: int | None, b: int | None, n: int) -> None:
    lo = 0 if a is None else a
    hi = n if b is None else b
    if b is not None and (b < 0 or b > n):
        raise FuncError(f"runtime error: slice bounds out of range [:{b}] with length {n}")
    if a is not None and (lo < 0 or lo > hi):
        raise FuncError(f"runtime error: slice bounds out of range [{lo}:{hi}]")


# --- JSON ----------------------------------------------------------------------------------------


def _nonfinite(v: Any) -> bool:
    t = type(v)
    if t is float:
        return v != v or v in (math.inf, -math.inf)
    if isinstance(v, dict):
        return any(_nonfinite(x) for x in v.values())
    if isinstance(v, list | tuple):
        return any(_nonfinite(x) for x in v)
    return False


def go_json(v: Any, *, escape_html: bool = True, indent: bool = False) -> str:
    """encoding/json's Marshal (sorted keys; <, > and & escaped unless escape_html is off)."""
    if v is MISSING:
        v = None
    try:
        b = jsonvalue.encode(v, sort_keys=True)
    except (ValueError, TypeError, OverflowError, msgspec.EncodeError) as e:
        raise FuncError(f"json: unsupported value: {e}") from None
    if b"null" in b and _nonfinite(v):
        raise FuncError("json: unsupported value: NaN")
    if indent:
        b = msgspec.json.format(b, indent=2)
    if escape_html and (b"<" in b or b">" in b or b"&" in b):
        b = b.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")
    if b"\xe2\x80\xa8" in b or b"\xe2\x80\xa9" in b:
        b = b.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return b.decode()


def _floatify(v: Any) -> Any:
    t = type(v)
    if t is int:
        return float(v)
    if t is dict:
        return {k: _floatify(x) for k, x in v.items()}
    if t is list:
        return [_floatify(x) for x in v]
    return v
