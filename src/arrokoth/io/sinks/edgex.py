"""The EdgeX sink: publishes each result as an EdgeX event on the EdgeX message bus (MQTT).

Properties are eKuiper's: the connection (`protocol`, `host` or `server`, `port`,
`type`, `optional`, see `arrokoth.io._edgex_conn`; `optional.Qos` and
`optional.Retained` apply to the publishes), `topic` (default application) or
`topicPrefix` (the topic is then `<prefix>/<profileName>/<deviceName>/<sourceName>`),
`contentType` (application/json; an event must be JSON), `messageType` (event, or request
to publish an AddEventRequest as a device service does), `deviceName` (ekuiper),
`profileName` (ekuiperProfile), `sourceName` (the rule id) and `metadata`, the result
field holding `meta(*)` of an edgex stream, whose event and reading metadata then win.

The sink works on the result rows (`wants_rows`), as eKuiper's does on its result maps:
the rows of one message become the readings of one event (`arrokoth.io._edgex`), the
valueType inferred from each value. A data template must render a JSON object (whose
numbers are then floats, Float64 readings, as in eKuiper). The
connection is an `MqttSession` that redials with backoff; a send while it is down raises
`SinkSendError`, so the SinkNode retries or caches.
"""

from __future__ import annotations

import logging
from typing import Any

from arrokoth.io import _edgex
from arrokoth.io._edgex_conn import EdgexConfigError, bus_settings, check_bus, connection_props
from arrokoth.io._mqtt_client import (
    MqttConfigError,
    MqttNotConnected,
    check_topic_name,
)
from arrokoth.io._mqtt_session import SessionHold
from arrokoth.io.connections import PoolError
from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.props import prop
from arrokoth.io.sinks.base import AsyncSink, SinkConfigError, SinkSendError

log = logging.getLogger("arrokoth.sink.edgex")

DEFAULT_TOPIC = "application"


def _str(props: dict, name: str, default: str = "") -> str:
    v = prop(props, name, default)
    if v is None:
        return default
    if not isinstance(v, str):
        raise EdgexConfigError(f"{name}: expected a string but got {v!r}")
    return v


class EdgexSink(AsyncSink):
    wants_rows = True
    # the session redials by itself: the node calls connect() once and then follows `status`
    reconnects_itself = True
    #: set by the SinkNode: the default sourceName
    rule_id: str | None = None

    def __init__(self, props: dict[str, Any]):
        super().__init__(props)
        try:
            self.settings = bus_settings(props)
            self._read_props(props)
        except (EdgexConfigError, MqttConfigError) as e:
            raise SinkConfigError(str(e)) from None
        # a named connection (spec §4.3): publish through the pool's session, shared with other rules
        self.selector = str(prop(props, "connectionSelector") or "")
        self._hold: SessionHold | None = None

    def _read_props(self, props: dict) -> None:
        self.message_type = _str(props, "messageType", "event") or "event"
        if self.message_type not in _edgex.MESSAGE_TYPES:
            raise EdgexConfigError(f"messageType: specified wrong messageType value {self.message_type}")
        self.content_type = _str(props, "contentType", _edgex.JSON) or _edgex.JSON
        if self.message_type == "event" and self.content_type != _edgex.JSON:
            raise EdgexConfigError(f"contentType: specified wrong contentType value {self.content_type}: "
                                   "only 'application/json' is supported if messageType is event")
        self.topic = _str(props, "topic")
        self.topic_prefix = _str(props, "topicPrefix")
        if self.topic and self.topic_prefix:
            raise EdgexConfigError("topic: not allow to specify both topic and topicPrefix, please set one only")
        for name, value in (("topic", self.topic), ("topicPrefix", self.topic_prefix)):
            if value:
                check_topic_name(value, name)
        self.device_name = _str(props, "deviceName", "ekuiper") or "ekuiper"
        self.profile_name = _str(props, "profileName", "ekuiperProfile") or "ekuiperProfile"
        self.source_name = _str(props, "sourceName")
        self.metadata = _str(props, "metadata")
        # eKuiper decodes a data template's output into Go's `any`: every number is a float64
        self._templated = bool(prop(props, "dataTemplate"))

    @classmethod
    async def ping(cls, props: dict, timeout: float) -> None:
        try:
            sink = cls(props)
        except SinkConfigError as e:
            raise ConnectionCheckError(str(e)) from None
        await check_bus(sink.settings, timeout)

    def _topic_of(self, event: dict) -> str:
        if self.topic:
            return self.topic
        if not self.topic_prefix:
            return DEFAULT_TOPIC
        if not self.metadata:
            # the metadata cannot change the names: the topic is the configured one
            return f"{self.topic_prefix}/{self.profile_name}/{self.device_name}/{self.source_name or self.rule_id or ''}"
        return f"{self.topic_prefix}/{event['profileName']}/{event['deviceName']}/{event['sourceName']}"


    async def connect(self) -> None:
        """Take the session and wait a while for its first dial; a bus that is down raises
        SinkSendError while the session keeps dialling in the background."""
        if self._hold is None:
            name = f"edgex sink {self.rule_id or ''}".rstrip()
            try:
                self._hold = await SessionHold.take(
                    selector=self.selector, settings=self.settings.mqtt, name=name, typ="edgex",
                    anonymous_id=f"{self.rule_id or ''}-edgex-sink", anonymous_props=connection_props(self.props),
                    on_status=self.on_status,
                )
            except PoolError as e:
                raise SinkSendError(str(e)) from None
        session = self._hold.session
        if not session.connected:
            raise SinkSendError(f"edgex message bus is not connected: {session.message or 'connecting'}")

    def envelope(self, data: Any) -> tuple[str, bytes]:
        """The topic and the MessageEnvelope of one message; ValueError when it is no event."""
        event, problems = _edgex.build_event(
            data, device_name=self.device_name, profile_name=self.profile_name,
            source_name=self.source_name or self.rule_id or "", metadata=self.metadata,
        )
        for problem in problems:
            log.warning("edgex sink: %s", problem)
        payload = _edgex.encode_payload(event, self.message_type)
        return self._topic_of(event), _edgex.encode_envelope(payload, self.content_type)

    async def send_async(self, payload: bytes | None, data: Any) -> None:
        if self._hold is None:
            raise SinkSendError("edgex message bus is not connected")
        session = self._hold.session
        if self._templated:
            data = _edgex.go_any(data)
        try:
            topic, body = self.envelope(data)
        except ValueError as e:
            raise ValueError(f"Failed to convert to EdgeX event: {e}.") from None
        try:
            await session.publish(topic, body, self.settings.qos, self.settings.retained)
        except MqttNotConnected as e:
            raise SinkSendError(str(e)) from None

    async def aclose(self) -> None:
        hold, self._hold = self._hold, None
        if hold is not None:
            await hold.release()
