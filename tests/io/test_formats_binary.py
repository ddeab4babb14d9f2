"""The binary format: the payload is one bytea field."""

from __future__ import annotations

import pytest

from arrokoth.io.formats.binary import BinaryDecoder, BinaryEncoder
from arrokoth.io.formats.json import FormatError
from arrokoth.plan.streams import StreamDef, StreamDefError
from arrokoth.sql import parse


def stream(ddl: str) -> StreamDef:
    return StreamDef.from_ast(parse(ddl), ddl)


def test_schemaless_stream_names_the_field_self():
    d = stream('CREATE STREAM img () WITH (DATASOURCE="img", TYPE="mock", FORMAT="binary")')
    assert BinaryDecoder(d).decode(b"\x00\xffabc") == [{"self": b"\x00\xffabc"}]
    assert BinaryDecoder().decode(bytearray(b"x")) == [{"self": b"x"}]


def test_declared_bytea_column_takes_the_payload():
    d = stream('CREATE STREAM img (image BYTEA) WITH (DATASOURCE="img", TYPE="mock", FORMAT="binary")')
    [row] = BinaryDecoder(d).decode(b"\x89PNG")
    assert row == {"image": b"\x89PNG"} and type(row["image"]) is bytes


def test_binary_streams_take_one_bytea_column_only():
    with pytest.raises(StreamDefError, match="only one field"):
        stream('CREATE STREAM img (a BYTEA, b BYTEA) WITH (DATASOURCE="img", TYPE="mock", FORMAT="binary")')


def test_encoder_sends_the_bytes_of_the_single_field():
    enc = BinaryEncoder()
    assert enc.encode({"image": b"\x01\x02"}) == b"\x01\x02"
    assert enc.encode([{"self": b"\x03"}]) == b"\x03"
    assert enc.encode({"text": "héllo"}) == "héllo".encode()


def test_round_trip():
    payload = bytes(range(256))
    rows = BinaryDecoder().decode(payload)
    assert BinaryEncoder().encode(rows) == payload


@pytest.mark.parametrize(("data", "message"), [
    ({"a": b"1", "b": b"2"}, "exactly one field, but got fields: a, b"),
    ({}, "exactly one field, but got fields: none"),
    ({"a": 1}, "field a: expected bytes or a string but got int"),
    ({"a": None}, "expected bytes or a string but got null"),
    ([{"a": b"1"}, {"a": b"2"}], "got 2 rows: set sendSingle to true"),
])
def test_encoder_errors(data, message):
    with pytest.raises(FormatError, match=message):
        BinaryEncoder().encode(data)
