"""The schema registry: store namespace `schemas.<type>`, files under `<data_dir>/schemas/<type>/`,
what the protobuf format sees, and the `Schema` section of the data export."""

from __future__ import annotations

import json

import pytest

from arrokoth.config import Config
from arrokoth.engine import Engine, EngineError
from arrokoth.io.formats import protobuf as pb
from arrokoth.schemas import SchemaRegistry, registry_for
from arrokoth.store import open_store
from arrokoth.transfer import transfer_for

pytestmark = pytest.mark.anyio

PROTO = """syntax = "proto3";
message Reading {
  string device = 1;
  double temperature = 2;
}
"""
PROTO2 = PROTO.replace("double temperature = 2;", "double temperature = 2;\n  int64 ts = 3;")


@pytest.fixture
async def engine(tmp_path):
    eng = Engine(Config(data_dir=tmp_path), open_store(f"sqlite:{tmp_path / 'db.sqlite'}"))
    await eng.open()
    yield eng
    await eng.close()


async def test_create_describe_list_delete(engine, tmp_path):
    reg = registry_for(engine)
    assert reg is registry_for(engine)
    assert reg.names("protobuf") == []
    assert await reg.create("protobuf", {"name": "s1", "content": PROTO, "version": "1"}) == \
        "protobuf schema s1 is created"
    path = tmp_path / "schemas" / "protobuf" / "s1.proto"
    assert path.read_text() == PROTO
    assert engine.store.get("schemas.protobuf", "s1") == {
        "type": "protobuf", "name": "s1", "content": PROTO, "version": "1"}
    assert reg.names("protobuf") == ["s1"]
    assert reg.describe("protobuf", "s1") == {
        "type": "protobuf", "name": "s1", "content": PROTO, "file": str(path.resolve()), "soFile": "",
        "version": "1"}
    assert reg.delete("protobuf", "s1") == "protobuf schema s1 is deleted"
    assert not path.exists() and reg.names("protobuf") == []


async def test_the_protobuf_format_reads_registered_schemas(engine):
    reg = registry_for(engine)
    await reg.create("protobuf", {"name": "s1", "content": PROTO})
    payload = pb.ProtobufEncoder("s1.Reading").encode({"device": "d", "temperature": 1.5})
    assert pb.ProtobufDecoder("s1.Reading").decode(payload) == [{"device": "d", "temperature": 1.5}]
    await reg.update("protobuf", "s1", {"content": PROTO2})
    assert pb.ProtobufDecoder("s1.Reading").decode(payload) == [{"device": "d", "temperature": 1.5, "ts": 0}]


async def test_create_from_a_file_url(engine, tmp_path):
    src = tmp_path / "in.proto"
    src.write_text(PROTO)
    reg = registry_for(engine)
    await reg.create("protobuf", {"name": "s2", "file": f"file://{src}"})
    assert reg.describe("protobuf", "s2")["content"] == PROTO
    with pytest.raises(EngineError, match="schema file error: stat .*missing.proto: no such file"):
        await reg.create("protobuf", {"name": "s3", "file": f"file://{tmp_path}/missing.proto"})


@pytest.mark.parametrize(("body", "message"), [
    ({"content": PROTO}, "Invalid body: name is required"),
    ({"name": "a b", "content": PROTO}, "Invalid body: id 'a b' contains invalid characters"),
    ({"name": "s", "content": PROTO, "file": "file:///x"}, "cannot specify both content and file"),
    ({"name": "s"}, "Invalid body: must specify content or file"),
    ({"name": "s", "content": 3}, "content must be a string"),
    ({"name": "s", "content": "message {"}, "schema create command error: s.proto:1: expected a message name"),
    ({"name": "s", "content": "syntax = \"proto3\"; message A { B b = 1; }"}, "invalid protobuf schema s"),
    ([1], "the body must be a JSON object"),
])
async def test_invalid_bodies(engine, body, message):
    with pytest.raises(EngineError, match=message) as e:
        await registry_for(engine).create("protobuf", body)
    assert e.value.status == 400
    assert registry_for(engine).names("protobuf") == []


async def test_type_and_existence_errors(engine):
    reg = registry_for(engine)
    with pytest.raises(EngineError, match="schema type avro not found"):
        reg.names("avro")
    assert reg.names("custom") == []
    with pytest.raises(EngineError, match="custom schemas \\(Go plugins\\) are not supported"):
        await reg.create("custom", {"name": "c", "soFile": "file:///c.so"})
    await reg.create("protobuf", {"name": "s1", "content": PROTO})
    with pytest.raises(EngineError, match="schema protobuf.s1 already registered"):
        await reg.create("protobuf", {"name": "s1", "content": PROTO})
    with pytest.raises(EngineError, match="Type or name does not match"):
        await reg.update("protobuf", "s1", {"name": "s2", "content": PROTO})
    with pytest.raises(EngineError, match="schema type protobuf, file nope not found") as e:
        reg.describe("protobuf", "nope")
    assert e.value.status == 404 and e.value.code == 1002
    with pytest.raises(EngineError, match="delete protobuf schema nope error: schema protobuf.nope not found") as e:
        reg.delete("protobuf", "nope")
    assert e.value.status == 400


