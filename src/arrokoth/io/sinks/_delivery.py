"""Delivery to an AsyncSink: a bounded buffer, worker tasks, retries, reconnection, cache.

`collect` runs in the rule's call and must never wait, so it only appends the message to
a buffer. `concurrency` worker tasks take messages from it and await `send_async`. A
supervisor task connects the sink and reconnects it with backoff; workers wait while the
sink is not connected.

* Without `enableCache` the buffer holds `bufferLength` messages; a message is dropped
  (and counted as an exception) when the buffer is full, or when its send still fails
  after `retryCount` retries `retryInterval` apart.
* With `enableCache` (ordered, the default) the cache is the buffer, as in eKuiper 2,
  where the sink's input buffer becomes `memoryCacheThreshold` long: messages queue in
  its memory tier, overflow to its disk tier, and a message whose send fails goes back to
  its head. So with one worker the order is kept exactly, and nothing within the cache
  bounds is lost. After a failed send or an outage, sends are `resendInterval` apart
  until the cache is empty again.
* With `resendAlterQueue` live messages use the `bufferLength` buffer and a failed
  message moves to the cache, which is resent beside them by `resendPriority` (-1 live
  first, 0 alternating, 1 cache first, as eKuiper's code does), through `resend_async`
  and with `resendIndicatorField` set to true. A full buffer overflows into the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from arrokoth.io.sinks.base import CONNECTED, CONNECTING, DISCONNECTED, AsyncSink, SinkSendError
from arrokoth.io.sinks.cache import SinkCache, cache_path

if TYPE_CHECKING:
    from arrokoth.io.sinks.base import SinkNode

log = logging.getLogger("arrokoth.sink")

# reconnect backoff (ms): doubles from MIN to MAX
RECONNECT_MIN_MS = 100
RECONNECT_MAX_MS = 2000
# after a failed send with the cache on, before the next try (when resendInterval is 0)
FAILURE_DELAY_MS = 100
# how long start() waits for the first connect attempt, and stop() for the buffer to drain (s)
START_WAIT_S = 2.0
DRAIN_WAIT_S = 1.0
# how often a worker waiting for the connection looks at the sink's status anyway (s)
STATUS_POLL_S = 0.5


class AsyncDelivery:
    def __init__(self, node: SinkNode):
        self.node = node
        self.sink: AsyncSink = node.sink  # type: ignore[assignment]
        self.clock = node.clock
        self.capacity = max(1, node.buffer_length)
        opts = node.cache_options
        self.opts = opts
        self.cached = opts.enabled
        self.alter = opts.enabled and opts.alter_queue
        # ordered caching: the cache is the buffer
        self.ordered = opts.enabled and not opts.alter_queue
        # raw rows ride along only when a resend renders them again with the indicator
        self.keep_raw = self.alter and bool(opts.indicator)
        self.failure_delay = opts.resend_interval or FAILURE_DELAY_MS
        self.queue: deque[tuple] = deque()
        self.cache: SinkCache | None = None
        self.running = False
        self.started = False
        self.stopped = False
        self.in_flight = 0
        self._tasks: list[asyncio.Task] = []
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._need_connect = asyncio.Event()
        self._first_attempt: asyncio.Future | None = None
        self._connected_once = False
        self._next_resend = 0
        self._recovering = False
        self._turn = False

    @property
    def pending(self) -> int:
        return len(self.queue) + self.in_flight + (len(self.cache) if self.cache is not None else 0)

    # --- from the rule -------------------------------------------------------------

    def put(self, payload: bytes | None, data: Any, raw: Any) -> None:
        if self.stopped:
            self.node.record_drop(1, "the sink is stopped: message dropped")
            return
        cache = self.cache
        if cache is not None and self.ordered:
            self._to_cache(cache.add, (payload, data, None))
        elif cache is not None and len(self.queue) >= self.capacity:
            # never sent, so not a resend: no raw rows, no indicator
            self._to_cache(cache.add, (payload, data, None))
        elif len(self.queue) >= self.capacity:
            self.node.record_drop(1, "buffer full, drop message")
            return
        else:
            self.queue.append((payload, data, raw if self.keep_raw else None))
        self._wake.set()

    def _to_cache(self, op, msg: tuple) -> None:
        cache = self.cache
        before = cache.dropped
        op(msg)
        if cache.dropped != before:
            self.node.record_drop(cache.dropped - before, "sink cache full, oldest messages dropped")

    # --- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        if self.running:
            return
        loop = asyncio.get_running_loop()
        if self.cached:
            self.cache = self._open_cache()
            if self.opts.clean_at_stop:
                self.cache.clear()
            elif len(self.cache):
                # left by the last run: resent `resendInterval` apart
                self._recovering = True
                self._wake.set()
        self.sink._status_listener = self._on_status
        self.sink._now = self.clock.now_ms
        self.running = self.started = True
        self._first_attempt = loop.create_future()
        self._tasks = [loop.create_task(self._supervise(), name=f"sink-{self.node.sink_type}-connect")]
        self._tasks += [
            loop.create_task(self._work(), name=f"sink-{self.node.sink_type}-{i}") for i in range(self.node.concurrency)
        ]
        await asyncio.wait([self._first_attempt], timeout=START_WAIT_S)

    def _open_cache(self) -> SinkCache:
        node, opts = self.node, self.opts
        name = f"{node.rule_id}/{node.sink_type}_{node.index}"
        path = None
        if node.data_dir is not None and node.rule_id:
            path = cache_path(node.data_dir, node.rule_id, node.sink_type, node.index)
        kwargs = dict(memory_threshold=opts.memory_threshold, max_disk=opts.max_disk,
                      page_size=opts.page_size, name=name)
        try:
            return SinkCache(path, **kwargs)
        except Exception as e:  # noqa: BLE001 - a broken disk must not stop the rule
            log.error("sink cache %s: cannot open %s (%s); caching in memory only", name, path, e)
            return SinkCache(None, **kwargs)

    async def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        if self.running:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + DRAIN_WAIT_S
            # give what is buffered a moment to go out while the sink is up (the rest is
            # kept in the cache or, without one, dropped and counted)
            while self.pending and self.sink.status == CONNECTED and loop.time() < deadline:
                await asyncio.sleep(0.005)
            self.running = False
            for t in self._tasks:
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks = []
        cache = self.cache
        if cache is not None:
            if self.opts.clean_at_stop:
                cache.destroy()
            else:
                # the buffer is older than the cache: it goes in front
                while self.queue:
                    self._to_cache(cache.push_front, self.queue.pop())
                cache.close()
        if self.queue:
            self.node.record_drop(len(self.queue), "the rule stopped before these messages were sent")
            self.queue.clear()
        if self.started:
            try:
                await self.sink.aclose()
            except Exception as e:  # noqa: BLE001
                log.warning("sink %s: close failed: %s", self.node.sink_type, e)
        self.sink._status_listener = None

    # --- connection ----------------------------------------------------------------

    def _on_status(self, sink: AsyncSink) -> None:
        if sink.status == CONNECTED:
            self._ready.set()
            return
        self._ready.clear()
        self.node.record_exception(sink.last_disconnected_message or "disconnected")
        if not (sink.reconnects_itself and self._connected_once):
            self._need_connect.set()

    def _attempted(self) -> None:
        if self._first_attempt is not None and not self._first_attempt.done():
            self._first_attempt.set_result(None)

    async def _supervise(self) -> None:
        sink = self.sink
        backoff = RECONNECT_MIN_MS
        while True:
            if sink.status == CONNECTED or (sink.reconnects_itself and self._connected_once):
                if sink.status == CONNECTED:
                    self._ready.set()  # (a sink may set its status without mark_connected)
                self._need_connect.clear()
                await self._need_connect.wait()
                continue
            sink.last_try = self.clock.now_ms()
            try:
                await sink.connect()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - any failure to connect is retried
                message = str(e) or type(e).__name__
                if sink.status != DISCONNECTED or sink.last_disconnected_message != message:
                    log.warning("sink %s_%d of rule %s: cannot connect: %s",
                                self.node.sink_type, self.node.index, self.node.rule_id, message)
                if sink.status == CONNECTED:
                    sink.status = CONNECTING  # it said so before failing
                sink.mark_disconnected(message)
                self._attempted()
                self._need_connect.clear()
                await self._sleep(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX_MS)
                continue
            self._connected_once = True
            backoff = RECONNECT_MIN_MS
            if sink.status != CONNECTED:
                sink.mark_connected()
            self._ready.set()
            self._attempted()

    async def _sleep(self, ms: int) -> None:
        """Wait `ms` on the node's clock (a VirtualClock moves only when told to)."""
        if ms <= 0:
            await asyncio.sleep(0)
            return
        fut = asyncio.get_running_loop().create_future()

        def fire() -> None:
            if not fut.done():
                fut.set_result(None)

        timer = self.clock.call_later(ms, fire)
        try:
            await fut
        finally:
            timer.cancel()

    # --- workers -------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            picked = await self._next()
            msg, from_cache = picked
            self.in_flight += 1
            try:
                ok = await self._deliver(msg, from_cache)
            except asyncio.CancelledError:
                self._put_back(msg, from_cache)
                raise
            except Exception as e:  # noqa: BLE001 - a bug here must not kill the worker
                log.exception("sink %s: delivery failed", self.node.sink_type)
                self.node.record_exception(e)
                ok = None
            finally:
                self.in_flight -= 1
            if ok is False:
                if self.cache is not None:
                    self._recovering = True
                    self._put_back(msg, from_cache)
                    await self._sleep(self.failure_delay)
                else:
                    self.node.record_drop(1, "send failed, message dropped", exception=False)

    def _put_back(self, msg: tuple, from_cache: bool) -> None:
        """Keep a message that was not delivered, in its place."""
        if self.cache is None or (not from_cache and not self.alter):
            # (ordered: only messages collected before start are in the buffer, the oldest)
            self.queue.appendleft(msg)
        elif from_cache:
            self._to_cache(self.cache.push_front, msg)
        else:
            self._to_cache(self.cache.add, msg)
        self._wake.set()

    async def _next(self) -> tuple[tuple, bool]:
        while True:
            if self.sink.status != CONNECTED:
                # what piles up meanwhile is resent `resendInterval` apart
                self._recovering = True
                self._ready.clear()
                if not (self.sink.reconnects_itself and self._connected_once):
                    self._need_connect.set()
                # also look again now and then: a sink may set its status by itself
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._ready.wait(), STATUS_POLL_S)
                continue
            queue, cache = self.queue, self.cache
            cached = cache is not None and len(cache) > 0
            use_cache = False
            if cached and queue:
                if self.alter:
                    priority = self.opts.priority
                    self._turn = not self._turn
                    use_cache = priority > 0 or (priority == 0 and self._turn)
            elif cached:
                use_cache = True
            if queue and not use_cache:
                return queue.popleft(), False
            if use_cache:
                if self._recovering or self.alter:
                    wait = self._next_resend - self.clock.now_ms()
                    if wait > 0:
                        await self._sleep(wait)
                        continue
                    self._next_resend = self.clock.now_ms() + self.opts.resend_interval
                msg = cache.pop()
                if msg is None:
                    continue
                return msg, True
            self._recovering = False
            self._wake.clear()
            await self._wake.wait()

    async def _deliver(self, msg: tuple, from_cache: bool) -> bool | None:
        """True when sent, False for a recoverable failure, None when dropped."""
        node, sink = self.node, self.sink
        payload, data, raw = msg
        resend = from_cache and self.alter
        if resend and raw is not None and self.opts.indicator:
            try:
                out = node.retransform(raw, self.opts.indicator)
            except Exception as e:  # noqa: BLE001 - a template error drops that message
                node.record_exception(e)
                node.record_drop(1, f"message dropped: {e}", exception=False)
                return None
            if not isinstance(out, tuple):
                return True  # the template rendered nothing (omitIfEmpty)
            payload, data = out
        attempt = 0
        while True:
            try:
                if resend:
                    await sink.resend_async(payload, data)
                else:
                    await sink.send_async(payload, data)
            except SinkSendError as e:
                node.record_exception(e)
                if attempt < node.retry_count:
                    attempt += 1
                    await self._sleep(node.retry_interval)
                    continue
                return False
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - not recoverable: drop and count
                node.record_exception(e)
                node.record_drop(1, f"message dropped: {e}", exception=False)
                return None
            node.count += 1
            return True
