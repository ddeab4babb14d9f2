"""Stream and table definitions (spec §3): options, defaults and the format rules."""

from __future__ import annotations

import pytest

from arrokoth.plan.streams import STREAM_OPTIONS, StreamDef, StreamDefError
from arrokoth.sql import parse


def define(ddl: str) -> StreamDef:
    return StreamDef.from_ast(parse(ddl), ddl)


def test_schemaless_stream():
    ddl = 'CREATE STREAM demo () WITH (DATASOURCE="topic/a", TYPE="mock")'
    d = define(ddl)
    assert (d.name, d.kind, d.columns) == ("demo", "stream", None)
    assert d.datasource == "topic/a"
    assert d.type == "mock"
    assert d.sql == ddl
    assert d.statement is not None


def test_columns_keep_their_types_in_order():
    d = define('CREATE STREAM s (a BIGINT, b STRUCT(c FLOAT), d ARRAY(STRING)) WITH (DATASOURCE="d")')
    assert list(d.columns) == ["a", "b", "d"]
    assert d.columns["a"].name == "BIGINT"
    assert d.columns["b"].name == "STRUCT"
    assert d.columns["b"].fields[0].name == "c"
    assert d.columns["d"].name == "ARRAY"


def test_table_kind():
    assert define('CREATE TABLE t () WITH (DATASOURCE="t")').kind == "table"


def test_defaults_type_mqtt_format_json():
    d = define('CREATE STREAM s () WITH (DATASOURCE="d")')
    assert d.type == "mqtt"
    assert d.format == "json"
    assert d.strict is False
    assert d.shared is False
    assert d.lookup is False
    assert d.timestamp_field == ""
    assert d.timestamp_format == ""


def test_type_and_format_are_case_insensitive():
    d = define('CREATE STREAM s () WITH (DATASOURCE="d", TYPE="MQTT", FORMAT="JSON")')
    assert (d.type, d.format) == ("mqtt", "json")


def test_timestamp_options():
    d = define('CREATE STREAM s () WITH (DATASOURCE="d", TIMESTAMP="ts", TIMESTAMP_FORMAT="yyyy-MM-dd")')
    assert d.timestamp_field == "ts"
    assert d.timestamp_format == "yyyy-MM-dd"


def test_unknown_option_is_rejected():
    with pytest.raises(StreamDefError, match=r"^unknown option FOO$"):
        define('CREATE STREAM s () WITH (DATASOURCE="d", FOO="x")')


def test_every_documented_option_is_known():
    assert set(STREAM_OPTIONS) == {
        "DATASOURCE", "TYPE", "FORMAT", "SCHEMAID", "DELIMITER", "CONF_KEY", "EXTRA", "KEY", "SHARED",
        "STRICT_VALIDATION", "TIMESTAMP", "TIMESTAMP_FORMAT", "RETAIN_SIZE", "KIND", "VERSION", "TEMP",
    }


# --- flags ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "strict"),
    [('"true"', True), ('"TRUE"', True), ("TRUE", True), ("true", True), ('"false"', False), ("FALSE", False)],
)
def test_strict_validation_flag(value, strict):
    d = define(f'CREATE STREAM s () WITH (DATASOURCE="d", STRICT_VALIDATION={value})')
    assert d.strict is strict


def test_shared_flag():
    assert define('CREATE STREAM s () WITH (DATASOURCE="d", SHARED="true")').shared is True
    assert define('CREATE STREAM s () WITH (DATASOURCE="d", SHARED=TRUE)').shared is True
    assert define('CREATE STREAM s () WITH (DATASOURCE="d", SHARED="no")').shared is False


def test_option_renders_bare_booleans_as_strings():
    d = define('CREATE STREAM s () WITH (DATASOURCE="d", SHARED=TRUE, STRICT_VALIDATION=FALSE)')
    assert d.option("SHARED") == "true"
    assert d.option("STRICT_VALIDATION") == "false"
    assert d.option("KEY", "none") == "none"


# --- tables ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "size"),
    [
        ('DATASOURCE="lookup.json"', 9999),  # no TYPE
        ('DATASOURCE="lookup.json", TYPE="file"', 9999),
        ('DATASOURCE="t", TYPE="mqtt"', 1),
        ('DATASOURCE="t", TYPE="memory"', 1),
        ('DATASOURCE="t", TYPE="httppull"', 1),
        ('DATASOURCE="t", TYPE="mqtt", RETAIN_SIZE="3"', 3),
        ('DATASOURCE="t", TYPE="file", RETAIN_SIZE="2"', 2),
    ],
)
def test_retain_size_defaults(options, size):
    assert define(f"CREATE TABLE t () WITH ({options})").retain_size == size


def test_retain_size_must_be_an_integer():
    d = define('CREATE TABLE t () WITH (DATASOURCE="t", RETAIN_SIZE="many")')
    with pytest.raises(StreamDefError, match=r"^RETAIN_SIZE must be an integer but got many$"):
        _ = d.retain_size


@pytest.mark.parametrize("kind_type", ["memory", "redis", "sql"])
def test_lookup_tables(kind_type):
    d = define(f'CREATE TABLE t () WITH (DATASOURCE="t", KIND="lookup", TYPE="{kind_type}")')
    assert d.lookup is True


def test_scan_is_the_default_table_kind():
    assert define('CREATE TABLE t () WITH (DATASOURCE="t", KIND="scan")').lookup is False
    assert define('CREATE TABLE t () WITH (DATASOURCE="t", KIND="LOOKUP", TYPE="memory")').lookup is True


def test_lookup_table_needs_a_lookup_source():
    with pytest.raises(StreamDefError, match=r"^lookup table type file is not supported$"):
        define('CREATE TABLE t () WITH (DATASOURCE="t", KIND="lookup", TYPE="file")')


# --- binary format --------------------------------------------------------------------------


def test_binary_stream_schemaless_or_one_bytea_column():
    assert define('CREATE STREAM s () WITH (DATASOURCE="d", FORMAT="BINARY")').format == "binary"
    d = define('CREATE STREAM s (img BYTEA) WITH (DATASOURCE="d", FORMAT="binary")')
    assert d.columns["img"].name == "BYTEA"


@pytest.mark.parametrize(
    ("ddl", "message"),
    [
        ('CREATE STREAM s (a BIGINT) WITH (DATASOURCE="d", FORMAT="binary")',
         "'binary' format stream can have only 'bytea' type field"),
        ('CREATE STREAM s (a BYTEA, b BYTEA) WITH (DATASOURCE="d", FORMAT="binary")',
         "'binary' format stream can have only one field"),
        ('CREATE TABLE t () WITH (DATASOURCE="d", FORMAT="binary")',
         "'binary' format is not supported for table"),
        ('CREATE TABLE t (a BYTEA) WITH (DATASOURCE="d", FORMAT="BINARY")',
         "'binary' format is not supported for table"),
    ],
)
def test_binary_format_rules(ddl, message):
    with pytest.raises(StreamDefError) as exc:
        define(ddl)
    assert str(exc.value) == message


def test_a_bytea_column_is_fine_in_json_streams():
    assert define('CREATE STREAM s (a BYTEA, b BIGINT) WITH (DATASOURCE="d")').format == "json"
