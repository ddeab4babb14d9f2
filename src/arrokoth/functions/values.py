"""Runtime values and eKuiper's rules for them.

Values are plain Python objects: int (Go int64), float (float64), str, bool, bytes,
datetime.datetime (aware), list, dict and None (nil). `bool` is a subclass of `int` in
Python, so every type test here uses ``type(x) is ...``, never isinstance with int.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

NUMBER_TYPES = (int, float)


class EvalError(Exception):
    """A per-row runtime error; its message is eKuiper's wording."""


def is_number(v: Any) -> bool:
    t = type(v)
    return t is int or t is float


def go_type(v: Any) -> str:
    """The Go type name eKuiper prints for a value, e.g. in `invalid operation` errors."""
    t = type(v)
    if t is int:
        return "int64"
    if t is float:
        return "float64"
    if t is str:
        return "string"
    if t is bool:
        return "bool"
    if v is None:
        return "<nil>"
    if t is dict:
        return "map[string]interface {}"
    if t is list:
        return "[]interface {}"
    if t is bytes or t is bytearray:
        return "[]uint8"
    if isinstance(v, _dt.datetime):
        return "time.Time"
    return t.__name__


def format_float(f: float) -> str:
    """Go's `%v` / strconv 'g'-shortest formatting of a float64."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    exp = math.floor(math.log10(abs(f)))
    if exp < -4 or exp >= 21:
        mant, _, e = repr(f).partition("e")
        if not e:
            # repr chose fixed notation; build the exponent form
            s = f"{f:.17e}"
            mant, _, e = s.partition("e")
            mant = repr(float(mant))
        if mant.endswith(".0"):
            mant = mant[:-2]
        sign = "-" if e.startswith("-") else "+"
        digits = e.lstrip("+-").lstrip("0") or "0"
        if len(digits) < 2:
            digits = "0" + digits
        return f"{mant}e{sign}{digits}"
    r = repr(f)
    if "e" in r:
        r = f"{f:f}".rstrip("0").rstrip(".") if abs(f) >= 1 else _fixed(f)
    if r.endswith(".0"):
        r = r[:-2]
    return r


def _fixed(f: float) -> str:
    from decimal import Decimal

    return format(Decimal(repr(f)), "f")


def format_value(v: Any) -> str:
    """Go's `%v` formatting, used in error messages and string conversion."""
    t = type(v)
    if t is str:
        return v
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return str(v)
    if t is float:
        return format_float(v)
    if v is None:
        return "<nil>"
    if t is dict:
        return "map[" + " ".join(f"{k}:{format_value(v[k])}" for k in sorted(v)) + "]"
    if t is list:
        return "[" + " ".join(format_value(x) for x in v) + "]"
    if t is bytes or t is bytearray:
        return "[" + " ".join(str(b) for b in v) + "]"
    if isinstance(v, _dt.datetime):
        return format_datetime_go(v)
    return str(v)


def format_datetime_go(d: _dt.datetime) -> str:
    """Go's time.Time String() form: `2006-01-02 15:04:05.999999999 -0700 MST`."""
    s = d.strftime("%Y-%m-%d %H:%M:%S")
    if d.microsecond:
        s += ("." + f"{d.microsecond:06d}").rstrip("0")
    off = d.strftime("%z") or "+0000"
    name = d.tzname() or "UTC"
    return f"{s} {off} {name}"


def typed(v: Any) -> str:
    """`int64(2)`-style rendering used by eKuiper error messages."""
    return f"{go_type(v)}({format_value(v)})"


def invalid_operation(lhs: Any, op: str, rhs: Any) -> EvalError:
    return EvalError(f"invalid operation {typed(lhs)} {op} {typed(rhs)}")


def to_int(v: Any, *, strict: bool = False) -> int:
    """cast.ToInt64 in eKuiper's convert-all mode; raises ValueError."""
    t = type(v)
    if t is int:
        return v
    if t is float:
        if strict and not v.is_integer():
            raise ValueError(f"cannot convert {go_type(v)}({format_value(v)}) to int64")
        return int(v)
    if t is bool:
        if strict:
            raise ValueError(f"cannot convert {typed(v)} to int64")
        return 1 if v else 0
    if t is str:
        s = v.strip()
        try:
            return int(s, 10)
        except ValueError:
            try:
                f = float(s)
            except ValueError:
                raise ValueError(f"cannot convert {go_type(v)}({format_value(v)}) to int64") from None
            if strict and not f.is_integer():
                raise ValueError(f"cannot convert {go_type(v)}({format_value(v)}) to int64") from None
            return int(f)
    raise ValueError(f"cannot convert {go_type(v)}({format_value(v)}) to int64")


def to_float(v: Any, *, strict: bool = False) -> float:
    t = type(v)
    if t is float:
        return v
    if t is int:
        return float(v)
    if t is bool and not strict:
        return 1.0 if v else 0.0
    if t is str:
        try:
            return float(v.strip())
        except ValueError:
            pass
    raise ValueError(f"cannot convert {go_type(v)}({format_value(v)}) to float64")


