"""The redisSub source and the redisPub sink against a real redis-server.

The source feeds rules built with `build_rule` over a `StreamFeed`, or a real Engine; a
redis-py client of the test publishes to it and subscribes to what the sink publishes.
Outages and passwords use a redis-server of the test's own (`redis_factory`). Every wait
is a condition polled until a deadline (`eventually`).
"""

from __future__ import annotations

import contextlib
import gzip
import sys
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from arrokoth import confkeys
from arrokoth.engine import EngineError
from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.sinks.base import CONNECTED, DISCONNECTED, SinkConfigError, SinkSendError
from arrokoth.io.sinks.redispub import RedisPubSink
from arrokoth.io.sinks.registry import sink_class
from arrokoth.io.sources.base import SourceConfigError
from arrokoth.io.sources.redissub import RedisSubSource
from arrokoth.io.sources.registry import source_class
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.builder import attach, build_rule, detach
from arrokoth.runtime.clock import RealClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(RedisSubSource, "BACKOFF_INITIAL", 0.02)
    monkeypatch.setattr(RedisSubSource, "BACKOFF_MAX", 0.2)


def unique(prefix: str = "ch") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}"


def addr(server) -> str:
    return f"{server.host}:{server.port}"


class Listener:
    """A subscriber of the test: `poll()` collects what has arrived on its channels."""

    def __init__(self, client: redis.Redis, *channels: str):
        self.pubsub = client.pubsub()
        self.pubsub.subscribe(*channels)
        for _ in channels:  # the confirmations: from here on a publish reaches us
            msg = self.pubsub.get_message(timeout=5)
            assert msg is not None and msg["type"] == "subscribe"
        self.messages: list[tuple[str, bytes]] = []

    def poll(self) -> list[tuple[str, bytes]]:
        while (msg := self.pubsub.get_message(timeout=0.01)) is not None:
            if msg["type"] == "message":
                self.messages.append((msg["channel"].decode(), msg["data"]))
        return self.messages

    def close(self) -> None:
        self.pubsub.close()


@contextlib.contextmanager
def listening(client: redis.Redis, *channels: str) -> Iterator[Listener]:
    listener = Listener(client, *channels)
    try:
        yield listener
    finally:
        listener.close()


# --- the source in a rule -----------------------------------------------------------------


def stream(datasource: str = "", **options: str) -> StreamDef:
    opts = ", ".join([f'DATASOURCE="{datasource}"', 'TYPE="redisSub"', *(f'{k}="{v}"' for k, v in options.items())])
    sql = f"CREATE STREAM demo () WITH ({opts})"
    return StreamDef.from_ast(parse(sql), sql)


def make(props: dict, datasource: str = "") -> RedisSubSource:
    d = stream(datasource)
    return RedisSubSource(d, props, StreamFeed(d, RealClock()))


@dataclass
class Running:
    source: RedisSubSource
    out: list[dict]


@contextlib.asynccontextmanager
async def running(sql: str, props: dict, d: StreamDef | None = None) -> AsyncIterator[Running]:
    d = d or stream()
    clock = RealClock()
    feed = StreamFeed(d, clock)
    out: list[dict] = []
    runtime = build_rule("r1", sql, {"demo": d}, out.extend, clock)
    feeds = {"demo": feed}
    attach(runtime, feeds)
    runtime.start()
    source = RedisSubSource(d, props, feed)
    await source.start()
    try:
        yield Running(source, out)
    finally:
        await source.stop()
        detach(runtime, feeds)
        runtime.stop()


