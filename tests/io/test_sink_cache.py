"""The sink cache and the delivery to an AsyncSink, against a real flaky destination.

The destination is an asyncio TCP server on a free loopback port that records each
newline-framed message and answers `ok` (or `err` when told to reject). The test can stop
it (closing every connection) and start it again on the same port. `TcpLineSink` is an
AsyncSink client of it: a message counts as sent only once its `ok` arrives, so what the
server recorded is exactly what was delivered (at least once: a message in flight when
the server stops may arrive twice, never out of order).

Conditions are awaited with deadlines, never asserted after a sleep.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import sqlite3
import time
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrokoth.config import Config
from arrokoth.engine import Engine
from arrokoth.functions import jsonvalue
from arrokoth.io.memory_bus import bus
from arrokoth.io.sinks import registry
from arrokoth.io.sinks.base import CONNECTED, DISCONNECTED, AsyncSink, SinkNode, SinkSendError
from arrokoth.io.sinks.cache import SinkCache, cache_path, remove_rule_caches
from arrokoth.runtime.clock import RealClock, VirtualClock
from arrokoth.store import open_store

DEADLINE = 10.0
START = 1_700_000_000_000


async def eventually(cond, what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


# --- the destination and its client ----------------------------------------------------------


class TcpDestination:
    """Records newline-framed messages and acknowledges each one with `ok`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[bytes] = []
        self.reject = 0  # answer `err` to this many of the next messages (not recorded)
        self.ack_delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task] = set()

    @property
    def up(self) -> bool:
        return self._server is not None

    @property
    def values(self) -> list:
        return [jsonvalue.loads(m) for m in self.received]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        server, self._server = self._server, None
        server.close()
        for w in list(self._writers):
            w.transport.abort()
        await server.wait_closed()
        await asyncio.gather(*list(self._handlers), return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._handlers.add(task)
        self._writers.add(writer)
        self.connections += 1
        try:
            while True:
                line = await reader.readline()
                if not line.endswith(b"\n"):
                    break
                if self.reject:
                    self.reject -= 1
                    writer.write(b"err\n")
                    await writer.drain()
                    continue
                self.received.append(line[:-1])
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    if self.ack_delay:
                        await asyncio.sleep(self.ack_delay)
                finally:
                    self.in_flight -= 1
                writer.write(b"ok\n")
                await writer.drain()
        except OSError:
            pass
        finally:
            self._writers.discard(writer)
            self._handlers.discard(task)
            writer.transport.abort()


class TcpLineSink(AsyncSink):
    """Sends each payload as a line and waits for the `ok`; one connection per concurrent send."""

    def __init__(self, props: dict):
        super().__init__(props)
        self.port = props["port"]
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.connect_calls = 0

    async def _open(self):
        return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), 2.0)

    async def connect(self) -> None:
        self.connect_calls += 1
        self.idle.append(await self._open())

    async def send_async(self, payload: bytes | None, data) -> None:
        conn = self.idle.pop() if self.idle else None
        try:
            if conn is None:
                conn = await self._open()
            reader, writer = conn
            writer.write((payload or b"") + b"\n")
            await writer.drain()
            ack = await asyncio.wait_for(reader.readline(), 5.0)
        except OSError as e:  # TimeoutError too
            if conn is not None:
                conn[1].transport.abort()
            self._lost(str(e) or type(e).__name__)
            raise SinkSendError(f"tcp send failed: {e}") from None
        except BaseException:
            if conn is not None:
                conn[1].transport.abort()
            raise
        if ack == b"ok\n":
            self.idle.append(conn)
            return
        if ack == b"err\n":
            self.idle.append(conn)
            raise SinkSendError("rejected by the destination")
        conn[1].transport.abort()
        self._lost("connection closed by the destination")
        raise SinkSendError("connection closed by the destination")

    def _lost(self, message: str) -> None:
        for _, w in self.idle:
            w.transport.abort()
        self.idle.clear()
        self.mark_disconnected(message)

    async def aclose(self) -> None:
        for _, w in self.idle:
            w.transport.abort()
        self.idle.clear()


@pytest.fixture
async def dest(free_port):
    d = TcpDestination(free_port())
    yield d
    if d.up:
        await d.stop()


@pytest.fixture
async def nodes():
    """Nodes made by a test are stopped after it, whatever happens."""
    made: list[SinkNode] = []
    yield made
    for n in made:
        await n.stop()