def to_string(v: Any) -> str:
    t = type(v)
    if t is str:
        return v
    if t is bytes or t is bytearray:
        return bytes(v).decode("utf-8", "replace")
    if t is dict or t is list:
        from arrokoth.functions.jsonvalue import dumps

        return dumps(v)
    return format_value(v)


def to_bool(v: Any) -> bool:
    """Go strconv.ParseBool for strings; numbers are true when non-zero."""
    t = type(v)
    if t is bool:
        return v
    if t is int or t is float:
        return v != 0
    if t is str:
        if v in ("1", "t", "T", "TRUE", "true", "True"):
            return True
        if v in ("0", "f", "F", "FALSE", "false", "False"):
            return False
    raise ValueError(f"cannot convert {go_type(v)}({format_value(v)}) to bool")


def equal(a: Any, b: Any) -> bool:
    """`=` semantics used by IN, CASE and the array functions (ints and floats compare)."""
    if a is None or b is None:
        return False
    ta, tb = type(a), type(b)
    if ta is tb:
        return a == b
    if (ta is int or ta is float) and (tb is int or tb is float):
        return a == b
    return False


# --- eKuiper's cast strictness (pkg/cast): STRICT, CONVERT_SAMEKIND, CONVERT_ALL ---------


def cannot_convert(v: Any, target: str) -> ValueError:
    return ValueError(f"cannot convert {typed(v)} to {target}")


def to_float_samekind(v: Any) -> float:
    """cast.ToFloat64(CONVERT_SAMEKIND): ints widen, everything else is an error."""
    t = type(v)
    if t is float:
        return v
    if t is int:
        return float(v)
    raise cannot_convert(v, "float64")


def to_int_samekind(v: Any) -> int:
    """cast.ToInt(CONVERT_SAMEKIND): floats truncate toward zero."""
    t = type(v)
    if t is int:
        return v
    if t is float and math.isfinite(v):
        return int(v)
    raise cannot_convert(v, "int")


def to_int_strict(v: Any) -> int:
    """cast.ToInt(STRICT): only ints and integral floats."""
    t = type(v)
    if t is int:
        return v
    if t is float and math.isfinite(v) and v.is_integer():
        return int(v)
    raise cannot_convert(v, "int")


def format_float_fixed(f: float) -> str:
    """strconv.FormatFloat(f, 'f', -1, 64): shortest digits, never an exponent."""
    if not math.isfinite(f):
        return format_float(f)
    s = _fixed(f)
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def to_string_always(v: Any) -> str:
    """cast.ToStringAlways: `%v`, and "" for nil."""
    if v is None:
        return ""
    if type(v) is str:
        return v
    return format_value(v)


def to_string_all(v: Any) -> str:
    """cast.ToString(CONVERT_ALL): like `%v` but floats never use an exponent."""
    t = type(v)
    if t is str:
        return v
    if t is bytes or t is bytearray:
        return bytes(v).decode("utf-8", "replace")
    if t is float:
        return format_float_fixed(v)
    if t is bool or t is int or v is None:
        return "" if v is None else format_value(v)
    if isinstance(v, _dt.datetime):
        return format_datetime_go(v)
    raise cannot_convert(v, "string")


# --- validation of argument AST nodes at rule creation (pkg/ast Is*Arg helpers) ----------
# The sql package is imported inside these helpers: they only run when a rule is created,
# and importing the parser here would load it for every user of this module.


def _literal(node: Any) -> Any:
    from arrokoth.sql import ast

    # a negative number literal may come out of the parser as unary minus
    if (
        type(node) is ast.UnaryExpr
        and node.op == "-"
        and type(node.expr) in (ast.IntegerLiteral, ast.NumberLiteral)
    ):
        return node.expr
    return node


def is_integer_arg(node: Any) -> bool:
    from arrokoth.sql import ast

    return type(_literal(node)) is ast.IntegerLiteral


def is_float_arg(node: Any) -> bool:
    from arrokoth.sql import ast

    return type(_literal(node)) is ast.NumberLiteral


def is_numeric_arg(node: Any) -> bool:
    return is_integer_arg(node) or is_float_arg(node)


def is_string_arg(node: Any) -> bool:
    from arrokoth.sql import ast

    return type(node) is ast.StringLiteral


_BOOL_OPS = frozenset(("AND", "OR", "=", "!=", "<", "<=", ">", ">="))


def is_bool_arg(node: Any) -> bool:
    """A boolean literal or an expression that can only yield a boolean."""
    from arrokoth.sql import ast

    t = type(node)
    if t is ast.BooleanLiteral or t in (ast.Between, ast.In, ast.Like):
        return True
    return t is ast.BinaryExpr and node.op.upper() in _BOOL_OPS


def int_literal_value(node: Any) -> int | None:
    """The value of an integer literal (unary minus included), else None."""
    from arrokoth.sql import ast

    if type(node) is ast.IntegerLiteral:
        return node.value
    lit = _literal(node)
    if lit is not node and type(lit) is ast.IntegerLiteral:
        return -lit.value
    return None


def arg_type_error(index: int, expect: str) -> Exception:
    """eKuiper's ProduceErrInfo: `Expect <type> type for parameter <n>` (n is 1-based)."""
    from arrokoth.functions.registry import FunctionError

    return FunctionError(f"Expect {expect} type for parameter {index + 1}")
