"""The redis sink against a real redis-server (tests/conftest.py starts it).

The sink is driven through its AsyncSink protocol (`connect`, `send_async`, `aclose`), as
the SinkNode drives it, and in rules of a real Engine; a redis-py client of the test reads
back what it stored. Outages use a redis-server of the test's own (`redis_factory`).
"""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis

from arrokoth.engine import EngineError
from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.memory_bus import bus
from arrokoth.io.sinks.base import CONNECTED, DISCONNECTED, SinkConfigError, SinkSendError
from arrokoth.io.sinks.redis import RedisRowError, RedisSink
from arrokoth.io.sinks.registry import sink_class

pytestmark = pytest.mark.anyio


@pytest.fixture
def prefix() -> str:
    return f"sk{uuid.uuid4().hex[:10]}"


@contextlib.asynccontextmanager
async def connected(**props: Any) -> AsyncIterator[RedisSink]:
    sink = RedisSink(props)
    await sink.connect()
    try:
        yield sink
    finally:
        await sink.aclose()


def addr(server) -> str:
    return f"{server.host}:{server.port}"


# --- keyType single -----------------------------------------------------------------------


async def test_the_row_is_stored_as_json_under_its_field_value(redis_server, r, prefix):
    async with connected(addr=addr(redis_server), field="id") as sink:
        assert sink.status == CONNECTED and sink.last_connected > 0
        await sink.send_async(None, {"id": f"{prefix}a", "v": 1, "b": True})
        await sink.send_async(None, [{"id": f"{prefix}b", "v": 2.5}, {"id": f"{prefix}c", "n": None}])
    # Go's json.Marshal of a map sorts its keys
    assert r.get(f"{prefix}a") == f'{{"b":true,"id":"{prefix}a","v":1}}'.encode()
    assert r.get(f"{prefix}b") == f'{{"id":"{prefix}b","v":2.5}}'.encode()
    assert r.get(f"{prefix}c") == f'{{"id":"{prefix}c","n":null}}'.encode()
    assert r.ttl(f"{prefix}a") == -1  # no expiration by default


async def test_a_number_field_is_a_key_too(redis_server, r, prefix):
    async with connected(addr=addr(redis_server), field="n", db=2) as sink:
        await sink.send_async(None, {"n": 12345.5})
        await sink.send_async(None, {"n": 1e21})  # no exponent: eKuiper's CONVERT_ALL cast
    other = redis.Redis(host=redis_server.host, port=redis_server.port, db=2)
    try:
        assert other.get("12345.5") == b'{"n":12345.5}'
        assert other.exists("1000000000000000000000")
        other.delete("12345.5", "1000000000000000000000")
    finally:
        other.close()


async def test_a_fixed_key_holds_the_latest_row(redis_server, r, prefix):
    async with connected(addr=addr(redis_server), key=f"{prefix}:latest") as sink:
        await sink.send_async(None, [{"a": 1}, {"a": 2}])
        await sink.send_async(None, {"a": 3})
    assert r.get(f"{prefix}:latest") == b'{"a":3}'


async def test_field_wins_over_key(redis_server, r, prefix):
    async with connected(addr=addr(redis_server), key=f"{prefix}:fixed", field="id") as sink:
        await sink.send_async(None, {"id": f"{prefix}:f"})
    assert r.exists(f"{prefix}:f") and not r.exists(f"{prefix}:fixed")


async def test_a_key_may_be_a_data_template(redis_server, r, prefix):
    async with connected(addr=addr(redis_server), key=prefix + ":dev:{{.id}}") as sink:
        await sink.send_async(None, [{"id": 1, "t": 20}, {"id": "x", "t": 30}])
    assert r.get(f"{prefix}:dev:1") == b'{"id":1,"t":20}'
    assert r.get(f"{prefix}:dev:x") == b'{"id":"x","t":30}'


async def test_a_list_gets_each_row_pushed_on_its_left(redis_server, r, prefix):
    async with connected(addr=addr(redis_server), key=f"{prefix}:l", dataType="list") as sink:
        await sink.send_async(None, [{"n": 1}, {"n": 2}])
        await sink.send_async(None, {"n": 3})
    assert r.lrange(f"{prefix}:l", 0, -1) == [b'{"n":3}', b'{"n":2}', b'{"n":1}']


