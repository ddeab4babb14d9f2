"""The protobuf format: a real .proto compiled at run time, payloads round-tripped."""

from __future__ import annotations

import pytest

from arrokoth.io.formats import protobuf as pb
from arrokoth.io.formats.json import FormatError
from arrokoth.io.formats.registry import decoder_for, encoder_for
from arrokoth.plan.streams import StreamDef
from arrokoth.sql import parse

COMMON = """
syntax = "proto3";
package common;

message Location {
  double lat = 1;
  double lng = 2;
}
"""

READING = r"""
// readings of a device
syntax = "proto3";
package demo;

import "common.proto";
import "google/protobuf/wrappers.proto";

option go_package = "./demo";

/* the message a stream decodes */
message Reading {
  string device_id = 1 [json_name = "deviceId"];
  int32 temperature = 2;
  float humidity = 3;
  repeated int64 samples = 4;
  map<string, int32> counts = 5;
  Status status = 6;
  Nested nested = 7;
  oneof payload {
    string text = 8;
    bytes raw = 9;
  }
  optional bool flag = 10;
  common.Location loc = 11;
  google.protobuf.DoubleValue wrapped = 12;
  repeated Nested items = 13;
  uint64 big = 14;
  sint32 delta = 15;
  fixed32 code = 16;
  double ratio = 17;

  enum Status {
    UNKNOWN = 0;
    OK = 1;
  }
  message Nested {
    uint32 a = 1;
    sint64 b = 2;
  }
  reserved 20 to 25;
  reserved "old";
}

message Empty {}

service Readings {
  rpc Get (Reading) returns (Reading) {}
}
"""

LEGACY = """
syntax = "proto2";
message Person {
  required string name = 1;
  optional int32 age = 2 [default = 30];
  repeated string tags = 3;
}
"""


class Schemas:
    def __init__(self, **texts: str):
        self.texts = texts

    def schema_content(self, schema_type: str, name: str) -> str | None:
        return self.texts.get(name) if schema_type == "protobuf" else None


@pytest.fixture
def schemas():
    provider = Schemas(common=COMMON, reading=READING, legacy=LEGACY)
    pb.add_schema_provider(provider)
    yield provider
    pb.remove_schema_provider(provider)


ROW = {
    "device_id": "d1", "temperature": 21, "humidity": 0.5, "samples": [1, 2, 3], "counts": {"a": 1, "b": 2},
    "status": 1, "nested": {"a": 3, "b": -4}, "raw": b"\x00\x01", "flag": False,
    "loc": {"lat": 1.5, "lng": 2.5}, "wrapped": 3.25, "items": [{"a": 1, "b": 0}, {"a": 0, "b": 2}],
    "big": 2**63, "delta": -7, "code": 9, "ratio": 0.125,
}


def test_round_trip_of_a_real_message(schemas):
    enc = pb.ProtobufEncoder("reading.Reading")
    payload = enc.encode(ROW)
    assert isinstance(payload, bytes) and payload
    [row] = pb.ProtobufDecoder("reading.Reading").decode(payload)
    assert row == ROW
    assert type(row["temperature"]) is int and type(row["humidity"]) is float and type(row["raw"]) is bytes


def test_decoded_defaults_and_absent_fields(schemas):
    [row] = pb.ProtobufDecoder("reading.Reading").decode(b"")
    # scalars take their defaults; unset messages, oneofs and proto3 optionals are left out
    assert row == {"device_id": "", "temperature": 0, "humidity": 0.0, "samples": [], "counts": {}, "status": 0,
                   "items": [], "big": 0, "delta": 0, "code": 0, "ratio": 0.0}


def test_enum_by_name_and_same_kind_casts(schemas):
    enc = pb.ProtobufEncoder("reading.Reading")
    dec = pb.ProtobufDecoder("reading.Reading")
    [row] = dec.decode(enc.encode({"status": "OK", "temperature": 21.9, "humidity": 1, "text": "hi"}))
    assert row["status"] == 1 and row["temperature"] == 21 and row["humidity"] == 1.0 and row["text"] == "hi"
    assert "raw" not in row


@pytest.mark.parametrize(("row", "message"), [
    ({"temperature": "hot"}, "invalid type for int type field 'temperature'"),
    ({"device_id": 5}, "invalid type for string type field 'device_id'"),
    ({"flag": 1}, "invalid type for bool type field 'flag'"),
    ({"big": -1}, "invalid type for uint type field 'big'"),
    ({"temperature": 2**40}, "invalid type for int type field 'temperature'"),
    ({"nested": [1]}, "invalid type for map type field 'nested'"),
    ({"samples": 3}, "invalid type for int type field 'samples'"),
    ({"status": "BAD"}, "not a value of enum Status"),
])
def test_encode_errors(schemas, row, message):
    with pytest.raises(FormatError, match=message):
        pb.ProtobufEncoder("reading.Reading").encode(row)


