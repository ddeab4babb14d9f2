"""The EdgeX sink against a real mosquitto (tests/conftest.py starts it on a free port).

The sink is driven through its AsyncSink protocol and inside rules of a real Engine; a
gmqtt client of the test subscribes and decodes the MessageEnvelopes that arrive. The
round trip runs edgex sink → broker → edgex source.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import gmqtt
import msgspec
import pytest

from arrokoth import confkeys
from arrokoth.engine import EngineError
from arrokoth.io._cbor import loads as cbor_loads
from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.memory_bus import bus as memory_bus
from arrokoth.io.sinks.base import SinkConfigError, SinkNode, SinkSendError
from arrokoth.io.sinks.edgex import EdgexSink
from arrokoth.io.sinks.registry import sink_class

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_mqtt_backoff")]


def unique(prefix: str = "edgex-out") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:10]}"


def bus(broker, **more: Any) -> dict:
    return {"protocol": "tcp", "server": broker.host, "port": broker.port, "type": "mqtt", **more}


@dataclass
class Message:
    topic: str
    envelope: dict
    retain: bool
    qos: int

    @property
    def payload(self) -> bytes:
        return base64.b64decode(self.envelope["payload"])

    @property
    def event(self) -> dict:
        return msgspec.json.decode(self.payload)


@dataclass
class Subscriber:
    messages: list[Message] = field(default_factory=list)

    @property
    def events(self) -> list[dict]:
        return [m.event for m in self.messages]


@contextlib.asynccontextmanager
async def subscriber(broker, topic: str, qos: int = 0) -> AsyncIterator[Subscriber]:
    client = gmqtt.Client(f"sub-{uuid.uuid4().hex[:12]}")
    sub = Subscriber()
    client.on_message = lambda cl, t, payload, q, props: sub.messages.append(
        Message(t, msgspec.json.decode(payload), bool(props.get("retain")), q)
    )
    acked = asyncio.Event()
    client.on_subscribe = lambda cl, mid, granted, props: acked.set()
    await client.connect(broker.host, broker.port, version=4)
    client.subscribe(topic, qos=qos)
    await asyncio.wait_for(acked.wait(), 10)
    try:
        yield sub
    finally:
        await client.disconnect()


@contextlib.asynccontextmanager
async def connected_sink(rule_id: str = "rule7", **props: Any) -> AsyncIterator[EdgexSink]:
    sink = EdgexSink(props)
    SinkNode(sink, props, rule_id=rule_id)  # the node tells the sink its rule
    await sink.connect()
    try:
        yield sink
    finally:
        await sink.aclose()


def readings(event: dict) -> list[tuple[str, str, Any]]:
    out = []
    for r in event["readings"]:
        value = r.get("value", r.get("objectValue", r.get("binaryValue")))
        out.append((r["resourceName"], r["valueType"], value))
    return out


# --- the sink protocol ------------------------------------------------------------------------------


async def test_publishes_an_event_envelope(mosquitto, eventually):
    topic = unique()
    async with subscriber(mosquitto, topic) as sub, \
            connected_sink(**bus(mosquitto, topic=topic, deviceName="pump", profileName="pumps")) as sink:
        assert sink.wants_rows and sink.status == 1 and sink.rule_id == "rule7"
        await sink.send_async(None, [{"temperature": 25.5, "count": 3, "ok": True, "name": "a b", "nothing": None,
                                      "tags": ["x", "y"], "shape": {"w": 1.0}, "raw": b"\x00\x01"}])
        await eventually(lambda: sub.messages)
    m = sub.messages[0]
    assert m.topic == topic and m.qos == 0 and not m.retain
    env = m.envelope
    assert (env["apiVersion"], env["contentType"], env["correlationID"], env["errorCode"]) == \
        ("v3", "application/json", "", 0)
    event = m.event
    assert (event["apiVersion"], event["deviceName"], event["profileName"], event["sourceName"]) == \
        ("v3", "pump", "pumps", "rule7")
    uuid.UUID(event["id"])
    assert isinstance(event["origin"], int) and "tags" not in event
    assert readings(event) == [
        ("temperature", "Float64", "2.55e+01"), ("count", "Int64", "3"), ("ok", "Bool", "true"),
        ("name", "String", "a b"), ("tags", "StringArray", "[x, y]"), ("shape", "Object", {"w": 1}),
        ("raw", "Binary", "AAE="),
    ]
    assert event["readings"][-1]["mediaType"] == "application/text"
    r = event["readings"][0]
    assert (r["deviceName"], r["profileName"]) == ("pump", "pumps") and isinstance(r["origin"], int)


async def test_defaults_topic_prefix_qos_and_retained(mosquitto, eventually):
    prefix = unique("edgex/events/device")
    props = bus(mosquitto, topicPrefix=prefix, optional={"Qos": "1", "Retained": "true"})
    async with connected_sink("r-prefix", **props) as sink:
        assert (sink.device_name, sink.profile_name, sink.topic) == ("ekuiper", "ekuiperProfile", "")
        await sink.send_async(None, {"a": 1})
    # retained: a later subscriber gets it, on <prefix>/<profileName>/<deviceName>/<sourceName>
    async with subscriber(mosquitto, f"{prefix}/#", qos=1) as sub:
        await eventually(lambda: sub.messages)
    m = sub.messages[0]
    assert m.topic == f"{prefix}/ekuiperProfile/ekuiper/r-prefix" and m.retain and m.qos == 1
    assert readings(m.event) == [("a", "Int64", "1")]


async def test_default_topic_is_application(mosquitto, eventually):
    async with subscriber(mosquitto, "application") as sub, connected_sink(**bus(mosquitto)) as sink:
        await sink.send_async(None, {"n": 1})
        await eventually(lambda: sub.messages)
    assert sub.messages[0].topic == "application"


async def test_dynamic_topic_and_metadata(mosquitto, eventually):
    prefix = unique("edgex/events/device")
    meta = {"id": "e-1", "deviceName": "demo", "profileName": "demoProfile", "sourceName": "src", "origin": 1.5e18,
            "tags": {"site": "a"}, "humidity": {"id": "r-h", "origin": 1.6e18, "valueType": "Int32"}}
    props = bus(mosquitto, topicPrefix=prefix, metadata="edgex_meta", messageType="request")
    async with subscriber(mosquitto, f"{prefix}/#") as sub, connected_sink(**props) as sink:
        await sink.send_async(None, [{"t1": 90.0, "humidity": 20.0, "edgex_meta": meta}])
        await sink.send_async(None, [{"t1": 1.0}])
        await eventually(lambda: len(sub.messages) == 2)
    first, second = sub.messages
    assert first.topic == f"{prefix}/demoProfile/demo/src"
    request = first.event
    assert list(request) == ["apiVersion", "requestId", "event"]
    event = request["event"]
    assert (event["id"], event["deviceName"], event["origin"], event["tags"]) == ("e-1", "demo", 1.5e18, {"site": "a"})
    t1, hum = event["readings"]
    assert (t1["resourceName"], t1["deviceName"], t1["profileName"]) == ("t1", "demo", "demoProfile")
    assert (hum["id"], hum["origin"], hum["valueType"], hum["value"]) == ("r-h", 1.6e18, "Int32", "20")
    # no metadata in the row: the configured names, the rule id as sourceName
    assert second.topic == f"{prefix}/ekuiperProfile/ekuiper/rule7"


async def test_a_request_with_binary_is_cbor(mosquitto, eventually):
    topic = unique()
    props = bus(mosquitto, topic=topic, messageType="request", contentType="application/cbor")
    async with subscriber(mosquitto, topic) as sub, connected_sink(**props) as sink:
        await sink.send_async(None, {"img": b"\x89PNG"})
        await eventually(lambda: sub.messages)
    m = sub.messages[0]
    assert m.envelope["contentType"] == "application/cbor"
    request = cbor_loads(m.payload)
    assert request["event"]["readings"][0]["binaryValue"] == b"\x89PNG"


async def test_a_result_that_is_no_object_is_not_resent(mosquitto):
    async with connected_sink(**bus(mosquitto, topic=unique())) as sink:
        with pytest.raises(ValueError, match="Failed to convert to EdgeX event"):
            await sink.send_async(None, "plain text")


async def test_sends_fail_recoverably_while_the_bus_is_down(mosquitto_factory):
    broker = mosquitto_factory()
    sink = EdgexSink(bus(broker, topic="t"))
    with pytest.raises(SinkSendError):
        await sink.send_async(None, {"a": 1})
    await sink.connect()
    broker.stop()
    try:
        with pytest.raises(SinkSendError):
            for _ in range(200):  # until the loss is noticed
                await sink.send_async(None, {"a": 1})
                await asyncio.sleep(0.01)
    finally:
        await sink.aclose()
    refused = EdgexSink(bus(broker, topic="t"))
    try:
        with pytest.raises(SinkSendError, match="not connected"):
            await refused.connect()
    finally:
        await refused.aclose()


# --- properties and ping -------------------------------------------------------------------------------


@pytest.mark.parametrize(("props", "message"), [
    ({"messageType": "other"}, "messageType: specified wrong messageType value other"),
    ({"contentType": "application/cbor"}, "only 'application/json' is supported if messageType is event"),
    ({"topic": "a", "topicPrefix": "b"}, "not allow to specify both topic and topicPrefix"),
    ({"topic": "a/#"}, "topic:"),
    ({"deviceName": 5}, "deviceName:"),
    ({"type": "redis"}, "type:"),
    ({"optional": {"Retained": "sometimes"}}, "optional.Retained"),
    ({"optional": {"KeepAlive": "x"}}, "optional.KeepAlive"),
])
def test_bad_properties_name_the_property(props, message):
    with pytest.raises(SinkConfigError, match=message):
        EdgexSink(props)


def test_request_may_use_any_content_type_and_registry():
    assert EdgexSink({"messageType": "request", "contentType": "application/cbor"}).content_type == "application/cbor"
    assert sink_class("edgex") is EdgexSink
    assert EdgexSink({"optional": {"KeepAlive": "5"}}).settings.mqtt.keepalive == 5


async def test_ping(mosquitto, closed_port):
    await EdgexSink.ping(bus(mosquitto, topic="x"), 5)
    with pytest.raises(ConnectionCheckError, match="connection refused"):
        await EdgexSink.ping({"server": "127.0.0.1", "port": closed_port}, 5)
    with pytest.raises(ConnectionCheckError, match="messageType"):
        await EdgexSink.ping({"messageType": "x"}, 5)


# --- through the engine ----------------------------------------------------------------------------------


async def connected_action(engine, eventually, rule_id: str) -> None:
    await eventually(lambda: engine.rule_status(rule_id)[1].get("sink_edgex_0_0_connection_status") == 1,
                     what=f"the edgex action of {rule_id} connected")


async def test_a_rule_writes_edgex_events(engine, mosquitto, eventually):
    source, topic = unique("in"), unique()
    engine.create_stream(f'CREATE STREAM demo () WITH (DATASOURCE="{source}", TYPE="memory", FORMAT="JSON")')
    action = {**bus(mosquitto, topic=topic), "deviceName": "kuiper", "profileName": "kuiperProfile"}
    templated = {**bus(mosquitto, topic=topic + "/t"), "dataTemplate": '{"t3": {{.t}}, "label": "{{.id}}"}',
                 "sendSingle": True}
    await engine.create_rule({"id": "rule1", "sql": "SELECT id, temperature * 3 AS t, humidity FROM demo",
                              "actions": [{"edgex": action}, {"edgex": templated}]})
    await connected_action(engine, eventually, "rule1")
    async with subscriber(mosquitto, f"{topic}/t") as templ, subscriber(mosquitto, topic) as sub:
        memory_bus.publish(source, [{"id": "d1", "temperature": 10, "humidity": 40}])
        await eventually(lambda: sub.messages and templ.messages)
    event = sub.events[0]
    assert (event["deviceName"], event["profileName"], event["sourceName"]) == ("kuiper", "kuiperProfile", "rule1")
    assert readings(event) == [("id", "String", "d1"), ("t", "Int64", "30"), ("humidity", "Int64", "40")]
    # the template's JSON numbers decode as float64, as in eKuiper
    assert readings(templ.events[0]) == [("t3", "Float64", "3e+01"), ("label", "String", "d1")]


async def test_round_trip_edgex_sink_to_edgex_source(engine, mosquitto, eventually):
    source, bus_topic, out = unique("in"), unique("edgex/events"), unique("out")
    got: list[dict] = []
    token = memory_bus.subscribe(out, lambda t, rows: got.extend(rows))
    try:
        engine.create_stream(f'CREATE STREAM raw () WITH (DATASOURCE="{source}", TYPE="memory", FORMAT="JSON")')
        confkeys.put(engine, "sources", "edgex", "loop", bus(mosquitto, topic=bus_topic))
        engine.create_stream('CREATE STREAM events () WITH (TYPE="edgex", CONF_KEY="loop")')
        await engine.create_rule({"id": "reader", "actions": [{"memory": {"topic": out}}],
                                  "sql": "SELECT *, meta(deviceName) AS dev, meta(sourceName) AS src FROM events"})
        await engine.create_rule({"id": "writer", "sql": "SELECT * FROM raw",
                                  "actions": [{"edgex": {**bus(mosquitto, topic=bus_topic), "deviceName": "d9"}}]})
        await connected_action(engine, eventually, "writer")
        await eventually(lambda: engine.rule_status("reader")[1].get("source_events_0_connection_status") == 1)
        row = {"f": 1.25, "i": 7, "b": False, "s": "x", "arr": [1.5, 2.5], "obj": {"k": "v"}}
        memory_bus.publish(source, [row])
        await eventually(lambda: got)
    finally:
        memory_bus.unsubscribe(token)
    assert got == [{"f": 1.25, "i": 7, "b": False, "s": "x", "arr": [1.5, 2.5], "obj": {"k": "v"},
                    "dev": "d9", "src": "writer"}]


async def test_a_rule_with_a_bad_edgex_action_is_refused(engine):
    engine.create_stream('CREATE STREAM s () WITH (DATASOURCE="x", TYPE="memory", FORMAT="JSON")')
    with pytest.raises(EngineError, match="fail to create sink edgex: messageType"):
        await engine.create_rule({"id": "bad", "sql": "SELECT * FROM s", "actions": [{"edgex": {"messageType": "x"}}]})


async def test_round_trip_on_one_named_edgex_connection(engine, mosquitto, eventually):
    source, bus_topic, out = unique("in"), unique("edgex/events"), unique("out")
    got: list[dict] = []
    token = memory_bus.subscribe(out, lambda t, rows: got.extend(rows))
    try:
        await engine.connections.create({"id": "bus1", "typ": "edgex", "props": bus(mosquitto)})
        engine.create_stream(f'CREATE STREAM raw () WITH (DATASOURCE="{source}", TYPE="memory", FORMAT="JSON")')
        confkeys.put(engine, "sources", "edgex", "onbus", {"connectionSelector": "bus1", "topic": bus_topic})
        engine.create_stream('CREATE STREAM events () WITH (TYPE="edgex", CONF_KEY="onbus")')
        await engine.create_rule({"id": "reader", "actions": [{"memory": {"topic": out}}], "sql": "SELECT * FROM events"})
        await engine.create_rule({"id": "writer", "sql": "SELECT * FROM raw", "actions": [
            {"edgex": {"connectionSelector": "bus1", "topic": bus_topic, "deviceName": "d9"}}]})
        await connected_action(engine, eventually, "writer")
        # the source is named after the connection and its data source (spec §3.4)
        status = "source_bus1/_0_connection_status"
        await eventually(lambda: engine.rule_status("reader")[1].get(status) == 1)
        memory_bus.publish(source, [{"i": 7}])
        await eventually(lambda: got)
    finally:
        memory_bus.unsubscribe(token)
    assert got == [{"i": 7}]
    # one session for both rules: no client of their own in the pool
    described = await engine.connections.list(force_all=True)
    assert [(c["id"], c["refCount"]) for c in described] == [("bus1", 2)]
