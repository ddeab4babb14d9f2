"""The EdgeX source: subscribes to the EdgeX message bus on MQTT and turns each event into a row.

Properties are eKuiper's (`etc/sources/edgex.yaml`): the connection (`protocol`,
`server` or `host`, `port`, `type`, `optional`, see `arrokoth.io._edgex_conn`), `topic`
(default rules-events; when it is unset the stream's DATASOURCE names the topic, a
filter with + and # being allowed) and `messageType` (event, or request for an
AddEventRequest straight from a device service or core data).

Each message is a MessageEnvelope; its event becomes one row holding a field per
reading, converted by the reading's valueType (`arrokoth.io._edgex`). `meta()` gives
the event's id, deviceName, profileName, sourceName, origin, tags and correlationid, and
under each reading's name its id, origin, deviceName, profileName, valueType and
mediaType. A message that is not an envelope is reported to the rules as an error; an
envelope whose event cannot be read, or whose readings all fail to convert, is logged
and counted but not sent on, as eKuiper does.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from arrokoth.io import _edgex
from arrokoth.io._edgex_conn import EdgexConfigError, bus_settings, check_bus, connection_props
from arrokoth.io._mqtt_client import (
    MqttConfigError,
    check_filter,
)
from arrokoth.io._mqtt_session import SessionHold
from arrokoth.io.connections import PoolError
from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.props import prop
from arrokoth.io.sources.base import Source, SourceConfigError
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.feed import StreamFeed

log = logging.getLogger("arrokoth.source.edgex")

DEFAULT_TOPIC = "rules-events"
#: distinct problem texts logged as warnings; later ones go to the debug log
_WARN_LIMIT = 100


def message_type_prop(props: dict) -> str:
    value = prop(props, "messageType", "event") or "event"
    if value not in _edgex.MESSAGE_TYPES:
        raise EdgexConfigError(f"messageType: expected event or request but got {value!r}")
    return str(value)


class EdgexSource(Source):
    def __init__(self, stream: StreamDef, props: dict, feed: StreamFeed):
        super().__init__(stream, props, feed)
        try:
            self.settings = bus_settings(props)
            self.message_type = message_type_prop(props)
            topic = prop(props, "topic")
            if topic is not None and not isinstance(topic, str):
                raise EdgexConfigError(f"topic: expected a string but got {topic!r}")
            self.topic = topic or stream.datasource or DEFAULT_TOPIC
            check_filter(self.topic)
        except MqttConfigError as e:
            raise SourceConfigError(str(e).replace("datasource:", "topic:", 1)) from None
        except EdgexConfigError as e:
            raise SourceConfigError(str(e)) from None
        # a named connection (spec §4.3): the session is the pool's, shared with other rules
        self.selector = str(prop(props, "connectionSelector") or "")
        self._hold: SessionHold | None = None
        self._pending: list[bytes] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running = False
        self._warned: set[str] = set()

    @classmethod
    async def ping(cls, props: dict, timeout: float) -> None:
        try:
            settings = bus_settings(props)
            message_type_prop(props)
        except EdgexConfigError as e:
            raise ConnectionCheckError(str(e)) from None
        await check_bus(settings, timeout)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._running = True
        try:
            self._hold = await SessionHold.take(
                selector=self.selector, settings=self.settings.mqtt, name=f"edgex source {self.stream.name}",
                typ="edgex", anonymous_id=f"{self.stream.name}-{self.topic}-edgex-source",
                anonymous_props=connection_props(self.props), on_status=self.on_status,
                filters=[(self.topic, self.settings.qos)], on_message=self._on_message,
            )
        except PoolError as e:
            raise SourceConfigError(str(e)) from None

    async def stop(self) -> None:
        self._running = False
        hold, self._hold = self._hold, None
        if hold is not None:
            await hold.release()
        self._flush()

    # --- messages ----------------------------------------------------------------------

    def _on_message(self, client: Any, topic: str, payload: bytes, qos: int, properties: dict) -> None:
        if not self._pending:
            # one callback per burst, run once gmqtt has handed over every message of the read
            self._loop.call_soon(self._flush)  # type: ignore[union-attr]
        self._pending.append(payload)

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if not self._running:
            return
        for payload in batch:
            try:
                self._handle(payload)
            except Exception as e:  # noqa: BLE001 - a failing rule must not stop the source
                log.exception("edgex source %s: cannot hand an event to the rules", self.stream.name)
                self.fail(str(e))

    def _handle(self, payload: bytes) -> None:
        try:
            env = _edgex.decode_envelope(payload)
        except _edgex.EdgexDecodeError as e:
            self.fail(str(e))
            return
        try:
            event, json_numbers = _edgex.envelope_event(env, self.message_type)
            row, meta, problems = _edgex.event_row(event, _edgex.correlation_id(env), json_numbers=json_numbers)
        except _edgex.EdgexDecodeError as e:
            self._dropped(f"Fail to parse payload: {e}")
            return
        for problem in problems:
            self._warn(problem)
        if row:
            self.publish_rows([row], meta)
        else:
            self._dropped(problems[-1])

    def _dropped(self, message: str) -> None:
        """An envelope not sent on: eKuiper only logs it; it is counted in the metrics too."""
        self.exceptions += 1
        self.last_exception = message
        self.last_exception_time = self.feed.clock.now_ms()
        self._warn(message)

    def _warn(self, message: str) -> None:
        if message in self._warned or len(self._warned) >= _WARN_LIMIT:
            log.debug("edgex source %s: %s", self.stream.name, message)
            return
        self._warned.add(message)
        log.warning("edgex source %s: %s", self.stream.name, message)
