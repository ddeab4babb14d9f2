"""The MQTT source: subscribes to the stream's DATASOURCE on a broker.

DATASOURCE is one topic filter, or several separated by commas, with the `+` and `#`
wildcards and shared subscriptions (`$share/<group>/<filter>`). Properties are eKuiper's:
`server`, `username`, `password`, `clientid`, `protocolVersion` ("3.1", "3.1.1", "5"),
`qos`, `enableClientSession`, `decompression` (zlib, gzip, flate) and the TLS keys of
`arrokoth.io._mqtt_client`. `meta(topic)`, `meta(qos)` and `meta(messageid)` read the
message's metadata.

The hot path: gmqtt calls `_on_message` for each PUBLISH of a read, synchronously. The
payloads of one read are collected and one callback scheduled for the whole burst decodes
them with the stream's format and hands the rows to the feed with `publish_many`, one
call per run of messages that share their metadata.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from arrokoth.io._mqtt_client import (
    MqttConfigError,
    MqttSettings,
    check_filter,
    codec_prop,
    connection_props,
    decompressor,
    qos_prop,
    require_gmqtt,
    str_prop,
)
from arrokoth.io._mqtt_session import SessionHold, ping_broker
from arrokoth.io.connections import PoolError
from arrokoth.io.formats.json import FormatError
from arrokoth.io.sources.base import Source, SourceConfigError
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.feed import StreamFeed

log = logging.getLogger("arrokoth.source.mqtt")

#: metadata objects shared by the messages without a packet id (QoS 0), by (topic, qos)
_META_CACHE_SIZE = 1024


class MqttSource(Source):
    def __init__(self, stream: StreamDef, props: dict, feed: StreamFeed):
        super().__init__(stream, props, feed)
        try:
            require_gmqtt()
            self.settings = MqttSettings.parse(props)
            self.qos = qos_prop(props)
            topics = [t.strip() for t in stream.datasource.split(",")] if stream.datasource else []
            if not topics:
                raise MqttConfigError("datasource: the MQTT topic to subscribe to is required")
            for topic in topics:
                check_filter(topic)
            method = codec_prop(props, "decompression")
            if str_prop(props, "kubeedgeModelFile"):
                raise MqttConfigError("kubeedgeModelFile: KubeEdge device models are not supported")
        except MqttConfigError as e:
            raise SourceConfigError(str(e)) from None
        self.topics = topics
        # a named connection (spec §4.3): the session is the pool's, shared with other rules
        self.selector = str_prop(props, "connectionSelector")
        self._hold: SessionHold | None = None
        self._decompress = decompressor(method) if method else None
        self._pending: list[tuple[str, bytes, int, dict]] = []
        self._metas: dict[tuple[str, int], dict] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running = False

    @classmethod
    async def ping(cls, props: dict, timeout: float) -> None:
        try:
            await ping_broker(props, timeout)
        except MqttConfigError as e:
            raise SourceConfigError(str(e)) from None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._running = True
        try:
            self._hold = await SessionHold.take(
                selector=self.selector, settings=self.settings, name=f"source {self.stream.name}", typ="mqtt",
                anonymous_id=f"{self.stream.name}-{self.topics[0]}-mqtt-source",
                anonymous_props=connection_props(self.props), on_status=self.on_status,
                filters=[(t, self.qos) for t in self.topics], on_message=self._on_message,
            )
        except PoolError as e:
            raise SourceConfigError(str(e)) from None

    async def stop(self) -> None:
        self._running = False
        hold, self._hold = self._hold, None
        if hold is not None:
            await hold.release()
        self._flush()

    # --- the hot path ----------------------------------------------------------------------

    def _on_message(self, client: Any, topic: str, payload: bytes, qos: int, properties: dict) -> None:
        pending = self._pending
        if not pending:
            # one callback per burst, run once gmqtt has handed over every message of the read
            self._loop.call_soon(self._flush)  # type: ignore[union-attr]
        pending.append((topic, payload, qos, properties))

    def _flush(self) -> None:
        batch = self._pending
        if not batch:
            return
        self._pending = []
        if not self._running:
            return
        try:
            self._publish_batch(batch)
        except Exception as e:  # noqa: BLE001 - a failing rule must not stop the source
            log.exception("mqtt source %s: cannot hand a batch to the rules", self.stream.name)
            self.fail(str(e))

    def _publish_batch(self, batch: list[tuple[str, bytes, int, dict]]) -> None:
        decode = self._decoder.decode
        decompress = self._decompress
        metas = self._metas
        rows: list[dict] = []
        meta: dict | None = None
        for topic, payload, qos, properties in batch:
            mid = properties.get("message_id", 0) if qos else 0
            if mid:
                m = {"topic": topic, "qos": qos, "messageid": mid}
            else:
                m = metas.get((topic, qos))
                if m is None:
                    if len(metas) >= _META_CACHE_SIZE:
                        metas.clear()
                    m = metas[(topic, qos)] = {"topic": topic, "qos": qos, "messageid": 0}
            if m is not meta:
                if rows:
                    self.publish_rows(rows, meta)
                    rows = []
                meta = m
            if decompress is not None:
                try:
                    payload = decompress(payload)
                except Exception as e:  # noqa: BLE001 - zlib.error, gzip.BadGzipFile, EOFError
                    if rows:
                        self.publish_rows(rows, meta)
                        rows = []
                    self.fail(f"can not decompress mqtt message {e}")
                    continue
            try:
                decoded = decode(payload)
            except FormatError as e:
                if rows:
                    self.publish_rows(rows, meta)
                    rows = []
                self.fail(str(e))
                continue
            if len(decoded) == 1:
                rows.append(decoded[0])
            else:
                rows.extend(decoded)
        if rows:
            self.publish_rows(rows, meta)
