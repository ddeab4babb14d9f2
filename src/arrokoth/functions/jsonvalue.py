"""JSON in eKuiper's shape: decode schemaless numbers as floats, encode floats as Go does.

Go's encoding/json prints float64(3) as `3` and switches to exponent form below 1e-6
and from 1e21 (`1e+21`, `1e-7`). msgspec prints `3.0` and `1e21`, so floats whose
spelling differs are handed to msgspec as `Raw` bytes in Go's spelling.
"""

from __future__ import annotations

import base64
import datetime as _dt
import math
from typing import Any

import msgspec

_Raw = msgspec.Raw
_encoder_sorted = msgspec.json.Encoder(order="sorted")
_encoder = msgspec.json.Encoder()
# top-level values of an object decode ints as floats; nested ones are fixed by _floatify
_decoder_float = msgspec.json.Decoder(dict[str, float | str | bool | None | list | dict])
_decoder_any = msgspec.json.Decoder()

DecodeError = msgspec.DecodeError


def go_float_bytes(f: float) -> bytes:
    """Go encoding/json's spelling of a float64."""
    if f != f or f in (math.inf, -math.inf):
        raise ValueError(f"json: unsupported value: {f}")
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        s = repr(f)
        if "e" not in s:
            s = f"{f:e}"
        mant, _, exp = s.partition("e")
        if "." in mant:
            mant = mant.rstrip("0").rstrip(".")
        sign = "-" if exp.startswith("-") else "+"
        digits = exp.lstrip("+-").lstrip("0") or "0"
        return f"{mant}e{sign}{digits}".encode()
    if f.is_integer():
        if f == 0 and math.copysign(1.0, f) < 0:
            # strconv keeps the sign bit: Go marshals math.Copysign(0, -1) as -0
            return b"-0"
        return str(int(f)).encode()
    s = repr(f)
    if "e" in s:
        from decimal import Decimal

        s = format(Decimal(s), "f")
    return s.encode()


def _go_float(f: float) -> Any:
    """A float as msgspec should encode it to match Go: an int, Raw bytes, or itself."""
    if f.is_integer():
        if -1e15 < f < 1e15:
            if f == 0 and math.copysign(1.0, f) < 0:
                return _Raw(b"-0")  # int(-0.0) would lose the sign Go prints
            return int(f)
        return _Raw(go_float_bytes(f))
    a = abs(f)
    if a < 1e-4 or a >= 1e16:
        return _Raw(go_float_bytes(f))
    return f


def _object(d: dict) -> dict:
    out = {}
    for k, x in d.items():
        t = type(x)
        if t is float:
            x = _go_float(x)
        elif not (t is str or t is int or t is bool or x is None):
            x = to_jsonable(x)
        out[k] = x
    return out


def to_jsonable(v: Any) -> Any:
    """Rewrite a value so msgspec encodes it exactly as Go would."""
    t = type(v)
    if t is dict:
        return _object(v)
    if t is list or t is tuple:
        return [_object(x) if type(x) is dict else to_jsonable(x) for x in v]
    if t is float:
        return _go_float(v)
    if t is bytes or t is bytearray:
        return base64.b64encode(bytes(v)).decode()
    if isinstance(v, _dt.datetime):
        return format_rfc3339(v)
    return v


def format_rfc3339(d: _dt.datetime) -> str:
    """time.Time's JSON form: RFC 3339 with nanosecond precision trimmed."""
    s = d.strftime("%Y-%m-%dT%H:%M:%S")
    if d.microsecond:
        s += ("." + f"{d.microsecond:06d}").rstrip("0")
    off = d.utcoffset()
    if off is None or off == _dt.timedelta(0):
        return s + "Z"
    total = int(off.total_seconds())
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    return f"{s}{sign}{total // 3600:02d}:{(total % 3600) // 60:02d}"


def encode(v: Any, *, sort_keys: bool = False) -> bytes:
    enc = _encoder_sorted if sort_keys else _encoder
    return enc.encode(to_jsonable(v))


def dumps(v: Any) -> str:
    """json.Marshal of a Go value: map keys sorted."""
    return _encoder_sorted.encode(to_jsonable(v)).decode()


def _floatify(v: Any) -> Any:
    t = type(v)
    if t is int:
        return float(v)
    if t is dict:
        return {k: _floatify(x) for k, x in v.items()}
    if t is list:
        return [_floatify(x) for x in v]
    return v


def decode_object(data: bytes | str, *, ints: bool = False) -> dict | list:
    """Decode a JSON payload the way eKuiper's JSON converter does.

    Numbers become floats unless ``ints`` (`useInt64ForWholeNumber`). The payload is an
    object or an array of objects.
    """
    if ints:
        return _decoder_any.decode(data)
    try:
        obj = _decoder_float.decode(data)
    except msgspec.ValidationError:
        # not an object (an array of objects, most likely)
        return _floatify(_decoder_any.decode(data))
    for k, x in obj.items():
        t = type(x)
        if t is dict or t is list:
            obj[k] = _floatify(x)
    return obj


def loads(data: bytes | str) -> Any:
    """Plain decode keeping ints as ints (parse_json, configuration)."""
    return _decoder_any.decode(data)
