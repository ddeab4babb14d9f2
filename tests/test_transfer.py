"""Data import/export on a real Engine (spec §7): round trips, full vs partial imports,
the rule version check, the dependency closure of a partial export, per-item errors."""

from __future__ import annotations

import asyncio
import json

import pytest

from arrokoth.config import Config
from arrokoth.engine import Engine
from arrokoth.store import open_store
from arrokoth.transfer import (
    SECTIONS,
    ImportCancelled,
    TransferError,
    go_json,
    parse_string_maps,
    read_uri,
    transfer_for,
)

pytestmark = pytest.mark.anyio

DEMO = 'CREATE STREAM demo () WITH (DATASOURCE="t/demo", TYPE="memory", FORMAT="json", CONF_KEY="k1")'
OTHER = 'CREATE STREAM other () WITH (DATASOURCE="t/other", TYPE="memory", FORMAT="json", CONF_KEY="k2")'
PLAIN = 'CREATE STREAM plain () WITH (DATASOURCE="t/plain", TYPE="memory", FORMAT="json")'
LOOKUP = 'CREATE TABLE look () WITH (DATASOURCE="t/look", TYPE="memory", KIND="lookup", KEY="id")'


@pytest.fixture
async def engine(tmp_path):
    eng = Engine(Config(data_dir=tmp_path), open_store("sqlite::memory:"))
    await eng.open()
    yield eng
    await eng.close()


def rule(rule_id: str, sql: str, *, triggered: bool = True, version: str = "", actions=None) -> str:
    body = {"id": rule_id, "sql": sql, "actions": actions or [{"nop": {}}], "triggered": triggered}
    if version:
        body["version"] = version
    return json.dumps(body)


async def populate(engine: Engine) -> None:
    engine.create_stream(DEMO)
    engine.create_stream(OTHER)
    engine.create_stream(LOOKUP)
    engine.store.set("sources.memory", "k1", {"a": 1})
    engine.store.set("sources.memory", "k2", {"b": 2})
    engine.store.set("sinks.log", "s1", {"format": "json"})
    engine.store.set("sinks.log", "s2", {"format": "json"})
    engine.store.set("connections.mqtt", "conn1", {"server": "tcp://127.0.0.1:1883"})
    await engine.create_rule(rule(
        "r1", "SELECT * FROM demo INNER JOIN look ON demo.id = look.id WHERE demo.a < 3",
        actions=[{"log": {"resourceId": "s1"}}, {"nop": {}}],
    ))
    await engine.create_rule(rule("r2", "SELECT * FROM other", triggered=False,
                                  actions=[{"log": {"resourceId": "s2"}}]))


def as_json(doc: dict) -> str:
    return go_json(doc).decode()


async def test_export_document_has_the_twelve_sections_in_order(engine):
    await populate(engine)
    doc = transfer_for(engine).export_document()
    assert tuple(doc) == SECTIONS
    assert all(isinstance(v, str) for section in doc.values() for v in section.values())
    assert doc["streams"] == {"demo": DEMO, "other": OTHER}
    assert doc["tables"] == {"look": LOOKUP}
    assert doc["rules"]["r2"] == engine.get_rule("r2")  # the stored JSON string as-is
    # only stored confKeys, one JSON string per plugin type (the shipped `default` is not exported)
    assert json.loads(doc["sourceConfig"]["memory"]) == {"k1": {"a": 1}, "k2": {"b": 2}}
    assert json.loads(doc["sinkConfig"]["log"]) == {"s1": {"format": "json"}, "s2": {"format": "json"}}
    assert doc["connectionConfig"] == {"mqtt": '{"conn1":{"server":"tcp://127.0.0.1:1883"}}'}
    assert all(doc[s] == {} for s in ("nativePlugins", "portablePlugins", "Service", "Schema", "uploads", "scripts"))


async def test_round_trip_export_wipe_import(engine):
    await populate(engine)
    t = transfer_for(engine)
    exported = t.export_document()

    wiped = await t.import_document("{}", partial=False)
    assert wiped.error == ""
    assert engine.rules == {} and engine.streams == {}
    assert t.export_document()["sourceConfig"] == {} and t.export_document()["connectionConfig"] == {}

    result = await t.import_document(as_json(exported), partial=False)
    assert result.error == "", result.response
    assert t.export_document() == exported
    assert engine.rules["r1"].status == "running"  # triggered
    assert engine.rules["r2"].status == "stopped"  # triggered: false


