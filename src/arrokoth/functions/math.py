"""Math functions (spec section 10.4): nil in, nil out; numeric arguments only.

Results follow Go's math package: a NaN result becomes null (eKuiper checks for it), and
ceil, floor, round, mod and power return float64 even for integer input.
"""

from __future__ import annotations

import decimal
import math
import random
from collections.abc import Callable

from arrokoth.functions.registry import FunctionError, registry
from arrokoth.functions.values import (
    arg_type_error,
    format_value,
    is_bool_arg,
    is_float_arg,
    is_string_arg,
    to_float_samekind,
    to_int_samekind,
    to_int_strict,
    to_string_always,
)


def number_args(*indexes: int) -> Callable[[list], None]:
    """ValidateOneNumberArg & co: a string or boolean literal where a number belongs."""

    def validate(args: list) -> None:
        for i in indexes:
            if i < len(args) and (is_string_arg(args[i]) or is_bool_arg(args[i])):
                raise arg_type_error(i, "number - float or int")

    return validate


def int_args(*indexes: int) -> Callable[[list], None]:
    """ValidateTwoIntArg & co: a float, string or boolean literal where an int belongs."""

    def validate(args: list) -> None:
        for i in indexes:
            if i < len(args) and (is_float_arg(args[i]) or is_string_arg(args[i]) or is_bool_arg(args[i])):
                raise arg_type_error(i, "int")

    return validate


def _float(v: object) -> float:
    try:
        return to_float_samekind(v)
    except ValueError as e:
        raise FunctionError(str(e)) from None


def _unary(name: str, fn: Callable[[float], float], *, aliases: tuple[str, ...] = ()) -> None:
    def impl(x: object) -> float | None:
        v = _float(x)
        try:
            r = fn(v)
        except ValueError:  # Python raises where Go returns NaN
            return None
        except OverflowError:
            return math.inf
        return None if math.isnan(r) else r

    impl.__name__ = f"fn_{name}"
    registry.function(name, args=1, null_in_null_out=True, validate=number_args(0), aliases=aliases)(impl)


def _ceil(v: float) -> float:
    return float(math.ceil(v)) if math.isfinite(v) else v


def _floor(v: float) -> float:
    return float(math.floor(v)) if math.isfinite(v) else v


def _cot(v: float) -> float:
    t = math.tan(v)
    if t == 0:
        raise FunctionError("out-of-range error")
    return 1.0 / t


def _ln(v: float) -> float:
    if v <= 0:  # spec: a non-positive argument gives null
        return math.nan
    return math.log(v)


for _name, _fn in (
    ("acos", math.acos),
    ("asin", math.asin),
    ("atan", math.atan),
    ("cos", math.cos),
    ("cosh", math.cosh),
    ("sin", math.sin),
    ("sinh", math.sinh),
    ("tan", math.tan),
    ("tanh", math.tanh),
    ("exp", math.exp),
    ("ln", _ln),
    ("sqrt", math.sqrt),
    ("radians", lambda v: v * (math.pi / 180)),
    ("degrees", lambda v: v * (180 / math.pi)),
    ("cot", _cot),
    ("floor", _floor),
):
    _unary(_name, _fn)
_unary("ceiling", _ceil, aliases=("ceil",))


@registry.function("abs", args=1, null_in_null_out=True, validate=number_args(0))
def fn_abs(x):
    t = type(x)
    if t is int or t is float:
        return abs(x)
    raise FunctionError("only float64 & int type are supported")


@registry.function("atan2", args=2, null_in_null_out=True, validate=number_args(0, 1))
def fn_atan2(y, x):
    r = math.atan2(_float(y), _float(x))
    return None if math.isnan(r) else r


def _bit_operand(v, which: str) -> int:
    try:
        return to_int_strict(v)
    except ValueError:
        raise FunctionError(f"Expect int type for {which} but got {format_value(v)}") from None


def _bitop(name: str, op: Callable[[int, int], int]) -> None:
    def impl(a, b):
        return op(_bit_operand(a, "the first operand"), _bit_operand(b, "the second operand"))

    impl.__name__ = f"fn_{name}"
    registry.function(name, args=2, null_in_null_out=True, validate=int_args(0, 1))(impl)


_bitop("bitand", lambda a, b: a & b)
_bitop("bitor", lambda a, b: a | b)
_bitop("bitxor", lambda a, b: a ^ b)


@registry.function("bitnot", args=1, null_in_null_out=True, validate=int_args(0))
def fn_bitnot(a):
    return ~_bit_operand(a, "operand")


def _validate_log(args: list) -> None:
    if len(args) not in (1, 2):
        raise FunctionError("Expect 1 or 2 arguments only")
    number_args(0)(args)


@registry.function("log", args=(1, 2), null_in_null_out=True, validate=_validate_log)
def fn_log(*args):
    """log(x) is base 10; log(b, x) is base b. A non-positive operand gives null."""
    if len(args) == 1:
        x = _float(args[0])
        return math.log10(x) if x > 0 else None
    b, x = _float(args[0]), _float(args[1])
    if b <= 0 or x <= 0:
        return None
    lb = math.log(b)
    if lb == 0:
        lx = math.log(x)
        return None if lx == 0 else math.copysign(math.inf, lx)
    return math.log(x) / lb


@registry.function("mod", args=2, null_in_null_out=True, validate=number_args(0, 1))
def fn_mod(a, b):
    x, y = _float(a), _float(b)
    if y == 0 or math.isinf(x):
        return None  # Go yields NaN, which no encoder accepts
    return math.fmod(x, y)


