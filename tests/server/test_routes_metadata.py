"""Metadata and confKey endpoints (spec section 5), through the real app in-process."""

from __future__ import annotations

import anyio
import pytest

from arrokoth import confkeys
from arrokoth.functions import builtins, jsonvalue
from arrokoth.functions.registry import registry
from arrokoth.io.lookup.registry import lookup_types
from arrokoth.io.memory_bus import bus
from arrokoth.io.sinks.registry import sink_types
from arrokoth.io.sources.registry import source_types

pytestmark = pytest.mark.anyio

TEXT = "text/plain; charset=utf-8"
NOT_GO_MAP = "json: cannot unmarshal {} into Go value of type map[string]interface {{}}"


def assert_error(resp, message: str, code: int = 5000, status: int = 400) -> None:
    assert resp.status_code == status
    assert resp.headers["content-type"] == TEXT
    assert resp.content == jsonvalue.encode({"error": code, "message": message}) + b"\n"


def assert_empty_ok(resp) -> None:
    assert resp.status_code == 200, resp.text
    assert resp.content == b""


# --- connector metadata ------------------------------------------------------------------


async def test_list_sources(api):
    resp = await api.get("/metadata/sources")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    # every registered type (all of them read streams), by name
    assert [s["name"] for s in body] == source_types()
    assert {"memory", "simulator"} <= set(source_types())
    for item in body:
        assert list(item) == ["name", "about", "type"]
        assert item["type"] == "internal"
        assert list(item["about"]) == ["trial", "installed", "author", "helpUrl", "description"]
        assert list(item["about"]["author"]) == ["name", "email", "company", "website"]
        assert set(item["about"]["description"]) == {"en", "zh"}


@pytest.mark.parametrize(("query", "names"), [
    ("?kind=lookup", ["memory", "redis", "sql"]),
    ("?kind=LOOKUP", ["memory", "redis", "sql"]),
    ("?kind=scan", None),
    ("?kind=", None),
    ("?kind=bogus", None),
])
async def test_list_sources_by_kind(api, query, names):
    resp = await api.get(f"/metadata/sources{query}")
    assert resp.status_code == 200
    assert [s["name"] for s in resp.json()] == (names or source_types())  # None: every type


async def test_describe_source(api):
    resp = await api.get("/metadata/sources/simulator")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert list(body) == ["about", "libs", "dataSource", "properties", "node", "type"]
    assert body["libs"] == [] and body["type"] == "internal"
    fields = body["properties"]["default"]
    assert [f["name"] for f in fields] == ["data", "interval", "loop"]
    interval = fields[1]
    assert interval == {
        "exist": False, "name": "interval", "default": 1000, "type": "int", "control": "text",
        "connection_related": False, "optional": True, "values": None,
        "hint": interval["hint"], "label": {"en": "Interval (ms)", "zh": "发送间隔（毫秒）"},
    }
    assert body["node"]["category"] == "source"
    memory = (await api.get("/metadata/sources/memory")).json()
    assert memory["properties"] == {"default": []}
    assert memory["dataSource"]["label"] == {"en": "Topic", "zh": "主题"}


async def test_unknown_source_plugin(api):
    assert_error(await api.get("/metadata/sources/nope"), "This plugin was not found:nope")
    assert_error(await api.get("/metadata/sources/nope", headers={"Content-Language": "zh-CN"}), "没有找到这个插件：nope")
    assert_error(await api.get("/metadata/sources/nope", headers={"Content-Language": "en-US"}),
                 "This plugin was not found:nope")
    # eKuiper has no message file for other languages: the prefix is empty
    assert_error(await api.get("/metadata/sources/nope", headers={"Content-Language": "fr-FR"}), "nope")


