"""Conversion functions (spec 10.6), called through the registry as the engine does."""

from __future__ import annotations

import datetime as dt
import importlib.util

import pytest

from arrokoth.functions import builtins, timefmt
from arrokoth.functions.registry import FunctionContext, FunctionError, registry
from arrokoth.sql import ast

builtins.load()


@pytest.fixture(autouse=True)
def utc():
    timefmt.set_default_timezone("UTC")
    yield
    timefmt.set_default_timezone(None)


def call(name: str, *args):
    fdef = registry.get(name)
    if fdef.null_in_null_out and any(a is None for a in args):
        return None  # the planner short-circuits
    return fdef.impl(*args)


def validate(name: str, *nodes) -> None:
    fdef = registry.get(name)
    fdef.check_arity(len(nodes))
    if fdef.validate:
        fdef.validate(list(nodes))


def same(a, b) -> bool:
    return type(a) is type(b) and a == b


S = ast.StringLiteral


def test_cast_bigint():
    assert same(call("cast", 1.2, "bigint"), 1)
    assert same(call("cast", 5, "bigint"), 5)
    assert same(call("cast", 101.5, "bigint"), 101)
    assert same(call("cast", -1.9, "bigint"), -1)
    assert same(call("cast", "42", "bigint"), 42)
    assert same(call("cast", "0x10", "bigint"), 16)
    assert same(call("cast", True, "bigint"), 1)
    with pytest.raises(FunctionError, match=r"cannot convert string\(1.5\) to int"):
        call("cast", "1.5", "bigint")


def test_cast_float_string_boolean():
    assert same(call("cast", 1, "float"), 1.0)
    assert same(call("cast", "2.5", "float"), 2.5)
    assert same(call("cast", 1.2, "string"), "1.2")
    assert same(call("cast", 1, "string"), "1")
    assert same(call("cast", True, "string"), "true")
    assert same(call("cast", 1e21, "string"), "1000000000000000000000")
    assert call("cast", "true", "boolean") is True
    assert call("cast", "T", "boolean") is True
    assert call("cast", "1", "boolean") is True
    assert call("cast", 0.0, "boolean") is False
    assert call("cast", 1, "boolean") is True
    with pytest.raises(FunctionError, match=r'strconv.ParseBool: parsing "yes": invalid syntax'):
        call("cast", "yes", "boolean")


def test_cast_datetime_and_bytea():
    assert call("cast", 0, "datetime") == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert call("cast", "2019-09-19T00:55:15.000Z", "datetime") == dt.datetime(
        2019, 9, 19, 0, 55, 15, tzinfo=dt.UTC
    )
    d = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    assert call("cast", d, "datetime") is d
    assert call("cast", "Ynl0ZWE=", "bytea") == b"bytea"
    assert call("cast", b"bytea", "bytea") == b"bytea"
    with pytest.raises(FunctionError, match=r"cannot convert int64\(1\) to bytea"):
        call("cast", 1, "bytea")
    assert call("cast", None, "bigint") is None


def test_cast_validation():
    validate("cast", ast.FieldRef("a"), S("bytea"))
    with pytest.raises(FunctionError, match="Expect one of following value for the 2nd parameter"):
        validate("cast", ast.FieldRef("a"), S("test"))
    with pytest.raises(FunctionError, match="Expect string type for parameter 2"):
        validate("cast", ast.FieldRef("a"), ast.IntegerLiteral(1))
    with pytest.raises(FunctionError, match="Expect 2 arguments but found 1."):
        validate("cast", ast.FieldRef("a"))


def test_encode_decode():
    assert call("encode", "hello", "base64") == "aGVsbG8="
    assert call("decode", "aGVsbG8=", "base64") == b"hello"
    with pytest.raises(FunctionError, match="Only base64 encoding is supported."):
        call("encode", "hello", "hex")
    with pytest.raises(FunctionError, match="fail to decode base64 string"):
        call("decode", "!!!", "base64")
    with pytest.raises(FunctionError, match="Only base64 is supported for the 2nd parameter."):
        validate("encode", S("a"), S("hex"))


