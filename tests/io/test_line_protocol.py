"""The InfluxDB line-protocol encoder (arrokoth.io._line_protocol). That influxd parses
what it writes back to the same values is checked in test_influx_sink.py."""

from __future__ import annotations

import datetime

import pytest

from arrokoth.io._line_protocol import (
    encode_fields,
    encode_line,
    escape_field_key,
    escape_measurement,
    escape_tag,
    field_value,
    format_float,
)


def test_measurement_escapes_commas_and_spaces_only():
    assert escape_measurement("cpu load,1=x") == r"cpu\ load\,1=x"


def test_tags_escape_commas_equals_and_spaces():
    assert escape_tag("a b,c=d") == r"a\ b\,c\=d"
    assert escape_tag('q"uote') == 'q"uote'


def test_field_keys_also_escape_quotes():
    assert escape_field_key('f k,="q') == r"f\ k\,\=\"q"


def test_newlines_cannot_end_a_line_early():
    assert "\n" not in escape_tag("a\nb") + escape_measurement("a\nb") + escape_field_key("a\nb")


@pytest.mark.parametrize(("value", "text"), [
    (1, "1i"),
    (-42, "-42i"),
    (True, "true"),
    (False, "false"),
    (2.5, "2.5"),
    (3.0, "3"),
    (-0.5, "-0.5"),
    (1e21, "1000000000000000000000"),
    (1e-7, "0.0000001"),
    ("plain", '"plain"'),
    ('say "hi" \\ bye', r'"say \"hi\" \\ bye"'),
    ("line\nbreak", '"line\nbreak"'),
    ({"b": 2, "a": 1.5}, '"map[a:1.5 b:2]"'),
    ([1, "x"], '"[1 x]"'),
    (b"\x00\x01", '"AAE="'),
])
def test_field_values_are_typed_as_ekuipers_client_types_them(value, text):
    assert field_value(value) == text


@pytest.mark.parametrize("value", [None, float("nan"), float("inf"), float("-inf")])
def test_values_influxdb_cannot_store_are_left_out(value):
    assert field_value(value) is None
    assert encode_fields({"a": value, "b": 1}) == "b=1i"


def test_a_time_is_written_as_go_prints_it():
    t = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert field_value(t).startswith('"2024-01-02 03:04:05')


def test_format_float_never_uses_an_exponent():
    for f in (1.5e300, 2.5e-300, 123456789.125, 0.1):
        text = format_float(f)
        assert "e" not in text
        assert float(text) == f


def test_a_line_sorts_tags_and_drops_empty_ones():
    line = encode_line("m", {"z": "1", "a": "x y", "empty": "", "": "v"}, {"v": 1.5, "n": 2}, 1700)
    assert line == r"m,a=x\ y,z=1 v=1.5,n=2i 1700"


def test_a_line_without_timestamp_or_tags():
    assert encode_line("m", {}, {"s": "x"}, None) == 'm s="x"'


def test_a_point_without_a_writable_field_is_none():
    assert encode_line("m", {"t": "1"}, {"a": None, "": 1}, 1) is None
    assert encode_line("m", {}, {}, 1) is None