def test_one_row_per_message(schemas):
    enc = pb.ProtobufEncoder("reading.Reading")
    assert enc.encode([{"temperature": 1}]) == enc.encode({"temperature": 1})
    with pytest.raises(FormatError, match="set sendSingle to true"):
        enc.encode([{}, {}])


def test_proto2_required_and_defaults(schemas):
    enc = pb.ProtobufEncoder("legacy.Person")
    with pytest.raises(FormatError, match="field name not found"):
        enc.encode({"age": 3})
    [row] = pb.ProtobufDecoder("legacy.Person").decode(enc.encode({"name": "ann", "tags": ["x"]}))
    assert row == {"name": "ann", "age": 30, "tags": ["x"]}


def test_invalid_payload_is_a_format_error(schemas):
    with pytest.raises(FormatError, match="invalid protobuf payload for reading.Reading"):
        pb.ProtobufDecoder("reading.Reading").decode(b"\xff\xff\xff")


def test_schema_id_errors(schemas):
    with pytest.raises(FormatError, match="must be in the form file.MessageType"):
        pb.ProtobufDecoder("reading")
    with pytest.raises(FormatError, match="schema protobuf.nope not found"):
        pb.ProtobufDecoder("nope.Reading")
    with pytest.raises(FormatError, match="message type Missing not found in protobuf schema reading"):
        pb.ProtobufDecoder("reading.Missing")
    with pytest.raises(FormatError, match="needs SCHEMAID"):
        pb.ProtobufDecoder("")
    # a fully qualified message name works too
    assert pb.ProtobufDecoder("reading.demo.Empty").decode(b"") == [{}]


def test_through_the_registry(schemas):
    ddl = 'CREATE STREAM s () WITH (DATASOURCE="s", TYPE="mock", FORMAT="protobuf", SCHEMAID="reading.Reading")'
    d = StreamDef.from_ast(parse(ddl), ddl)
    payload = encoder_for("protobuf", {"schemaId": "reading.Reading"}).encode({"device_id": "x"})
    [row] = decoder_for(d, {}).decode(payload)
    assert row["device_id"] == "x"


@pytest.mark.parametrize(("text", "message"), [
    ('syntax = "proto3"; message A { int32 a = 1 }', "expected ';' but found '}'"),
    ('syntax = "proto4";', "unsupported syntax 'proto4'"),
    ('edition = "2023";', "editions are not supported"),
    ("message A { optional group G = 1 { } }", "bad.proto:1: proto2 groups are not supported"),
    ('syntax = "proto3"; message A { Unknown u = 1; }', "invalid protobuf schema bad"),
    ('syntax = "proto3"; message A { int32 a = 1; int32 b = 1; }', "invalid protobuf schema bad"),
    ('syntax = "proto3"; message A { int32 a = 1; } $', "unexpected character '\\$'"),
    ('syntax = "proto3"; import "missing.proto";', "imports missing.proto, which is not a registered"),
])
def test_schema_errors_are_clear(text, message):
    with pytest.raises(FormatError, match=message):
        pb.compile_schema("bad", text, use_grpc_tools=False)


def test_parser_builds_map_entries_oneofs_and_proto3_optional():
    fdp = pb.parse_proto(READING, "reading.proto")
    msg = fdp.message_type[0]
    entry = next(n for n in msg.nested_type if n.name == "CountsEntry")
    assert entry.options.map_entry and [f.name for f in entry.field] == ["key", "value"]
    assert [o.name for o in msg.oneof_decl] == ["payload", "_flag"]
    flag = next(f for f in msg.field if f.name == "flag")
    assert flag.proto3_optional and flag.oneof_index == 1
    assert list(fdp.dependency) == ["common.proto", "google/protobuf/wrappers.proto"]
    assert fdp.package == "demo" and fdp.syntax == "proto3"


def test_compiled_once_per_distinct_text(schemas):
    fd = pb.compile_schema("reading", READING)
    assert pb.compile_schema("reading", READING) is fd
    assert pb.compile_schema("reading", READING + "\n// changed") is not fd


GROUPS = """
syntax = "proto2";
message Order {
  optional int32 id = 1;
  repeated group Item = 2 {
    optional string sku = 3;
  }
}
"""


def test_syntax_the_parser_refuses_goes_to_grpc_tools_when_installed():
    try:
        import grpc_tools  # noqa: F401
    except ImportError:
        with pytest.raises(pb.ProtoSyntaxError, match="groups.proto:5: proto2 groups are not supported"):
            pb.compile_schema("groups", GROUPS)
        return
    fd = pb.compile_schema("groups", GROUPS)
    cls = pb._message_class(fd.message_types_by_name["Order"])
    msg = cls()
    pb.fill_message(msg, {"id": 7, "item": [{"sku": "a"}]})
    assert pb.message_to_dict(cls.FromString(msg.SerializeToString())) == {"id": 7, "item": [{"sku": "a"}]}
    # our parser's message is kept when protoc refuses the text too
    with pytest.raises(pb.ProtoSyntaxError, match="expected a message name"):
        pb.compile_schema("broken", "message {")
