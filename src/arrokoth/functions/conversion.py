"""Conversion and transform functions (spec section 10.6)."""

from __future__ import annotations

import base64
import binascii
import gzip
import math
import re
import zlib
from typing import Any

from arrokoth.functions import jsonvalue, timefmt
from arrokoth.functions.registry import FunctionContext, FunctionError, registry
from arrokoth.functions.values import (
    arg_type_error,
    cannot_convert,
    format_value,
    is_bool_arg,
    is_float_arg,
    is_numeric_arg,
    is_string_arg,
    to_bool,
    to_int_strict,
    to_string_all,
    typed,
)

CAST_TYPES = ("bigint", "float", "string", "boolean", "datetime", "bytea")


def _not_string(node) -> bool:
    return is_numeric_arg(node) or is_bool_arg(node)


def _fail(e: Exception) -> FunctionError:
    return FunctionError(str(e))


# --- cast ---------------------------------------------------------------------------------

_GO_INT = re.compile(r"[+-]?(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO]?[0-7]+|[1-9][0-9]*|0)")


def parse_go_int(s: str) -> int:
    """strconv.ParseInt(s, 0, 64): base prefixes 0x, 0b, 0o and a leading 0 (octal)."""
    if not _GO_INT.fullmatch(s):
        raise ValueError
    sign = -1 if s[0] == "-" else 1
    body = s.lstrip("+-")
    if body[:2] in ("0x", "0X"):
        n = int(body[2:], 16)
    elif body[:2] in ("0b", "0B"):
        n = int(body[2:], 2)
    elif body[:2] in ("0o", "0O"):
        n = int(body[2:], 8)
    elif len(body) > 1 and body[0] == "0":
        n = int(body[1:], 8)
    else:
        n = int(body)
    n *= sign
    if not -(2**63) <= n < 2**63:
        raise ValueError
    return n


_GO_FLOAT = re.compile(r"[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[iI]nf(inity)?|[nN]a[nN])")


def cast_bigint(v: Any) -> int:
    t = type(v)
    if t is int:
        return v
    if t is bool:
        return 1 if v else 0
    if t is float:
        if not math.isfinite(v):
            raise cannot_convert(v, "int")
        return int(v)
    if t is str:
        try:
            return parse_go_int(v)
        except ValueError:
            pass
    raise cannot_convert(v, "int")


def cast_float(v: Any) -> float:
    t = type(v)
    if t is float:
        return v
    if t is int:
        return float(v)
    if t is bool:
        return 1.0 if v else 0.0
    if t is str and _GO_FLOAT.fullmatch(v):
        return float(v)
    raise cannot_convert(v, "float64")


def cast_boolean(v: Any) -> bool:
    if type(v) is str:
        try:
            return to_bool(v)
        except ValueError:
            raise ValueError(f'strconv.ParseBool: parsing "{v}": invalid syntax') from None
    if type(v) in (bool, int, float):
        return to_bool(v)
    raise cannot_convert(v, "bool")


def cast_bytea(v: Any) -> bytes:
    t = type(v)
    if t is bytes or t is bytearray:
        return bytes(v)
    if t is str:
        try:
            return base64.b64decode(v, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"illegal string {v}, must be base64 encoded string") from None
    raise cannot_convert(v, "bytea")


_CASTS = {
    "bigint": cast_bigint,
    "float": cast_float,
    "string": to_string_all,
    "boolean": cast_boolean,
    "datetime": lambda v: timefmt.to_datetime(v),
    "bytea": cast_bytea,
}


def _validate_cast(args: list) -> None:
    if len(args) < 2:
        return
    a = args[1]
    if _not_string(a):
        raise arg_type_error(1, "string")
    if is_string_arg(a) and a.value not in CAST_TYPES:
        raise FunctionError(
            "Expect one of following value for the 2nd parameter: bigint, float, string, boolean, datetime, bytea."
        )


@registry.function("cast", args=2, null_in_null_out=True, validate=_validate_cast)
def fn_cast(x, to):
    if type(to) is not str:
        raise FunctionError("Expect string type for the 2nd parameter.")
    conv = _CASTS.get(to)
    if conv is None:
        raise FunctionError("Unknow type, only support bigint, float, string, boolean, datetime and bytea.")
    try:
        return conv(x)
    except ValueError as e:
        raise _fail(e) from None


