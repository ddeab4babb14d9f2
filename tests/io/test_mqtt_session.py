"""A shared MqttSession: subscribers come and go on a live session, or while it dials."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from arrokoth.io._mqtt_client import MqttSettings
from arrokoth.io._mqtt_session import MqttSession
from arrokoth.io.sinks.mqtt import MqttSink

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_mqtt_backoff")]


async def publish(broker, topic: str, payload: bytes) -> None:
    sink = MqttSink({"server": broker.url, "topic": topic, "qos": 1})
    await sink.connect()
    try:
        await sink.send_async(payload, None)
    finally:
        await sink.aclose()


async def test_subscribers_added_while_dialling_and_while_connected(mosquitto_factory, eventually):
    broker = mosquitto_factory()
    broker.stop()
    session = MqttSession(MqttSettings.parse({"server": broker.url}), name="shared")
    statuses: list[int] = []
    session.add_status_listener(lambda status, message: statuses.append(status))
    await session.start()
    a, b = f"a/{uuid.uuid4().hex[:6]}", f"b/{uuid.uuid4().hex[:6]}"
    got_a: list[bytes] = []
    got_b: list[bytes] = []
    try:
        # the broker is down: the subscription waits for the connection
        token_a = await session.subscribe([(a, 1)], lambda c, t, payload, q, p: got_a.append(payload))
        await eventually(lambda: -1 in statuses, what="the first dial failed")
        await asyncio.to_thread(broker.start)
        await eventually(lambda: session.connected, what="the session connected")
        await publish(broker, a, b"1")
        await eventually(lambda: got_a == [b"1"], what="the early subscriber's message")

        # a second subscriber on the live session; each gets its own topic's messages
        token_b = await session.subscribe([(b, 0)], lambda c, t, payload, q, p: got_b.append(payload))
        await publish(broker, b, b"2")
        await publish(broker, a, b"3")
        await eventually(lambda: got_b == [b"2"] and got_a == [b"1", b"3"], what="both subscribers")

        await session.unsubscribe(token_a)
        await publish(broker, a, b"4")
        await publish(broker, b, b"5")
        await eventually(lambda: got_b == [b"2", b"5"], what="the remaining subscriber")
        assert got_a == [b"1", b"3"]
        await session.unsubscribe(token_b)
    finally:
        await session.stop()


async def test_a_subscriber_added_while_the_connect_is_in_flight(mosquitto, eventually):
    session = MqttSession(MqttSettings.parse({"server": mosquitto.url}), name="shared")
    await session.start()
    await asyncio.sleep(0)  # the dial task runs up to its CONNECT: the client exists, unconnected
    topic = f"c/{uuid.uuid4().hex[:6]}"
    got: list[bytes] = []
    try:
        await session.subscribe([(topic, 1)], lambda c, t, payload, q, p: got.append(payload))
        await eventually(lambda: session.connected, what="the session connected")
        await publish(mosquitto, topic, b"x")
        await eventually(lambda: got == [b"x"], what="the message")
    finally:
        await session.stop()