async def test_sinks(api):
    resp = await api.get("/metadata/sinks")
    assert resp.status_code == 200
    assert [s["name"] for s in resp.json()] == sink_types()
    assert {"log", "memory", "nop"} <= set(sink_types())
    resp = await api.get("/metadata/sinks/memory")
    assert resp.status_code == 200
    body = resp.json()
    assert list(body) == ["about", "libs", "properties", "node", "type"]
    props = body["properties"]
    assert isinstance(props, list)
    names = [p["name"] for p in props]
    assert names[:3] == ["topic", "rowkindField", "keyField"]
    assert {"sendSingle", "dataTemplate", "fields", "dataField", "format", "bufferLength", "enableCache",
            "omitIfEmpty", "batchSize", "lingerInterval", "resourceId"} <= set(names)
    assert_error(await api.get("/metadata/sinks/nope"), "This plugin was not found:nope")
    assert_error(await api.get("/metadata/sinks/nope", headers={"Content-Language": "zh-CN"}), "没有找到这个插件：nope")


async def test_connections_metadata(api):
    resp = await api.get("/metadata/connections")
    assert resp.status_code == 200
    # the sources with connection settings (mqtt's server, credentials, TLS...)
    names = [c["name"] for c in resp.json()]
    assert {"mqtt", "websocket"} <= set(names) and "simulator" not in names and names == sorted(names)
    resp = await api.get("/metadata/connections/memory")
    assert resp.status_code == 200
    body = resp.json()
    assert body["properties"] == {"default": []}
    assert body["about"]["installed"] is True
    assert_error(await api.get("/metadata/connections/nope"), "This plugin was not found:nope")
    # a source type with stored connection keys owns connection settings
    assert_empty_ok(await api.put("/metadata/connections/simulator/confKeys/c1", json={"interval": 5}))
    resp = await api.get("/metadata/connections")
    listed = [(c["name"], list(c)) for c in resp.json()]
    assert {("mqtt", ("name", "about")), ("simulator", ("name", "about"))} <= {(n, tuple(k)) for n, k in listed}


# --- confKeys ----------------------------------------------------------------------------


async def test_source_yaml_put_delete(api):
    resp = await api.get("/metadata/sources/yaml/simulator")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.content == b'{"default":{"interval":1000,"loop":true}}'

    assert_empty_ok(await api.put("/metadata/sources/simulator/confKeys/fast",
                                  json={"loop": False, "interval": 10, "data": [{"b": 2, "a": 1}]}))
    resp = await api.get("/metadata/sources/yaml/simulator")
    # Go prints maps with sorted keys, at every level
    assert resp.content == (b'{"default":{"interval":1000,"loop":true},'
                            b'"fast":{"data":[{"a":1,"b":2}],"interval":10,"loop":false}}')

    # a stored key wins over the shipped one, and a PUT replaces the whole key
    assert_empty_ok(await api.put("/metadata/sources/simulator/confKeys/default", json={"interval": 5}))
    assert_empty_ok(await api.put("/metadata/sources/simulator/confKeys/fast", json={"interval": 20}))
    assert (await api.get("/metadata/sources/yaml/simulator")).json() == {
        "default": {"interval": 5}, "fast": {"interval": 20},
    }

    # deleting the stored default uncovers the shipped one; an unknown key is still 200
    assert_empty_ok(await api.delete("/metadata/sources/simulator/confKeys/default"))
    assert_empty_ok(await api.delete("/metadata/sources/simulator/confKeys/fast"))
    assert_empty_ok(await api.delete("/metadata/sources/simulator/confKeys/neverThere"))
    assert (await api.get("/metadata/sources/yaml/simulator")).json() == {"default": {"interval": 1000, "loop": True}}


async def test_confkeys_survive_in_the_store(api, engine):
    assert_empty_ok(await api.put("/metadata/sources/memory/confKeys/k1", json={"a": 1}))
    assert engine.store.items("sources.memory") == {"k1": {"a": 1}}
    assert_empty_ok(await api.put("/metadata/sinks/memory/confKeys/r1", json={"topic": "x"}))
    assert engine.store.items("sinks.memory") == {"r1": {"topic": "x"}}