async def test_messages_reach_the_rule_with_their_channel(redis_server, r, eventually):
    ch = unique()
    async with running("SELECT n, meta(channel) AS ch FROM demo", {"address": addr(redis_server),
                                                                   "channels": [ch]}) as run:
        assert run.source.status == 1 and run.source.last_connected > 0  # start waits for the subscription
        r.publish(ch, '{"n": 1}')
        r.publish(ch, '[{"n": 2}, {"n": 3}]')
        r.publish(unique(), '{"n": 99}')  # another channel
        await eventually(lambda: len(run.out) == 3)
    assert run.out == [{"n": 1.0, "ch": ch}, {"n": 2.0, "ch": ch}, {"n": 3.0, "ch": ch}]


async def test_channels_are_patterns(redis_server, r, eventually):
    base = unique("sensor")
    props = {"address": addr(redis_server), "channels": f"{base}.*, {base}.x"}  # a string with commas too
    async with running("SELECT n, meta(channel) AS ch FROM demo", props) as run:
        assert run.source.channels == [f"{base}.*", f"{base}.x"]
        r.publish(f"{base}.a", '{"n": 1}')
        r.publish(f"{base}b", '{"n": 2}')  # no dot: no match
        r.publish(f"{base}.x", '{"n": 3}')  # matches both patterns: delivered twice, as Redis does
        await eventually(lambda: len(run.out) == 3)
    assert sorted((row["ch"], row["n"]) for row in run.out) == [(f"{base}.a", 1.0), (f"{base}.x", 3.0),
                                                                 (f"{base}.x", 3.0)]


async def test_the_datasource_names_the_channels_when_channels_is_empty(redis_server, r, eventually):
    ch = unique()
    async with running("SELECT n FROM demo", {"address": addr(redis_server)}, stream(ch)) as run:
        r.publish(ch, '{"n": 4}')
        await eventually(lambda: run.out)
    assert run.out == [{"n": 4.0}]


async def test_the_database_number_does_not_scope_channels(redis_server, r, eventually):
    # Redis pub/sub is global to the server: a subscriber in db 5 hears a publisher in db 0
    ch = unique()
    async with running("SELECT n FROM demo", {"address": addr(redis_server), "db": 5, "channels": [ch]}) as run:
        r.publish(ch, '{"n": 1}')
        await eventually(lambda: run.out)


@pytest.mark.parametrize(("method", "compress"), [
    ("gzip", gzip.compress),
    ("zlib", zlib.compress),
    ("flate", lambda b: (lambda c: c.compress(b) + c.flush())(zlib.compressobj(wbits=-15))),
])
async def test_decompression(redis_server, r, eventually, method, compress):
    ch = unique()
    async with running("SELECT n FROM demo", {"address": addr(redis_server), "channels": [ch],
                                              "decompression": method}) as run:
        r.publish(ch, compress(b'{"n": 5}'))
        r.publish(ch, b'{"n": 6}')  # not compressed: an exception
        r.publish(ch, compress(b'{"n": 7}'))
        await eventually(lambda: len(run.out) == 2)
        assert run.source.exceptions == 1
    assert run.out == [{"n": 5.0}, {"n": 7.0}]
    assert "decompress" in run.source.last_exception


async def test_an_invalid_payload_is_an_exception_and_later_ones_still_flow(redis_server, r, eventually):
    ch = unique()
    async with running("SELECT n FROM demo", {"address": addr(redis_server), "channels": [ch]}) as run:
        r.publish(ch, '{"n": 1}')
        r.publish(ch, "{not json")
        r.publish(ch, '{"n": 2}')
        await eventually(lambda: len(run.out) == 2)
    assert run.out == [{"n": 1.0}, {"n": 2.0}]
    assert run.source.exceptions == 1


async def test_stop_ends_the_subscription(redis_server, r, eventually):
    ch = unique()
    async with running("SELECT n FROM demo", {"address": addr(redis_server), "channels": [f"{ch}*"]}):
        assert r.pubsub_numpat() >= 1
        patterns_while_running = r.pubsub_numpat()
    await eventually(lambda: r.pubsub_numpat() == patterns_while_running - 1, what="the pattern released")


