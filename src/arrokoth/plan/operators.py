"""eKuiper's operator semantics on runtime values.

Each operator is a function of two evaluated operands. The compiler builds closures
that call these; the common numeric cases are tested first so a filter such as
`temperature > 50` costs two type checks and a comparison.
"""

from __future__ import annotations

import datetime as _dt
import math
import operator as _op
import re
from typing import Any

from arrokoth.functions.values import EvalError, format_value, invalid_operation

_COMPARE = {
    "=": _op.eq,
    "!=": _op.ne,
    "<": _op.lt,
    "<=": _op.le,
    ">": _op.gt,
    ">=": _op.ge,
}


def _datetime_operand(v: Any) -> _dt.datetime | None:
    t = type(v)
    if isinstance(v, _dt.datetime):
        return v
    if t is int or t is float:
        return _dt.datetime.fromtimestamp(v / 1000, _dt.UTC)
    if t is str:
        from arrokoth.functions import timefmt

        # cast.InterfaceToTime: automatic layouts. (timefmt has no parse_auto; the broad
        # except used to hide that AttributeError, so no string ever compared.)
        try:
            return timefmt.parse_time(v)
        except ValueError:
            return None
    return None


def compare(op: str, a: Any, b: Any) -> bool:
    """`= != < <= > >=`: null gives false; mismatched types are an error."""
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        return _COMPARE[op](a, b)
    if a is None or b is None:
        return False
    if ta is str and tb is str:
        return _COMPARE[op](a, b)
    if ta is bool and tb is bool:
        if op == "=":
            return a is b
        if op == "!=":
            return a is not b
        raise invalid_operation(a, op, b)
    if isinstance(a, _dt.datetime) or isinstance(b, _dt.datetime):
        da, db = _datetime_operand(a), _datetime_operand(b)
        if da is not None and db is not None:
            return _COMPARE[op](da, db)
    raise invalid_operation(a, op, b)


def _int_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _int_mod(a: int, b: int) -> int:
    return a - b * _int_div(a, b)


def arithmetic(op: str, a: Any, b: Any) -> Any:
    """`+ - * / %` and the bitwise `& | ^`; null in, null out."""
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            if b == 0:
                raise EvalError("divided by zero")
            return _int_div(a, b)
        if op == "%":
            if b == 0:
                raise EvalError("divided by zero")
            return _int_mod(a, b)
        if op == "&":
            return a & b
        if op == "|":
            return a | b
        if op == "^":
            return a ^ b
    elif (ta is int or ta is float) and (tb is int or tb is float):
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            if b == 0:
                raise EvalError("divided by zero")
            return a / b
        if op == "%":
            if b == 0:
                raise EvalError("divided by zero")
            return math.fmod(a, b)
    elif a is None or b is None:
        # spec §4.3: arithmetic with null is null, but bitwise ops with null are false
        return False if op in ("&", "|", "^") else None
    elif ta is bool and tb is bool:
        if op == "&":
            return a and b
        if op == "|":
            return a or b
        if op == "^":
            return a is not b
    raise invalid_operation(a, op, b)


def logical_operand(v: Any, op: str, other: Any, left: bool) -> bool:
    if v is True or v is False:
        return v
    if v is None:
        return False
    raise invalid_operation(v, op, other) if left else invalid_operation(other, op, v)


def in_list(v: Any, values: Any) -> bool:
    if v is None:
        return False
    # elements compare with `=` semantics, so a type mismatch is an error, not a miss
    try:
        return any(compare("=", v, x) for x in values)
    except EvalError as e:
        raise EvalError(f"evaluate in expression error: {e}") from None


_LIKE_CACHE: dict[str, re.Pattern[str]] = {}


def like_regex(pattern: str) -> re.Pattern[str]:
    """`%` any run, `_` one character, `\\%` and `\\_` literal; anchored."""
    rx = _LIKE_CACHE.get(pattern)
    if rx is not None:
        return rx
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_\\":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        else:
            out.append(re.escape(c))
        i += 1
    rx = re.compile("".join(out), re.DOTALL)
    if len(_LIKE_CACHE) < 1024:
        _LIKE_CACHE[pattern] = rx
    return rx


def like(v: Any, pattern: Any) -> bool:
    # eKuiper prints the operand with Go's %v (3.0 -> 3), and words a bad pattern apart
    if type(v) is not str:
        raise EvalError(f"LIKE operator left operand expects string, but found {format_value(v)}")
    if type(pattern) is not str:
        raise EvalError(f"invalid LIKE pattern, must be a string but got {format_value(pattern)}")
    return like_regex(pattern).fullmatch(v) is not None


def arrow(v: Any, key: str) -> Any:
    # eKuiper's project tests show `->` on a non-object giving null, not an error
    if type(v) is dict:
        return v.get(key)
    return None


def index(v: Any, i: Any) -> Any:
    if v is None:
        return None
    if type(v) is not list:
        raise EvalError(f"invalid operation {_gotype(v)} [] {_gotype(i)}")
    if type(i) is not int:
        if type(i) is float and i.is_integer():
            i = int(i)
        else:
            raise EvalError(f"invalid index type {_gotype(i)}")
    n = len(v)
    j = i + n if i < 0 else i
    if j < 0 or j >= n:
        raise EvalError(f"out of index: {i} of {n}")
    return v[j]


def slice_(v: Any, start: Any, end: Any) -> Any:
    if v is None:
        return None
    if type(v) is not list and type(v) is not str:
        raise EvalError(f"invalid operation {_gotype(v)} [:]")
    # eKuiper's subset(): a start at or past the end, an end past the end and
    # start >= end are errors (spec §4.2), in its wording and check order
    n = len(v)
    s = 0 if start is None else _slice_bound(start)
    if s < 0:
        if s + n < 0:
            raise EvalError(f"out of index: {s} of {n}")
        s += n
    elif s >= n:
        raise EvalError(f"start value is out of index: {s} of {n}")
    if end is None:
        e = n
    else:
        e = _slice_bound(end)
        if e < 0:
            if e + n < 0:
                raise EvalError(f"out of index: {e} of {n}")
            e += n
        elif e > n:
            raise EvalError(f"end value is out of index: {e} of {n}")
        elif s >= e:
            raise EvalError(f"start cannot be greater than end. start:{s}  end:{e}")
    return v[s:e]


def _slice_bound(b: Any) -> int:
    if type(b) is int:
        return b
    if type(b) is float and b.is_integer():
        return int(b)
    raise EvalError(f"invalid slice index type {_gotype(b)}")


def _gotype(v: Any) -> str:
    from arrokoth.functions.values import go_type

    return go_type(v)


def negate(v: Any) -> Any:
    t = type(v)
    if t is int or t is float:
        return -v
    if v is None:
        return None
    raise EvalError(f"invalid operation -{_gotype(v)}")


def not_(v: Any) -> Any:
    if v is True or v is False:
        return not v
    if v is None:
        return None
    raise EvalError(f"invalid operation NOT {_gotype(v)}")
