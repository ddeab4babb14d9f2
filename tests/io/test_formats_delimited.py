"""The delimited format: values separated by a delimiter, columns from a header, the schema or `fields`."""

from __future__ import annotations

import pytest

from arrokoth.io.formats.delimited import DelimitedDecoder, DelimitedEncoder
from arrokoth.io.formats.json import FormatError
from arrokoth.io.formats.registry import decoder_for, encoder_for
from arrokoth.plan.streams import StreamDef
from arrokoth.sql import parse


def stream(ddl: str) -> StreamDef:
    return StreamDef.from_ast(parse(ddl), ddl)


SCHEMALESS = stream('CREATE STREAM s () WITH (DATASOURCE="s", TYPE="mock", FORMAT="delimited")')
TYPED = stream(
    'CREATE STREAM s (id BIGINT, name STRING, temp FLOAT, ok BOOLEAN) '
    'WITH (DATASOURCE="s", TYPE="mock", FORMAT="delimited", DELIMITER="|")'
)


def test_without_columns_values_are_named_col0_col1():
    assert decoder_for(SCHEMALESS, {}).decode(b"1,abc,2.5") == [{"col0": "1", "col1": "abc", "col2": "2.5"}]


def test_columns_from_the_fields_property():
    dec = decoder_for(SCHEMALESS, {"fields": ["a", "b"]})
    # extra values are dropped, missing ones left out (null in SQL)
    assert dec.decode(b"1,2,3") == [{"a": "1", "b": "2"}]
    assert dec.decode(b"1") == [{"a": "1"}]


def test_schema_gives_columns_delimiter_and_types():
    dec = decoder_for(TYPED, {})
    assert dec.decode(b"7|dev 1|21.5|true") == [{"id": 7, "name": "dev 1", "temp": 21.5, "ok": True}]
    # text that does not parse stays text (strict validation reports it), empty is null
    assert dec.decode(b"x||y|maybe") == [{"id": "x", "name": "", "temp": "y", "ok": "maybe"}]
    assert dec.decode(b"|a||") == [{"id": None, "name": "a", "temp": None, "ok": None}]


def test_header_line_names_the_columns_once():
    dec = decoder_for(SCHEMALESS, {"hasHeader": True})
    assert dec.decode(b"id,name") == []
    assert dec.decode(b"1,a") == [{"id": "1", "name": "a"}]
    assert dec.decode(b"2,b\n3,c\n") == [{"id": "2", "name": "b"}, {"id": "3", "name": "c"}]


def test_a_payload_of_several_lines_with_header():
    dec = decoder_for(SCHEMALESS, {"hasHeader": True, "delimiter": ";"})
    assert dec.decode(b"a;b\r\n1;2\r\n\r\n3;4") == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_quoted_values_and_multi_char_delimiters():
    assert DelimitedDecoder(",", ["a", "b"]).decode(b'"x,y",z') == [{"a": "x,y", "b": "z"}]
    assert DelimitedDecoder("::", ["a", "b"]).decode(b'1::"2"') == [{"a": "1", "b": '"2"'}]


def test_decode_errors():
    with pytest.raises(FormatError, match="not UTF-8"):
        DelimitedDecoder().decode(b"\xff\xfe")
    with pytest.raises(FormatError, match="invalid delimited payload"):
        DelimitedDecoder().decode(b'a,"b\n')
    with pytest.raises(FormatError, match="line break"):
        DelimitedDecoder("\n")
    with pytest.raises(FormatError, match="fields: expected a list"):
        decoder_for(SCHEMALESS, {"fields": 3})


def test_encoder_sorts_the_keys_of_the_first_row_and_keeps_them():
    enc = encoder_for("delimited", {})
    assert enc.encode({"b": 2, "a": 1.5, "c": "x"}) == b"1.5,2,x"
    # later rows use the same columns; a missing value is empty
    assert enc.encode({"c": "y", "a": True}) == b"true,,y"


def test_encoder_fields_order_header_and_lists():
    enc = encoder_for("delimited", {"fields": ["name", "id"], "delimiter": "|", "hasHeader": True})
    assert enc.encode([{"id": 1, "name": "a"}, {"id": 2, "name": "b|c"}]) == b'name|id\na|1\n"b|c"|2'
    assert enc.encode({"id": 3, "name": None}) == b"|3"  # the header comes once


def test_encoder_values():
    enc = DelimitedEncoder(fields=["v"])
    assert enc.encode({"v": 1e21}) == b"1000000000000000000000"
    assert enc.encode({"v": {"x": [1]}}) == b'"{""x"":[1]}"'
    assert enc.encode({"v": b"raw"}) == b"raw"
    with pytest.raises(FormatError, match="encodes objects"):
        enc.encode([1])


def test_round_trip_through_the_registry():
    rows = [{"id": 1, "name": "a, b", "temp": 20.5, "ok": False}, {"id": 2, "name": 'q"uote', "temp": -1.0, "ok": True}]
    enc = encoder_for("delimited", {"fields": ["id", "name", "temp", "ok"], "delimiter": "|"})
    payload = enc.encode(rows)
    assert decoder_for(TYPED, {}).decode(payload) == rows