async def test_full_import_replaces_everything_partial_keeps_the_rest(engine):
    await populate(engine)
    t = transfer_for(engine)
    doc = {"streams": {"fresh": DEMO.replace("demo", "fresh")},
           "rules": {"r3": rule("r3", "SELECT * FROM fresh")}}

    result = await t.import_document(json.dumps(doc), partial=True)
    assert result.error == ""
    assert set(engine.rules) == {"r1", "r2", "r3"}
    assert set(engine.streams) == {"demo", "other", "look", "fresh"}

    result = await t.import_document(json.dumps(doc), partial=False)
    assert result.error == ""
    assert set(engine.rules) == {"r3"}
    assert set(engine.streams) == {"fresh"}
    assert engine.store.items("sources.memory") == {}


async def test_partial_import_merges_confkeys_per_key(engine):
    await populate(engine)
    doc = {"sourceConfig": {"memory": json.dumps({"k1": {"a": 10}, "k3": {"c": 3}})}}
    result = await transfer_for(engine).import_document(json.dumps(doc), partial=True)
    assert result.error == ""
    assert engine.store.items("sources.memory") == {"k1": {"a": 10}, "k2": {"b": 2}, "k3": {"c": 3}}


async def test_partial_import_applies_the_version_rule(engine):
    engine.create_stream(PLAIN)
    await engine.create_rule(rule("rv", "SELECT * FROM plain", version="2"))
    t = transfer_for(engine)

    lower = {"rules": {"rv": rule("rv", "SELECT a FROM plain", version="1")}}
    result = await t.import_document(json.dumps(lower), partial=True)
    assert result.error == "process error"
    assert result.response["rules"] == {"rv": "rule rv already exists with version (2), new version (1) is lower"}
    assert json.loads(engine.get_rule("rv"))["sql"] == "SELECT * FROM plain"

    unversioned = {"rules": {"rv": rule("rv", "SELECT a FROM plain")}}
    result = await t.import_document(json.dumps(unversioned), partial=True)
    assert "is lower" in result.response["rules"]["rv"]

    higher = {"rules": {"rv": rule("rv", "SELECT a FROM plain", version="3")}}
    result = await t.import_document(json.dumps(higher), partial=True)
    assert result.error == ""
    assert json.loads(engine.get_rule("rv"))["sql"] == "SELECT a FROM plain"
    assert engine.rules["rv"].status == "running"


async def test_partial_export_closes_over_the_rule_dependencies(engine):
    await populate(engine)
    doc = transfer_for(engine).export_rules(["r1", "nope"])
    assert tuple(doc) == SECTIONS
    assert doc["rules"] == {"r1": engine.get_rule("r1"), "nope": ""}  # an unknown id exports as ""
    assert doc["streams"] == {"demo": DEMO}
    assert doc["tables"] == {"look": LOOKUP}
    assert json.loads(doc["sourceConfig"]["memory"]) == {"k1": {"a": 1}}  # not k2 (other's)
    assert json.loads(doc["sinkConfig"]["log"]) == {"s1": {"format": "json"}}  # not s2 (r2's)
    assert doc["connectionConfig"] == {"mqtt": '{"conn1":{"server":"tcp://127.0.0.1:1883"}}'}  # all of them

    doc = transfer_for(engine).export_rules(["r2"])
    assert doc["streams"] == {"other": OTHER} and doc["tables"] == {}
    assert json.loads(doc["sinkConfig"]["log"]) == {"s2": {"format": "json"}}

    assert transfer_for(engine).export_rules([])["rules"] == {}


async def test_partial_export_imports_into_an_empty_engine(engine, tmp_path):
    await populate(engine)
    doc = transfer_for(engine).export_rules(["r1"])
    other = Engine(Config(data_dir=tmp_path / "other"), open_store("sqlite::memory:"))
    await other.open()
    try:
        result = await transfer_for(other).import_document(as_json(doc), partial=False)
        assert result.error == "", result.response
        assert set(other.rules) == {"r1"} and other.rules["r1"].status == "running"
        assert set(other.streams) == {"demo", "look"}
    finally:
        await other.close()


