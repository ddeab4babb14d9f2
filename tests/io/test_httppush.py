"""The httppush source (arrokoth.io.sources.httppush), driven by a real HTTP client against
the engine's shared listener on a free port."""

from __future__ import annotations

import httpx
import pytest

from arrokoth.config import Config
from arrokoth.engine import Engine, EngineError
from arrokoth.io.memory_bus import bus
from arrokoth.io.sources.base import CONNECTED, SourceConfigError
from arrokoth.io.sources.httppush import HttpPushSource
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.clock import RealClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse
from arrokoth.store import open_store

pytestmark = pytest.mark.anyio


@pytest.fixture
async def engine(tmp_path, free_port):
    eng = Engine(Config({"basic": {"httpServerIp": "127.0.0.1", "httpServerPort": free_port()}}, data_dir=tmp_path),
                 open_store("sqlite::memory:"))
    await eng.open()
    yield eng
    await eng.close()


@pytest.fixture
async def client(engine):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{engine.http_listener.port}", timeout=10) as c:
        yield c


@pytest.fixture
def results():
    """Rows the memory sinks publish, by topic."""
    got: dict[str, list] = {}
    token = bus.subscribe("push/#", lambda topic, rows: got.setdefault(topic, []).extend(rows))
    yield got
    bus.unsubscribe(token)


async def add_rule(engine: Engine, rule_id: str, stream: str, sql: str | None = None) -> None:
    await engine.create_rule({
        "id": rule_id, "sql": sql or f"SELECT * FROM {stream}",
        "actions": [{"memory": {"topic": f"push/{rule_id}"}}],
    })
    assert engine.rules[rule_id].status == "running", engine.rules[rule_id].message


async def test_a_json_object_and_an_array_of_objects(engine, client, results):
    engine.create_stream('CREATE STREAM s1 () WITH (DATASOURCE="/api/data", TYPE="httppush", FORMAT="json")')
    await add_rule(engine, "r1", "s1")
    resp = await client.post("/api/data", json={"temperature": 20.5, "id": 1})
    assert (resp.status_code, resp.text) == (200, "ok")
    resp = await client.post("/api/data", json=[{"id": 2}, {"id": 3}])
    assert resp.status_code == 200
    assert results["push/r1"] == [{"temperature": 20.5, "id": 1}, {"id": 2}, {"id": 3}]
    assert engine.sources["s1"].status == CONNECTED


async def test_the_body_is_decoded_with_the_stream_schema(engine, client, results):
    engine.create_stream('CREATE STREAM typed (id BIGINT, name STRING) WITH (DATASOURCE="/typed", TYPE="httppush")')
    await add_rule(engine, "r1", "typed")
    await client.post("/typed", json={"id": 7, "name": "a", "extra": True})
    assert results["push/r1"] == [{"id": 7, "name": "a"}]
    assert type(results["push/r1"][0]["id"]) is int


async def test_two_streams_on_two_paths(engine, client, results):
    engine.create_stream('CREATE STREAM a () WITH (DATASOURCE="/a", TYPE="httppush")')
    engine.create_stream('CREATE STREAM b () WITH (DATASOURCE="/b", TYPE="httppush")')
    await add_rule(engine, "ra", "a")
    await add_rule(engine, "rb", "b")
    await client.post("/a", json={"from": "a"})
    await client.post("/b", json={"from": "b"})
    await client.post("/b", json={"from": "b2"})
    assert results == {"push/ra": [{"from": "a"}], "push/rb": [{"from": "b"}, {"from": "b2"}]}
    assert engine.http_listener.endpoints() == {"/a": ["POST"], "/b": ["POST"]}


async def test_two_rules_on_one_stream_share_its_path(engine, client, results):
    engine.create_stream('CREATE STREAM s () WITH (DATASOURCE="/s", TYPE="httppush")')
    await add_rule(engine, "r1", "s")
    await add_rule(engine, "r2", "s", "SELECT x * 2 AS y FROM s")
    await client.post("/s", json={"x": 2})
    assert results == {"push/r1": [{"x": 2}], "push/r2": [{"y": 4}]}


async def test_wrong_path_and_wrong_method(engine, client):
    engine.create_stream('CREATE STREAM s () WITH (DATASOURCE="/s", TYPE="httppush")')
    await add_rule(engine, "r1", "s")
    assert (await client.post("/nope", json={})).status_code == 404
    assert (await client.put("/s", json={})).status_code == 405


