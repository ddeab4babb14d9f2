"""The MQTT sink: publishes each payload to a topic on a broker.

Properties are eKuiper's: `server`, `topic` (required; no wildcards; may hold a data
template such as `devices/{{.id}}/out`, rendered per message), `qos` (0, 1, 2),
`retained`, `clientId`, `username`, `password`, `protocolVersion`, `enableClientSession`
(false: clean session), `compression` (zlib, gzip, flate), `properties` (MQTT 5 user
properties) and the TLS keys of `arrokoth.io._mqtt_client`.

The connection is kept by an `MqttSession` that redials with backoff. A send while it is
down raises `SinkSendError` at once, so the SinkNode retries or caches; QoS 1 and 2 wait
for the broker's acknowledgement and raise `SinkSendError` without one.
"""

from __future__ import annotations

from typing import Any

from arrokoth.io._mqtt_client import (
    MqttConfigError,
    MqttNotConnected,
    MqttSettings,
    bool_prop,
    check_topic_name,
    codec_prop,
    compressor,
    connection_props,
    qos_prop,
    require_gmqtt,
    str_prop,
)
from arrokoth.io._mqtt_session import SessionHold, ping_broker
from arrokoth.io.connections import PoolError
from arrokoth.io.sinks.base import AsyncSink, SinkConfigError, SinkSendError, _prop


class MqttTopicError(ValueError):
    """A templated topic rendered to something that is not a topic name; resending will not help."""


class MqttSink(AsyncSink):
    # the session redials by itself: the node calls connect() once and then follows `status`
    reconnects_itself = True

    def __init__(self, props: dict[str, Any]):
        super().__init__(props)
        try:
            require_gmqtt()
            self.settings = MqttSettings.parse(props)
            topic = str_prop(props, "topic")
            self.qos = qos_prop(props)
            self.retained = bool_prop(props, "retained")
            method = codec_prop(props, "compression")
            self.user_properties = _user_properties(props)
            self._topic_template = _compile_topic(topic)
            if self._topic_template is None:
                check_topic_name(topic)
        except MqttConfigError as e:
            raise SinkConfigError(str(e)) from None
        self.topic = topic
        self._compress = compressor(method) if method else None
        # a named connection (spec §4.3): publish through the pool's session, shared with other rules
        self.selector = str_prop(props, "connectionSelector")
        self._hold: SessionHold | None = None

    @classmethod
    async def ping(cls, props: dict, timeout: float) -> None:
        try:
            await ping_broker(props, timeout)
        except MqttConfigError as e:
            raise SinkConfigError(str(e)) from None


    async def connect(self) -> None:
        """Take the session and wait a while for its first dial; a broker that is down raises
        SinkSendError while the session keeps dialling in the background."""
        if self._hold is None:
            try:
                self._hold = await SessionHold.take(
                    selector=self.selector, settings=self.settings, name=f"sink {self.topic}", typ="mqtt",
                    anonymous_id=f"{self.topic}-mqtt-sink", anonymous_props=connection_props(self.props),
                    on_status=self.on_status,
                )
            except PoolError as e:
                raise SinkSendError(str(e)) from None
        session = self._hold.session
        if not session.connected:
            raise SinkSendError(f"mqtt client is not connected: {session.message or 'connecting'}")

    async def send_async(self, payload: bytes | None, data: Any) -> None:
        if self._hold is None:
            raise SinkSendError("mqtt client is not connected")
        session = self._hold.session
        topic = self.topic
        if self._topic_template is not None:
            topic = str(self._topic_template.render(data))
            if not topic or "+" in topic or "#" in topic:
                raise MqttTopicError(f"topic: {self.topic!r} rendered to {topic!r}, which is not a topic name")
        body = payload or b""
        if self._compress is not None:
            body = self._compress(body)
        try:
            await session.publish(topic, body, self.qos, self.retained, self.user_properties)
        except MqttNotConnected as e:
            raise SinkSendError(str(e)) from None

    async def aclose(self) -> None:
        hold, self._hold = self._hold, None
        if hold is not None:
            await hold.release()


def _compile_topic(topic: str) -> Any:
    """The compiled data template of a topic holding `{{`, else None."""
    if not topic:
        raise MqttConfigError("topic: mqtt sink is missing property topic")
    if "{{" not in topic:
        return None
    from arrokoth.io.templates import compile_template  # only rules with a templated topic pay for it

    try:
        return compile_template(topic)
    except Exception as e:  # noqa: BLE001 - whatever the engine raises, name the property
        raise MqttConfigError(f"topic: invalid template {topic!r}: {e}") from None


def _user_properties(props: dict) -> dict[str, str] | None:
    value = _prop(props, "properties")
    if value is None or value == {}:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise MqttConfigError("properties: expected an object of MQTT 5 user properties")
    return {k: str(v) for k, v in value.items()}