# --- encode / decode --------------------------------------------------------------------


def _validate_codec(args: list) -> None:
    if args and _not_string(args[0]):
        raise arg_type_error(0, "string")
    if len(args) > 1:
        if _not_string(args[1]):
            raise arg_type_error(1, "string")
        if is_string_arg(args[1]) and args[1].value != "base64":
            raise FunctionError("Only base64 is supported for the 2nd parameter.")


@registry.function("encode", args=2, null_in_null_out=True, validate=_validate_codec)
def fn_encode(x, method):
    if type(method) is not str or method.lower() != "base64":
        raise FunctionError("Only base64 encoding is supported.")
    if type(x) is str:
        x = x.encode()
    if type(x) is not bytes and type(x) is not bytearray:
        raise FunctionError("Only string type can be encoded.")
    return base64.b64encode(bytes(x)).decode()


@registry.function("decode", args=2, null_in_null_out=True, validate=_validate_codec)
def fn_decode(s, method):
    if type(method) is not str or method.lower() != "base64":
        raise FunctionError("Only base64 decoding is supported.")
    if type(s) is not str:
        raise FunctionError("Only string type can be decoded.")
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as e:
        raise FunctionError(f"fail to decode base64 string: {e}") from None


# --- compress / decompress ----------------------------------------------------------------

COMPRESS_METHODS = ("zlib", "gzip", "flate", "zstd")


def _zstd():
    try:
        import zstandard
    except ImportError:
        raise FunctionError(
            "zstd compression needs the 'zstandard' package, which is not installed"
        ) from None
    return zstandard


def compress(data: bytes, method: str) -> bytes:
    if method == "zlib":
        return zlib.compress(data)
    if method == "gzip":
        return gzip.compress(data, mtime=0)
    if method == "flate":
        c = zlib.compressobj(wbits=-15)
        return c.compress(data) + c.flush()
    if method == "zstd":
        return _zstd().ZstdCompressor().compress(data)
    raise FunctionError(f"unsupported compressor: {method}")


def decompress(data: bytes, method: str) -> bytes:
    try:
        if method == "zlib":
            return zlib.decompress(data)
        if method == "gzip":
            return gzip.decompress(data)
        if method == "flate":
            return zlib.decompress(data, wbits=-15)
        if method == "zstd":
            return _zstd().ZstdDecompressor().decompressobj().decompress(data)
    except (zlib.error, OSError, EOFError) as e:
        raise FunctionError(f"fail to decompress: {e}") from None
    except FunctionError:
        raise
    except Exception as e:  # zstandard.ZstdError
        raise FunctionError(f"fail to decompress: {e}") from None
    raise FunctionError(f"unsupported decompressor: {method}")


def _same_method(ctx: FunctionContext, key: str, method: Any) -> str:
    if type(method) is not str:
        raise FunctionError(f"invalid compress method {format_value(method)}")
    previous = ctx.shared.setdefault(key, method) if ctx is not None else method
    if previous != method:
        raise FunctionError(f"compress type must be consistent, previous {previous}, now {method}")
    return method


def _payload(x: Any, *, decoding: bool) -> bytes:
    t = type(x)
    if t is bytes or t is bytearray:
        return bytes(x)
    if t is str:
        if decoding:
            # compressed bytes travel through JSON as base64 text
            try:
                return base64.b64decode(x, validate=True)
            except (binascii.Error, ValueError):
                pass
        return x.encode()
    raise FunctionError(f"cannot convert {typed(x)} to bytes")


def _validate_compress(args: list) -> None:
    if len(args) > 1:
        if _not_string(args[1]):
            raise arg_type_error(1, "string")
        if is_string_arg(args[1]) and args[1].value not in COMPRESS_METHODS:
            raise FunctionError(f"unsupported compressor: {args[1].value}")


@registry.function("compress", args=2, null_in_null_out=True, needs_context=True, validate=_validate_compress)
def fn_compress(ctx, x, method):
    """The method must stay the same for the whole rule (per call site)."""
    return compress(_payload(x, decoding=False), _same_method(ctx, "compress", method))