async def test_username_and_password(redis_factory, eventually):
    server = redis_factory("--requirepass", "s3cret")
    client = redis.Redis(host=server.host, port=server.port, password="s3cret")
    ch = unique()
    try:
        async with running("SELECT n FROM demo", {"address": server.address, "password": "s3cret",
                                                  "username": "default", "channels": [ch]}) as run:
            client.publish(ch, '{"n": 1}')
            await eventually(lambda: run.out)
        async with running("SELECT n FROM demo", {"address": server.address, "password": "nope",
                                                  "channels": [ch]}) as run:
            assert run.source.status == -1
            assert "bad credentials" in run.source.last_disconnected_message
    finally:
        client.close()


async def test_it_resubscribes_after_the_server_restarts(redis_factory, eventually):
    server = redis_factory()
    client = redis.Redis(host=server.host, port=server.port)
    ch = unique()
    try:
        async with running("SELECT n FROM demo", {"address": server.address, "channels": [ch]}) as run:
            client.publish(ch, '{"n": 1}')
            await eventually(lambda: run.out)
            server.stop()
            await eventually(lambda: run.source.status == -1, what="the loss seen")
            assert run.source.last_disconnected > 0
            server.start()
            await eventually(lambda: run.source.status == 1, what="subscribed again")
            client.publish(ch, '{"n": 2}')
            await eventually(lambda: len(run.out) == 2)
        assert run.out == [{"n": 1.0}, {"n": 2.0}]
    finally:
        client.close()


async def test_a_server_that_is_down_at_start_does_not_fail_the_start(redis_factory, eventually):
    server = redis_factory()
    server.stop()
    ch = unique()
    async with running("SELECT n FROM demo", {"address": server.address, "channels": [ch]}) as run:
        assert run.source.status == -1
        assert "connection refused" in run.source.last_disconnected_message
        server.start()
        await eventually(lambda: run.source.status == 1, what="subscribed once the server is up")
        client = redis.Redis(host=server.host, port=server.port)
        client.publish(ch, '{"n": 1}')
        client.close()
        await eventually(lambda: run.out)


@pytest.mark.parametrize(("props", "datasource", "message"), [
    ({}, "", "channels: redisSub needs at least one channel"),
    ({"channels": [1]}, "", "channels: expected a list of channel names"),
    ({"channels": ["a"], "db": 16}, "", "db: redisSub db should be in range 0-15"),
    ({"channels": ["a"], "decompression": "lz4"}, "", "decompression: unsupported method 'lz4'"),
    ({"channels": ["a"], "address": "host:0"}, "", "address: invalid port"),
])
def test_bad_source_properties_name_the_property(props, datasource, message):
    with pytest.raises(SourceConfigError, match="^" + message):
        make(props, datasource)


def test_source_defaults_and_spellings():
    s = make({"channels": ["a", "a", " b "]})
    assert (s.settings.host, s.settings.port, s.settings.db, s.channels) == ("127.0.0.1", 6379, 0, ["a", "b"])
    s = make({"addr": "cache:6380", "DB": "2", "Channels": "x"})
    assert (s.settings.host, s.settings.port, s.settings.db, s.channels) == ("cache", 6380, 2, ["x"])
    assert source_class("redisSub") is RedisSubSource
    assert confkeys.shipped("sources", "redissub")["default"] == {"address": "127.0.0.1:6379", "db": 0}


def test_without_redis_py_the_errors_name_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(SourceConfigError, match=r"pip install 'arrokoth\[redis\]'"):
        make({"channels": ["a"]})
    with pytest.raises(SinkConfigError, match=r"pip install 'arrokoth\[redis\]'"):
        RedisPubSink({"channel": "a"})


# --- the sink -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def connected(**props: Any) -> AsyncIterator[RedisPubSink]:
    sink = RedisPubSink(props)
    await sink.connect()
    try:
        yield sink
    finally:
        await sink.aclose()


