"""The redis lookup table against a real redis-server (tests/conftest.py starts it).

Keys carry a per-test prefix, so tests share the session's server. Outages and passwords
use a redis-server of the test's own (`redis_factory`). Rules run in a real Engine with a
memory source and a memory sink.
"""

from __future__ import annotations

import sys
import time
import types
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from arrokoth import confkeys
from arrokoth.engine import EngineError
from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.lookup import base as lookup_base
from arrokoth.io.lookup.base import LookupConfigError, LookupFailed
from arrokoth.io.lookup.redis import RedisLookupTable
from arrokoth.io.lookup.registry import lookup_class
from arrokoth.io.memory_bus import bus
from arrokoth.plan.streams import StreamDef
from arrokoth.sql import parse

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(RedisLookupTable, "BACKOFF_INITIAL", 0.01)
    monkeypatch.setattr(RedisLookupTable, "BACKOFF_MAX", 0.05)


@pytest.fixture
def prefix() -> str:
    return f"lk{uuid.uuid4().hex[:10]}"


def table_def(datasource: str = "0") -> StreamDef:
    sql = f'CREATE TABLE t () WITH (DATASOURCE="{datasource}", TYPE="redis", KIND="lookup")'
    return StreamDef.from_ast(parse(sql), sql)


def make(datasource: str = "0", **props: Any) -> RedisLookupTable:
    return RedisLookupTable(table_def(datasource), props)


@pytest.fixture
def table(redis_server) -> Iterator[RedisLookupTable]:
    t = make(addr=f"{redis_server.host}:{redis_server.port}")
    yield t
    t.close()


# --- lookups ------------------------------------------------------------------------------


def test_a_string_key_holds_one_json_row(table, r, prefix):
    r.set(f"{prefix}:1", '{"id": "1", "name": "pump", "n": 3}')
    assert table.lookup(["id"], [f"{prefix}:1"]) == [{"id": "1", "name": "pump", "n": 3.0}]
    # numbers come as float64, as eKuiper's json.Unmarshal into a map gives them
    assert type(table.lookup(["id"], [f"{prefix}:1"])[0]["n"]) is float


def test_a_missing_key_gives_no_row(table, prefix):
    assert table.lookup(["id"], [f"{prefix}:nope"]) == []


def test_a_list_key_holds_one_row_per_element(redis_server, r, prefix):
    r.rpush(f"{prefix}:l", '{"a": 1}', '{"a": 2}', '{"a": 3}')
    t = make(addr=f"127.0.0.1:{redis_server.port}", dataType="list")
    try:
        assert t.lookup(["id"], [f"{prefix}:l"]) == [{"a": 1.0}, {"a": 2.0}, {"a": 3.0}]
        assert t.lookup(["id"], [f"{prefix}:none"]) == []
    finally:
        t.close()


@pytest.mark.parametrize(("value", "key"), [(7, "7"), (7.0, "7"), (2.5, "2.5"), (True, "true"), ("x", "x")])
def test_the_key_is_the_value_printed_as_go_does(table, r, prefix, value, key):
    # eKuiper builds the key with fmt.Sprintf("%v", value)
    r.set(key if key != "x" else f"{prefix}x", '{"k": "v"}')
    try:
        assert table.lookup(["id"], [value if value != "x" else f"{prefix}x"]) == [{"k": "v"}]
    finally:
        r.delete(key)


def test_the_datasource_is_the_database_number(redis_server, prefix):
    other = redis.Redis(host="127.0.0.1", port=redis_server.port, db=3)
    other.set(f"{prefix}:db", '{"in": 3}')
    in3 = make("3", addr=f"127.0.0.1:{redis_server.port}")
    in0 = make("", addr=f"127.0.0.1:{redis_server.port}")  # empty: database 0
    try:
        assert in3.lookup(["id"], [f"{prefix}:db"]) == [{"in": 3.0}]
        assert in0.lookup(["id"], [f"{prefix}:db"]) == []
    finally:
        in3.close()
        in0.close()
        other.close()


def test_only_one_key_can_be_looked_up(table):
    with pytest.raises(LookupFailed, match=r"^redis lookup only support one key, but got \[id name\]$"):
        table.lookup(["id", "name"], [1, "a"])