def make_node(nodes: list, dest: TcpDestination, tmp_path, clock=None, **props) -> SinkNode:
    props = {"port": dest.port, "sendSingle": True, **props}
    n = SinkNode(TcpLineSink(props), props, clock=clock or RealClock(), data_dir=tmp_path,
                 rule_id="r1", sink_type="tcp", index=0)
    nodes.append(n)
    return n


def feed(n: SinkNode, start: int, stop: int) -> None:
    for i in range(start, stop):
        n.collect([{"i": i}])


def seqs(dest: TcpDestination) -> list[int]:
    return [v["i"] for v in dest.values]


def distinct(values: list[int]) -> list[int]:
    """The values in order of first arrival (a resent in-flight message may repeat)."""
    seen: set[int] = set()
    return [v for v in values if not (v in seen or seen.add(v))]


CACHE = {"enableCache": True, "memoryCacheThreshold": 4, "bufferPageSize": 2, "maxDiskCache": 64}

pytestmark = pytest.mark.anyio


# --- delivery --------------------------------------------------------------------------------


async def test_messages_arrive_in_order(dest, nodes, tmp_path):
    await dest.start()
    n = make_node(nodes, dest, tmp_path)
    await n.start()
    assert n.sink.status == CONNECTED and n.sink.last_connected > 0
    feed(n, 0, 300)
    await eventually(lambda: len(dest.received) == 300, "300 messages")
    assert seqs(dest) == list(range(300))
    await eventually(lambda: n.count == 300, "the count")
    assert (n.records_in, n.exceptions, n.buffer_length_now) == (300, 0, 0)


async def test_the_server_stopped_mid_stream_loses_nothing_and_keeps_the_order(dest, nodes, tmp_path):
    await dest.start()
    n = make_node(nodes, dest, tmp_path, enableCache=True, memoryCacheThreshold=64,
                  bufferPageSize=16, maxDiskCache=4096)
    await n.start()
    feed(n, 0, 1000)
    await eventually(lambda: len(dest.received) >= 200, "some messages")
    await dest.stop()  # while the rest are being sent
    feed(n, 1000, 1200)
    await eventually(lambda: n.sink.status == DISCONNECTED, "the sink to notice")
    await dest.start()
    feed(n, 1200, 1300)
    await eventually(lambda: len(set(seqs(dest))) == 1300, "every message")
    got = seqs(dest)
    assert distinct(got) == list(range(1300))
    assert got == sorted(got), "a message arrived out of order"
    assert len(got) - 1300 <= 1  # at most the one in flight at the cut, resent
    assert n.dropped == 0 and n.exceptions >= 1


async def test_memory_threshold_overflow_goes_to_disk(dest, nodes, tmp_path):
    n = make_node(nodes, dest, tmp_path, **CACHE)
    await n.start()  # the destination is down: start does not fail
    assert n.sink.status == DISCONNECTED
    feed(n, 0, 20)
    cache = n._delivery.cache
    assert (cache.memory_len, cache.disk_len, len(cache)) == (4, 16, 20)
    with sqlite3.connect(cache_path(tmp_path, "r1", "tcp", 0)) as db:
        assert db.execute("SELECT COUNT(*) FROM cache").fetchone() == (16,)
    await dest.start()
    await eventually(lambda: len(dest.received) == 20, "the cached messages")
    assert seqs(dest) == list(range(20))
    assert len(cache) == 0


async def test_the_disk_cache_survives_a_restart_of_the_node(dest, nodes, tmp_path):
    n = make_node(nodes, dest, tmp_path, **CACHE)
    await n.start()
    feed(n, 0, 30)
    await n.stop()
    path = cache_path(tmp_path, "r1", "tcp", 0)
    with sqlite3.connect(path) as db:
        # the memory tier was written in front of the disk pages
        assert [r[0] for r in db.execute("SELECT data FROM cache ORDER BY seq")] != []
        assert db.execute("SELECT COUNT(*) FROM cache").fetchone() == (30,)
    await dest.start()
    again = make_node(nodes, dest, tmp_path, **CACHE)
    await again.start()
    await eventually(lambda: len(dest.received) == 30, "the messages of the last run")
    assert seqs(dest) == list(range(30))
    assert again.count == 30 and len(again._delivery.cache) == 0