async def test_put_from_the_stream_properties(engine, client, results):
    engine.create_stream('CREATE STREAM s () WITH (DATASOURCE="/s", TYPE="httppush", EXTRA="{\\"method\\": \\"put\\"}")')
    await add_rule(engine, "r1", "s")
    assert (await client.put("/s", json={"v": 1})).status_code == 200
    assert (await client.post("/s", json={"v": 2})).status_code == 405
    assert results["push/r1"] == [{"v": 1}]


async def test_a_body_that_does_not_decode_is_an_exception_of_the_rule(engine, client, results):
    engine.create_stream('CREATE STREAM s () WITH (DATASOURCE="/s", TYPE="httppush")')
    await add_rule(engine, "r1", "s")
    # eKuiper answers once it has read the body; the decoding fails in the rule
    resp = await client.post("/s", content=b"{not json")
    assert (resp.status_code, resp.text) == (200, "ok")
    resp = await client.post("/s", content=b"[1, 2]")
    assert resp.status_code == 200
    source = engine.sources["s"]
    assert source.exceptions == 2
    assert "supported" in source.last_exception
    assert engine.rules["r1"].runtime.metrics.exceptions == 2
    await client.post("/s", json={"ok": True})
    assert results["push/r1"] == [{"ok": True}]


async def test_the_path_is_served_only_while_a_rule_reads_the_stream(engine, client, results):
    engine.create_stream('CREATE STREAM s () WITH (DATASOURCE="/s", TYPE="httppush")')
    await add_rule(engine, "r1", "s")
    await add_rule(engine, "r2", "s")
    await engine.stop_rule("r1")
    assert (await client.post("/s", json={"n": 1})).status_code == 200  # r2 still reads it
    await engine.stop_rule("r2")
    assert (await client.post("/s", json={"n": 2})).status_code == 404
    assert engine.http_listener.endpoints() == {}
    await engine.start_rule("r1")
    assert (await client.post("/s", json={"n": 3})).status_code == 200
    await engine.delete_rule("r1")
    await engine.delete_rule("r2")
    engine.drop_stream("s", "stream")
    assert (await client.post("/s", json={"n": 4})).status_code == 404
    assert results["push/r1"] == [{"n": 3}]
    assert results["push/r2"] == [{"n": 1}]


@pytest.mark.parametrize(("options", "message"), [
    ('DATASOURCE="api/data"', "DATASOURCE: the httppush endpoint must be a URL path starting with /, got 'api/data'"),
    ("", "DATASOURCE: the httppush endpoint must be a URL path starting with /, got ''"),
    ('DATASOURCE="/x", EXTRA="{\\"method\\": \\"GET\\"}"', "method: GET is not supported, must be POST or PUT"),
])
async def test_bad_properties_fail_the_rule_creation_naming_them(engine, options, message):
    sep = ", " if options else ""
    engine.create_stream(f'CREATE STREAM s () WITH ({options}{sep}TYPE="httppush")')
    with pytest.raises(EngineError) as e:
        await engine.create_rule({"id": "r1", "sql": "SELECT * FROM s", "actions": [{"nop": {}}]})
    assert e.value.message == f"fail to create source of stream s: {message}"
    assert "r1" not in engine.rules


async def test_the_source_alone(tmp_path):
    """Without an engine the source finds the process's listener (configured here)."""
    from arrokoth.io import http_listener

    listener = http_listener.configure("127.0.0.1", 0)
    sql = 'CREATE STREAM s () WITH (DATASOURCE="/alone", TYPE="httppush")'
    d = StreamDef.from_ast(parse(sql), sql)
    feed = StreamFeed(d, RealClock())
    rows, errors = [], []
    feed.subscribe(lambda index, row: rows.append(row.msg), 0, errors.append)
    source = HttpPushSource(d, {}, feed)
    try:
        await source.start()
        async with httpx.AsyncClient(timeout=10) as client:
            resp = await client.post(f"http://127.0.0.1:{listener.port}/alone", json={"a": 1})
        assert resp.status_code == 200
        assert rows == [{"a": 1}]
        assert source.records_in == 1
    finally:
        await source.stop()
        await listener.close()
    with pytest.raises(SourceConfigError, match="method"):
        HttpPushSource(d, {"method": 3}, feed)