@pytest.mark.parametrize("raw", ["[1, 2]", "not json", '"text"', "42"])
def test_a_value_that_is_not_a_json_object_fails_the_lookup(table, r, prefix, raw):
    r.set(f"{prefix}:bad", raw)
    with pytest.raises(LookupFailed, match="is not a JSON object"):
        table.lookup(["id"], [f"{prefix}:bad"])


def test_json_null_is_an_empty_row(table, r, prefix):
    r.set(f"{prefix}:null", "null")
    assert table.lookup(["id"], [f"{prefix}:null"]) == [{}]


def test_a_key_of_the_wrong_type_fails_the_lookup(table, r, prefix):
    r.rpush(f"{prefix}:list", '{"a": 1}')
    with pytest.raises(LookupFailed, match="WRONGTYPE"):
        table.lookup(["id"], [f"{prefix}:list"])


def test_it_reconnects_after_the_server_restarts(redis_factory, eventually):
    server = redis_factory()
    t = make(addr=server.address)
    client = redis.Redis(host=server.host, port=server.port)
    try:
        client.set("k", '{"v": 1}')
        assert t.lookup(["id"], ["k"]) == [{"v": 1.0}]
        server.stop()
        with pytest.raises(LookupFailed, match=rf"redis lookup on 127.0.0.1:{server.port}: connection refused"):
            t.lookup(["id"], ["k"])
        server.start()  # the same port, empty again
        client.set("k", '{"v": 2}')

        def answers() -> bool:
            try:
                return t.lookup(["id"], ["k"]) == [{"v": 2.0}]
            except LookupFailed:
                return False

        end = time.monotonic() + 10
        while not answers():
            assert time.monotonic() < end, "the table did not reconnect within 10s"
            time.sleep(0.01)
    finally:
        client.close()
        t.close()


def test_a_password_is_sent(redis_factory):
    server = redis_factory("--requirepass", "s3cret")
    good = make(addr=server.address, password="s3cret")
    bad = make(addr=server.address, password="wrong")
    try:
        assert good.lookup(["id"], ["missing"]) == []
        with pytest.raises(LookupFailed, match="bad credentials"):
            bad.lookup(["id"], ["missing"])
    finally:
        good.close()
        bad.close()


# --- properties ---------------------------------------------------------------------------


@pytest.mark.parametrize(("datasource", "props", "message"), [
    ("0", {"addr": "127.0.0.1:6379", "dataType": "hash"}, "dataType: redis dataType must be string or list"),
    ("x", {"addr": "127.0.0.1:6379"}, "DATASOURCE: the database number 0-15"),
    ("16", {"addr": "127.0.0.1:6379"}, "DATASOURCE: the database number 0-15"),
    ("0", {"addr": ""}, "addr: redis addr is null"),
    ("0", {}, "addr: redis addr is null"),
    ("0", {"addr": "127.0.0.1:http"}, "addr: invalid port"),
    ("0", {"addr": "redis://127.0.0.1:6379"}, "addr: expected host:port"),
    ("0", {"addr": "127.0.0.1:6379", "password": ["x"]}, "password: expected a string"),
])
def test_bad_properties_name_the_property(datasource, props, message):
    with pytest.raises(LookupConfigError, match="^" + message.replace("(", r"\(")):
        make(datasource, **props)


def test_defaults_and_spellings():
    t = make(addr="localhost", DATATYPE="List")
    assert (t.settings.host, t.settings.port, t.settings.db, t.data_type) == ("localhost", 6379, 0, "list")
    assert str(make("2", addr="h:1", username="u", password="p").settings) == "redis://u:***@h:1/2"
    assert lookup_class("redis") is RedisLookupTable
    assert confkeys.shipped("sources", "redis")["default"] == {"addr": "127.0.0.1:6379", "dataType": "string"}


def test_without_redis_py_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(LookupConfigError, match=r"pip install 'arrokoth\[redis\]'"):
        make(addr="127.0.0.1:6379")


# --- connectivity checks ------------------------------------------------------------------


async def test_ping_succeeds(redis_server):
    await RedisLookupTable.ping({"addr": f"127.0.0.1:{redis_server.port}", "dataType": "string"}, 5)
    # eKuiper's REST check sends a placeholder datasource: it means database 0
    await RedisLookupTable.ping({"addr": f"127.0.0.1:{redis_server.port}", "datasource": "/$$TEST_CONNECTION$$"}, 5)
    await RedisLookupTable.ping({"addr": f"127.0.0.1:{redis_server.port}", "datasource": "5"}, 5)