async def test_persisted_and_files_restored(tmp_path):
    store = open_store(f"sqlite:{tmp_path / 'db.sqlite'}")
    reg = SchemaRegistry(store, tmp_path)
    await reg.create("protobuf", {"name": "s1", "content": PROTO})
    path = tmp_path / "schemas" / "protobuf" / "s1.proto"
    path.unlink()
    store.close()
    store = open_store(f"sqlite:{tmp_path / 'db.sqlite'}")
    reg2 = SchemaRegistry(store, tmp_path)
    assert reg2.names("protobuf") == ["s1"] and path.read_text() == PROTO
    assert reg2.schema_content("protobuf", "s1") == PROTO
    store.close()


async def test_upload_creates_then_updates(engine):
    reg = registry_for(engine)
    assert reg.upload("protobuf", "up", PROTO, "v1") is True
    assert reg.upload("protobuf", "up", PROTO2) is False
    assert reg.describe("protobuf", "up")["content"] == PROTO2
    with pytest.raises(EngineError, match="unsupported type: custom"):
        reg.upload("custom", "x", "")


async def test_export_and_import(engine):
    reg = registry_for(engine)
    await reg.create("protobuf", {"name": "s1", "content": PROTO, "version": "2"})
    t = transfer_for(engine)
    doc = t.export_document()
    assert json.loads(doc["Schema"]["protobuf_s1"]) == {"type": "protobuf", "name": "s1", "content": PROTO,
                                                        "version": "2"}
    # a full import wipes the schemas, then installs the document's
    other = {"Schema": {"protobuf_s9": json.dumps({"type": "protobuf", "name": "s9", "content": PROTO})}}
    result = await t.import_document(json.dumps(other), partial=False)
    assert result.error == "", result.response
    assert reg.names("protobuf") == ["s9"]
    # a partial import installs a schema only when it is absent
    await t.import_document(json.dumps(doc), partial=True)
    changed = {"Schema": {"protobuf_s1": json.dumps({"type": "protobuf", "name": "s1", "content": PROTO2})}}
    result = await t.import_document(json.dumps(changed), partial=True)
    assert result.error == "" and reg.describe("protobuf", "s1")["content"] == PROTO
    assert reg.names("protobuf") == ["s1", "s9"]


async def test_import_errors_per_item(engine):
    t = transfer_for(engine)
    doc = {"Schema": {
        "protobuf_bad": json.dumps({"type": "protobuf", "name": "bad", "content": "message {"}),
        "avro_x": json.dumps({"name": "x", "content": "{}"}),
        "protobuf_garbled": "{",
        "protobuf_ok": json.dumps({"content": PROTO}),
    }}
    result = await t.import_document(json.dumps(doc), partial=True)
    errors = result.response["Schema"]
    assert set(errors) == {"protobuf_bad", "avro_x", "protobuf_garbled"}
    assert "expected a message name" in errors["protobuf_bad"]
    assert errors["avro_x"] == "schema type avro not found"
    assert registry_for(engine).names("protobuf") == ["ok"]
    # a full import with stop=1 reports them as a whole
    result = await t.import_document(json.dumps(doc), partial=False, stop=True)
    assert result.error.startswith("schemaImport Schema import error map[")


async def test_rule_export_takes_the_schemas_it_uses(engine):
    reg = registry_for(engine)
    await reg.create("protobuf", {"name": "s1", "content": PROTO})
    await reg.create("protobuf", {"name": "s2", "content": PROTO})
    await reg.create("protobuf", {"name": "s3", "content": PROTO})
    engine.create_stream('CREATE STREAM pb () WITH (DATASOURCE="t/pb", TYPE="memory", FORMAT="protobuf", '
                         'SCHEMAID="s1.Reading")')
    rule = {"id": "r1", "sql": "SELECT * FROM pb", "triggered": False,
            "actions": [{"nop": {"format": "protobuf", "schemaId": "s2.Reading"}}, {"nop": {}}]}
    engine.store.set("rules", "r1", json.dumps(rule))
    doc = transfer_for(engine).export_rules(["r1"])
    assert sorted(doc["Schema"]) == ["protobuf_s1", "protobuf_s2"]


async def test_a_protobuf_stream_decodes_with_its_schema(engine):
    from arrokoth.io.sources.base import SourceConfigError
    from arrokoth.io.sources.memory import MemorySource
    from arrokoth.runtime.feed import StreamFeed

    engine.create_stream('CREATE STREAM pb () WITH (DATASOURCE="t/pb", TYPE="memory", FORMAT="protobuf", '
                         'SCHEMAID="s1.Reading")')
    d = engine.streams["pb"]
    feed = StreamFeed(d, engine.clock)
    registry_for(engine)
    with pytest.raises(SourceConfigError, match="format protobuf: schema protobuf.s1 not found"):
        MemorySource(d, {}, feed)
    await registry_for(engine).create("protobuf", {"name": "s1", "content": PROTO})
    src = MemorySource(d, {}, feed)
    got, errors = [], []
    feed.subscribe(lambda i, row: got.append(row.msg), 0, errors.append)
    src.publish_payload(pb.ProtobufEncoder("s1.Reading").encode({"device": "x", "temperature": 2.0}))
    src.publish_payload(b"\xff\xff")
    assert got == [{"device": "x", "temperature": 2.0}]
    assert len(errors) == 1 and "invalid protobuf payload for s1.Reading" in errors[0]
    assert src.exceptions == 1