@pytest.mark.parametrize("method", ["zlib", "gzip", "flate"])
def test_compress_roundtrip(method):
    ctx = FunctionContext()
    packed = registry.get("compress").impl(ctx, "hello hello hello", method)
    assert type(packed) is bytes
    assert registry.get("decompress").impl(FunctionContext(), packed, method) == b"hello hello hello"


def test_compress_method_must_stay_the_same():
    ctx = FunctionContext()
    registry.get("compress").impl(ctx, "a", "zlib")
    with pytest.raises(FunctionError, match="compress type must be consistent"):
        registry.get("compress").impl(ctx, "a", "gzip")
    with pytest.raises(FunctionError, match="unsupported compressor"):
        validate("compress", S("a"), S("lz4"))


def test_zstd_needs_its_package():
    if importlib.util.find_spec("zstandard") is None:
        with pytest.raises(FunctionError, match="zstandard"):
            registry.get("compress").impl(FunctionContext(), "a", "zstd")
    else:
        packed = registry.get("compress").impl(FunctionContext(), "a", "zstd")
        assert registry.get("decompress").impl(FunctionContext(), packed, "zstd") == b"a"


def test_convert_tz():
    utc = dt.datetime(2022, 4, 13, 6, 22, 32, 233000, tzinfo=dt.UTC)
    got = call("convert_tz", utc, "Asia/Shanghai")
    assert (got.hour, got.utcoffset()) == (14, dt.timedelta(hours=8))
    assert got == utc
    assert call("convert_tz", utc, "UTC") == utc
    with pytest.raises(FunctionError, match="unknown time zone Unknown"):
        call("convert_tz", utc, "Unknown")
    with pytest.raises(FunctionError, match="unsupported type to convert to timestamp true"):
        call("convert_tz", True, "UTC")
    with pytest.raises(FunctionError, match="Expect datetime type for parameter 1"):
        validate("convert_tz", ast.NumberLiteral(0.0), S("UTC"))


def test_to_seconds():
    assert call("to_seconds", dt.datetime.fromtimestamp(1e9, dt.UTC)) == 1_000_000_000
    assert call("to_seconds", 1_000_000_500) == 1_000_000
    assert call("to_seconds", "1970-01-01T00:00:10.000Z") == 10
    assert call("to_seconds", None) is None


def test_hex():
    assert call("hex2dec", "0x10") == 16
    assert call("hex2dec", "ff") == 255
    assert call("dec2hex", 16) == "0x10"
    with pytest.raises(FunctionError, match="invalid syntax"):
        call("hex2dec", "0xzz")
    with pytest.raises(FunctionError, match="Expect string type for parameter 1"):
        validate("hex2dec", ast.IntegerLiteral(16))
    with pytest.raises(FunctionError, match="Expect int type for parameter 1"):
        validate("dec2hex", S("16"))


def test_to_json():
    assert call("to_json", "foo") == '"foo"'
    assert call("to_json", None) == "null"
    assert call("to_json", {"key2": "foo", "key1": "bar"}) == '{"key1":"bar","key2":"foo"}'
    assert call("to_json", {"a": 3.0, "b": [1, 2.5]}) == '{"a":3,"b":[1,2.5]}'
    assert call("to_json", "<&>") == '"\\u003c\\u0026\\u003e"'


def test_parse_json():
    assert call("parse_json", '"foo"') == "foo"
    assert call("parse_json", "null") is None
    assert call("parse_json", None) is None
    assert call("parse_json", '{"key1":"bar","key2":"foo"}') == {"key1": "bar", "key2": "foo"}
    assert call("parse_json", '[{"key1":"bar"}]') == [{"key1": "bar"}]
    assert same(call("parse_json", '{"n": 1}')["n"], 1.0)  # JSON numbers are float64
    with pytest.raises(FunctionError, match="fail to parse json"):
        call("parse_json", "key1")