async def test_unknown_plugin_in_confkey_endpoints(api):
    assert_error(await api.get("/metadata/sources/yaml/nope"), "This plugin was not found:sources.nope")
    assert_error(await api.get("/metadata/sinks/yaml/nope"), "This plugin was not found:sinks.nope")
    assert_error(await api.get("/metadata/sources/yaml/nope", headers={"Content-Language": "zh-CN"}),
                 "没有找到这个插件：sources.nope")
    assert_error(await api.put("/metadata/sources/nope/confKeys/k", json={}), "This plugin was not found:sources.nope")
    assert_error(await api.put("/metadata/sinks/nope/confKeys/k", json={}), "This plugin was not found:sinks.nope")
    assert_error(await api.delete("/metadata/sources/nope/confKeys/k"), "This plugin was not found:sources.nope")
    assert_error(await api.delete("/metadata/sinks/nope/confKeys/k", headers={"Content-Language": "zh-CN"}),
                 "没有找到这个插件：sinks.nope")


async def test_invalid_confkey(api):
    for method in ("PUT", "DELETE"):
        resp = await api.request(method, "/metadata/sources/simulator/confKeys/invalid.test", json={"a": 1})
        assert_error(resp, "Invalid confKey: id 'invalid.test' contains invalid characters: "
                           "only alphanumeric, hyphens and underscores are allowed")
    resp = await api.put("/metadata/sinks/memory/confKeys/%20padded", json={})
    assert resp.status_code == 400 and resp.json()["error"] == 5000
    assert "leading or trailing whitespace" in resp.json()["message"]
    # the key is checked before the plugin, as eKuiper's handler does
    assert_error(await api.put("/metadata/sources/nope/confKeys/a.b", json={}),
                 "Invalid confKey: id 'a.b' contains invalid characters: "
                 "only alphanumeric, hyphens and underscores are allowed")


@pytest.mark.parametrize(("body", "go_type"), [
    (b"[1, 2]", "array"), (b'"text"', "string"), (b"3", "number"), (b"1.5", "number"), (b"true", "bool"),
])
async def test_confkey_body_must_be_an_object(api, body, go_type):
    resp = await api.put("/metadata/sources/simulator/confKeys/k", content=body)
    assert_error(resp, "Type conversion failed:simulator." + NOT_GO_MAP.format(go_type))
    resp = await api.put("/metadata/sinks/log/confKeys/k", content=body, headers={"Content-Language": "zh-CN"})
    assert_error(resp, "类型转换错误：log." + NOT_GO_MAP.format(go_type))


async def test_confkey_body_malformed_or_empty(api, engine):
    resp = await api.put("/metadata/sources/simulator/confKeys/k", content=b"{not json")
    assert resp.status_code == 400
    assert resp.json()["error"] == 5000
    assert resp.json()["message"].startswith("Type conversion failed:simulator.")
    assert_error(await api.put("/metadata/sources/simulator/confKeys/k", content=b""),
                 "Type conversion failed:simulator.unexpected end of JSON input")
    resp = await api.put("/metadata/sources/simulator/confKeys/k", content=b"\xff\xfe")
    assert (resp.status_code, resp.json()["error"]) == (400, 5000)
    assert resp.json()["message"].startswith("Type conversion failed:simulator.")
    assert engine.store.keys("sources.simulator") == []
    # Go unmarshals `null` into an empty map
    assert_empty_ok(await api.put("/metadata/sources/simulator/confKeys/k", content=b"null"))
    assert engine.store.items("sources.simulator") == {"k": {}}


