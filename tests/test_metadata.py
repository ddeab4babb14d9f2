"""Connector, function and operator metadata (arrokoth.metadata)."""

from __future__ import annotations

import pytest

from arrokoth import confkeys, metadata
from arrokoth.engine import EngineError
from arrokoth.functions import builtins
from arrokoth.functions.registry import FuncKind, FunctionDef, registry
from arrokoth.io.sinks import registry as sink_registry
from arrokoth.io.sinks.base import Sink
from arrokoth.io.sinks.registry import sink_types
from arrokoth.io.sources import registry as source_registry
from arrokoth.io.sources.base import Source
from arrokoth.io.sources.registry import source_types

FIELD_KEYS = ["exist", "name", "default", "type", "control", "connection_related", "optional", "values", "hint", "label"]
COMMON_SINK_PROPS = [
    "sendSingle", "dataTemplate", "fields", "dataField", "format", "bufferLength", "enableCache",
    "omitIfEmpty", "batchSize", "lingerInterval", "resourceId", "concurrency", "retryCount", "retryInterval",
    "memoryCacheThreshold", "maxDiskCache", "bufferPageSize", "resendInterval", "cleanCacheAtStop",
]


def assert_pair(value, keys=("en", "zh"), *, allow_empty=False):
    assert isinstance(value, dict)
    assert sorted(value) == sorted(keys)
    for k in keys:
        assert isinstance(value[k], str)
        if not allow_empty:
            assert value[k].strip(), f"empty {k} text in {value}"


def assert_about(about):
    assert list(about) == ["trial", "installed", "author", "helpUrl", "description"]
    assert about["trial"] is False
    assert about["installed"] is True
    assert list(about["author"]) == ["name", "email", "company", "website"]
    assert_pair(about["helpUrl"], allow_empty=True)
    assert_pair(about["description"])


def assert_fields(fields):
    assert isinstance(fields, list)
    names = [f["name"] for f in fields]
    assert len(names) == len(set(names)), f"duplicate properties: {names}"
    for f in fields:
        assert list(f) == FIELD_KEYS
        assert f["exist"] is False
        assert isinstance(f["connection_related"], bool)
        assert isinstance(f["optional"], bool)
        assert f["type"] and f["control"]
        assert_pair(f["hint"])
        assert_pair(f["label"])


@pytest.fixture
def fake_source(monkeypatch):
    """A registered source type with no declared metadata; undone after the test."""

    class FakeSource(Source):
        async def start(self) -> None:
            pass

    monkeypatch.setitem(source_registry._SOURCES, "fakesrc", FakeSource)
    monkeypatch.setattr(metadata, "_DECLARED", dict(metadata._DECLARED))
    return "fakesrc"


@pytest.fixture
def fake_sink(monkeypatch):
    class FakeSink(Sink):
        def send(self, payload, data) -> None:
            pass

    monkeypatch.setitem(sink_registry._SINKS, "fakesink", FakeSink)
    monkeypatch.setattr(metadata, "_DECLARED", dict(metadata._DECLARED))
    return "fakesink"


# --- sources ---------------------------------------------------------------------------


def test_builtin_types_are_registered():
    assert {"memory", "simulator"} <= set(source_types())
    assert {"log", "nop", "memory"} <= set(sink_types())


@pytest.mark.parametrize("typ", source_types())
def test_every_source_type_has_metadata(typ):
    meta = metadata.source_meta(typ)
    assert list(meta) == ["about", "libs", "dataSource", "properties", "node", "type"]
    assert_about(meta["about"])
    assert meta["libs"] == []
    assert meta["type"] == "internal"
    assert list(meta["properties"]) == ["default"]
    assert_fields(meta["properties"]["default"])
    assert meta["node"]["category"] == "source"
    assert_pair(meta["node"]["label"])
    ds = meta["dataSource"]
    if ds:
        assert list(ds) == ["default", "hint", "label"]
        assert_pair(ds["hint"])
        assert_pair(ds["label"])


@pytest.mark.parametrize("typ", source_types())
def test_source_property_defaults_agree_with_the_shipped_defaults(typ):
    shipped = confkeys.shipped("sources", typ).get("default", {})
    fields = {f["name"]: f for f in metadata.source_meta(typ)["properties"]["default"]}
    for key, value in shipped.items():
        assert key in fields, f"shipped default {key} of {typ} has no metadata"
        assert fields[key]["default"] == value


