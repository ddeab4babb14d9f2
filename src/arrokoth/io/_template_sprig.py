"""sprig's functions for sink data templates: math on int64, float64 and decimals, strings,
regular expressions, dicts, lists and dates."""

from __future__ import annotations

import datetime as _dt
import functools
import math
import re
import warnings
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from arrokoth.functions import timefmt
from arrokoth.functions.datetime import add_nanos, parse_duration
from arrokoth.io._template_convert import (
    _blen,
    _bounds,
    _byte_slice,
    _deep_equal,
    _seq,
    strval,
    to_float64,
    to_int64,
    wrap64,
)
from arrokoth.io._template_values import FuncError, fmt_float, go_quote


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