async def test_expiration_in_seconds(redis_server, r, prefix):
    async with connected(addr=addr(redis_server), field="id", expiration=100) as sink:
        await sink.send_async(None, {"id": f"{prefix}:e"})
    assert 0 < r.ttl(f"{prefix}:e") <= 100
    # -1 (the default) and 0 keep the key forever; a SET drops an earlier expiration
    for expiration in (-1, 0, "0"):
        r.expire(f"{prefix}:e", 100)
        async with connected(addr=addr(redis_server), field="id", expiration=expiration) as sink:
            await sink.send_async(None, {"id": f"{prefix}:e"})
        assert r.ttl(f"{prefix}:e") == -1


# --- rowkindField -------------------------------------------------------------------------


async def test_rowkinds_write_and_delete_a_string(redis_server, r, prefix):
    async with connected(addr=addr(redis_server), field="id", rowkindField="action") as sink:
        for action in ("insert", "update", "upsert"):
            await sink.send_async(None, {"id": f"{prefix}:{action}", "action": action})
        await sink.send_async(None, {"id": f"{prefix}:plain"})  # no action field: an upsert
        assert r.exists(f"{prefix}:insert", f"{prefix}:update", f"{prefix}:upsert", f"{prefix}:plain") == 4
        await sink.send_async(None, {"id": f"{prefix}:update", "action": "delete"})
        await sink.send_async(None, {"id": f"{prefix}:never", "action": "delete"})
    assert not r.exists(f"{prefix}:update")
    assert r.get(f"{prefix}:insert") == f'{{"action":"insert","id":"{prefix}:insert"}}'.encode()


async def test_delete_pops_a_list(redis_server, r, prefix):
    async with connected(addr=addr(redis_server), key=f"{prefix}:l", dataType="list", rowkindField="op") as sink:
        await sink.send_async(None, [{"n": 1}, {"n": 2}])
        await sink.send_async(None, {"op": "delete"})
    assert r.lrange(f"{prefix}:l", 0, -1) == [b'{"n":1}']


async def test_bad_rows_fail_the_message_and_the_good_ones_are_stored(redis_server, r, prefix):
    async with connected(addr=addr(redis_server), field="id", rowkindField="op") as sink:
        with pytest.raises(RedisRowError) as info:
            await sink.send_async(None, [
                {"id": f"{prefix}:ok"},
                {"name": "no id"},
                {"id": f"{prefix}:x", "op": "merge"},
                {"id": f"{prefix}:y", "op": 3},
                {"id": {"nested": 1}},
                "not a row",
            ])
        assert not isinstance(info.value, SinkSendError)
        assert sink.status == CONNECTED
    assert str(info.value) == (
        "field id does not exist in data map[name:no id]; invalid rowkind merge; "
        f"rowkind field op is not a string in data map[id:{prefix}:y op:3]; "
        "key must be string or convertible to string, but got map[nested:1]; unrecognized format of not a row"
    )
    assert r.exists(f"{prefix}:ok") and not r.exists(f"{prefix}:x")


async def test_a_key_of_another_type_is_not_a_connection_failure(redis_server, r, prefix):
    r.set(f"{prefix}:s", "text")
    async with connected(addr=addr(redis_server), key=f"{prefix}:s", dataType="list") as sink:
        with pytest.raises(RedisRowError, match="WRONGTYPE"):
            await sink.send_async(None, {"a": 1})
        assert sink.status == CONNECTED


# --- keyType multiple ---------------------------------------------------------------------


async def test_multiple_stores_each_field_under_its_own_key(redis_server, r, prefix):
    async with connected(addr=addr(redis_server), keyType="multiple", expiration=50) as sink:
        await sink.send_async(None, {f"{prefix}:t": 40.9, f"{prefix}:h": 30, f"{prefix}:s": "on",
                                     f"{prefix}:o": {"a": [1]}, f"{prefix}:n": None, f"{prefix}:b": False})
    assert r.mget(*(f"{prefix}:{k}" for k in "thsonb")) == [b"40.9", b"30", b"on", b'{"a":[1]}', b"", b"false"]
    assert 0 < r.ttl(f"{prefix}:t") <= 50


