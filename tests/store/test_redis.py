"""RedisStore specifics, against a real redis-server (the `redis_server` fixture in tests/conftest.py).

The shared contract runs against Redis too, in test_base.py.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from arrokoth.store import StoreError
from arrokoth.store.redis import RedisStore


def test_layout_is_one_hash_per_namespace(redis_store):
    redis_store.set("sources.mqtt", "conf1", {"qos": 1})
    redis_store.set("rules", "r1", '{"id":"r1"}')
    r = redis_store._client
    assert r.type("arrokoth:kv:sources.mqtt") == b"hash"
    assert r.hgetall("arrokoth:kv:sources.mqtt") == {b"conf1": b'j{"qos":1}'}
    assert r.hget("arrokoth:kv:rules", "r1") == b's{"id":"r1"}'


def test_namespaces_ignore_foreign_keys(redis_store):
    r = redis_store._client
    r.set("arrokoth:kv:not-a-hash", "x")
    r.hset("other:kv:ns", "k", "sx")
    redis_store.set("rules", "r1", "{}")
    assert redis_store.namespaces() == ["rules"]


def test_prefix_separates_stores_on_one_server(redis_server):
    with RedisStore(redis_server.url(), prefix="a*[x]") as a, RedisStore(redis_server.url(), prefix="b") as b:
        a._client.flushdb()
        a.set("rules", "r1", "from a")
        b.set("rules", "r1", "from b")
        b.set("streams", "s", "from b")
        assert a.get("rules", "r1") == "from a"
        assert a.namespaces() == ["rules"]
        assert b.namespaces() == ["rules", "streams"]


def test_values_survive_reconnect(redis_server):
    url = redis_server.url(1)
    with RedisStore(url) as store:
        store._client.flushdb()
        store.set_many("sinks.mqtt", {"k": {"topic": "t"}})
    with RedisStore(url) as store:
        assert store.items("sinks.mqtt") == {"k": {"topic": "t"}}
    with RedisStore(redis_server.url(2)) as other_db:
        assert other_db.namespaces() == []


def test_concurrent_writes_from_threads(redis_store):
    def work(t: int) -> None:
        for i in range(50):
            redis_store.set("ns", f"t{t}-{i:02d}", i)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(8)))
    assert len(redis_store.keys("ns")) == 8 * 50


def test_unreachable_server_is_a_store_error(free_port):
    with pytest.raises(StoreError, match="cannot reach"):
        RedisStore(f"redis://127.0.0.1:{free_port()}/0")


def test_bad_url_is_a_store_error():
    with pytest.raises(StoreError, match="bad redis store url"):
        RedisStore("redis://127.0.0.1:notaport/0")


def test_missing_redis_py_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)  # what `import redis` sees when it is not installed
    with pytest.raises(StoreError, match=r"arrokoth\[redis\]"):
        RedisStore("redis://127.0.0.1:6379/0")
