"""What every source shares: its stream's feed, its properties, its connection status.

A source produces messages for one stream and hands them to the stream's `StreamFeed`
by a direct call; the feed decodes nothing, so a source passes either decoded objects
(`publish_rows`) or payload bytes that the stream's format decodes (`publish_payload`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from arrokoth.io.formats.json import FormatError
from arrokoth.io.formats.registry import decoder_for
from arrokoth.io.props import prop  # noqa: F401 - connectors import it from here
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.feed import StreamFeed

log = logging.getLogger("arrokoth.source")

# connection_status values in rule metrics
CONNECTED, CONNECTING, DISCONNECTED = 1, 0, -1


class SourceConfigError(Exception):
    """A source property is wrong; the message names the property."""




class Source:
    def __init__(self, stream: StreamDef, props: dict, feed: StreamFeed):
        self.stream = stream
        self.props = props
        self.feed = feed
        self.status = CONNECTING
        self.last_connected = 0
        self.last_disconnected = 0
        self.last_disconnected_message = ""
        self.last_try = 0
        self.records_in = 0
        self.exceptions = 0
        self.last_exception = ""
        self.last_exception_time = 0
        try:
            # the stream's FORMAT; json gives the same JsonDecoder as ever (the fast path)
            self._decoder = decoder_for(stream, props)
        except FormatError as e:
            raise SourceConfigError(f"format {stream.format}: {e}") from None

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        pass

    def connected(self) -> None:
        self.status = CONNECTED
        self.last_connected = self.feed.clock.now_ms()

    def disconnected(self, message: str) -> None:
        self.status = DISCONNECTED
        self.last_disconnected = self.feed.clock.now_ms()
        self.last_disconnected_message = message

    async def every(self, interval_ms: int, poll: Callable[[], Awaitable[None]], what: str) -> None:
        """Await `poll` every `interval_ms`, forever, as Go's time.Ticker ticks: a poll that
        outlasts the interval skips the missed ticks; a failing one is logged, and the next
        tick polls again."""
        loop = asyncio.get_running_loop()
        interval = interval_ms / 1000
        due = loop.time()
        while True:
            try:
                await poll()
            except Exception:  # noqa: BLE001 - the next tick polls again
                log.exception("%s of stream %s failed", what, self.stream.name)
            due += interval
            now = loop.time()
            if due < now:
                due += ((now - due) // interval + 1) * interval
            await asyncio.sleep(due - now)

    def on_status(self, status: int, message: str = "") -> None:
        """A client's status callback (1 connected, 0 redialling, -1 down) into the metrics."""
        if status == CONNECTED:
            self.connected()
        elif status == DISCONNECTED:
            self.disconnected(message)
        else:
            self.status = CONNECTING
            self.last_try = self.feed.clock.now_ms()
            if message:
                self.last_disconnected_message = message

    def publish_rows(self, rows: list[dict], meta: dict | None = None) -> None:
        self.records_in += len(rows)
        self.feed.publish_many(rows, meta)

    def publish_payload(self, payload: bytes, meta: dict | None = None) -> None:
        try:
            rows = self._decoder.decode(payload)
        except FormatError as e:
            self.fail(str(e))
            return
        self.publish_rows(rows, meta)

    def fail(self, message: str) -> None:
        """A payload or a read that failed: counted, and reported to the rules as an error."""
        self.exceptions += 1
        self.last_exception = message
        self.last_exception_time = self.feed.clock.now_ms()
        self.feed._fail(message)