@registry.function("power", args=2, null_in_null_out=True, validate=number_args(0, 1), aliases=("pow",))
def fn_power(a, b):
    x, y = _float(a), _float(b)
    try:
        return math.pow(x, y)
    except OverflowError:
        odd = y.is_integer() and y % 2 == 1
        return -math.inf if x < 0 and odd else math.inf
    except ValueError:
        if x == 0 and y < 0:
            return math.inf
        return None


@registry.function("pi", args=0)
def fn_pi():
    return math.pi


@registry.function("rand", args=0)
def fn_rand():
    return random.random()


def go_round(x: float) -> float:
    """Go math.Round: half away from zero, exact on the float value."""
    if not math.isfinite(x):
        return x
    t = float(math.trunc(x))
    if abs(x - t) >= 0.5:
        t += math.copysign(1.0, x)
    return t


def _round_decimal(v: float, precision: int) -> float:
    if precision > 340:  # finer than any float64 digit: the value is unchanged
        return v
    if precision < -340:
        return 0.0
    q = decimal.Decimal(1).scaleb(-precision)
    with decimal.localcontext() as ctx:
        ctx.prec = 1100
        return float(decimal.Decimal(v).quantize(q, rounding=decimal.ROUND_HALF_UP))


def _validate_round(args: list) -> None:
    if len(args) not in (1, 2):
        raise FunctionError("Expect 1 or 2 arguments only")
    number_args(0, 1)(args)


@registry.function("round", args=(1, 2), null_in_null_out=True, validate=_validate_round)
def fn_round(x, d=0):
    """round(x [, d]) → float64, half away from zero (round(42.4382, 2) = 42.44)."""
    try:
        precision = to_int_samekind(d)
    except ValueError as e:
        raise FunctionError(f"The second argument must be an integer: {e}") from None
    v = _float(x)
    if not math.isfinite(v):
        return v
    try:
        factor = math.pow(10.0, precision)
    except OverflowError:
        factor = math.inf
    scaled = v * factor
    if math.isinf(scaled) or math.isinf(factor) or factor == 0:
        # like eKuiper, fall back to exact arithmetic when scaling overflows
        return _round_decimal(v, precision)
    return go_round(scaled) / factor


@registry.function("sign", args=1, null_in_null_out=True, validate=number_args(0))
def fn_sign(x):
    v = _float(x)
    return 1 if v > 0 else -1 if v < 0 else 0


def _validate_trunc(args: list) -> None:
    number_args(0)(args)
    int_args(1)(args)


@registry.function("trunc", args=2, null_in_null_out=True, validate=_validate_trunc)
def fn_trunc(x, d):
    """trunc(x, d) → x truncated to d decimals (d clamped to 0..34), a float64."""
    t = type(x)
    if t is not int and t is not float:
        raise FunctionError("Only int and float type can be truncated.")
    if type(d) is not int:
        raise FunctionError("The 2nd parameter must be int value.")
    d = min(max(d, 0), 34)
    v = float(x)
    if not math.isfinite(v):
        return v
    scale = 10.0**d
    scaled = v * scale
    if not math.isfinite(scaled) or abs(scaled) >= 2**63:
        return v  # already beyond the precision asked for
    return math.trunc(scaled) / scale


# --- conv: MySQL-style base conversion ----------------------------------------------

_U64 = 1 << 64
_I64_MAX = (1 << 63) - 1


def _valid_prefix(s: str, base: int) -> str:
    valid = 0
    for i, c in enumerate(s):
        if c.isascii() and c.isalnum():
            if int(c, 36) < base:
                valid = i + 1
            else:
                break
        elif c in "+-":
            if i != 0:
                break
        else:
            break
    if valid > 1 and s[0] == "+":
        return s[1:valid]
    return s[:valid]


def _format_base(n: int, base: int) -> str:
    if n == 0:
        return "0"
    digits = []
    while n:
        n, r = divmod(n, base)
        digits.append("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[r])
    return "".join(reversed(digits))


def conv(s: str, from_base: int, to_base: int) -> str | None:
    signed = from_base < 0
    from_base = abs(from_base)
    ignore_sign = to_base < 0
    to_base = abs(to_base)
    if not (2 <= from_base <= 36 and 2 <= to_base <= 36):
        return None
    s = _valid_prefix(s.strip(), from_base)
    if not s or s in "+-":
        return "0"
    negative = s[0] == "-"
    if negative:
        s = s[1:]
    val = int(s, from_base)
    if val >= _U64:
        raise FunctionError(f'strconv.ParseUint: parsing "{s}": value out of range')
    if signed:
        if negative and val > _I64_MAX + 1:
            val = _I64_MAX + 1
        if not negative and val > _I64_MAX:
            val = _I64_MAX
    if negative:
        val = (-val) % _U64
    negative = val > _I64_MAX  # as an int64 the value is below zero
    if ignore_sign and negative:
        val = (-val) % _U64
        return "-" + _format_base(val, to_base)
    return _format_base(val, to_base)


@registry.function("conv", args=3, null_in_null_out=True, validate=int_args(1, 2))
def fn_conv(n, from_base, to_base):
    """conv(n, fromBase, toBase) → string; a negative toBase prints a signed result."""
    try:
        fb, tb = to_int_samekind(from_base), to_int_samekind(to_base)
    except ValueError:
        fb, tb = 0, 0
    return conv(to_string_always(n), fb, tb)