def test_declared_source_properties():
    sim = {f["name"]: f for f in metadata.source_meta("simulator")["properties"]["default"]}
    assert list(sim) == ["data", "interval", "loop"]
    assert sim["interval"]["type"] == "int" and sim["interval"]["default"] == 1000
    assert sim["loop"]["type"] == "bool" and sim["loop"]["default"] is True
    # the simulator falls back to its demo data only when data is absent (null), never for []
    assert sim["data"]["default"] is None
    memory = metadata.source_meta("memory")
    assert memory["properties"] == {"default": []}
    assert memory["dataSource"]["label"] == {"en": "Topic", "zh": "主题"}
    assert "+" in memory["dataSource"]["hint"]["en"] and "#" in memory["dataSource"]["hint"]["en"]


def test_source_list_is_sorted_and_split_by_kind():
    scan = metadata.source_list()
    assert [s["name"] for s in scan] == sorted(s["name"] for s in scan)
    assert {"memory", "simulator"} <= {s["name"] for s in scan}
    for item in scan:
        assert list(item) == ["name", "about", "type"]
        assert_about(item["about"])
    lookups = [s["name"] for s in metadata.source_list("lookup")]
    assert lookups == sorted(lookups) and {"memory", "redis"} <= set(lookups) and "simulator" not in lookups
    assert [s["name"] for s in metadata.source_list("LookUp")] == lookups
    assert metadata.source_list("scan") == scan
    assert metadata.source_list("whatever") == scan


def test_unknown_source_is_a_5000_error():
    with pytest.raises(EngineError) as info:
        metadata.source_meta("nope")
    assert (info.value.code, info.value.status) == (5000, 400)
    assert info.value.message == "This plugin was not found:nope"
    with pytest.raises(EngineError) as info:
        metadata.source_meta("nope", "zh_CN")
    assert info.value.message == "没有找到这个插件：nope"


def test_type_names_are_case_insensitive_like_the_registry():
    assert metadata.source_meta("Simulator") == metadata.source_meta("simulator")


def test_a_source_without_metadata_gets_a_generic_entry(fake_source, monkeypatch):
    real = confkeys.shipped

    def shipped(kind, typ):
        if typ == fake_source:
            return {"default": {"url": "http://x", "retries": 3, "verbose": False, "tags": ["a"]}}
        return real(kind, typ)

    monkeypatch.setattr(confkeys, "shipped", shipped)
    assert fake_source in [s["name"] for s in metadata.source_list()]
    meta = metadata.source_meta(fake_source)
    assert_about(meta["about"])
    assert meta["type"] == "native"  # not one of Arrokoth's own connector modules
    fields = {f["name"]: f for f in meta["properties"]["default"]}
    assert_fields(list(fields.values()))
    assert [(n, f["type"], f["default"]) for n, f in fields.items()] == [
        ("url", "string", "http://x"), ("retries", "int", 3), ("verbose", "bool", False), ("tags", "list_string", ["a"]),
    ]
    assert meta["dataSource"]["default"] == ""
    assert meta["node"]["label"] == {"en": fake_source, "zh": fake_source}


def test_registered_metadata_wins_and_connection_fields_are_filtered(fake_source):
    metadata.register_source_meta(fake_source, {
        "kinds": ["scan", "lookup"],
        "type": "portable",
        "about": {"trial": True, "description": {"en": "Fake.", "zh": "假的。"}, "author": {"name": "me"}},
        "properties": [
            {"name": "server", "connection_related": True, "label": {"en": "Server", "zh": "服务器"},
             "hint": {"en": "Where to connect.", "zh": "连接地址。"}},
            {"name": "topic", "label": {"en": "Topic"}, "hint": "The topic."},
        ],
    })
    meta = metadata.source_meta(fake_source)
    assert meta["type"] == "portable"
    assert meta["about"]["trial"] is True
    assert meta["about"]["author"]["name"] == "me"
    assert meta["about"]["description"] == {"en": "Fake.", "zh": "假的。"}
    fields = meta["properties"]["default"]
    assert [f["name"] for f in fields] == ["server", "topic"]
    # a missing language falls back to the other one; a plain string serves both
    assert fields[1]["label"] == {"en": "Topic", "zh": "Topic"}
    assert fields[1]["hint"] == {"en": "The topic.", "zh": "The topic."}
    assert fake_source in [s["name"] for s in metadata.source_list("lookup")]
    conn = metadata.connection_meta(fake_source)
    assert [f["name"] for f in conn["properties"]["default"]] == ["server"]