async def test_past_the_bounds_the_oldest_are_dropped_and_counted(dest, nodes, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="arrokoth.sink")
    n = make_node(nodes, dest, tmp_path, enableCache=True, memoryCacheThreshold=2, bufferPageSize=2,
                  maxDiskCache=4)
    await n.start()
    feed(n, 0, 20)
    assert len(n._delivery.cache) == 6
    assert n.dropped == 14 and n.exceptions >= 14
    assert n.last_exception == "sink cache full, oldest messages dropped"
    assert any("is full" in r.getMessage() for r in caplog.records)
    await dest.start()
    await eventually(lambda: len(dest.received) == 6, "the newest messages")
    assert seqs(dest) == list(range(14, 20))


async def test_without_cache_a_full_buffer_drops_and_counts(dest, nodes, tmp_path):
    dest.ack_delay = 0.05
    await dest.start()
    n = make_node(nodes, dest, tmp_path, bufferLength=2)
    await n.start()
    n.collect([{"i": 0}])
    await eventually(lambda: dest.in_flight == 1, "the first send")
    feed(n, 1, 10)  # two wait in the buffer, seven find it full
    assert (n.dropped, n.exceptions, n.last_exception) == (7, 7, "buffer full, drop message")
    await eventually(lambda: len(dest.received) == 3, "what was buffered")
    assert seqs(dest) == [0, 1, 2]


async def test_clean_cache_at_stop_forgets_the_cache(dest, nodes, tmp_path):
    n = make_node(nodes, dest, tmp_path, cleanCacheAtStop=True, **CACHE)
    await n.start()
    feed(n, 0, 10)
    path = cache_path(tmp_path, "r1", "tcp", 0)
    assert path.exists()
    await n.stop()
    assert not path.exists()
    again = make_node(nodes, dest, tmp_path, **CACHE)
    await again.start()
    assert len(again._delivery.cache) == 0


async def test_a_sink_down_at_rule_start_keeps_the_rule_running_and_delivers_later(
    dest, tmp_path, monkeypatch
):
    """Through the engine: a down destination at start, then a restart of the whole engine
    with messages in the disk cache, which are sent once the rule runs again."""
    monkeypatch.setitem(registry._SINKS, "tcpline", TcpLineSink)
    topic = f"test/sink_cache/{dest.port}"

    async def engine() -> Engine:
        eng = Engine(Config(data_dir=tmp_path), open_store(f"sqlite:{tmp_path / 'store.db'}"))
        await eng.open()
        return eng

    eng = await engine()
    try:
        eng.create_stream(f'CREATE STREAM demo (i bigint) WITH (DATASOURCE="{topic}", TYPE="memory")')
        await eng.create_rule({"id": "r1", "sql": "SELECT i FROM demo", "actions": [
            {"tcpline": {"port": dest.port, "sendSingle": True, **CACHE}}]})
        header, metrics = eng.rule_status("r1")
        assert header["status"] == "running"
        assert metrics["sink_tcpline_0_0_connection_status"] == -1
        for i in range(10):
            bus.publish(topic, [{"i": i}])
        assert eng.rule_status("r1")[1]["sink_tcpline_0_0_buffer_length"] == 10
        await dest.start()
        await eventually(lambda: len(dest.received) == 10, "the messages held while down")
        assert seqs(dest) == list(range(10))
        await eventually(lambda: eng.rule_status("r1")[1]["sink_tcpline_0_0_records_out_total"] == 10, "metrics")
        metrics = eng.rule_status("r1")[1]
        assert metrics["sink_tcpline_0_0_connection_status"] == 1
        assert metrics["sink_tcpline_0_0_records_in_total"] == 10
        assert metrics["sink_tcpline_0_0_connection_last_connected_time"] > 0

        await dest.stop()
        for i in range(10, 25):
            bus.publish(topic, [{"i": i}])
        await eventually(lambda: eng.rule_status("r1")[1]["sink_tcpline_0_0_buffer_length"] == 15, "the cache")
    finally:
        await eng.close()
    assert cache_path(tmp_path, "r1", "tcpline", 0).exists()

    await dest.start()
    eng = await engine()
    try:
        await eventually(lambda: len(set(seqs(dest))) == 25, "the cache of the last run")
        assert distinct(seqs(dest)) == list(range(25))
        await eng.delete_rule("r1")
        assert not cache_path(tmp_path, "r1", "tcpline", 0).exists()
    finally:
        await eng.close()


# --- batching, retries, concurrency, resend options -----------------------------------------