async def test_the_sink_publishes_each_payload(redis_server, r, eventually):
    ch = unique()
    with listening(r, ch) as listener:
        async with connected(address=addr(redis_server), channel=ch) as sink:
            assert sink.status == CONNECTED
            await sink.send_async(b'[{"a":1}]', [{"a": 1}])
            await sink.send_async(b'{"a":2}', {"a": 2})
        await eventually(lambda: len(listener.poll()) == 2)
    assert listener.messages == [(ch, b'[{"a":1}]'), (ch, b'{"a":2}')]


@pytest.mark.parametrize(("method", "decompress"), [
    ("zlib", zlib.decompress),
    ("gzip", gzip.decompress),
    ("flate", lambda b: zlib.decompress(b, wbits=-15)),
])
async def test_the_sink_compresses(redis_server, r, eventually, method, decompress):
    ch = unique()
    with listening(r, ch) as listener:
        async with connected(address=addr(redis_server), channel=ch, compression=method) as sink:
            await sink.send_async(b'{"big":"' + b"x" * 500 + b'"}', None)
        await eventually(lambda: listener.poll())
    assert decompress(listener.messages[0][1]) == b'{"big":"' + b"x" * 500 + b'"}'
    assert len(listener.messages[0][1]) < 100


async def test_resent_messages_go_to_the_resend_destination(redis_server, r, eventually):
    ch, again = unique(), unique()
    with listening(r, ch, again) as listener:
        async with connected(address=addr(redis_server), channel=ch, resendDestination=again) as sink:
            await sink.send_async(b"live", None)
            await sink.resend_async(b"cached", None)
        async with connected(address=addr(redis_server), channel=ch) as sink:
            await sink.resend_async(b"same", None)  # no resendDestination: the channel
        await eventually(lambda: len(listener.poll()) == 3)
    assert sorted(listener.messages) == sorted([(ch, b"live"), (again, b"cached"), (ch, b"same")])


async def test_the_sink_with_a_password(redis_factory, eventually):
    server = redis_factory("--requirepass", "s3cret")
    client = redis.Redis(host=server.host, port=server.port, password="s3cret")
    ch = unique()
    try:
        with listening(client, ch) as listener:
            async with connected(address=server.address, password="s3cret", channel=ch) as sink:
                await sink.send_async(b"hi", None)
            await eventually(lambda: listener.poll())
        sink = RedisPubSink({"address": server.address, "password": "bad", "channel": ch})
        with pytest.raises(SinkSendError, match="bad credentials"):
            await sink.connect()
        await sink.aclose()
    finally:
        client.close()


async def test_the_sink_fails_recoverably_while_the_server_is_away(redis_factory, free_port):
    server = redis_factory()
    sink = RedisPubSink({"address": server.address, "channel": "c"})
    try:
        await sink.connect()
        await sink.send_async(b"1", None)
        server.stop()
        with pytest.raises(SinkSendError, match="Error occurred while publishing the Redis message to"):
            await sink.send_async(b"2", None)
        assert sink.status == DISCONNECTED
        server.start()
        await sink.connect()
        await sink.send_async(b"3", None)
    finally:
        await sink.aclose()
    closed = RedisPubSink({"address": f"127.0.0.1:{free_port()}", "channel": "c"})
    with pytest.raises(SinkSendError, match="connection refused"):
        await closed.connect()
    await closed.aclose()


@pytest.mark.parametrize(("props", "message"), [
    ({}, "channel: redisPub sink is missing property channel"),
    ({"channel": "c", "db": 20}, "db: redisPub db should be in range 0-15"),
    ({"channel": "c", "compression": "brotli"}, "compression: unsupported method 'brotli'"),
    ({"channel": "c", "address": "[::1"}, "address: unbalanced"),
])
def test_bad_sink_properties_name_the_property(props, message):
    with pytest.raises(SinkConfigError, match="^" + message.replace("[", r"\[")):
        RedisPubSink(props)