def test_connection_meta_of_a_source_without_connection_fields():
    assert metadata.connection_meta("simulator")["properties"] == {"default": []}
    with pytest.raises(EngineError) as info:
        metadata.connection_meta("nope")
    assert info.value.message == "This plugin was not found:nope"


# --- sinks -----------------------------------------------------------------------------


@pytest.mark.parametrize("typ", sink_types())
def test_every_sink_type_has_metadata(typ):
    meta = metadata.sink_meta(typ)
    assert list(meta) == ["about", "libs", "properties", "node", "type"]
    assert_about(meta["about"])
    assert meta["type"] == "internal"
    assert meta["node"]["category"] == "sink"
    assert_fields(meta["properties"])
    names = [f["name"] for f in meta["properties"]]
    # the common sink properties come last, once each
    assert names[-len(COMMON_SINK_PROPS):] == COMMON_SINK_PROPS


def test_declared_sink_properties():
    memory = {f["name"]: f for f in metadata.sink_meta("memory")["properties"]}
    assert memory["topic"]["optional"] is False
    assert memory["rowkindField"]["optional"] is True and memory["keyField"]["optional"] is True
    assert [f["name"] for f in metadata.sink_meta("nop")["properties"]][0] == "log"
    assert [f["name"] for f in metadata.sink_meta("log")["properties"]] == COMMON_SINK_PROPS
    common = {f["name"]: f for f in metadata.sink_meta("log")["properties"]}
    assert common["format"]["values"] == ["json"]
    assert common["bufferLength"]["default"] == 1024
    assert common["sendSingle"]["default"] is False


def test_sink_list_is_sorted():
    names = [s["name"] for s in metadata.sink_list()]
    assert names == sorted(names)
    assert {"log", "memory", "nop"} <= set(names)
    for item in metadata.sink_list():
        assert list(item) == ["name", "about", "type"]


def test_unknown_sink_is_a_5000_error():
    with pytest.raises(EngineError) as info:
        metadata.sink_meta("nope")
    assert (info.value.code, info.value.message) == (5000, "This plugin was not found:nope")


def test_a_sink_without_metadata_gets_the_common_properties(fake_sink):
    meta = metadata.sink_meta(fake_sink)
    assert [f["name"] for f in meta["properties"]] == COMMON_SINK_PROPS
    assert fake_sink in [s["name"] for s in metadata.sink_list()]


def test_a_sink_property_overriding_a_common_one_is_listed_once(fake_sink):
    metadata.register_sink_meta(fake_sink, {"properties": [{"name": "format", "values": ["json", "csv"]}]})
    fields = metadata.sink_meta(fake_sink)["properties"]
    formats = [f for f in fields if f["name"] == "format"]
    assert len(formats) == 1 and formats[0]["values"] == ["json", "csv"]


# --- languages -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "lang"),
    [(None, "en_US"), ("", "en_US"), ("  ", "en_US"), ("zh-CN", "zh_CN"), ("zh_CN", "zh_CN"), ("en-US", "en_US")],
)
def test_language_of_the_content_language_header(header, lang):
    assert metadata.language(header) == lang


def test_messages_and_localize():
    assert metadata.message("en_US", "not_found_plugin") == "This plugin was not found:"
    assert metadata.message("zh_CN", "type_conversion_fail") == "类型转换错误："
    # eKuiper finds no message file for other languages and uses an empty prefix
    assert metadata.message("fr_FR", "not_found_plugin") == ""
    text = "This plugin was not found:sources.x"
    assert metadata.localize(text, "en_US") == text
    assert metadata.localize(text, "zh_CN") == "没有找到这个插件：sources.x"
    assert metadata.localize(text, "fr") == "sources.x"
    assert metadata.localize("Invalid confKey: bad", "zh_CN") == "Invalid confKey: bad"


# --- functions -------------------------------------------------------------------------


def _entries():
    return {f["name"]: (g, f) for g in metadata.functions() for f in g["functions"]}


