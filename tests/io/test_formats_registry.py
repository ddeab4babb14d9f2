"""The format registry: FORMAT / format names → decoders and encoders."""

from __future__ import annotations

import pytest

from arrokoth.io.formats import registry
from arrokoth.io.formats.binary import BinaryDecoder, BinaryEncoder
from arrokoth.io.formats.delimited import DelimitedDecoder, DelimitedEncoder
from arrokoth.io.formats.json import FormatError, JsonDecoder, JsonEncoder
from arrokoth.plan.streams import StreamDef
from arrokoth.sql import parse


def stream(ddl: str) -> StreamDef:
    return StreamDef.from_ast(parse(ddl), ddl)


def test_builtin_formats_are_registered():
    assert {"json", "binary", "delimited", "protobuf"} <= set(registry.format_names())


def test_json_keeps_the_plain_json_decoder():
    # the hot path: a json stream's source decodes with JsonDecoder itself, no wrapper
    d = stream('CREATE STREAM s (a BIGINT) WITH (DATASOURCE="s", TYPE="mock")')
    dec = registry.decoder_for(d, {"useInt64ForWholeNumber": True})
    assert type(dec) is JsonDecoder and dec.ints is True
    assert dec.decode(b'{"a":1.0}') == [{"a": 1}]
    assert type(registry.encoder_for("json", {})) is JsonEncoder
    assert type(registry.encoder_for(None)) is JsonEncoder


def test_format_names_are_case_insensitive():
    d = stream('CREATE STREAM s () WITH (DATASOURCE="s", TYPE="mock", FORMAT="BINARY")')
    assert type(registry.decoder_for(d, {})) is BinaryDecoder
    assert type(registry.encoder_for("Binary", {})) is BinaryEncoder
    d = stream('CREATE STREAM s () WITH (DATASOURCE="s", TYPE="mock", FORMAT="delimited")')
    assert type(registry.decoder_for(d, {})) is DelimitedDecoder
    assert type(registry.encoder_for("DELIMITED", {})) is DelimitedEncoder


def test_unknown_format_is_a_clear_error():
    with pytest.raises(FormatError, match="unsupported format xml"):
        registry.encoder_for("xml", {})
    with pytest.raises(FormatError, match="unsupported format custom"):
        registry.decoder_for(None, {}, "custom")


def test_register_a_format():
    class Upper:
        def decode(self, payload):
            return [{"text": payload.decode().upper()}]

        def encode(self, data):
            return str(data).encode()

    registry.register_format("upper-test", decoder=lambda s, p: Upper(), encoder=lambda p: Upper())
    try:
        assert registry.decoder_for(None, {}, "UPPER-test").decode(b"hi") == [{"text": "HI"}]
        assert registry.encoder_for("upper-test").encode(1) == b"1"
    finally:
        registry._DECODERS.pop("upper-test")
        registry._ENCODERS.pop("upper-test")


def test_props_and_bools():
    assert registry.prop({"HasHeader": True}, "hasHeader") is True
    assert registry.bool_prop({"hasHeader": "true"}, "hasHeader") is True
    assert registry.bool_prop({}, "hasHeader") is False
    with pytest.raises(FormatError, match="hasHeader: expected a bool"):
        registry.bool_prop({"hasHeader": "yes"}, "hasHeader")
