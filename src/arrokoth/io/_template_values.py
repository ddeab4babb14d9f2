"""Go's view of Python values in sink data templates: the missing value, a function's
failure, and Go's `%T`, `%v` and quoting of values (`arrokoth.io.templates`)."""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<no value>"


#: Go's invalid reflect.Value: a missing map key, or a nil pipeline result
MISSING: Any = _Missing()


class FuncError(Exception):
    """A template function failed; the engine reports `error calling <name>: <message>`."""


# --- Go's view of Python values ------------------------------------------------------------


def go_type(v: Any) -> str:
    """The Go type name of a value as Go's messages print it (`%T`)."""
    t = type(v)
    if t is str:
        return "string"
    if t is int:
        return "int64"
    if t is float:
        return "float64"
    if t is bool:
        return "bool"
    if v is None or v is MISSING:
        return "<nil>"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, list | tuple):
        return "[]interface {}"
    if isinstance(v, bytes | bytearray):
        return "[]uint8"
    if isinstance(v, _dt.datetime):
        return "time.Time"
    return t.__name__


def kind_name(v: Any) -> str:
    """reflect.Kind's name, used by sprig's `Cannot ... on type %s` messages."""
    if v is None or v is MISSING:
        raise FuncError("runtime error: invalid memory address or nil pointer dereference")
    t = type(v)
    if t is int:
        return "int64"
    if t is float:
        return "float64"
    if t is str:
        return "string"
    if t is bool:
        return "bool"
    if isinstance(v, dict):
        return "map"
    if isinstance(v, list | tuple | bytes | bytearray):
        return "slice"
    return "struct"


def fmt_float(f: float) -> str:
    """Go's `%v` of a float64: strconv's shortest 'g', so exponent form below 1e-4 and from
    1e6 up (`1e+06`, `1.5e-05`), `36.25` and `3` otherwise."""
    a = abs(f)
    if 1e-4 <= a < 1e6:
        r = repr(f)
        if r.endswith(".0"):
            r = r[:-2]
        if len(r.partition(".")[0].lstrip("-")) <= 6:
            return r
    if f != f:
        return "NaN"
    if a == math.inf:
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    r = repr(a)
    mant, _, e = r.partition("e")
    ip, _, fp = mant.partition(".")
    digits = ip + fp
    lead = len(digits) - len(digits.lstrip("0"))
    digits = digits[lead:].rstrip("0") or "0"
    point = len(ip) + (int(e) if e else 0) - lead
    x = point - 1
    sign = "-" if f < 0 else ""
    if x < -4 or x >= 6:
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{m}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def time_string(d: _dt.datetime) -> str:
    """time.Time's String(): `2006-01-02 15:04:05.999999999 -0700 MST`."""
    s = f"{d.year:04d}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}:{d.second:02d}"
    if d.microsecond:
        s += f".{d.microsecond:06d}".rstrip("0")
    off = d.utcoffset() or _dt.timedelta(0)
    secs = int(off.total_seconds())
    sign = "-" if secs < 0 else "+"
    secs = abs(secs)
    return f"{s} {sign}{secs // 3600:02d}{secs % 3600 // 60:02d} {d.tzname() or 'UTC'}"


def _sorted_items(d: dict) -> list:
    try:
        return sorted(d.items())
    except TypeError:
        return sorted(d.items(), key=lambda kv: str(kv[0]))


def fmt_v(v: Any) -> str:
    """Go's `%v`: maps print as `map[a:1 b:2]` with sorted keys, slices as `[1 2 3]`."""
    t = type(v)
    if t is str:
        return v
    if t is int:
        return str(v)
    if t is float:
        return fmt_float(v)
    if t is bool:
        return "true" if v else "false"
    if v is None:
        return "<nil>"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{fmt_v(k)}:{fmt_v(x)}" for k, x in _sorted_items(v)) + "]"
    if isinstance(v, list | tuple):
        return "[" + " ".join(fmt_v(x) for x in v) + "]"
    if isinstance(v, bytes | bytearray):
        return "[" + " ".join(str(b) for b in v) + "]"
    if isinstance(v, _dt.datetime):
        return time_string(v)
    if v is MISSING:
        return "<no value>"
    return str(v)


_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_quote(s: str, q: str = '"') -> str:
    """strconv.Quote (or QuoteRune with q="'")."""
    out = [q]
    for ch in s:
        if ch == q or ch == "\\":
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        else:
            c = ord(ch)
            out.append(f"\\x{c:02x}" if c < 0x80 else f"\\u{c:04x}" if c < 0x10000 else f"\\U{c:08x}")
    out.append(q)
    return "".join(out)


def go_sprint(args: list | tuple) -> str:
    """fmt.Sprint: a space between operands when neither is a string."""
    out = []
    prev_str = False
    for i, a in enumerate(args):
        is_str = type(a) is str
        if i and not is_str and not prev_str:
            out.append(" ")
        out.append(fmt_v(a))
        prev_str = is_str
    return "".join(out)