async def test_batch_size_sends_full_batches_and_stop_sends_the_rest(dest, nodes, tmp_path):
    await dest.start()
    n = make_node(nodes, dest, tmp_path, sendSingle=False, batchSize=3)
    await n.start()
    feed(n, 0, 7)
    await eventually(lambda: len(dest.received) == 2, "two batches")
    assert dest.values == [[{"i": 0}, {"i": 1}, {"i": 2}], [{"i": 3}, {"i": 4}, {"i": 5}]]
    await n.stop()
    assert dest.values[2:] == [[{"i": 6}]]


async def test_linger_interval_sends_a_partial_batch_when_the_clock_says(dest, nodes, tmp_path):
    await dest.start()
    clock = VirtualClock(START)
    n = make_node(nodes, dest, tmp_path, clock, sendSingle=False, lingerInterval=1000)
    await n.start()
    feed(n, 0, 2)
    clock.advance_to(START + 999)
    assert n.buffer_length_now == 2 and n._delivery.pending == 0
    clock.advance_to(START + 1000)
    await eventually(lambda: len(dest.received) == 1, "the lingering batch")
    assert dest.values == [[{"i": 0}, {"i": 1}]]


async def test_retry_count_retries_a_rejected_send_retry_interval_apart(dest, nodes, tmp_path):
    await dest.start()
    dest.reject = 2
    clock = VirtualClock(START)
    n = make_node(nodes, dest, tmp_path, clock, retryCount=2, retryInterval=500)
    await n.start()
    n.collect([{"i": 0}])
    await eventually(lambda: n.exceptions == 1, "the first rejection")
    assert n.last_exception == "rejected by the destination" and n.last_exception_time == START
    clock.advance_to(START + 499)
    assert dest.reject == 1  # no retry before the interval
    clock.advance_to(START + 500)
    await eventually(lambda: n.exceptions == 2, "the first retry")
    clock.advance_to(START + 1000)
    await eventually(lambda: n.count == 1, "the second retry")
    assert seqs(dest) == [0] and n.dropped == 0


async def test_without_cache_a_send_that_fails_all_retries_is_dropped(dest, nodes, tmp_path):
    await dest.start()
    dest.reject = 2
    n = make_node(nodes, dest, tmp_path, retryCount=1, retryInterval=10)
    await n.start()
    feed(n, 0, 2)
    await eventually(lambda: n.count == 1, "the next message")
    assert seqs(dest) == [1]
    assert (n.dropped, n.exceptions) == (1, 2)


async def test_concurrency_runs_that_many_sends_at_once(dest, nodes, tmp_path):
    dest.ack_delay = 0.05
    await dest.start()
    n = make_node(nodes, dest, tmp_path, concurrency=4)
    await n.start()
    feed(n, 0, 20)
    await eventually(lambda: len(dest.received) == 20, "every message")
    assert sorted(seqs(dest)) == list(range(20))
    assert dest.max_in_flight == 4 and dest.connections == 4


async def test_one_worker_sends_one_at_a_time(dest, nodes, tmp_path):
    dest.ack_delay = 0.01
    await dest.start()
    n = make_node(nodes, dest, tmp_path)
    await n.start()
    feed(n, 0, 5)
    await eventually(lambda: len(dest.received) == 5, "every message")
    assert dest.max_in_flight == 1 and seqs(dest) == list(range(5))


@pytest.mark.parametrize(("priority", "order"), [(-1, [1, 2, 3, 4, 0]), (1, [0, 1, 2, 3, 4])])
async def test_resend_alter_queue_marks_resent_rows_and_follows_the_priority(
    dest, nodes, tmp_path, priority, order
):
    await dest.start()
    n = make_node(nodes, dest, tmp_path, resendAlterQueue=True, resendIndicatorField="resent",
                  resendPriority=priority, **CACHE)
    await n.start()
    await dest.stop()
    feed(n, 0, 5)  # the first send fails and goes to the cache; the rest wait for the sink
    await eventually(lambda: len(n._delivery.cache) == 1, "the failed message in the cache")
    await dest.start()
    await eventually(lambda: len(dest.received) == 5, "every message")
    assert seqs(dest) == order
    assert [v.get("resent") for v in dest.values] == [True if i == 0 else None for i in order]