async def test_sink_and_connection_confkeys(api):
    assert (await api.get("/metadata/sinks/yaml/memory")).json() == {}
    assert_empty_ok(await api.put("/metadata/sinks/memory/confKeys/r1", json={"topic": "out", "sendSingle": True}))
    assert (await api.get("/metadata/sinks/yaml/memory")).content == b'{"r1":{"sendSingle":true,"topic":"out"}}'
    assert_empty_ok(await api.delete("/metadata/sinks/memory/confKeys/r1"))
    assert (await api.get("/metadata/sinks/yaml/memory")).json() == {}

    # connection types are not checked (named connections of any typ live in this namespace)
    props = {"server": "tcp://127.0.0.1:1883", "password": "secret"}
    assert_empty_ok(await api.put("/metadata/connections/mqtt/confKeys/conn1", json=props))
    # no password masking
    assert (await api.get("/metadata/connections/yaml/mqtt")).json() == {"conn1": props}
    assert_empty_ok(await api.delete("/metadata/connections/mqtt/confKeys/conn1"))
    assert_empty_ok(await api.delete("/metadata/connections/mqtt/confKeys/conn1"))
    assert (await api.get("/metadata/connections/yaml/mqtt")).json() == {}
    assert_error(await api.put("/metadata/connections/mqtt/confKeys/a.b", json={}),
                 "Invalid confKey: id 'a.b' contains invalid characters: "
                 "only alphanumeric, hyphens and underscores are allowed")


async def test_resources(api):
    resp = await api.get("/metadata/resources")
    assert resp.status_code == 200
    assert resp.content == b'{"sinks":null,"sources":null}'
    for path in ("sources/simulator/confKeys/slow", "sources/simulator/confKeys/fast", "sources/memory/confKeys/m1",
                 "sinks/log/confKeys/l1", "connections/mqtt/confKeys/c1"):
        assert_empty_ok(await api.put(f"/metadata/{path}", json={"x": 1}))
    resp = await api.get("/metadata/resources")
    # one object per type holding all its stored keys; shipped keys and connections are not listed
    assert resp.json() == {
        "sinks": [{"l1": "log"}],
        "sources": [{"m1": "memory"}, {"fast": "simulator", "slow": "simulator"}],
    }


async def test_resource(api):
    resp = await api.get("/metadata/resource")
    assert resp.status_code == 200
    body = resp.json()
    # every type that ships a default section is listed with it (lookup-only types too)
    assert set(body) == {t for t in source_types() + lookup_types() if confkeys.shipped("sources", t)}
    assert body["memory"] == {"default": {}}
    assert body["simulator"] == {"default": {"interval": 1000, "loop": True}}
    assert (await api.get("/metadata/resource?sourceType=stream")).content == b"{}"
    assert_empty_ok(await api.put("/metadata/sources/memory/confKeys/s1", json={"sourceType": "stream", "b": 1}))
    assert_empty_ok(await api.put("/metadata/sources/simulator/confKeys/t1", json={"sourceType": "table"}))
    assert_empty_ok(await api.put("/metadata/sinks/log/confKeys/s2", json={"sourceType": "stream"}))
    resp = await api.get("/metadata/resource?sourceType=stream")
    assert resp.content == b'{"memory":{"s1":{"b":1,"sourceType":"stream"}}}'
    assert (await api.get("/metadata/resource")).json()["simulator"] == {
        "default": {"interval": 1000, "loop": True}, "t1": {"sourceType": "table"},
    }


# --- a stream reading its CONF_KEY ---------------------------------------------------------


async def test_stream_with_conf_key_reads_the_stored_props(api, engine):
    data = [{"id": 1}, {"id": 2}, {"id": 3}]
    assert_empty_ok(await api.put("/metadata/sources/simulator/confKeys/quick",
                                  json={"data": data, "interval": 1, "loop": False}))
    sql = 'CREATE STREAM metasim () WITH (TYPE="simulator", CONF_KEY="quick", FORMAT="json")'
    resp = await api.post("/streams", json={"sql": sql})
    assert resp.status_code == 201, resp.text
    assert confkeys.source_props(engine, engine.streams["metasim"]) == {"interval": 1, "loop": False, "data": data}

    received: list[dict] = []
    token = bus.subscribe("meta/confkey/out", lambda topic, rows: received.extend(rows))
    try:
        rule = {"id": "metaRule", "sql": "SELECT id FROM metasim",
                "actions": [{"memory": {"topic": "meta/confkey/out", "sendSingle": True}}]}
        resp = await api.post("/rules", json=rule)
        assert resp.status_code == 201, resp.text
        with anyio.fail_after(5):
            while len(received) < 3:
                await anyio.sleep(0.01)
    finally:
        bus.unsubscribe(token)
    assert received == data


