"""The redisPub sink: publishes each payload to a Redis channel (PUBLISH).

Properties (eKuiper's): `address` (host:port, "127.0.0.1:6379" when empty; `addr` is
accepted too), `username`, `password`, `db` (0-15), `channel` (required), `compression`
(zlib, gzip, flate, or zstd with the zstandard package) and `resendDestination`: the
channel that messages resent from the cache go to with `resendAlterQueue` (default: `channel`).

The payload is what the rule's format (JSON by default) and data template produce.
Redis pub/sub keeps nothing: a message published while nobody subscribes is gone, and
Redis accepts it all the same. A connection failure raises `SinkSendError`, so the node
retries and, with `enableCache`, keeps the message until Redis is back.
"""

from __future__ import annotations

from typing import Any

from arrokoth.io._redis_client import (
    RedisConfigError,
    codec_prop,
    compressor,
    describe_error,
    is_connection_error,
    require_redis,
    str_prop,
)
from arrokoth.io.props import MissingExtra
from arrokoth.io.sinks.base import SinkConfigError, SinkSendError
from arrokoth.io.sinks.redis import RedisClientSink


class RedisPubSink(RedisClientSink):
    connector = "redisPub sink"
    db_name = "redisPub"
    address_names = ("address", "addr")

    def __init__(self, props: dict[str, Any]):
        super().__init__(props)
        try:
            self._redis = require_redis(self.connector)
            self.settings = self.settings_of(props)
            self.channel = str_prop(props, "channel")
            if not self.channel:
                raise RedisConfigError("channel: redisPub sink is missing property channel")
            self.resend_channel = str_prop(props, "resendDestination") or self.channel
            method = codec_prop(props, "compression")
        except (RedisConfigError, MissingExtra) as e:
            raise SinkConfigError(str(e)) from None
        self._compress = compressor(method) if method else None

    async def send_async(self, payload: bytes | None, data: Any) -> None:
        await self._publish(self.channel, payload)

    async def resend_async(self, payload: bytes | None, data: Any) -> None:
        await self._publish(self.resend_channel, payload)

    async def _publish(self, channel: str, payload: bytes | None) -> None:
        client = self._client
        if client is None:
            raise SinkSendError("redis client is not connected")
        body = payload or b""
        if self._compress is not None:
            body = self._compress(body)
        try:
            await client.publish(channel, body)
        except (self._redis.RedisError, OSError) as e:
            message = f"Error occurred while publishing the Redis message to {self.settings.address}: {describe_error(e)}"
            if is_connection_error(e):
                self.mark_disconnected(message)
            # eKuiper reports every publish failure as an IO error, which is retried
            raise SinkSendError(message) from None