async def test_a_resent_row_is_rendered_again_with_the_indicator(dest, nodes, tmp_path):
    await dest.start()
    n = make_node(nodes, dest, tmp_path, resendAlterQueue=True, resendIndicatorField="resent",
                  resendPriority=1, dataTemplate='{"i":{{.i}},"again":{{if .resent}}true{{else}}false{{end}}}',
                  **CACHE)
    await n.start()
    await dest.stop()
    feed(n, 0, 3)
    await eventually(lambda: len(n._delivery.cache) == 1, "the failed message in the cache")
    await dest.start()
    await eventually(lambda: len(dest.received) == 3, "every message")
    assert dest.values == [{"i": 0, "again": True}, {"i": 1, "again": False}, {"i": 2, "again": False}]


async def test_without_the_alter_queue_the_indicator_is_not_set(dest, nodes, tmp_path):
    # eKuiper: resendPriority and resendIndicatorField act only with resendAlterQueue
    await dest.start()
    n = make_node(nodes, dest, tmp_path, resendIndicatorField="resent", **CACHE)
    await n.start()
    await dest.stop()
    feed(n, 0, 3)
    await eventually(lambda: n.sink.status == DISCONNECTED, "the failed send")
    await dest.start()
    await eventually(lambda: len(dest.received) == 3, "every message")
    assert dest.values == [{"i": 0}, {"i": 1}, {"i": 2}]


async def test_resend_interval_spaces_the_resends(dest, nodes, tmp_path):
    clock = VirtualClock(START)
    n = make_node(nodes, dest, tmp_path, clock, resendInterval=100, **CACHE)
    await n.start()
    feed(n, 0, 3)
    await dest.start()
    clock.advance_to(START + 10_000)  # past the reconnect backoff
    await eventually(lambda: n.sink.status == CONNECTED and len(dest.received) == 1, "the first resend")
    t = clock.now_ms()
    clock.advance_to(t + 99)
    assert len(dest.received) == 1 and n._delivery.pending == 2
    clock.advance_to(t + 100)
    await eventually(lambda: len(dest.received) == 2, "the second resend")
    clock.advance_to(t + 200)
    await eventually(lambda: len(dest.received) == 3, "the third resend")
    assert seqs(dest) == [0, 1, 2]


async def test_connect_is_retried_with_backoff_on_the_clock(dest, nodes, tmp_path):
    clock = VirtualClock(START)
    n = make_node(nodes, dest, tmp_path, clock)
    await n.start()
    sink = n.sink
    assert (sink.connect_calls, sink.status, sink.last_try) == (1, DISCONNECTED, START)
    assert sink.last_disconnected == START and "Connect call failed" in sink.last_disconnected_message
    await dest.start()
    clock.advance_to(START + 99)
    assert sink.connect_calls == 1
    clock.advance_to(START + 100)
    await eventually(lambda: sink.status == CONNECTED, "the reconnect")
    assert sink.connect_calls == 2 and sink.last_connected == START + 100


# --- SinkCache --------------------------------------------------------------------------------


def msg(i: int) -> tuple:
    return (b"%d" % i, {"i": i}, None)


def drain(cache: SinkCache) -> list[int]:
    out = []
    while (m := cache.pop()) is not None:
        out.append(m[1]["i"])
    return out


def test_the_cache_keeps_the_order_across_memory_and_disk(tmp_path):
    cache = SinkCache(tmp_path / "c.db", memory_threshold=4, max_disk=8, page_size=2)
    for i in range(12):
        cache.add(msg(i))
    assert (cache.memory_len, cache.disk_len) == (4, 8)
    assert drain(cache) == list(range(12))
    assert cache.dropped == 0


def test_the_newest_page_waits_in_memory_until_full(tmp_path):
    cache = SinkCache(tmp_path / "c.db", memory_threshold=2, max_disk=8, page_size=2)
    for i in range(3):
        cache.add(msg(i))
    assert (cache.memory_len, cache.disk_len) == (3, 0)
    cache.add(msg(3))
    assert (cache.memory_len, cache.disk_len) == (2, 2)


def test_past_the_bounds_the_oldest_are_dropped(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="arrokoth.sink")
    cache = SinkCache(tmp_path / "c.db", memory_threshold=2, max_disk=4, page_size=2, name="r/x_0")
    for i in range(10):
        cache.add(msg(i))
    assert len(cache) == 6 and cache.dropped == 4
    assert cache.disk_len <= 4
    assert drain(cache) == list(range(4, 10))
    assert [r.getMessage() for r in caplog.records][0].startswith("sink cache r/x_0 is full")