async def test_ping_a_closed_port_is_refused(closed_port):
    port = closed_port
    with pytest.raises(ConnectionCheckError, match=rf"^redis 127.0.0.1:{port}: connection refused$"):
        await RedisLookupTable.ping({"addr": f"127.0.0.1:{port}"}, 5)


async def test_ping_with_a_wrong_or_missing_password(redis_factory):
    server = redis_factory("--requirepass", "s3cret")
    await RedisLookupTable.ping({"addr": server.address, "password": "s3cret"}, 5)
    with pytest.raises(ConnectionCheckError, match=rf"^redis {server.address}: bad credentials: invalid username"):
        await RedisLookupTable.ping({"addr": server.address, "password": "nope"}, 5)
    with pytest.raises(ConnectionCheckError, match="bad credentials: Authentication required"):
        await RedisLookupTable.ping({"addr": server.address}, 5)


async def test_ping_checks_the_properties():
    with pytest.raises(LookupConfigError, match="dataType: redis dataType must be string or list"):
        await RedisLookupTable.ping({"addr": "127.0.0.1:6379", "dataType": "set"}, 5)
    with pytest.raises(LookupConfigError, match="addr: redis addr is null"):
        await RedisLookupTable.ping({}, 5)


# --- in a rule ----------------------------------------------------------------------------


class Output:
    """What a rule's memory action publishes, row by row."""

    def __init__(self, topic: str):
        self.rows: list[dict] = []
        self._token = bus.subscribe(topic, lambda t, rows: self.rows.extend(rows))

    def close(self) -> None:
        bus.unsubscribe(self._token)


async def lookup_rule(engine, redis_address: str, prefix: str, sql: str, conf: dict | None = None) -> Output:
    confkeys.put(engine, "sources", "redis", prefix, {"addr": redis_address, **(conf or {})})
    engine.create_stream(f'CREATE STREAM s () WITH (DATASOURCE="in/{prefix}", TYPE="memory")')
    engine.create_stream(f'CREATE TABLE t () WITH (DATASOURCE="0", TYPE="redis", KIND="lookup", CONF_KEY="{prefix}")')
    out = Output(f"out/{prefix}")
    await engine.create_rule({"id": "r1", "sql": sql, "actions": [{"memory": {"topic": f"out/{prefix}",
                                                                               "sendSingle": True}}]})
    return out


async def test_an_inner_join_in_a_rule(engine, redis_server, r, prefix, eventually):
    r.set(f"{prefix}:1", '{"id": "ignored", "name": "pump"}')
    r.set(f"{prefix}:2", '{"name": "fan"}')
    out = await lookup_rule(engine, f"127.0.0.1:{redis_server.port}", prefix,
                            "SELECT s.id, s.v, t.name FROM s INNER JOIN t ON s.id = t.id")
    try:
        bus.publish(f"in/{prefix}", [{"id": f"{prefix}:1", "v": 10}])
        bus.publish(f"in/{prefix}", [{"id": f"{prefix}:3", "v": 30}])  # no such key: no output
        bus.publish(f"in/{prefix}", [{"id": f"{prefix}:2", "v": 20}])
        await eventually(lambda: len(out.rows) == 2, what="two joined rows")
        assert out.rows == [{"id": f"{prefix}:1", "v": 10, "name": "pump"},
                            {"id": f"{prefix}:2", "v": 20, "name": "fan"}]
    finally:
        out.close()


async def test_a_left_join_keeps_rows_with_a_missing_key(engine, redis_server, r, prefix, eventually):
    r.set(f"{prefix}:1", '{"name": "pump"}')
    out = await lookup_rule(engine, f"127.0.0.1:{redis_server.port}", prefix,
                            "SELECT s.id, t.name FROM s LEFT JOIN t ON s.id = t.id")
    try:
        bus.publish(f"in/{prefix}", [{"id": f"{prefix}:1"}])
        bus.publish(f"in/{prefix}", [{"id": f"{prefix}:9"}])
        await eventually(lambda: len(out.rows) == 2, what="two rows")
        assert out.rows == [{"id": f"{prefix}:1", "name": "pump"}, {"id": f"{prefix}:9"}]
    finally:
        out.close()