async def test_multiple_with_delete_removes_every_field_key(redis_server, r, prefix):
    async with connected(addr=addr(redis_server), keyType="multiple", rowkindField=f"{prefix}:op") as sink:
        await sink.send_async(None, {f"{prefix}:a": 1, f"{prefix}:b": 2})
        await sink.send_async(None, {f"{prefix}:a": 0, f"{prefix}:op": "delete"})
    assert r.exists(f"{prefix}:a") == 0 and r.get(f"{prefix}:b") == b"2"


# --- the connection -----------------------------------------------------------------------


async def test_a_closed_port_fails_to_connect_with_a_recoverable_error(closed_port):
    sink = RedisSink({"addr": f"127.0.0.1:{closed_port}", "key": "k"})
    try:
        with pytest.raises(SinkSendError, match="connection refused"):
            await sink.connect()
        with pytest.raises(SinkSendError):
            await sink.send_async(None, {"a": 1})
    finally:
        await sink.aclose()


async def test_a_server_that_goes_away_and_comes_back(redis_factory):
    server = redis_factory()
    client = redis.Redis(host=server.host, port=server.port)
    sink = RedisSink({"addr": server.address, "field": "id"})
    try:
        await sink.connect()
        await sink.send_async(None, {"id": "a"})
        server.stop()
        with pytest.raises(SinkSendError, match="connection refused|reset|closed"):
            await sink.send_async(None, {"id": "b"})
        assert sink.status == DISCONNECTED
        with pytest.raises(SinkSendError, match="connection refused"):
            await sink.connect()
        server.start()
        await sink.connect()
        assert sink.status == CONNECTED
        await sink.send_async(None, {"id": "b"})
        assert client.get("b") == b'{"id":"b"}'
    finally:
        await sink.aclose()
        client.close()


async def test_username_and_password(redis_factory):
    server = redis_factory("--requirepass", "s3cret")
    async with connected(addr=server.address, password="s3cret", key="k") as sink:
        await sink.send_async(None, {"a": 1})
    async with connected(addr=server.address, username="default", password="s3cret", key="k") as sink:
        await sink.send_async(None, {"a": 2})
    sink = RedisSink({"addr": server.address, "password": "wrong", "key": "k"})
    try:
        with pytest.raises(SinkSendError, match="bad credentials"):
            await sink.connect()
    finally:
        await sink.aclose()


# --- properties ---------------------------------------------------------------------------


@pytest.mark.parametrize(("props", "message"), [
    ({"addr": "127.0.0.1:6379"}, "key: redis sink must have key or field when KeyType is single"),
    ({"key": "k", "keyType": "hash"}, "keyType: KeyType only support single or multiple"),
    ({"key": "k", "dataType": "set"}, "dataType: redis sink only support string or list data type"),
    ({"key": "k", "db": 16}, "db: redisSink db should be in range 0-15"),
    ({"key": "k", "db": -1}, "db: redisSink db should be in range 0-15"),
    ({"key": "k", "db": "one"}, "db: expected an int"),
    ({"key": "k", "expiration": "soon"}, "expiration: expected a number of seconds"),
    ({"key": "k", "addr": "localhost:99999"}, "addr: invalid port"),
    ({"key": "{{.id"}, "key: invalid template"),
])
def test_bad_properties_name_the_property(props, message):
    with pytest.raises(SinkConfigError, match="^" + message):
        RedisSink(props)


def test_defaults():
    sink = RedisSink({"keyType": "multiple"})
    assert (sink.settings.host, sink.settings.port, sink.settings.db) == ("127.0.0.1", 6379, 0)
    assert (sink.key_type, sink.data_type, sink.expiration, sink.rowkind_field) == ("multiple", "string", -1, "")
    assert RedisSink({"key": "k", "DB": "3", "Expiration": 10.0}).settings.db == 3
    assert sink_class("redis") is RedisSink
    assert RedisSink.wants_rows is True


def test_without_redis_py_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(SinkConfigError, match=r"pip install 'arrokoth\[redis\]'"):
        RedisSink({"key": "k"})


# --- connectivity checks ------------------------------------------------------------------