def test_function_metadata_lists_every_registered_function():
    builtins.load()
    entries = _entries()
    assert sorted(entries) == registry.names()
    for name, (_group, entry) in entries.items():
        fdef = registry.get(name)
        assert entry["minArgs"] == fdef.min_args
        assert entry["maxArgs"] == fdef.max_args
        assert entry["kind"] == fdef.kind.value
        assert entry["example"].startswith(f"{name}(") and entry["example"].endswith(")")
        assert_pair(entry["hint"], ("en_US", "zh_CN"))
        required = [a for a in entry["args"] if not a["optional"]]
        assert len(required) == fdef.min_args
        if fdef.max_args is not None:
            assert len(entry["args"]) == fdef.max_args
        else:
            assert entry["args"][-1]["variadic"] is True
        for arg in entry["args"]:
            assert_pair(arg["hint"], ("en_US", "zh_CN"))
            assert_pair(arg["label"], ("en_US", "zh_CN"))
        assert entry.get("aggregate", False) is (fdef.kind is FuncKind.AGGREGATE)


def test_function_groups_follow_the_category_modules():
    groups = metadata.functions()
    names = [g["name"] for g in groups]
    assert names == sorted(names)
    assert set(builtins.CATEGORIES) == set(names)
    for group in groups:
        assert list(group) == ["name", "about", "functions"]
        assert_pair(group["about"]["description"], ("en_US", "zh_CN"))
        assert_pair(group["about"]["helpUrl"], ("en_US", "zh_CN"))
        inner = [f["name"] for f in group["functions"]]
        assert inner == sorted(inner)
    entries = _entries()
    assert entries["abs"][0]["name"] == "math"
    assert entries["avg"][0]["name"] == "aggregate"
    assert entries["unnest"][0]["name"] == "srf"


def test_function_hints_use_the_doc_text_and_examples_show_optional_arguments():
    entries = {name: entry for name, (_g, entry) in _entries().items()}
    assert entries["round"]["hint"]["en_US"] == _first_paragraph(registry.get("round"))
    assert entries["round"]["example"] == "round(arg1[, arg2])"
    assert entries["lag"]["example"] == "lag(arg1[, arg2[, arg3[, arg4]]])"
    assert entries["concat"]["example"] == "concat(arg1, ...)"
    assert entries["pi"]["example"] == "pi()"
    assert entries["cur_time"]["example"] == "cur_time([arg1])"
    # no doc text: the hint is made of the category and the argument count
    assert entries["abs"]["hint"] == {"en_US": "Math function abs; it takes 1 argument.", "zh_CN": "数学函数 abs，接受 1 个参数。"}
    assert entries["pow"]["aliasOf"] == "power"
    assert "aliasOf" not in entries["power"]


def _first_paragraph(fdef) -> str:
    text = (fdef.doc or fdef.impl.__doc__ or "").strip()
    return " ".join(text.split("\n\n")[0].split())


def test_plugin_functions_form_their_own_group():
    builtins.load()
    fdef = FunctionDef(name="myEcho", kind=FuncKind.SCALAR, impl=lambda x: x, min_args=1, max_args=1,
                       doc="Returns its argument.", plugin="echoplug")
    registry.add(fdef)
    try:
        groups = {g["name"]: g for g in metadata.functions()}
        assert [f["name"] for f in groups["echoplug"]["functions"]] == ["myEcho"]
        assert groups["echoplug"]["functions"][0]["hint"]["en_US"] == "Returns its argument."
    finally:
        registry.remove("myEcho")
    assert "echoplug" not in {g["name"] for g in metadata.functions()}


# --- operators -------------------------------------------------------------------------


def test_operators():
    ops = metadata.operators()
    assert [o["name"] for o in ops] == ["filter", "pick", "window", "groupby", "orderby"]
    for op in ops:
        assert list(op) == ["name", "about", "properties", "node"]
        assert_pair(op["about"]["description"], ("en_US", "zh_CN"))
        assert op["node"]["category"] == "op"
        assert_pair(op["node"]["label"])
        assert op["properties"]
        for p in op["properties"]:
            assert_pair(p["hint"], ("en_US", "zh_CN"))
            assert_pair(p["label"], ("en_US", "zh_CN"))
