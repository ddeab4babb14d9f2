"""Strict validation and event-time extraction, before any rule sees a message (spec §3, §12 step 1)."""

from __future__ import annotations

import datetime as dt

import pytest

from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.preprocess import PreprocessError, strict_validator, timestamp_extractor
from arrokoth.sql import parse

START = 1_541_152_486_000  # 2018-11-02T09:54:46Z


def stream(ddl: str) -> StreamDef:
    return StreamDef.from_ast(parse(ddl), ddl)


def strict(columns: str, **options: str) -> StreamDef:
    extra = "".join(f', {k}="{v}"' for k, v in options.items())
    return stream(f'CREATE STREAM s ({columns}) WITH (DATASOURCE="s", STRICT_VALIDATION="true"{extra})')


def validate(columns: str, msg: dict, **options: str) -> dict:
    return strict_validator(strict(columns, **options))(msg)


def error_of(columns: str, msg: dict, **options: str) -> str:
    with pytest.raises(PreprocessError) as info:
        validate(columns, msg, **options)
    return str(info.value)


# --- conversions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "value", "expected"),
    [
        ("BIGINT", 3, 3),
        ("BIGINT", "12", 12),
        ("BIGINT", 3.0, 3),
        ("FLOAT", 2, 2.0),
        ("FLOAT", 2.5, 2.5),
        ("FLOAT", "2.5", 2.5),
        ("STRING", "x", "x"),
        ("STRING", 12, "12"),
        ("STRING", 1.5, "1.5"),
        ("STRING", True, "true"),
        ("BOOLEAN", True, True),
        ("BOOLEAN", "true", True),
        ("BOOLEAN", "0", False),
        ("BOOLEAN", 1, True),
        ("BYTEA", "aGk=", b"hi"),
        ("BYTEA", b"raw", b"raw"),
        ("ARRAY(BIGINT)", [1, "2", None], [1, 2, None]),
        ("ARRAY(FLOAT)", [1, 2.5], [1.0, 2.5]),
        ("ARRAY(STRING)", [], []),
    ],
)
def test_each_declared_type_converts(dtype, value, expected):
    out = validate(f"v {dtype}", {"v": value})
    assert out == {"v": expected}
    assert type(out["v"]) is type(expected)
    if isinstance(expected, list):
        assert [type(x) for x in out["v"]] == [type(x) for x in expected]


def test_a_struct_converts_its_declared_fields_and_keeps_the_others():
    out = validate("st STRUCT(x BIGINT, y STRING)", {"st": {"x": "5", "y": 3, "z": [1]}})
    assert out == {"st": {"x": 5, "y": "3", "z": [1]}}


def test_a_struct_may_arrive_as_a_json_string():
    out = validate("st STRUCT(x BIGINT)", {"st": '{"x": "7"}'})
    assert out == {"st": {"x": 7}}


def test_nested_arrays_of_structs():
    out = validate("a ARRAY(STRUCT(x FLOAT))", {"a": [{"x": 1}, {"x": "2"}]})
    assert out == {"a": [{"x": 1.0}, {"x": 2.0}]}
    assert type(out["a"][0]["x"]) is float


def test_datetime_from_epoch_milliseconds():
    out = validate("t DATETIME", {"t": START})
    assert out["t"] == dt.datetime(2018, 11, 2, 9, 54, 46, tzinfo=dt.UTC)


def test_datetime_from_an_rfc3339_string():
    out = validate("t DATETIME", {"t": "2018-11-02T09:54:46Z"})
    assert out["t"] == dt.datetime(2018, 11, 2, 9, 54, 46, tzinfo=dt.UTC)


def test_datetime_from_a_string_in_the_stream_timestamp_format():
    out = validate("t DATETIME", {"t": "02/11/2018 09:54:46"}, TIMESTAMP_FORMAT="dd/MM/yyyy HH:mm:ss")
    assert out["t"] == dt.datetime(2018, 11, 2, 9, 54, 46, tzinfo=dt.UTC)


def test_a_datetime_value_passes_as_it_is():
    when = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    assert validate("t DATETIME", {"t": when})["t"] is when


def test_fields_that_are_not_declared_pass_through():
    assert validate("a BIGINT", {"a": "1", "extra": "x"}) == {"a": 1, "extra": "x"}


def test_the_input_message_is_not_changed():
    msg = {"a": "1"}
    validate("a BIGINT", msg)
    assert msg == {"a": "1"}


# --- errors -----------------------------------------------------------------------------


def test_the_wording_of_a_type_mismatch():
    assert (
        error_of("size BIGINT, color STRING", {"size": "red", "color": "x"})
        == "error in preprocessor: field size type mismatch: cannot convert string(red) to int64"
    )


@pytest.mark.parametrize(
    ("dtype", "value", "message"),
    [
        ("BIGINT", True, "cannot convert bool(true) to int64"),
        ("BIGINT", [1], "cannot convert []interface {}([1]) to int64"),
        ("FLOAT", "x", "cannot convert string(x) to float64"),
        ("FLOAT", True, "cannot convert bool(true) to float64"),
        ("STRING", [1], "cannot convert []interface {}([1]) to string"),
        ("BOOLEAN", "yes", "cannot convert string(yes) to bool"),
        ("DATETIME", True, "cannot convert bool(true) to datetime"),
        ("DATETIME", "not a time", "Can't parse string as time: not a time"),
        ("BYTEA", 5, "cannot convert int64(5) to bytea"),
        ("ARRAY(BIGINT)", 5, "cannot convert int64(5) to array"),
        ("ARRAY(BIGINT)", ["x"], "cannot convert string(x) to int64"),
        ("STRUCT(x BIGINT)", 5, "cannot convert int64(5) to map"),
        ("STRUCT(x BIGINT)", "[1]", "cannot convert []interface {}([1]) to map"),
    ],
)
def test_values_that_do_not_convert(dtype, value, message):
    assert error_of(f"v {dtype}", {"v": value}) == f"error in preprocessor: field v type mismatch: {message}"


