"""Go-compatible JSON: floats spelled as encoding/json spells them, numbers decoded as eKuiper does."""

from __future__ import annotations

import datetime as dt

import pytest

from arrokoth.functions import jsonvalue

# (value, what Go's json.Marshal(float64(value)) prints)
GO_FLOATS = [
    (3.0, "3"),
    (0.0, "0"),
    (-0.0, "-0"),
    (-2.0, "-2"),
    (0.1, "0.1"),
    (25.5, "25.5"),
    (12345678.9, "12345678.9"),
    (1e20, "100000000000000000000"),
    (1e21, "1e+21"),
    (-1e21, "-1e+21"),
    (1.5e300, "1.5e+300"),
    (1.000000000000001e21, "1.000000000000001e+21"),
    (1e-6, "0.000001"),
    (1e-7, "1e-7"),
    (-1e-7, "-1e-7"),
    (1.23456e-8, "1.23456e-8"),
    (0.000015, "0.000015"),
    (1.23e-5, "0.0000123"),
    (5e-324, "5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
    (1e15, "1000000000000000"),
    (1e16, "10000000000000000"),
    (123456789012345678.0, "123456789012345680"),
]


@pytest.mark.parametrize(("value", "go"), GO_FLOATS, ids=[g for _, g in GO_FLOATS])
def test_go_float_bytes(value: float, go: str):
    assert jsonvalue.go_float_bytes(value) == go.encode()


@pytest.mark.parametrize(("value", "go"), GO_FLOATS, ids=[g for _, g in GO_FLOATS])
def test_encode_spells_floats_like_go_at_top_level_and_nested(value: float, go: str):
    assert jsonvalue.encode(value) == go.encode()
    assert jsonvalue.encode([value]) == f"[{go}]".encode()
    assert jsonvalue.encode({"a": value}) == f'{{"a":{go}}}'.encode()
    assert (
        jsonvalue.encode([{"a": {"b": [value, {"c": value}]}}])
        == f'[{{"a":{{"b":[{go},{{"c":{go}}}]}}}}]'.encode()
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_are_rejected_like_go(bad: float):
    with pytest.raises(ValueError, match="unsupported value"):
        jsonvalue.go_float_bytes(bad)


def test_ints_stay_exact():
    big = 2**63 - 1
    assert jsonvalue.encode({"n": big, "m": -3}) == f'{{"n":{big},"m":-3}}'.encode()


def test_bytes_encode_as_base64():
    assert (
        jsonvalue.encode({"b": b"hi", "e": b"", "ba": bytearray(b"\x00\xff")})
        == b'{"b":"aGk=","e":"","ba":"AP8="}'
    )
    assert jsonvalue.encode([b"abc"]) == b'["YWJj"]'


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "2020-01-02T03:04:05Z"),
        (dt.datetime(2020, 1, 2, 3, 4, 5, 120000, tzinfo=dt.UTC), "2020-01-02T03:04:05.12Z"),
        (dt.datetime(2020, 1, 2, 3, 4, 5, 1, tzinfo=dt.UTC), "2020-01-02T03:04:05.000001Z"),
        (dt.datetime(2020, 1, 2, 3, 4, 5), "2020-01-02T03:04:05Z"),
        (
            dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=8))),
            "2020-01-02T03:04:05+08:00",
        ),
        (
            dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone(-dt.timedelta(hours=5, minutes=30))),
            "2020-01-02T03:04:05-05:30",
        ),
    ],
)
def test_datetimes_encode_as_rfc3339(value: dt.datetime, text: str):
    assert jsonvalue.format_rfc3339(value) == text
    assert jsonvalue.encode({"t": value}) == f'{{"t":"{text}"}}'.encode()


def test_encode_keeps_key_order_and_dumps_sorts():
    assert jsonvalue.encode({"b": 1, "a": 2}) == b'{"b":1,"a":2}'
    assert jsonvalue.encode({"b": 1, "a": 2}, sort_keys=True) == b'{"a":2,"b":1}'
    assert jsonvalue.dumps({"b": 1.0, "a": {"d": 1e21, "c": None}}) == '{"a":{"c":null,"d":1e+21},"b":1}'


def test_tuples_encode_as_arrays():
    assert jsonvalue.encode({"t": (1.0, "x")}) == b'{"t":[1,"x"]}'


def _types(v):
    if isinstance(v, dict):
        return {k: _types(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_types(x) for x in v]
    return type(v)


def test_decode_object_makes_every_number_a_float_at_any_depth():
    obj = jsonvalue.decode_object(b'{"a":1,"b":{"c":2,"d":[3,{"e":4}]},"f":2.5,"s":"x","t":true,"n":null}')
    assert obj == {
        "a": 1.0,
        "b": {"c": 2.0, "d": [3.0, {"e": 4.0}]},
        "f": 2.5,
        "s": "x",
        "t": True,
        "n": None,
    }
    assert _types(obj) == {
        "a": float,
        "b": {"c": float, "d": [float, {"e": float}]},
        "f": float,
        "s": str,
        "t": bool,
        "n": type(None),
    }


def test_decode_object_accepts_str():
    assert _types(jsonvalue.decode_object('{"a":1}')) == {"a": float}


def test_decode_object_with_ints_keeps_whole_numbers_as_ints():
    obj = jsonvalue.decode_object(b'{"a":1,"b":{"c":2,"d":[3]},"f":2.5}', ints=True)
    assert obj == {"a": 1, "b": {"c": 2, "d": [3]}, "f": 2.5}
    assert _types(obj) == {"a": int, "b": {"c": int, "d": [int]}, "f": float}


def test_decode_object_array_of_objects():
    objs = jsonvalue.decode_object(b'[{"a":1},{"b":[2,{"c":3}]}]')
    assert objs == [{"a": 1.0}, {"b": [2.0, {"c": 3.0}]}]
    assert _types(objs) == [{"a": float}, {"b": [float, {"c": float}]}]
    assert _types(jsonvalue.decode_object(b'[{"a":1}]', ints=True)) == [{"a": int}]


def test_decode_object_rejects_malformed_json():
    with pytest.raises(jsonvalue.DecodeError):
        jsonvalue.decode_object(b'{"a":')


def test_loads_keeps_ints():
    assert _types(jsonvalue.loads(b'{"a":1,"b":[2.0]}')) == {"a": int, "b": [float]}


def test_decoded_floats_encode_back_in_go_form():
    assert (
        jsonvalue.encode(jsonvalue.decode_object(b'{"a":3,"b":[1e21,0.0000001]}'))
        == b'{"a":3,"b":[1e+21,1e-7]}'
    )