async def test_per_item_errors_leave_the_other_items_imported(engine):
    doc = {
        "streams": {"bad": "CREATE STWREAM bad () WITH (TYPE=\"memory\")", "good": DEMO.replace("demo", "good")},
        "rules": {"broken": '{"id":"broken","sql":"SELECT * FROM good"}', "ok": rule("ok", "SELECT * FROM good"),
                  "nostream": rule("nostream", "SELECT * FROM missing")},
        "sourceConfig": {"memory": "{not json", "simulator": json.dumps({"k": {"interval": 5}})},
        "portablePlugins": {"pysam": '{"name":"pysam","file":"file:///tmp/pysam.zip"}'},
    }
    t = transfer_for(engine)
    result = await t.import_document(json.dumps(doc), partial=False)
    assert result.error == "process error"
    resp = result.response
    assert set(resp["streams"]) == {"bad"} and "STWREAM" in resp["streams"]["bad"].upper()
    assert resp["rules"]["broken"] == "Invalid rule json: Missing rule actions."
    assert set(resp["rules"]) == {"broken", "nostream"}
    assert resp["sourceConfig"] == {"memory": "invalid character 'n' looking for beginning of object key string"}
    assert resp["portablePlugins"] == {"pysam": "portable plugins are not supported by Arrokoth yet"}
    assert set(engine.streams) == {"good"} and set(engine.rules) == {"ok"}
    assert engine.store.items("sources.simulator") == {"k": {"interval": 5}}

    # the last full import's errors are its status; a partial import does not touch it
    status = t.import_status()
    assert tuple(status) == SECTIONS
    assert status["streams"] == resp["streams"] and status["rules"] == resp["rules"]
    assert status["sourceConfig"] == resp["sourceConfig"]
    await t.import_document(json.dumps({"streams": {"x": "nonsense"}}), partial=True)
    assert t.import_status() == status
    clean = await t.import_document("{}", partial=False)
    assert clean.error == ""
    assert t.import_status() == {s: {} for s in SECTIONS}


async def test_malformed_document_fails_whole_and_wipes_nothing(engine):
    await populate(engine)
    t = transfer_for(engine)
    result = await t.import_document('{"streams": {"demo": "CREATE', partial=False)
    assert result.error == "configuration unmarshal with error unexpected end of JSON input"
    assert result.response == {s: {} for s in SECTIONS}
    assert set(engine.rules) == {"r1", "r2"}

    result = await t.import_document('{"streams": []}', partial=True)
    assert result.error == ("configuration unmarshal with error json: cannot unmarshal array into "
                            "Go struct field Configuration.streams of type map[string]string")
    result = await t.import_document('{"rules": {"r": 1}}', partial=True)
    assert result.error.endswith("cannot unmarshal number into Go struct field Configuration.rules of type string")


def test_document_keys_match_case_insensitively_and_unknown_keys_are_ignored():
    doc = parse_string_maps('{"STREAMS": {"a": "x"}, "service": {"s": "y"}, "extra": 1, "tables": null}',
                            SECTIONS, "server.Configuration")
    assert doc["streams"] == {"a": "x"} and doc["Service"] == {"s": "y"} and doc["tables"] == {}
    with pytest.raises(TransferError, match="invalid character 'x' after top-level value"):
        parse_string_maps('{} x', SECTIONS, "server.Configuration")


async def test_full_import_with_stop_refuses_native_plugins(engine):
    doc = {"nativePlugins": {"sources_random": '{"name":"random","file":"file:///x.zip"}'},
           "streams": {"demo": DEMO}}
    result = await transfer_for(engine).import_document(json.dumps(doc), partial=False, stop=True)
    assert result.error == "pluginImport NativePlugins import error map[sources_random:native plugins are not supported by Arrokoth]"
    assert engine.streams == {}
    # without stop a full import leaves native plugins alone, as eKuiper does
    result = await transfer_for(engine).import_document(json.dumps(doc), partial=False)
    assert result.error == "" and set(engine.streams) == {"demo"}


async def test_uploads_round_trip(engine):
    t = transfer_for(engine)
    doc = {"uploads": {"my.json": json.dumps({"name": "dir/my.json", "content": "{\"a\":1}"}),
                       "bad": json.dumps({"name": "x"}),
                       "escape": json.dumps({"name": "../x", "content": "no"})}}
    result = await t.import_document(json.dumps(doc), partial=True)
    assert result.response["uploads"] == {
        "bad": "invalid body: content or FilePath is required",
        "escape": "invalid file name ../x: it leaves the upload directory",
    }
    assert (engine.config.data_dir / "uploads" / "dir" / "my.json").read_text() == '{"a":1}'
    assert t.export_document()["uploads"] == {"dir/my.json": '{"name":"dir/my.json","content":"{\\"a\\":1}"}'}


async def test_cancelled_import_stops_between_items(engine):
    cancel = asyncio.Event()
    cancel.set()
    doc = {"streams": {f"s{i}": DEMO.replace("demo", f"s{i}") for i in range(3)}}
    with pytest.raises(ImportCancelled):
        await transfer_for(engine).import_document(json.dumps(doc), partial=True, cancel=cancel)
    assert engine.streams == {}


