"""The values and functions of sink data templates (`arrokoth.io.templates`).

Go's `%v` printing and `printf`, the Go template builtins, eKuiper's `json`/`base64` and
the commonly used part of sprig. Each function is registered with the Go kinds of its
parameters, so the engine converts and checks arguments as Go's text/template does; a
function reports failure by raising `FuncError` (Go's error result or panic).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import functools
import hashlib
import math
import re
import uuid
import warnings
import zlib
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote_plus

import msgspec

from arrokoth.functions import jsonvalue, timefmt
from arrokoth.functions.datetime import add_nanos, parse_duration


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


# --- printf ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _parse_format(fmt: str) -> tuple:
    """A printf format as literal strings and (flags, width, precision, verb) tuples."""
    parts: list = []
    i, n = 0, len(fmt)
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            parts.append(fmt[i:])
            break
        if j > i:
            parts.append(fmt[i:j])
        i = j + 1
        flags = ""
        while i < n and fmt[i] in "+-# 0":
            flags += fmt[i]
            i += 1
        width: int | str | None = None
        prec: int | str | None = None
        if i < n and fmt[i] == "*":
            width, i = "*", i + 1
        else:
            s = i
            while i < n and "0" <= fmt[i] <= "9":
                i += 1
            width = int(fmt[s:i]) if i > s else None
        if i < n and fmt[i] == ".":
            i += 1
            if i < n and fmt[i] == "*":
                prec, i = "*", i + 1
            else:
                s = i
                while i < n and "0" <= fmt[i] <= "9":
                    i += 1
                prec = int(fmt[s:i]) if i > s else 0
        if i >= n:
            parts.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        parts.append("%" if verb == "%" else (flags, width, prec, verb))
    return tuple(parts)


def _bad_verb(v: Any, verb: str) -> str:
    if v is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(v)}={fmt_v(v)})"


def _sign(s: str, v: float | int, flags: str) -> str:
    if v >= 0 and not s.startswith("-"):
        if "+" in flags:
            return "+" + s
        if " " in flags:
            return " " + s
    return s


def _fmt_int(v: int, flags: str, prec: int | None, verb: str) -> str:
    if verb in "dv":
        s = str(abs(v))
    elif verb in "bBoOxX":
        s = format(abs(v), {"O": "o", "B": "b"}.get(verb, verb))
        if "#" in flags or verb == "O":
            s = {"b": "0b", "o": "0", "O": "0o", "x": "0x", "X": "0X"}.get(verb, "") + s
    elif verb == "c":
        return chr(v) if 0 <= v <= 0x10FFFF else "\ufffd"
    elif verb == "q":
        return go_quote(chr(v) if 0 <= v <= 0x10FFFF else "\ufffd", "'")
    elif verb == "U":
        return f"U+{v:04X}"
    else:
        return _bad_verb(v, verb)
    if prec is not None and verb in "dv":
        s = s.rjust(prec, "0")
    return _sign(("-" if v < 0 else "") + s, v, flags)


def _fmt_floatv(v: float, flags: str, prec: int | None, verb: str) -> str:
    if v != v or v in (math.inf, -math.inf):
        return "NaN" if v != v else ("+Inf" if v > 0 else "-Inf")
    if verb in "vgG" and prec is None:
        s = fmt_float(v)
        s = s.upper() if verb == "G" else s
    elif verb in "eEfFgG":
        s = format(v, f".{6 if prec is None else prec}{verb.lower() if verb == 'F' else verb}")
    elif verb in "xX":
        m, _, e = v.hex().partition("p")
        m = m.rstrip("0").rstrip(".") if "." in m else m
        s = f"{m}p{int(e):+03d}"
        s = s.upper() if verb == "X" else s
    else:
        return _bad_verb(v, verb)
    return _sign(s, v, flags)


def _fmt_one(v: Any, flags: str, prec: int | None, verb: str) -> str:
    t = type(v)
    if verb == "T":
        return go_type(v)
    if t is str or isinstance(v, bytes | bytearray):
        if t is not str and verb == "v":
            return fmt_v(v)
        s = v if t is str else bytes(v).decode("utf-8", "replace")
        if verb in "sv":
            return s if prec is None else s[:prec]
        if verb == "q":
            return go_quote(s if prec is None else s[:prec])
        if verb in "xX":
            b = s.encode()[: prec if prec is not None else None]
            sep = " " if " " in flags else ""
            h = sep.join(f"{c:02x}" for c in b)
            return h.upper() if verb == "X" else h
        return _bad_verb(v, verb)
    if t is bool:
        return ("true" if v else "false") if verb in "tv" else _bad_verb(v, verb)
    if t is int:
        return _fmt_int(v, flags, prec, verb)
    if t is float:
        return _fmt_floatv(v, flags, prec, verb)
    if v is None:
        return "<nil>" if verb == "v" else _bad_verb(v, verb)
    if isinstance(v, dict):
        items = " ".join(
            f"{_fmt_one(k, flags, prec, verb)}:{_fmt_one(x, flags, prec, verb)}" for k, x in _sorted_items(v)
        )
        return f"map[{items}]"
    if isinstance(v, list | tuple):
        return "[" + " ".join(_fmt_one(x, flags, prec, verb) for x in v) + "]"
    if isinstance(v, _dt.datetime) and verb in "vs":
        return time_string(v)
    return fmt_v(v) if verb == "v" else _bad_verb(v, verb)


def _pad(s: str, width: int | None, flags: str, numeric: bool) -> str:
    if width is None or len(s) >= width:
        return s
    if "-" in flags:
        return s.ljust(width)
    if "0" in flags and numeric:
        if s[:1] in "+- ":
            return s[0] + s[1:].rjust(width - 1, "0")
        return s.rjust(width, "0")
    return s.rjust(width)


def go_sprintf(fmt: str, args: list | tuple) -> str:
    """fmt.Sprintf for the verbs used in practice, with Go's `%!verb(...)` error forms."""
    out = []
    n = 0
    for part in _parse_format(fmt):
        if type(part) is str:
            out.append(part)
            continue
        flags, width, prec, verb = part
        if width == "*":
            width = args[n] if n < len(args) and type(args[n]) is int else None
            n += 1
            if width is None:
                out.append("%!(BADWIDTH)")
            elif width < 0:
                flags, width = flags + "-", -width
        if prec == "*":
            prec = args[n] if n < len(args) and type(args[n]) is int else None
            n += 1
            if prec is None:
                out.append("%!(BADPREC)")
        if n >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        v = args[n]
        n += 1
        numeric = type(v) in (int, float) and verb not in "cqUT"
        out.append(_pad(_fmt_one(v, flags, prec, verb), width, flags, numeric))
    if n < len(args):
        extra = ", ".join("<nil>" if a is None else f"{go_type(a)}={fmt_v(a)}" for a in args[n:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


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


def _int_div(a: int, b: int) -> int:
    if b == 0:
        raise FuncError("runtime error: integer divide by zero")
    q = abs(a) // abs(b)
    return wrap64(q if (a < 0) == (b < 0) else -q)


def f_mul(a, *vs):
    r = to_int64(a)
    for v in vs:
        r = wrap64(r * to_int64(v))
    return r


def _fminmax(pick_new: Callable[[float, float], bool]) -> Callable:
    """math.Max / math.Min folded over the arguments (NaN wins, as in Go)."""

    def fold(a, *vs):
        r = to_float64(a)
        for v in vs:
            x = to_float64(v)
            if r == r and (x != x or pick_new(x, r)):
                r = x
        return r

    return fold


def _fdiv(a: float, b: float) -> float:
    """Go's float division: no exception on zero."""
    if b == 0:
        return math.nan if a == 0 or a != a else math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def f_round(v, places, *round_on):
    """sprig's round: half away from zero by default, `roundOn` sets the threshold."""
    on = round_on[0] if round_on else 0.5
    try:
        pw = math.pow(10, places)
    except OverflowError:
        pw = math.inf
    digit = pw * to_float64(v)
    if not math.isfinite(digit):
        return _fdiv(digit, pw)
    r = math.ceil(digit) if math.modf(digit)[0] >= on else math.floor(digit)
    return _fdiv(float(r), pw)


def _rounded(fn: Callable) -> Callable:
    def f(v):
        x = to_float64(v)
        return float(fn(x)) if math.isfinite(x) else x

    return f


def _decimal(v: Any) -> Decimal:
    f = to_float64(v)
    if not math.isfinite(f):
        raise FuncError(f"Cannot create a Decimal from {fmt_float(f)}")
    return Decimal(repr(f))


def _decimal_op(op: Callable) -> Callable:
    """sprig's execDecimalOp: exact decimal arithmetic on the floats' shortest digits."""

    def run(a, *rest):
        acc = _decimal(a)
        try:
            for x in rest:
                acc = op(acc, _decimal(x))
        except (InvalidOperation, ZeroDivisionError):
            raise FuncError("decimal division by zero") from None
        return float(acc)

    return run


def _ddiv(a: Decimal, b: Decimal) -> Decimal:
    if b == 0:
        raise ZeroDivisionError
    return (a / b).quantize(Decimal(1).scaleb(-16), rounding=ROUND_HALF_UP)


def _until_step(start: int, stop: int, step: int) -> list[int]:
    if stop < start:
        return list(range(start, stop, step)) if step < 0 else []
    return list(range(start, stop, step)) if step > 0 else []


def f_seq(*p):
    if len(p) == 1:
        step = 1 if p[0] >= 1 else -1
        r = _until_step(1, p[0] + step, step)
    elif len(p) == 2:
        step = 1 if p[1] >= p[0] else -1
        r = _until_step(p[0], p[1] + step, step)
    elif len(p) == 3:
        inc = -1 if p[2] < p[0] else 1
        if inc < 0 and p[1] > 0:
            return ""
        r = _until_step(p[0], p[2] + inc, p[1])
    else:
        return ""
    return " ".join(str(x) for x in r)


def _per_rune(method: Callable[[str], str]) -> Callable[[str], str]:
    """strings.ToUpper/ToLower: one rune maps to one rune (`ß` stays)."""

    def f(s: str) -> str:
        if s.isascii():
            return method(s)
        return "".join(c2 if len(c2 := method(c)) == 1 else c for c in s)

    return f


def f_title(s):
    """strings.Title: a letter after a separator (not a letter, digit or underscore) goes upper."""
    out, prev = [], " "
    for c in s:
        sep = not (prev.isalnum() or prev == "_") if prev < "\x80" else prev.isspace()
        out.append(c.upper() if sep and len(c.upper()) == 1 else c)
        prev = c
    return "".join(out)


def f_replace(old, new, s):
    if old == "":
        return new + new.join(s) + new if s else new
    return s.replace(old, new)


def f_repeat(n, s):
    if n < 0:
        raise FuncError("strings: negative Repeat count")
    if len(s) * n > 1 << 26:  # Go's limit is memory; a sink should not die trying
        raise FuncError("strings: Repeat output length overflow")
    return s * n


def f_substr(start, end, s):
    n = _blen(s)
    if start < 0:
        _bounds(None, end, n)
        return _byte_slice(s, None, end)
    if end < 0 or end > n:
        _bounds(start, None, n)
        return _byte_slice(s, start, None)
    _bounds(start, end, n)
    return _byte_slice(s, start, end)


def f_trunc(c, s):
    n = _blen(s)
    if c < 0 and n + c > 0:
        return _byte_slice(s, n + c, None)
    if c >= 0 and n > c:
        return _byte_slice(s, None, c)
    return s


def _go_split(s: str, sep: str) -> list[str]:
    return list(s) if sep == "" else s.split(sep)


# regular expressions: Go's RE2 syntax, translated to Python's where they differ

_POSIX = {
    "[:alpha:]": "a-zA-Z",
    "[:digit:]": "0-9",
    "[:alnum:]": "0-9A-Za-z",
    "[:upper:]": "A-Z",
    "[:lower:]": "a-z",
    "[:space:]": "\\t\\n\\v\\f\\r ",
    "[:xdigit:]": "0-9A-Fa-f",
    "[:word:]": "0-9A-Za-z_",
    "[:punct:]": "!-/:-@\\[-`{-~",
}


@functools.lru_cache(maxsize=256)
def _regex(expr: str) -> re.Pattern:
    py = expr.replace("\\z", "\\Z").replace("(?<", "(?P<").replace("(?P<=", "(?<=").replace("(?P<!", "(?<!")
    for cls, rng in _POSIX.items():
        py = py.replace(cls, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return re.compile(py)
        except (re.error, OverflowError, RecursionError) as e:
            raise FuncError(f"regexp: Compile({go_quote(expr, '`')}): error parsing regexp: {e}") from None


def f_regex_match(expr, s):
    try:
        return _regex(expr).search(s) is not None
    except FuncError:
        return False


def _expand(m: re.Match, repl: str) -> str:
    """Go's Regexp.Expand: $1, ${1}, $name, ${name} and $$."""
    out, i, n = [], 0, len(repl)
    while i < n:
        j = repl.find("$", i)
        if j < 0 or j == n - 1:
            out.append(repl[i:])
            break
        out.append(repl[i:j])
        i = j + 1
        if repl[i] == "$":
            out.append("$")
            i += 1
            continue
        if repl[i] == "{":
            k = repl.find("}", i)
            name = repl[i + 1 : k] if k > 0 else ""
            if not name or not all(c.isalnum() or c == "_" for c in name):
                out.append("$")
                continue
            i = k + 1
        else:
            k = i
            while k < n and (repl[k].isalnum() or repl[k] == "_"):
                k += 1
            if k == i:
                out.append("$")
                continue
            name, i = repl[i:k], k
        try:
            g = m.group(int(name) if name.isdigit() else name)
        except (IndexError, KeyError, re.error):
            g = None
        out.append(g or "")
    return "".join(out)


def f_regex_split(expr, s, n):
    if n == 0:
        return None
    if expr and not s:
        return [""]
    out, beg, end = [], 0, 0
    for m in _regex(expr).finditer(s):
        if n > 0 and len(out) == n - 1:
            break
        end = m.start()
        if m.end() != 0:
            out.append(s[beg:end])
        beg = m.end()
    if end != len(s):
        out.append(s[beg:])
    return out


def f_fail(msg):
    raise FuncError(msg)


def f_dict(*kv):
    d = {}
    for i in range(0, len(kv), 2):
        d[strval(kv[i])] = kv[i + 1] if i + 1 < len(kv) else ""
    return d


def f_set(d, key, value):
    if d is None:
        raise FuncError("assignment to entry in nil map")
    d[key] = value  # sprig mutates the map in place, and templates rely on it
    return d


def f_unset(d, key):
    if d is None:
        return {}
    d.pop(key, None)
    return d


def f_dig(*ps):
    if len(ps) < 3:
        raise FuncError(f"wrong number of args for dig: want at least 3 got {len(ps)}")
    *keys, default, d = ps
    for k in keys:
        if not isinstance(d, dict) or strval(k) not in d:
            return default
        d = d[strval(k)]
    return d


def _on_list(what: str, fn: Callable[[list], Any]) -> Callable:
    def f(v, *rest):
        return fn(_seq(v, what), *rest)

    return f


def _uniq(seq: list) -> list:
    out: list = []
    for x in seq:
        if not any(_deep_equal(x, y) for y in out):
            out.append(x)
    return out


def f_concat(*lists):
    out: list = []
    for v in lists:
        out.extend(_seq(v, "concat"))
    return out


# dates: `Local` is the configured zone (basic.timezone); `now` comes from the template


def _zone(name: str) -> _dt.tzinfo:
    if name == "Local":
        return timefmt.default_timezone()
    try:
        return timefmt.load_zone(name)
    except ValueError:
        return _dt.UTC


def f_date_in_zone(now, layout, date, zone):
    if isinstance(date, _dt.datetime):
        t = date
    elif type(date) is int:
        t = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC) + _dt.timedelta(seconds=date)
    else:
        t = now()  # sprig formats the current time for anything else, floats included
    return timefmt.format_layout(t.astimezone(_zone(zone)), layout)


_ZERO_TIME = _dt.datetime(1, 1, 1, tzinfo=_dt.UTC)


def f_to_date(layout, s):
    tz = timefmt.default_timezone()
    try:
        f = timefmt.parse_tokens(s, timefmt.go_layout(layout), tz)
        if f["utc"]:
            zone: _dt.tzinfo = _dt.UTC
        elif f["offset"] is not None:
            zone = _dt.timezone(_dt.timedelta(seconds=f["offset"]))
        else:
            zone = tz
        # Go's year 0 (a layout without a year) does not exist in Python: year 1 stands in
        fields = (
            f["year"] or 1,
            f["month"],
            f["day"],
            f["hour"],
            f["minute"],
            f["second"],
            f["nanos"] // 1000,
        )
        return _dt.datetime(*fields, tzinfo=zone)
    except Exception:  # any parse failure gives Go's zero time, as sprig ignores the error
        return _ZERO_TIME


def f_date_modify(delta, t):
    try:
        return add_nanos(t, parse_duration(delta))
    except ValueError:
        return t


# --- the registry ----------------------------------------------------------------------------------

#: Go parameter types by kind, for `wrong type for value; expected ...`
PARAM_TYPES = {
    "str": "string",
    "int": "int",
    "f64": "float64",
    "bool": "bool",
    "map": "map[string]interface {}",
    "time": "time.Time",
}
#: builtins the engine evaluates itself (short-circuit, comparisons with literal types)
SPECIAL = ("and", "or", "call", "eq", "ne", "lt", "le", "gt", "ge")

# name: (parameter kinds, kind of the variadic rest, implementation). Kinds: `any` is
# interface{}, `val` a reflect.Value (sees a missing value as such), `$now` the clock.
# fmt: off
_TABLE: dict[str, tuple[str, str | None, Callable]] = {
    # Go builtins
    "not": ("val", None, lambda v: not truth(v)),
    "len": ("val", None, f_len),
    "index": ("val", "val", f_index),
    "slice": ("any", "any", f_slice),
    "print": ("", "any", lambda *a: go_sprint(a)),
    "printf": ("str", "any", lambda fmt, *a: go_sprintf(fmt, a)),
    "println": ("", "any", lambda *a: " ".join(fmt_v(x) for x in a) + "\n"),
    "html": ("", "any", lambda *a: _eval_args(a).translate(_HTML)),
    "js": ("", "any", f_js),
    "urlquery": ("", "any", lambda *a: quote_plus(_eval_args(a), safe="-_.~")),
    # eKuiper
    "json": ("any", None, _lenient_json()),
    "base64": ("any", None, f_base64),
    # sprig: JSON, encodings, hashes
    "toJson": ("any", None, _lenient_json()),
    "toPrettyJson": ("any", None, _lenient_json(indent=True)),
    "toRawJson": ("any", None, _lenient_json(escape_html=False)),
    "mustToJson": ("any", None, go_json),
    "fromJson": ("str", None, f_from_json),
    "b64enc": ("str", None, lambda s: base64.b64encode(s.encode()).decode()),
    "b64dec": ("str", None, f_b64dec),
    "b32enc": ("str", None, lambda s: base64.b32encode(s.encode()).decode()),
    "sha256sum": ("str", None, lambda s: hashlib.sha256(s.encode()).hexdigest()),
    "sha1sum": ("str", None, lambda s: hashlib.sha1(s.encode()).hexdigest()),
    "adler32sum": ("str", None, lambda s: str(zlib.adler32(s.encode()))),
    "uuidv4": ("", None, lambda: str(uuid.uuid4())),
    # sprig: math on int64, float64 and decimals
    "add": ("", "any", lambda *vs: wrap64(sum(to_int64(v) for v in vs))),
    "add1": ("any", None, lambda v: wrap64(to_int64(v) + 1)),
    "sub": ("any any", None, lambda a, b: wrap64(to_int64(a) - to_int64(b))),
    "mul": ("any", "any", f_mul),
    "div": ("any any", None, lambda a, b: _int_div(to_int64(a), to_int64(b))),
    "mod": ("any any", None, lambda a, b: wrap64(to_int64(a) - to_int64(b) * _int_div(to_int64(a), to_int64(b)))),
    "max": ("any", "any", lambda a, *vs: max([to_int64(a), *map(to_int64, vs)])),
    "biggest": ("any", "any", lambda a, *vs: max([to_int64(a), *map(to_int64, vs)])),
    "min": ("any", "any", lambda a, *vs: min([to_int64(a), *map(to_int64, vs)])),
    "maxf": ("any", "any", _fminmax(lambda x, r: x > r)),
    "minf": ("any", "any", _fminmax(lambda x, r: x < r)),
    "floor": ("any", None, _rounded(math.floor)),
    "ceil": ("any", None, _rounded(math.ceil)),
    "round": ("any int", "f64", f_round),
    "addf": ("", "any", lambda *vs: _decimal_op(lambda x, y: x + y)(0.0, *vs)),
    "subf": ("any", "any", _decimal_op(lambda x, y: x - y)),
    "mulf": ("any", "any", _decimal_op(lambda x, y: x * y)),
    "divf": ("any", "any", _decimal_op(_ddiv)),
    "until": ("int", None, lambda n: _until_step(0, n, 1 if n >= 0 else -1)),
    "untilStep": ("int int int", None, _until_step),
    "seq": ("", "int", f_seq),
    # sprig: conversion and reflection
    "atoi": ("str", None, lambda s: parse_go_int(s, base0=False) or 0),
    "int": ("any", None, to_int64),
    "int64": ("any", None, to_int64),
    "float64": ("any", None, to_float64),
    "toString": ("any", None, strval),
    "typeOf": ("any", None, go_type),
    "deepEqual": ("any any", None, _deep_equal),
    # sprig: strings (the string argument comes last, so "x" | upper and .s | trimPrefix "a" read well)
    "upper": ("str", None, _per_rune(str.upper)),
    "lower": ("str", None, _per_rune(str.lower)),
    "title": ("str", None, f_title),
    "trim": ("str", None, str.strip),
    "trimAll": ("str str", None, lambda cut, s: s.strip(cut) if cut else s),
    "trimall": ("str str", None, lambda cut, s: s.strip(cut) if cut else s),
    "trimPrefix": ("str str", None, lambda p, s: s.removeprefix(p)),
    "trimSuffix": ("str str", None, lambda p, s: s.removesuffix(p)),
    "replace": ("str str str", None, f_replace),
    "contains": ("str str", None, lambda sub, s: sub in s),
    "hasPrefix": ("str str", None, lambda p, s: s.startswith(p)),
    "hasSuffix": ("str str", None, lambda p, s: s.endswith(p)),
    "repeat": ("int str", None, f_repeat),
    "substr": ("int int str", None, f_substr),
    "trunc": ("int str", None, f_trunc),
    "split": ("str str", None, lambda sep, s: {f"_{i}": p for i, p in enumerate(_go_split(s, sep))}),
    "splitList": ("str str", None, lambda sep, s: _go_split(s, sep)),
    "join": ("str any", None, lambda sep, v: sep.join(_strslice(v))),
    "quote": ("", "any", lambda *vs: " ".join(go_quote(strval(v)) for v in vs if v is not None)),
    "squote": ("", "any", lambda *vs: " ".join(f"'{fmt_v(v)}'" for v in vs if v is not None)),
    "cat": ("", "any", lambda *vs: " ".join(fmt_v(v) for v in vs if v is not None)),
    "indent": ("int str", None, lambda n, s: f_repeat(n, " ") + s.replace("\n", "\n" + f_repeat(n, " "))),
    "nindent": ("int str", None, lambda n, s: "\n" + f_repeat(n, " ") + s.replace("\n", "\n" + f_repeat(n, " "))),
    "plural": ("str str int", None, lambda one, many, n: one if n == 1 else many),
    "regexMatch": ("str str", None, f_regex_match),
    "regexFind": ("str str", None, lambda e, s: m.group(0) if (m := _regex(e).search(s)) else ""),
    "regexFindAll": ("str str int", None, lambda e, s, n: [m.group(0) for m in _regex(e).finditer(s)][: n if n >= 0 else None]),
    "regexReplaceAll": ("str str str", None, lambda e, s, r: _regex(e).sub(lambda m: _expand(m, r), s)),
    "regexReplaceAllLiteral": ("str str str", None, lambda e, s, r: _regex(e).sub(lambda m: r, s)),
    "regexSplit": ("str str int", None, f_regex_split),
    # sprig: defaults and flow control
    "default": ("any", "any", lambda d, *given: d if not given or empty(given[0]) else given[0]),
    "empty": ("any", None, empty),
    "coalesce": ("", "any", lambda *vs: next((v for v in vs if not empty(v)), None)),
    "all": ("", "any", lambda *vs: all(not empty(v) for v in vs)),
    "any": ("", "any", lambda *vs: any(not empty(v) for v in vs)),
    "ternary": ("any any bool", None, lambda a, b, cond: a if cond else b),
    "fail": ("str", None, f_fail),
    # sprig: dicts (a nil map arrives as None)
    "dict": ("", "any", f_dict),
    "get": ("map str", None, lambda d, k: d[k] if d is not None and k in d else ""),
    "set": ("map str any", None, f_set),
    "unset": ("map str", None, f_unset),
    "hasKey": ("map str", None, lambda d, k: d is not None and k in d),
    "keys": ("", "map", lambda *ds: [k for d in ds if d for k in d]),
    "values": ("map", None, lambda d: list(d.values()) if d else []),
    "pick": ("map", "str", lambda d, *ks: {k: d[k] for k in ks if d and k in d}),
    "omit": ("map", "str", lambda d, *ks: {k: v for k, v in (d or {}).items() if k not in ks}),
    "pluck": ("str", "map", lambda key, *ds: [d[key] for d in ds if d and key in d]),
    "dig": ("", "any", f_dig),
    # sprig: lists
    "list": ("", "any", lambda *vs: list(vs)),
    "tuple": ("", "any", lambda *vs: list(vs)),
    "first": ("any", None, _on_list("find first", lambda s: s[0] if s else None)),
    "last": ("any", None, _on_list("find last", lambda s: s[-1] if s else None)),
    "rest": ("any", None, _on_list("find rest", lambda s: s[1:])),
    "initial": ("any", None, _on_list("find initial", lambda s: s[:-1])),
    "append": ("any any", None, _on_list("push", lambda s, x: [*s, x])),
    "push": ("any any", None, _on_list("push", lambda s, x: [*s, x])),
    "prepend": ("any any", None, _on_list("prepend", lambda s, x: [x, *s])),
    "reverse": ("any", None, _on_list("find reverse", lambda s: s[::-1])),
    "compact": ("any", None, _on_list("compact", lambda s: [x for x in s if not empty(x)])),
    "uniq": ("any", None, _on_list("find uniq", _uniq)),
    "has": ("any any", None, lambda needle, v: any(_deep_equal(needle, x) for x in _seq(v, "find has"))),
    "without": ("any", "any", _on_list("find without", lambda s, *o: [x for x in s if not any(_deep_equal(x, y) for y in o)])),
    "concat": ("", "any", f_concat),
    "sortAlpha": ("any", None, lambda v: sorted(_strslice(v)) if isinstance(v, list | tuple) else [strval(v)]),
    # sprig: dates
    "now": ("$now", None, lambda now: now()),
    "date": ("$now str any", None, lambda now, layout, d: f_date_in_zone(now, layout, d, "Local")),
    "dateInZone": ("$now str any str", None, f_date_in_zone),
    "date_in_zone": ("$now str any str", None, f_date_in_zone),
    "htmlDate": ("$now any", None, lambda now, d: f_date_in_zone(now, "2006-01-02", d, "Local")),
    "htmlDateInZone": ("$now any str", None, lambda now, d, z: f_date_in_zone(now, "2006-01-02", d, z)),
    "toDate": ("str str", None, f_to_date),
    "unixEpoch": ("time", None, lambda t: str(math.floor(t.timestamp()))),
    "dateModify": ("str time", None, f_date_modify),
    "date_modify": ("str time", None, f_date_modify),
}
# fmt: on

#: name -> (implementation, parameter kinds, kind of the variadic rest or None)
FUNCS: dict[str, tuple[Callable, tuple[str, ...], str | None]] = {
    name: (impl, tuple(params.split()), var) for name, (params, var, impl) in _TABLE.items()
}
for _name in SPECIAL:
    FUNCS[_name] = (lambda *a: None, (), "val")  # placeholders: the engine compiles these itself
