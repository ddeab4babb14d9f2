"""Go's strconv as eKuiper's conversions use it: the exact syntax ParseBool, ParseInt,
ParseUint and ParseFloat accept, and FormatFloat's shortest 'e' form that EdgeX writes."""

from __future__ import annotations

import math
import re
import struct
from decimal import Decimal

_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")
_DEC_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX_FLOAT = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+")
_SPECIAL_FLOATS = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan"}
_SIGNED = re.compile(r"[+-]?[0-9]+")
_UNSIGNED = re.compile(r"[0-9]+")


def _syntax(fn: str, s: str) -> ValueError:
    return ValueError(f'strconv.{fn}: parsing "{s}": invalid syntax')


def _range(fn: str, s: str) -> ValueError:
    return ValueError(f'strconv.{fn}: parsing "{s}": value out of range')


def parse_bool(s: str) -> bool:
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise _syntax("ParseBool", s)


def parse_int(s: str, bits: int = 64, fn: str = "ParseInt") -> int:
    if not _SIGNED.fullmatch(s):
        raise _syntax(fn, s)
    n = int(s)
    if not -(1 << (bits - 1)) <= n < 1 << (bits - 1):
        raise _range(fn, s)
    return n


def parse_uint(s: str, bits: int = 64) -> int:
    if not _UNSIGNED.fullmatch(s):
        raise _syntax("ParseUint", s)
    n = int(s)
    if n >= 1 << bits:
        raise _range("ParseUint", s)
    return n


def to_float32(f: float) -> float:
    """float32(f) widened back, as Go converts (too large: ±Inf)."""
    try:
        return struct.unpack("<f", struct.pack("<f", f))[0]
    except OverflowError:
        return math.copysign(math.inf, f)


def parse_float(s: str, bits: int = 64) -> float:
    """strconv.ParseFloat: decimal, hex (0x1p-2), Inf, Infinity and NaN; Float32 rounds."""
    if _DEC_FLOAT.fullmatch(s):
        f = float(s)
    elif _HEX_FLOAT.fullmatch(s):
        f = float.fromhex(s)
    elif s.lower() in _SPECIAL_FLOATS:
        return float(s)
    else:
        raise _syntax("ParseFloat", s)
    if bits == 32:
        f = to_float32(f)
    if math.isinf(f):
        raise _range("ParseFloat", s)
    return f


def format_float(f: float, bits: int = 64) -> str:
    """strconv.FormatFloat(f, 'e', -1, bits): the shortest digits, as 2.55e+01."""
    if f != f:
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    a = abs(f)
    if a == 0:
        return sign + "0e+00"
    if bits == 32:
        a = to_float32(a)
        for p in range(1, 10):
            text = f"{a:.{p - 1}e}"
            if to_float32(float(text)) == a:
                break
    else:
        text = repr(a)
    digits, exponent = _shortest(text)
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _shortest(text: str) -> tuple[str, int]:
    t = Decimal(text).normalize().as_tuple()
    digits = "".join(map(str, t.digits))
    return digits, int(t.exponent) + len(digits) - 1