@registry.function(
    "decompress", args=2, null_in_null_out=True, needs_context=True, validate=_validate_compress
)
def fn_decompress(ctx, x, method):
    return decompress(_payload(x, decoding=True), _same_method(ctx, "decompress", method))


# --- time zone, seconds, hex ----------------------------------------------------------------


def _validate_convert_tz(args: list) -> None:
    if args and (is_numeric_arg(args[0]) or is_string_arg(args[0]) or is_bool_arg(args[0])):
        raise arg_type_error(0, "datetime")
    if len(args) > 1 and _not_string(args[1]):
        raise arg_type_error(1, "string")


@registry.function("convert_tz", args=2, null_in_null_out=True, validate=_validate_convert_tz)
def fn_convert_tz(t, zone):
    """convert_tz(t, "Asia/Shanghai") → the same instant in that zone."""
    try:
        d = timefmt.to_datetime(t)
        return d.astimezone(timefmt.load_zone(to_string_all(zone)))
    except ValueError as e:
        raise _fail(e) from None


@registry.function("to_seconds", args=1, null_in_null_out=True)
def fn_to_seconds(t):
    """Epoch seconds of a datetime, an epoch-ms number or a date string."""
    try:
        ms = timefmt.value_to_unix_milli(t)
    except ValueError as e:
        raise _fail(e) from None
    return -(-ms // 1000) if ms < 0 else ms // 1000  # Go divides toward zero


@registry.function("hex2dec", args=1, null_in_null_out=True, validate=lambda args: _validate_codec(args[:1]))
def fn_hex2dec(s):
    """hex2dec("0x10") = 16."""
    if type(s) is not str:
        raise FunctionError(f"the argument should be a string, got {typed(s)}")
    body = s[2:] if s[:2] in ("0x", "0X") else s
    try:
        if not re.fullmatch(r"[+-]?[0-9a-fA-F]+", body):
            raise ValueError
        n = int(body, 16)
        if not -(2**63) <= n < 2**63:
            raise FunctionError(f'strconv.ParseInt: parsing "{body}": value out of range')
        return n
    except ValueError:
        raise FunctionError(f'strconv.ParseInt: parsing "{body}": invalid syntax') from None


def _validate_dec2hex(args: list) -> None:
    if args and (is_float_arg(args[0]) or is_string_arg(args[0]) or is_bool_arg(args[0])):
        raise arg_type_error(0, "int")


@registry.function("dec2hex", args=1, null_in_null_out=True, validate=_validate_dec2hex)
def fn_dec2hex(n):
    """dec2hex(16) = "0x10"."""
    try:
        v = to_int_strict(n)
    except ValueError as e:
        raise _fail(e) from None
    return "0x" + format(v, "x")


# --- JSON -----------------------------------------------------------------------------------

_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_HTML_RE = re.compile("[<>&\u2028\u2029]")


def go_json_marshal(v: Any) -> str:
    """encoding/json.Marshal: sorted keys, Go float spelling, HTML characters escaped."""
    text = jsonvalue.dumps(v)
    return _HTML_RE.sub(lambda m: _HTML_ESCAPES[m.group(0)], text)


@registry.function("to_json", args=1)
def fn_to_json(x):
    if x is None:
        return "null"
    try:
        return go_json_marshal(x)
    except (TypeError, ValueError):
        raise FunctionError(f"fail to convert {format_value(x)} to json") from None


def _floats(v: Any) -> Any:
    t = type(v)
    if t is int:
        return float(v)
    if t is dict:
        return {k: _floats(x) for k, x in v.items()}
    if t is list:
        return [_floats(x) for x in v]
    return v


@registry.function("parse_json", args=1, validate=lambda args: _validate_codec(args[:1]))
def fn_parse_json(s):
    """JSON text → value; like Go's json.Unmarshal every number becomes a float."""
    if s is None or s == "null":
        return None
    t = type(s)
    if t is not str and t is not bytes and t is not bytearray:
        raise FunctionError(f"fail to convert {format_value(s)} to string")
    try:
        return _floats(jsonvalue.loads(s))
    except jsonvalue.DecodeError as e:
        raise FunctionError(f"fail to parse json: {e}") from None