def test_sink_defaults():
    sink = RedisPubSink({"channel": "c"})
    assert (sink.settings.address, sink.settings.db, sink.resend_channel) == ("127.0.0.1:6379", 0, "c")
    assert RedisPubSink({"channel": "c", "addr": "[::1]:7000"}).settings.address == "[::1]:7000"
    assert sink_class("redisPub") is RedisPubSink
    assert confkeys.shipped("sinks", "redispub")["default"] == {"address": "127.0.0.1:6379", "db": 0}


# --- connectivity checks ------------------------------------------------------------------


@pytest.mark.parametrize("cls", [RedisSubSource, RedisPubSink])
async def test_ping(cls, redis_server, redis_factory, closed_port):
    await cls.ping({"address": addr(redis_server), "db": 3}, 5)
    port = closed_port
    with pytest.raises(ConnectionCheckError, match=rf"^redis 127.0.0.1:{port}: connection refused$"):
        await cls.ping({"address": f"127.0.0.1:{port}"}, 5)
    server = redis_factory("--requirepass", "s3cret")
    await cls.ping({"address": server.address, "password": "s3cret"}, 5)
    with pytest.raises(ConnectionCheckError, match=rf"^redis {server.address}: bad credentials"):
        await cls.ping({"address": server.address, "password": "nope"}, 5)
    with pytest.raises(ConnectionCheckError, match=rf"^redis {server.address}: bad credentials: Authentication req"):
        await cls.ping({"address": server.address}, 5)
    with pytest.raises(SourceConfigError if cls is RedisSubSource else SinkConfigError, match="^db: "):
        await cls.ping({"address": server.address, "db": 16}, 5)


async def test_ping_an_unknown_host():
    with pytest.raises(ConnectionCheckError, match="unknown host"):
        await RedisPubSink.ping({"address": "no-such-host.invalid:6379"}, 5)


# --- through the engine: a redisSub stream, a rule, a redisPub action ----------------------


async def test_a_rule_from_redis_sub_to_redis_pub(engine, redis_server, r, eventually):
    source_ch, out_ch = unique("in"), unique("out")
    confkeys.put(engine, "sources", "redisSub", "local", {"address": addr(redis_server), "channels": [source_ch]})
    engine.create_stream('CREATE STREAM demo () WITH (TYPE="redisSub", CONF_KEY="local")')
    action = {"address": addr(redis_server), "channel": out_ch, "sendSingle": True}
    await engine.create_rule({"id": "r1", "sql": "SELECT id, temperature FROM demo WHERE temperature > 50",
                              "actions": [{"redisPub": action}]})

    def metric(name: str) -> Any:
        return engine.rule_status("r1")[1].get(name)

    await eventually(lambda: metric("sink_redisPub_0_0_connection_status") == 1, what="the action connected")
    assert metric("source_demo_0_connection_status") == 1
    with listening(r, out_ch) as listener:
        for i, t in enumerate((40, 60, 70)):
            r.publish(source_ch, f'{{"id": "d{i}", "temperature": {t}}}')
        await eventually(lambda: len(listener.poll()) == 2)
    assert listener.messages == [(out_ch, b'{"id":"d1","temperature":60}'),
                                 (out_ch, b'{"id":"d2","temperature":70}')]
    await eventually(lambda: metric("sink_redisPub_0_0_records_out_total") == 2)
    assert metric("source_demo_0_records_in_total") == 3
    await engine.stop_rule("r1")
    assert "demo" not in engine.sources


async def test_bad_source_properties_fail_the_rule(engine):
    engine.create_stream('CREATE STREAM demo () WITH (TYPE="redisSub")')  # no channels anywhere
    with pytest.raises(EngineError) as info:
        await engine.create_rule({"id": "r1", "sql": "SELECT * FROM demo", "actions": [{"log": {}}]})
    assert "channels: redisSub needs at least one channel" in info.value.message
