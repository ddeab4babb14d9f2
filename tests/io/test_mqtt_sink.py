"""The MQTT sink against a real mosquitto (tests/conftest.py starts it on a free port).

The sink is driven through its AsyncSink protocol (`connect`, `send_async`, `aclose`), as
the SinkNode drives it; a gmqtt client of the test subscribes and records what arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import gmqtt
import pytest

from arrokoth import confkeys
from arrokoth.io.sinks.base import AsyncSink, SinkConfigError, SinkSendError
from arrokoth.io.sinks.mqtt import MqttSink
from arrokoth.io.sinks.registry import sink_class

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_mqtt_backoff")]


def unique(prefix: str = "out") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:10]}"


@dataclass
class Received:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: dict


@dataclass
class Subscriber:
    client: Any
    messages: list[Received] = field(default_factory=list)

    @property
    def payloads(self) -> list[bytes]:
        return [m.payload for m in self.messages]


@contextlib.asynccontextmanager
async def subscriber(broker, topic: str, qos: int = 0, *, version: int = 4) -> AsyncIterator[Subscriber]:
    client = gmqtt.Client(f"sub-{uuid.uuid4().hex[:12]}")
    sub = Subscriber(client)
    client.on_message = lambda cl, t, payload, q, props: sub.messages.append(
        Received(t, payload, q, bool(props.get("retain")), props)
    )
    acked = asyncio.Event()
    client.on_subscribe = lambda cl, mid, granted, props: acked.set()
    await client.connect(broker.host, broker.port, version=version)
    client.subscribe(topic, qos=qos)
    await asyncio.wait_for(acked.wait(), 10)
    try:
        yield sub
    finally:
        await client.disconnect()


@contextlib.asynccontextmanager
async def connected_sink(**props: Any) -> AsyncIterator[MqttSink]:
    sink = MqttSink(props)
    await sink.connect()
    try:
        yield sink
    finally:
        await sink.aclose()


async def test_publishes_payloads_to_the_topic(mosquitto, eventually):
    topic = unique()
    async with subscriber(mosquitto, topic) as sub, connected_sink(server=mosquitto.url, topic=topic) as sink:
        assert isinstance(sink, AsyncSink) and sink.is_async
        assert sink.status == 1 and sink.last_connected > 0
        await sink.send_async(b'[{"a":1}]', [{"a": 1}])
        await sink.send_async(b'{"a":2}', {"a": 2})
        await eventually(lambda: len(sub.messages) == 2)
    assert sub.payloads == [b'[{"a":1}]', b'{"a":2}']
    assert {m.topic for m in sub.messages} == {topic}
    assert [m.retain for m in sub.messages] == [False, False]


@pytest.mark.parametrize("qos", [1, 2])
async def test_qos_1_and_2_wait_for_the_acknowledgement(mosquitto, eventually, qos):
    topic = unique()
    async with subscriber(mosquitto, topic, qos=2) as sub, \
            connected_sink(server=mosquitto.url, topic=topic, qos=qos) as sink:
        for n in range(50):
            await sink.send_async(b"%d" % n, None)
        # acknowledged by the broker: nothing is left waiting
        assert sink._hold.session._storage.waiters == {}
        await eventually(lambda: len(sub.messages) == 50)
    assert sub.payloads == [b"%d" % n for n in range(50)]
    assert {m.qos for m in sub.messages} == {qos}


async def test_retained_message_reaches_a_later_subscriber(mosquitto, eventually):
    topic = unique()
    async with connected_sink(server=mosquitto.url, topic=topic, retained=True, qos=1) as sink:
        await sink.send_async(b'{"last":true}', None)
    async with subscriber(mosquitto, topic) as sub:
        await eventually(lambda: sub.messages)
    assert sub.messages[0].payload == b'{"last":true}'
    assert sub.messages[0].retain is True


async def test_not_retained_by_default(mosquitto, eventually):
    topic = unique()
    async with connected_sink(server=mosquitto.url, topic=topic, qos=1) as sink:
        await sink.send_async(b"x", None)
    async with subscriber(mosquitto, topic) as sub, connected_sink(server=mosquitto.url, topic=topic) as sink:
        await sink.send_async(b"y", None)
        await eventually(lambda: sub.messages)
    assert sub.payloads == [b"y"]


async def test_topic_data_template(mosquitto, eventually):
    base = unique()
    async with subscriber(mosquitto, f"{base}/#") as sub, \
            connected_sink(server=mosquitto.url, topic=base + "/{{.id}}/data") as sink:
        await sink.send_async(b'{"id":"d1"}', {"id": "d1"})
        await sink.send_async(b'{"id":"d2"}', {"id": "d2"})
        await eventually(lambda: len(sub.messages) == 2)
    assert [m.topic for m in sub.messages] == [f"{base}/d1/data", f"{base}/d2/data"]


async def test_a_topic_template_that_renders_a_wildcard_is_not_sent(mosquitto):
    async with connected_sink(server=mosquitto.url, topic="out/{{.t}}") as sink:
        with pytest.raises(ValueError, match="not a topic name"):
            await sink.send_async(b"{}", {"t": "a/#"})


def test_a_bad_topic_template_is_a_config_error():
    with pytest.raises(SinkConfigError, match="topic: invalid template"):
        MqttSink({"server": "tcp://127.0.0.1:1883", "topic": "out/{{.id"})


async def test_compression_and_mqtt5_user_properties(mosquitto, eventually):
    topic = unique()
    async with subscriber(mosquitto, topic, version=5) as sub, \
            connected_sink(server=mosquitto.url, topic=topic, compression="gzip", protocolVersion="5",
                           properties={"source": "arrokoth"}) as sink:
        await sink.send_async(b'{"a":1}', None)
        await eventually(lambda: sub.messages)
    assert gzip.decompress(sub.messages[0].payload) == b'{"a":1}'
    assert ("source", "arrokoth") in sub.messages[0].properties.get("user_property", [])


async def test_credentials(mosquitto_factory, tmp_path, eventually):
    import subprocess

    passwd = tmp_path / "passwd"
    passwd.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "bob", "pw"], check=True, capture_output=True)
    broker = mosquitto_factory("allow_anonymous false", f"password_file {passwd}")
    async with connected_sink(server=broker.url, topic="x", username="bob", password="pw") as sink:
        assert sink.status == 1
    sink = MqttSink({"server": broker.url, "topic": "x", "username": "bob", "password": "no"})
    try:
        with pytest.raises(SinkSendError, match="(?i)not authori"):
            await sink.connect()
        assert sink.status == -1
        with pytest.raises(SinkSendError):
            await sink.send_async(b"x", None)
    finally:
        await sink.aclose()


async def test_tls(mosquitto_factory, tls_certs, eventually):
    broker = mosquitto_factory(f"cafile {tls_certs.ca}", f"certfile {tls_certs.server_cert}",
                               f"keyfile {tls_certs.server_key}")
    async with connected_sink(server=f"ssl://127.0.0.1:{broker.port}", topic="x",
                              rootCaPath=str(tls_certs.ca)) as sink:
        assert sink.status == 1
        await sink.send_async(b"x", None)


async def test_send_raises_while_the_broker_is_down_and_recovers(mosquitto_factory, eventually):
    broker = mosquitto_factory()
    broker.stop()
    topic = unique()
    sink = MqttSink({"server": broker.url, "topic": topic, "qos": 1})
    try:
        with pytest.raises(SinkSendError, match="connect"):
            await sink.connect()
        assert sink.status == -1 and sink.last_disconnected_message
        with pytest.raises(SinkSendError, match="not connected"):
            await sink.send_async(b"1", None)

        broker.start()
        await eventually(lambda: sink.status == 1, what="redialled")
        await sink.connect()  # idempotent once connected
        async with subscriber(broker, topic, qos=1) as sub:
            await sink.send_async(b"2", None)
            await eventually(lambda: sub.messages)
        assert sub.payloads == [b"2"]

        # lost while running: sends fail at once, so the SinkNode retries or caches
        broker.stop()
        await eventually(lambda: sink.status != 1, what="the loss is noticed")
        with pytest.raises(SinkSendError):
            await sink.send_async(b"3", None)
        assert "lost" in sink.last_disconnected_message
        broker.start()
        await eventually(lambda: sink.status == 1, what="reconnected")
        async with subscriber(broker, topic, qos=1) as sub:
            await sink.send_async(b"4", None)
            await eventually(lambda: sub.messages)
        assert sub.payloads == [b"4"]
    finally:
        await sink.aclose()
    assert sink._hold is None


async def test_send_before_connect_raises():
    sink = MqttSink({"server": "tcp://127.0.0.1:1", "topic": "x"})
    with pytest.raises(SinkSendError):
        await sink.send_async(b"x", None)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"topic": ""}, "topic: mqtt sink is missing property topic"),
        ({"topic": "a/+/b"}, "topic: mqtt sink topic shouldn't contain # or +"),
        ({"topic": "a/#"}, "topic: mqtt sink topic shouldn't contain # or +"),
        ({"qos": 3}, "qos: expected 0, 1 or 2"),
        ({"server": None}, "server: missing"),
        ({"server": "tcp//x"}, "server: "),
        ({"protocolVersion": "2"}, "protocolVersion: expected"),
        ({"retained": "yes"}, "retained: expected true or false"),
        ({"compression": "lz4"}, "compression: unsupported method"),
        ({"properties": ["a"]}, "properties: expected an object"),
        ({"privateKeyPath": "/no/key.pem"}, "privateKeyPath: cannot read"),
    ],
)
def test_bad_properties_name_the_property(props, message):
    with pytest.raises(SinkConfigError) as info:
        MqttSink({"server": "tcp://127.0.0.1:1883", "topic": "out", **props})
    assert message in str(info.value)


def test_defaults_registration_and_shipped_keys():
    sink = MqttSink({"server": "tcp://127.0.0.1:1883", "topic": "out", "clientId": "sink-1"})
    assert (sink.qos, sink.retained, sink.settings.client_id, sink.settings.clean_session) == (0, False, "sink-1", True)
    assert sink.status == 0
    assert sink_class("mqtt") is MqttSink
    assert confkeys.shipped("sinks", "mqtt")["default"] == {"qos": 0, "retained": False}


def test_without_gmqtt_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gmqtt", None)
    with pytest.raises(SinkConfigError, match=r"arrokoth\[mqtt\]"):
        MqttSink({"server": "tcp://127.0.0.1:1883", "topic": "out"})


# --- through the engine: an MQTT stream, a rule, an MQTT action -------------------------------


async def test_a_rule_from_an_mqtt_stream_to_an_mqtt_action(engine, mosquitto, eventually):
    source_topic, base = unique("in"), unique()
    confkeys.put(engine, "sources", "mqtt", "local", {"server": mosquitto.url, "qos": 1})
    engine.create_stream(f'CREATE STREAM demo () WITH (DATASOURCE="{source_topic}", TYPE="mqtt", CONF_KEY="local")')
    action = {"server": mosquitto.url, "topic": base + "/{{.id}}", "qos": 1, "sendSingle": True}
    await engine.create_rule({"id": "r1", "sql": "SELECT id, temperature FROM demo WHERE temperature > 50",
                              "actions": [{"mqtt": action}]})

    def metric(name: str) -> Any:
        return engine.rule_status("r1")[1].get(name)

    await eventually(lambda: metric("sink_mqtt_0_0_connection_status") == 1, what="the action connected")
    assert metric("source_demo_0_connection_status") == 1
    async with subscriber(mosquitto, f"{base}/#", qos=1) as sub:
        publisher = MqttSink({"server": mosquitto.url, "topic": source_topic, "qos": 1})
        await publisher.connect()
        try:
            for i, t in enumerate((40, 60, 70)):
                await publisher.send_async(b'{"id": "d%d", "temperature": %d}' % (i, t), None)
        finally:
            await publisher.aclose()
        await eventually(lambda: len(sub.messages) == 2)
    assert [(m.topic, m.payload) for m in sub.messages] == [
        (f"{base}/d1", b'{"id":"d1","temperature":60}'),
        (f"{base}/d2", b'{"id":"d2","temperature":70}'),
    ]
    await eventually(lambda: metric("sink_mqtt_0_0_records_out_total") == 2)
