"""The redisSub source: subscribes to Redis channels and decodes each message.

Properties (eKuiper's): `address` (host:port, "127.0.0.1:6379" when empty; `addr` is
accepted too), `username`, `password`, `db` (0-15), `channels` (a list, or one string
with commas) and `decompression` (zlib, gzip, flate, or zstd with the zstandard package).
As eKuiper does, the channels are subscribed with PSUBSCRIBE, so each is a glob-style
pattern (`sensor.*`). When `channels` is empty the stream's DATASOURCE names them.

Each message is decoded with the stream's FORMAT; `meta(channel)` is the channel it came
on. Pub/sub keeps nothing for absent subscribers: while the connection is down messages
are lost, and the source redials after 100 ms, doubling to 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arrokoth.io._redis_client import (
    CONNECT_TIMEOUT,
    RedisConfigError,
    RedisSettings,
    aclose,
    check,
    codec_prop,
    db_number,
    decompressor,
    describe_error,
    require_redis,
)
from arrokoth.io.props import MissingExtra, prop
from arrokoth.io.sources.base import DISCONNECTED, Source, SourceConfigError
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.feed import StreamFeed

log = logging.getLogger("arrokoth.source.redissub")


def _settings(props: dict) -> RedisSettings:
    db = db_number(prop(props, "db", 0), "db", "redisSub")
    return RedisSettings.parse(props, address=("address", "addr"), db=db)


def _channels(props: dict, datasource: str) -> list[str]:
    value = prop(props, "channels")
    if value is None or value == "" or value == []:
        value = datasource
    if isinstance(value, str):
        names = [c.strip() for c in value.split(",")]
    elif isinstance(value, list) and all(isinstance(c, str) for c in value):
        names = [c.strip() for c in value]
    else:
        raise RedisConfigError(f"channels: expected a list of channel names but got {value!r}")
    channels = list(dict.fromkeys(c for c in names if c))
    if not channels:
        raise RedisConfigError("channels: redisSub needs at least one channel (or a DATASOURCE naming them)")
    return channels


class RedisSubSource(Source):
    BACKOFF_INITIAL = 0.1
    BACKOFF_MAX = 10.0

    def __init__(self, stream: StreamDef, props: dict, feed: StreamFeed):
        super().__init__(stream, props, feed)
        try:
            self._redis = require_redis("redisSub source")
            self.settings = _settings(props)
            self.channels = _channels(props, stream.datasource)
            method = codec_prop(props, "decompression")
        except (RedisConfigError, MissingExtra) as e:
            raise SourceConfigError(str(e)) from None
        self._decompress = decompressor(method) if method else None
        self._task: asyncio.Task | None = None
        self._first_attempt: asyncio.Event | None = None

    @classmethod
    async def ping(cls, props: dict, timeout: float) -> None:
        # only the connection properties are checked: channels are not needed to reach Redis
        try:
            require_redis("redisSub source")
            settings = _settings(props)
        except (RedisConfigError, MissingExtra) as e:
            raise SourceConfigError(str(e)) from None
        await check(settings, timeout)

    async def start(self) -> None:
        """Subscribe in the background; wait a little for the first attempt so that what is
        published right after the rule starts is not missed (a server that is down does not
        fail the start)."""
        self._first_attempt = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=f"redisSub {self.stream.name}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_attempt.wait(), CONNECT_TIMEOUT)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        backoff = self.BACKOFF_INITIAL
        while True:
            self.last_try = self.feed.clock.now_ms()
            client = self.settings.async_client(timeout=None)
            pubsub = client.pubsub()
            try:
                await asyncio.wait_for(self._subscribe(pubsub), CONNECT_TIMEOUT)
                self.connected()
                backoff = self.BACKOFF_INITIAL
                self._attempted()
                await self._receive(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - any failure of the link is redialled
                message = f"redis {self.settings.address}: {describe_error(e)}"
                if self.status != DISCONNECTED or self.last_disconnected_message != message:
                    log.warning("redisSub source %s: %s; redialling", self.stream.name, message)
                self.disconnected(message)
                self._attempted()
            finally:
                await aclose(pubsub)
                await aclose(client)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.BACKOFF_MAX)

    def _attempted(self) -> None:
        if self._first_attempt is not None:
            self._first_attempt.set()

    async def _subscribe(self, pubsub: Any) -> None:
        """PSUBSCRIBE and wait for the server to confirm every pattern: from then on a
        publish reaches this source."""
        await pubsub.psubscribe(*self.channels)
        confirmed = 0
        while confirmed < len(self.channels):
            msg = await pubsub.get_message(timeout=None)
            if msg is not None and msg.get("type") == "psubscribe":
                confirmed += 1

    async def _receive(self, pubsub: Any) -> None:
        while True:
            msg = await pubsub.get_message(timeout=None)
            if msg is None or msg.get("type") not in ("pmessage", "message"):
                continue
            channel = msg.get("channel")
            if isinstance(channel, bytes):
                channel = channel.decode("utf-8", "replace")
            payload = msg.get("data")
            if isinstance(payload, str):
                payload = payload.encode()
            if self._decompress is not None:
                try:
                    payload = self._decompress(payload)
                except Exception as e:  # noqa: BLE001 - one bad message must not stop the subscription
                    self.fail(f"can not decompress redis message {e}.")
                    continue
            try:
                self.publish_payload(payload, {"channel": channel})
            except Exception as e:  # noqa: BLE001 - a failing rule must not end the subscription
                log.exception("redisSub source %s: handing a message to the rules failed", self.stream.name)
                self.fail(str(e) or type(e).__name__)