async def test_a_large_import_lets_other_tasks_run(engine):
    ticks = 0
    done = False

    async def ticker():
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0)

    doc = {"streams": {f"s{i}": DEMO.replace("demo", f"s{i}") for i in range(200)}}
    task = asyncio.get_running_loop().create_task(ticker())
    result = await transfer_for(engine).import_document(json.dumps(doc), partial=True)
    done = True
    await task
    assert result.error == "" and len(engine.streams) == 200
    assert ticks >= 200


async def test_ruleset_import_counts_only_what_went_in(engine):
    t = transfer_for(engine)
    engine.create_stream(PLAIN)
    await engine.create_rule(rule("old", "SELECT * FROM plain", version="5"))
    ruleset = {
        "streams": {"plain": PLAIN, "bad": "CREATE STREAM"},
        "tables": {"look": LOOKUP},
        "rules": {"new": rule("new", "SELECT * FROM plain"), "old": rule("old", "SELECT a FROM plain", version="4")},
    }
    assert await t.import_ruleset(json.dumps(ruleset)) == (1, 1, 1)
    assert set(engine.rules) == {"old", "new"} and engine.rules["new"].status == "running"
    assert json.loads(engine.get_rule("old"))["version"] == "5"
    exported = t.export_ruleset()
    assert tuple(exported) == ("streams", "tables", "rules")
    assert exported["tables"] == {"look": LOOKUP} and set(exported["rules"]) == {"old", "new"}
    with pytest.raises(TransferError, match="^invalid import file: unexpected end of JSON input$"):
        await t.import_ruleset('{"streams":')


async def test_yaml_round_trip(engine):
    await populate(engine)
    t = transfer_for(engine)
    text = t.export_yaml()
    import yaml

    doc = yaml.safe_load(text)
    assert list(doc) == ["sourceConfig", "sinkConfig", "connectionConfig", "streams", "tables", "rules"]
    assert doc["sourceConfig"]["sources.memory.k1"] == {"a": 1}
    assert doc["connectionConfig"] == {"connections.mqtt.conn1": {"server": "tcp://127.0.0.1:1883"}}
    assert doc["streams"]["demo"] == {"sql": DEMO}
    assert doc["rules"]["r2"]["triggered"] is False and doc["rules"]["r2"]["id"] == "r2"

    await t.import_document("{}", partial=False)
    await t.import_yaml(text)
    assert set(engine.streams) == {"demo", "other", "look"}
    assert set(engine.rules) == {"r1", "r2"}
    assert engine.rules["r1"].status == "running" and engine.rules["r2"].status == "stopped"
    assert engine.store.items("sinks.log") == {"s1": {"format": "json"}, "s2": {"format": "json"}}
    await t.import_yaml(text)  # again: replaces what exists
    assert set(engine.rules) == {"r1", "r2"}


async def test_yaml_import_stops_at_the_first_error(engine):
    t = transfer_for(engine)
    with pytest.raises(TransferError, match="^sources.memory isn't valid conf key$"):
        await t.import_yaml("sourceConfig:\n  sources.memory: {a: 1}\n")
    with pytest.raises(TransferError, match="^replace stream s failed, err:"):
        await t.import_yaml("streams:\n  s: {sql: 'CREATE STWREAM s ()'}\n")
    with pytest.raises(TransferError, match="^replace rule r failed, err:"):
        await t.import_yaml("rules:\n  r: {sql: 'SELECT * FROM nowhere', actions: [{nop: {}}]}\n")
    with pytest.raises(TransferError, match="^yaml: line 1: "):
        await t.import_yaml("a: b: c")


async def test_read_uri_errors(tmp_path):
    with pytest.raises(TransferError, match=f"^stat {tmp_path}/missing.json: no such file or directory$"):
        await read_uri(f"file://{tmp_path}/missing.json")
    with pytest.raises(TransferError, match=f"^{tmp_path} is not a regular file$"):
        await read_uri(f"file://{tmp_path}")
    with pytest.raises(TransferError, match='^parse "a.json": invalid URI for request$'):
        await read_uri("a.json")
    with pytest.raises(TransferError, match="^unsupported url scheme ftp$"):
        await read_uri("ftp://host/a.json")
    (tmp_path / "doc.json").write_text("{}")
    assert await read_uri(f"file://{tmp_path}/doc.json") == b"{}"