def test_bytea_must_be_valid_base64():
    assert error_of("v BYTEA", {"v": "!!"}).startswith("error in preprocessor: field v type mismatch: ")


def test_a_missing_field_is_an_error():
    assert error_of("a BIGINT, b STRING", {"a": 1}) == "error in preprocessor: field b is not found"


def test_a_null_field_counts_as_missing():
    assert error_of("a BIGINT", {"a": None}) == "error in preprocessor: field a is not found"


def test_the_first_failing_column_in_declaration_order_is_reported():
    assert error_of("a BIGINT, b BIGINT", {"b": "x", "a": "y"}).startswith("error in preprocessor: field a ")


# --- DEFAULT ----------------------------------------------------------------------------


def test_defaults_fill_missing_fields():
    columns = 'a BIGINT DEFAULT 3, f FLOAT DEFAULT 1.5, s STRING DEFAULT "x", b BOOLEAN DEFAULT true'
    assert validate(columns, {}) == {"a": 3, "f": 1.5, "s": "x", "b": True}


def test_a_present_field_is_converted_not_defaulted():
    assert validate("a BIGINT DEFAULT 3", {"a": "7"}) == {"a": 7}


def test_a_negative_default():
    assert validate("a BIGINT DEFAULT -3, f FLOAT DEFAULT -2.5", {}) == {"a": -3, "f": -2.5}


def test_defaults_apply_only_to_string_boolean_float_and_bigint():
    assert error_of('t DATETIME DEFAULT "2020-01-01"', {}) == "error in preprocessor: field t is not found"


def test_defaults_do_nothing_without_strict_validation(rule):
    ddl = 'CREATE STREAM demo (a BIGINT DEFAULT 3, b BIGINT) WITH (DATASOURCE="demo", TYPE="mock")'
    h = rule("SELECT a, b FROM demo", ddl)
    h.send("demo", {"b": "1"}, at=10)
    assert h.take() == [[{"b": "1"}]]  # no default, and no conversion either


# --- timestamps -------------------------------------------------------------------------


def extract(value, fmt: str = "") -> int:
    option = f', TIMESTAMP_FORMAT="{fmt}"' if fmt else ""
    d = stream(f'CREATE STREAM s () WITH (DATASOURCE="s", TIMESTAMP="ts"{option})')
    return timestamp_extractor(d)({"ts": value})


def test_a_number_is_epoch_milliseconds():
    assert extract(START) == START
    assert extract(START + 0.7) == START  # truncated
    assert type(extract(float(START))) is int


def test_a_string_is_parsed_with_timestamp_format():
    assert extract("2018-11-02 09:54:46", "yyyy-MM-dd HH:mm:ss") == START
    assert extract("2018/11/02 09:54:46.123", "yyyy/MM/dd HH:mm:ss.SSS") == START + 123


def test_a_string_without_timestamp_format_uses_the_automatic_layouts():
    assert extract("2018-11-02T09:54:46Z") == START
    assert extract("2018-11-02T10:54:46+01:00") == START


def test_a_datetime_value():
    assert extract(dt.datetime(2018, 11, 2, 9, 54, 46, tzinfo=dt.UTC)) == START


def test_timestamp_errors():
    with pytest.raises(PreprocessError, match="^error in preprocessor: cannot find timestamp field ts in tuple"):
        timestamp_extractor(stream('CREATE STREAM s () WITH (DATASOURCE="s", TIMESTAMP="ts")'))({"a": 1})
    with pytest.raises(PreprocessError, match="^error in preprocessor: unsupported type bool for timestamp field ts$"):
        extract(True)
    with pytest.raises(PreprocessError, match="^error in preprocessor: Can't parse string as time: soon$"):
        extract("soon", "yyyy-MM-dd")


# --- through a rule ---------------------------------------------------------------------


def test_a_strict_stream_hands_converted_values_to_the_rule(rule):
    ddl = 'CREATE STREAM demo (size BIGINT, ratio FLOAT) WITH (DATASOURCE="demo", TYPE="mock", STRICT_VALIDATION="true")'
    h = rule("SELECT size / 2 AS half, ratio FROM demo", ddl)
    h.send("demo", {"size": "5", "ratio": 1}, at=10)
    [[row]] = h.take()
    assert row == {"half": 2, "ratio": 1.0}
    assert type(row["ratio"]) is float


def test_event_time_from_a_formatted_string(rule):
    ddl = 'CREATE STREAM demo () WITH (DATASOURCE="demo", TYPE="mock", TIMESTAMP="ts", TIMESTAMP_FORMAT="yyyy-MM-dd HH:mm:ss")'
    h = rule("SELECT a, event_time() AS et FROM demo", ddl, options={"isEventTime": True})
    h.send("demo", {"a": 1, "ts": "2018-11-02 09:54:47"}, at=10)
    assert h.take() == [[{"a": 1, "et": START + 1000}]]