def test_push_front_puts_a_failed_message_back_at_the_head(tmp_path):
    cache = SinkCache(tmp_path / "c.db", memory_threshold=2, max_disk=2, page_size=2)
    for i in range(4):
        cache.add(msg(i))
    head = cache.pop()
    cache.add(msg(4))
    cache.push_front(head)  # one over the bound: the oldest, the head itself, goes
    assert cache.dropped == 1
    assert drain(cache) == [1, 2, 3, 4]


def test_flush_and_reopen_keep_everything_in_order(tmp_path):
    path = tmp_path / "c.db"
    cache = SinkCache(path, memory_threshold=4, max_disk=8, page_size=2)
    for i in range(9):
        cache.add(msg(i))
    assert cache.pop()[1] == {"i": 0}
    cache.close()
    cache = SinkCache(path, memory_threshold=4, max_disk=8, page_size=2)
    assert (len(cache), cache.memory_len, cache.disk_len) == (8, 0, 8)
    cache.add(msg(9))
    assert drain(cache) == list(range(1, 10))
    cache.close()
    assert len(SinkCache(path, memory_threshold=4, max_disk=8, page_size=2)) == 0


def test_values_survive_the_disk(tmp_path):
    when = datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC)
    data = [{"i": 1, "f": 2.5, "whole": 3.0, "s": "x", "b": b"\x00\x01", "n": None, "t": True,
             "nested": {"l": [1, {"k": "v"}]}, "when": when}]
    path = tmp_path / "c.db"
    cache = SinkCache(path, memory_threshold=2, max_disk=2, page_size=2)
    cache.add((b"payload", data, data[0]))
    cache.close()
    payload, got, raw = SinkCache(path, memory_threshold=2, max_disk=2, page_size=2).pop()
    assert (payload, got, raw) == (b"payload", data, data[0])
    assert type(got[0]["whole"]) is float and type(got[0]["i"]) is int


def test_the_file_layout(tmp_path):
    path = cache_path(tmp_path, "rule1", "mqtt", 2)
    assert path == tmp_path / "sinkCache" / "rule1" / "mqtt_2.db"
    cache = SinkCache(path, memory_threshold=2, max_disk=2, page_size=2)
    cache.close()
    with sqlite3.connect(path) as db:
        cols = [r[1] for r in db.execute("PRAGMA table_info(cache)")]
    assert cols == ["seq", "payload", "data", "raw"]
    remove_rule_caches(tmp_path, "rule1")
    assert not (tmp_path / "sinkCache" / "rule1").exists()
    remove_rule_caches(tmp_path, "never-had-one")


def test_destroy_removes_the_file(tmp_path):
    path = tmp_path / "c.db"
    cache = SinkCache(path, memory_threshold=2, max_disk=2, page_size=2)
    cache.add(msg(1))
    cache.destroy()
    assert not path.exists()


def test_without_a_path_the_disk_tier_is_in_memory():
    cache = SinkCache(None, memory_threshold=2, max_disk=4, page_size=2)
    for i in range(6):
        cache.add(msg(i))
    assert cache.disk_len == 4
    assert drain(cache) == list(range(6))


@settings(max_examples=200, deadline=None)
@given(
    ops=st.lists(st.one_of(st.just("pop"), st.just("front"), st.integers(0, 10)), max_size=120),
    mem_pages=st.integers(1, 3),
    disk_pages=st.integers(1, 4),
    page=st.integers(1, 3),
)
def test_the_cache_behaves_like_a_bounded_fifo(ops, mem_pages, disk_pages, page):
    """Against a model: a deque that drops its oldest beyond memory + disk."""
    mem, disk = mem_pages * page, disk_pages * page
    cache = SinkCache(None, memory_threshold=mem, max_disk=disk, page_size=page)
    model: deque[int] = deque()
    dropped = 0
    popped: int | None = None
    seq = 0
    for op in ops:
        if op == "pop":
            m = cache.pop()
            assert (m[1]["i"] if m else None) == (model.popleft() if model else None)
            popped = m[1]["i"] if m else None
        elif op == "front":
            if popped is not None:
                cache.push_front(msg(popped))
                model.appendleft(popped)
                popped = None
        else:
            cache.add(msg(seq))
            model.append(seq)
            seq += 1
        while len(model) > mem + disk:
            model.popleft()
            dropped += 1
        assert len(cache) == len(model)
        assert cache.dropped == dropped
        assert cache.disk_len <= disk
    assert drain(cache) == list(model)
