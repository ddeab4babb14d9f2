"""The json format: payloads decode to row objects as eKuiper's converter does, and encode back."""

from __future__ import annotations

import datetime as dt

import pytest

from arrokoth.io.formats.json import FormatError, JsonDecoder, JsonEncoder
from arrokoth.plan.streams import StreamDef
from arrokoth.sql import parse


def stream(ddl: str) -> StreamDef:
    return StreamDef.from_ast(parse(ddl), ddl)


TYPED = stream(
    'CREATE STREAM demo (size BIGINT, temp FLOAT, name STRING, ok BOOLEAN) WITH (DATASOURCE="demo", TYPE="mock")'
)
SCHEMALESS = stream('CREATE STREAM free () WITH (DATASOURCE="free", TYPE="mock")')


def test_schemaless_numbers_decode_as_floats():
    [msg] = JsonDecoder(SCHEMALESS).decode(b'{"a":3,"b":{"c":[1,2]}}')
    assert msg == {"a": 3.0, "b": {"c": [1.0, 2.0]}}
    assert type(msg["a"]) is float
    assert type(msg["b"]["c"][0]) is float


def test_no_stream_behaves_as_schemaless():
    [msg] = JsonDecoder().decode('{"a":3}')
    assert type(msg["a"]) is float


def test_ints_option_keeps_whole_numbers():
    [msg] = JsonDecoder(SCHEMALESS, ints=True).decode(b'{"a":3,"b":2.5}')
    assert msg == {"a": 3, "b": 2.5}
    assert type(msg["a"]) is int


def test_declared_columns_decode_to_their_type():
    [msg] = JsonDecoder(TYPED).decode(b'{"size":3,"temp":4,"name":25.5,"ok":true,"extra":7}')
    # a declared schema decodes only its own columns, as eKuiper's converter does
    assert msg == {"size": 3, "temp": 4.0, "name": "25.5", "ok": True}
    assert type(msg["size"]) is int
    assert type(msg["temp"]) is float


def test_declared_columns_decode_to_their_type_with_ints_option():
    # useInt64ForWholeNumber leaves FLOAT and STRING columns their type; undeclared ones are dropped
    [msg] = JsonDecoder(TYPED, ints=True).decode(b'{"size":3,"temp":4,"name":25,"extra":7}')
    assert msg == {"size": 3, "temp": 4.0, "name": "25"}
    assert type(msg["temp"]) is float


def test_string_column_holding_a_float_gets_go_spelling():
    [msg] = JsonDecoder(TYPED).decode(b'{"name":1e21}')
    assert msg["name"] == "1e+21"


def test_array_payload_gives_one_message_per_object():
    msgs = JsonDecoder(TYPED).decode(b'[{"size":1},{"size":2,"temp":1}]')
    assert msgs == [{"size": 1}, {"size": 2, "temp": 1.0}]
    assert [type(m["size"]) for m in msgs] == [int, int]


def test_empty_array_payload_gives_no_messages():
    assert JsonDecoder(SCHEMALESS).decode(b"[]") == []


@pytest.mark.parametrize("payload", [b"3", b'"x"', b"[1,2]", b'[{"a":1},2]', b"null"])
def test_payload_that_is_not_objects_is_rejected(payload: bytes):
    with pytest.raises(FormatError, match="only map"):
        JsonDecoder(SCHEMALESS).decode(payload)


@pytest.mark.parametrize("payload", [b'{"a":', b"", b"{'a':1}", b'{"a":1e400}'])
def test_invalid_json_is_a_format_error(payload: bytes):
    with pytest.raises(FormatError, match="invalid"):
        JsonDecoder(SCHEMALESS).decode(payload)


def test_encoder_writes_go_json():
    data = [
        {"a": 3.0, "b": 1e21, "c": b"hi", "t": dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "n": None}
    ]
    assert JsonEncoder().encode(data) == b'[{"a":3,"b":1e+21,"c":"aGk=","t":"2020-01-02T03:04:05Z","n":null}]'


def test_decode_then_encode_round_trips_numbers():
    payload = b'{"a":3,"b":0.000015,"c":[1e-7]}'
    [msg] = JsonDecoder(SCHEMALESS).decode(payload)
    assert JsonEncoder().encode(msg) == payload