async def test_a_deleted_conf_key_falls_back_to_the_defaults(api, engine, caplog):
    assert_empty_ok(await api.put("/metadata/sources/simulator/confKeys/gone", json={"interval": 3}))
    sql = 'CREATE STREAM metasim2 () WITH (TYPE="simulator", CONF_KEY="gone")'
    assert (await api.post("/streams", json={"sql": sql})).status_code == 201
    assert confkeys.source_props(engine, engine.streams["metasim2"]) == {"interval": 3, "loop": True}
    assert_empty_ok(await api.delete("/metadata/sources/simulator/confKeys/gone"))
    # eKuiper warns and runs the source on its defaults
    assert confkeys.source_props(engine, engine.streams["metasim2"]) == {"interval": 1000, "loop": True}
    assert "conf key gone of source simulator is not found" in caplog.text


# --- functions and operators -----------------------------------------------------------------


async def test_functions(api):
    resp = await api.get("/metadata/functions")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    groups = resp.json()
    builtins.load()
    names = sorted(f["name"] for g in groups for f in g["functions"])
    assert names == registry.names()
    for group in groups:
        assert list(group) == ["name", "about", "functions"]
        for f in group["functions"]:
            assert {"name", "example", "hint", "args"} <= set(f)
            assert set(f["hint"]) == {"en_US", "zh_CN"}


async def test_operators(api):
    resp = await api.get("/metadata/operators")
    assert resp.status_code == 200
    ops = resp.json()
    assert isinstance(ops, list) and ops
    assert all(op["node"]["category"] == "op" for op in ops)


# --- robustness ------------------------------------------------------------------------------


async def test_routing_edges(api):
    assert (await api.post("/metadata/sources")).status_code == 405
    assert (await api.get("/metadata/sources/simulator/confKeys/k")).status_code == 405
    # eKuiper treats these as plugin names
    assert_error(await api.get("/metadata/sources/yaml"), "This plugin was not found:yaml")
    assert_error(await api.get("/metadata/sinks/yaml"), "This plugin was not found:yaml")


@pytest.mark.parametrize("name", ["na%20me", "%E4%B8%AD", "a.b", "..", "x%00y", "a'b", "-", "_" * 300])
async def test_odd_names_never_fail_the_server(api, name):
    requests = [
        ("GET", f"/metadata/sources/{name}"), ("GET", f"/metadata/sinks/{name}"),
        ("GET", f"/metadata/connections/{name}"), ("GET", f"/metadata/sources/yaml/{name}"),
        ("GET", f"/metadata/sinks/yaml/{name}"), ("GET", f"/metadata/connections/yaml/{name}"),
        ("PUT", f"/metadata/sources/{name}/confKeys/{name}"), ("DELETE", f"/metadata/sinks/{name}/confKeys/{name}"),
        ("PUT", f"/metadata/connections/{name}/confKeys/{name}"), ("PUT", f"/metadata/sources/memory/confKeys/{name}"),
        ("GET", f"/metadata/resource?sourceType={name}"), ("GET", f"/metadata/sources?kind={name}"),
    ]
    for method, path in requests:
        resp = await api.request(method, path, content=b'{"a": 1}')
        assert resp.status_code < 500, (method, path, resp.status_code, resp.text)
        if resp.status_code == 400:
            assert set(resp.json()) == {"error", "message"}