async def test_the_lookup_cache_serves_a_value_until_its_ttl(engine, redis_server, r, prefix, eventually,
                                                             monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(lookup_base, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    r.set(f"{prefix}:1", '{"name": "old"}')
    out = await lookup_rule(engine, f"127.0.0.1:{redis_server.port}", prefix,
                            "SELECT t.name FROM s INNER JOIN t ON s.id = t.id",
                            {"lookup": {"cache": True, "cacheTtl": 60}})
    try:
        key = f"{prefix}:1"
        bus.publish(f"in/{prefix}", [{"id": key}])
        await eventually(lambda: len(out.rows) == 1)
        r.set(key, '{"name": "new"}')
        now[0] += 59
        bus.publish(f"in/{prefix}", [{"id": key}])
        await eventually(lambda: len(out.rows) == 2)
        now[0] += 2  # past the ttl
        bus.publish(f"in/{prefix}", [{"id": key}])
        await eventually(lambda: len(out.rows) == 3)
        assert [row["name"] for row in out.rows] == ["old", "old", "new"]
    finally:
        out.close()


async def test_a_server_outage_is_a_rule_error_and_the_rule_goes_on(engine, redis_factory, prefix, eventually):
    server = redis_factory()
    client = redis.Redis(host=server.host, port=server.port)
    client.set("k", '{"name": "a"}')
    out = await lookup_rule(engine, server.address, prefix, "SELECT t.name FROM s INNER JOIN t ON s.id = t.id")

    def exceptions() -> int:
        return engine.all_status()["r1"]["exceptions_total"]

    try:
        bus.publish(f"in/{prefix}", [{"id": "k"}])
        await eventually(lambda: len(out.rows) == 1)
        server.stop()
        before = exceptions()
        bus.publish(f"in/{prefix}", [{"id": "k"}])
        await eventually(lambda: exceptions() > before, what="the failed lookup counted")
        assert "connection refused" in engine.all_status()["r1"]["last_exception"]
        assert engine.rule_status("r1")[0]["status"] == "running"
        server.start()
        client.set("k", '{"name": "b"}')

        def joined_again() -> bool:
            bus.publish(f"in/{prefix}", [{"id": "k"}])
            return bool(out.rows) and out.rows[-1] == {"name": "b"}

        await eventually(joined_again, what="joins after the server is back")
    finally:
        client.close()
        out.close()


async def test_bad_table_properties_fail_the_rule(engine, prefix):
    confkeys.put(engine, "sources", "redis", prefix, {"addr": "127.0.0.1:6379", "dataType": "zset"})
    engine.create_stream(f'CREATE STREAM s () WITH (DATASOURCE="in/{prefix}", TYPE="memory")')
    engine.create_stream(f'CREATE TABLE t () WITH (DATASOURCE="0", TYPE="redis", KIND="lookup", CONF_KEY="{prefix}")')
    with pytest.raises(EngineError) as info:
        await engine.create_rule({"id": "r1", "sql": "SELECT * FROM s INNER JOIN t ON s.id = t.id",
                                  "actions": [{"log": {}}]})
    assert "dataType: redis dataType must be string or list" in info.value.message


async def test_other_on_conditions_filter_and_a_null_key_finds_nothing(engine, redis_server, r, prefix,
                                                                       eventually):
    r.set(f"{prefix}:1", '{"level": 1}')
    r.set(f"{prefix}:2", '{"level": 5}')
    r.set("<nil>", '{"level": 9}')  # what %v prints for nil: never looked up
    out = await lookup_rule(engine, f"127.0.0.1:{redis_server.port}", prefix,
                            "SELECT s.n, t.level FROM s LEFT JOIN t ON s.id = t.id AND t.level > 2")
    try:
        for n, key in enumerate([f"{prefix}:1", f"{prefix}:2", None]):
            bus.publish(f"in/{prefix}", [{"n": n, "id": key}])
        await eventually(lambda: len(out.rows) == 3, what="three rows")
        assert out.rows == [{"n": 0}, {"n": 1, "level": 5.0}, {"n": 2}]
    finally:
        r.delete("<nil>")
        out.close()
