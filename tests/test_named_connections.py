"""Named connections of the types that hold props (sql, redis, ...): rules that select one
run with its props under their own, and its status is what a ping of the remote end says."""

from __future__ import annotations

import sqlite3

import pytest
import redis

from arrokoth import confkeys
from arrokoth.engine import EngineError
from arrokoth.io.memory_bus import bus

pytestmark = pytest.mark.anyio


async def wait_for(predicate, what: str) -> None:
    import asyncio
    import time

    deadline = time.monotonic() + 10
    while not predicate():
        assert time.monotonic() < deadline, f"not within 10s: {what}"
        await asyncio.sleep(0.02)


async def test_a_redis_sink_writes_through_a_named_connection(engine, redis_server, closed_port):
    await engine.connections.create({"id": "cache", "typ": "redis",
                                     "props": {"addr": f"127.0.0.1:{redis_server.port}", "db": 3}})
    await engine.connections.create({"id": "down", "typ": "redis", "props": {"addr": f"127.0.0.1:{closed_port}"}})
    described = {c["id"]: c for c in await engine.connections.list()}
    assert described["cache"]["status"] == "connected" and "err" not in described["cache"]
    assert described["down"]["status"] == "disconnected" and "refused" in described["down"]["err"]

    engine.create_stream('CREATE STREAM demo () WITH (TYPE="memory", DATASOURCE="named/redis")')
    await engine.create_rule({"id": "r", "sql": "SELECT id, t FROM demo",
                              "actions": [{"redis": {"connectionSelector": "cache", "field": "id"}}]})
    assert (await engine.connections.describe("cache"))["refCount"] == 1
    bus.publish("named/redis", [{"id": "dev1", "t": 21.5}])
    client = redis.Redis(port=redis_server.port, db=3)
    await wait_for(lambda: client.get("dev1") is not None, "the row in db 3")
    assert client.get("dev1") == b'{"id":"dev1","t":21.5}'
    await engine.delete_rule("r")
    await engine.connections.drop("cache")


async def test_sql_source_and_sink_on_one_named_connection(engine, tmp_path):
    db = tmp_path / "plant.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE readings (id INTEGER PRIMARY KEY, t REAL)")
        conn.execute("CREATE TABLE copies (id INTEGER, t REAL)")
        conn.executemany("INSERT INTO readings VALUES (?, ?)", [(1, 20.0), (2, 21.0)])
    await engine.connections.create({"id": "plant", "typ": "sql", "props": {"dburl": f"sqlite:{db}"}})
    assert (await engine.connections.describe("plant"))["status"] == "connected"

    confkeys.put(engine, "sources", "sql", "plant", {"connectionSelector": "plant", "interval": 100,
                                                     "internalSqlQueryCfg": {"table": "readings",
                                                                             "indexField": "id", "indexValue": 0}})
    engine.create_stream('CREATE STREAM readings () WITH (TYPE="sql", CONF_KEY="plant", DATASOURCE="readings")')
    await engine.create_rule({"id": "copy", "sql": "SELECT id, t FROM readings",
                              "actions": [{"sql": {"connectionSelector": "plant", "table": "copies"}}]})

    def copied() -> list:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT id, t FROM copies ORDER BY id").fetchall()

    await wait_for(lambda: len(copied()) == 2, "both rows copied")
    assert copied() == [(1, 20.0), (2, 21.0)]
    status = engine.rule_status("copy")[1]
    assert "source_plant/readings_0_records_in_total" in status
    with pytest.raises(EngineError, match=r"rule references \[copy_plant/readings_0 copy_sql_0_0\]"):
        await engine.connections.drop("plant")
    await engine.stop_rule("copy")
    await engine.connections.drop("plant")
    await engine.start_rule("copy")  # as eKuiper: the rule stops by error, naming the connection
    header = engine.rule_status("copy")[0]
    assert (header["status"], header["message"]) == ("stopped by error", "connection plant not existed")