async def test_ping(redis_server, redis_factory, closed_port):
    # only the connection properties matter: no key is needed to reach Redis
    await RedisSink.ping({"addr": addr(redis_server), "db": 1}, 5)
    port = closed_port
    with pytest.raises(ConnectionCheckError, match=rf"^redis 127.0.0.1:{port}: connection refused$"):
        await RedisSink.ping({"addr": f"127.0.0.1:{port}"}, 5)
    server = redis_factory("--requirepass", "s3cret")
    await RedisSink.ping({"addr": server.address, "password": "s3cret"}, 5)
    with pytest.raises(ConnectionCheckError, match=rf"^redis {server.address}: bad credentials"):
        await RedisSink.ping({"addr": server.address, "password": "nope"}, 5)
    with pytest.raises(SinkConfigError, match="^db: redisSink db should be in range 0-15$"):
        await RedisSink.ping({"addr": server.address, "db": 99}, 5)


# --- in a rule ----------------------------------------------------------------------------


def metric(engine, name: str) -> Any:
    return engine.rule_status("r1")[1].get(name)


async def test_a_rule_writes_to_redis(engine, redis_server, r, prefix, eventually):
    engine.create_stream(f'CREATE STREAM s () WITH (DATASOURCE="in/{prefix}", TYPE="memory")')
    action = {"addr": addr(redis_server), "field": "id", "rowkindField": "action", "sendSingle": True}
    await engine.create_rule({"id": "r1", "sql": "SELECT * FROM s WHERE t > 0", "actions": [{"redis": action}]})
    await eventually(lambda: metric(engine, "sink_redis_0_0_connection_status") == 1, what="the action connected")
    bus.publish(f"in/{prefix}", [{"id": f"{prefix}:1", "t": 5}, {"id": f"{prefix}:2", "t": -1}])
    bus.publish(f"in/{prefix}", [{"id": f"{prefix}:3", "t": 7}])
    await eventually(lambda: metric(engine, "sink_redis_0_0_records_out_total") == 2)
    assert r.get(f"{prefix}:1") == f'{{"id":"{prefix}:1","t":5}}'.encode()
    assert not r.exists(f"{prefix}:2") and r.exists(f"{prefix}:3")
    bus.publish(f"in/{prefix}", [{"id": f"{prefix}:1", "t": 1, "action": "delete"}])
    await eventually(lambda: not r.exists(f"{prefix}:1"), what="the delete")


async def test_bad_properties_fail_rule_creation(engine, prefix):
    engine.create_stream(f'CREATE STREAM s () WITH (DATASOURCE="in/{prefix}", TYPE="memory")')
    with pytest.raises(EngineError) as info:
        await engine.create_rule({"id": "r1", "sql": "SELECT * FROM s", "actions": [{"redis": {"db": 3}}]})
    assert info.value.status == 400
    assert "redis sink must have key or field when KeyType is single" in info.value.message


async def test_the_rule_survives_an_outage_and_the_cache_delivers_afterwards(engine, redis_factory, prefix,
                                                                          eventually):
    server = redis_factory()
    client = redis.Redis(host=server.host, port=server.port)
    engine.create_stream(f'CREATE STREAM s () WITH (DATASOURCE="in/{prefix}", TYPE="memory")')
    action = {"addr": server.address, "field": "id", "sendSingle": True, "enableCache": True}
    await engine.create_rule({"id": "r1", "sql": "SELECT * FROM s", "actions": [{"redis": action}]})
    try:
        await eventually(lambda: metric(engine, "sink_redis_0_0_connection_status") == 1)
        bus.publish(f"in/{prefix}", [{"id": "before"}])
        await eventually(lambda: client.exists("before"), what="the first row")
        server.stop()
        for n in range(5):
            bus.publish(f"in/{prefix}", [{"id": f"during{n}", "n": n}])
        await eventually(lambda: metric(engine, "sink_redis_0_0_connection_status") == -1, what="the outage seen")
        assert engine.rule_status("r1")[0]["status"] == "running"
        assert metric(engine, "sink_redis_0_0_buffer_length") >= 1
        server.start()  # empty, on the same port
        await eventually(lambda: client.exists(*(f"during{n}" for n in range(5))) == 5, what="the cached rows")
        assert client.get("during3") == b'{"id":"during3","n":3}'
        await eventually(lambda: metric(engine, "sink_redis_0_0_connection_status") == 1)
        assert metric(engine, "sink_redis_0_0_records_out_total") == 6
    finally:
        client.close()
