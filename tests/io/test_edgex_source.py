"""The EdgeX source against a real mosquitto (tests/conftest.py starts it on a free port).

The test publishes MessageEnvelopes built by hand as EdgeX 2 (base64 payload) and EdgeX 3
(embedded JSON payload) send them, and asserts the rows and meta() of a rule over the
source. Every wait is a condition polled until a deadline (`eventually`).
"""

from __future__ import annotations

import base64
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import gmqtt
import msgspec
import pytest

from arrokoth import confkeys
from arrokoth.engine import EngineError
from arrokoth.io._cbor import dumps as cbor_dumps
from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.sources.base import SourceConfigError
from arrokoth.io.sources.edgex import EdgexSource
from arrokoth.io.sources.registry import source_class
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.builder import attach, build_rule, detach
from arrokoth.runtime.clock import RealClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_mqtt_backoff")]


def unique(prefix: str = "edgex") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:10]}"


def bus(broker, **more: Any) -> dict:
    """The edgex properties of the test broker, as eKuiper spells them."""
    return {"protocol": "tcp", "server": broker.host, "port": broker.port, "type": "mqtt", **more}


# --- EdgeX messages, as EdgeX writes them ------------------------------------------------------


def simple(name: str, value_type: str, value: str, device: str = "dev-1", profile: str = "prof-1") -> dict:
    return {"id": str(uuid.uuid4()), "origin": 1700000000000000001, "deviceName": device, "resourceName": name,
            "profileName": profile, "valueType": value_type, "value": value}


def event(*readings: dict, device: str = "dev-1", source: str = "src-1", **more: Any) -> dict:
    return {"apiVersion": "v3", "id": str(uuid.uuid4()), "deviceName": device, "profileName": "prof-1",
            "sourceName": source, "origin": 1700000000000000000, "readings": list(readings), **more}


def v3_envelope(payload: dict, correlation_id: str = "") -> bytes:
    """EdgeX 3: the event embedded as JSON (EDGEX_MSG_BASE64_PAYLOAD unset)."""
    return msgspec.json.encode({
        "apiVersion": "v3", "receivedTopic": "", "correlationID": correlation_id or str(uuid.uuid4()),
        "requestID": "", "errorCode": 0, "payload": payload, "contentType": "application/json",
    })


def v2_envelope(payload: dict | bytes, content_type: str = "application/json", correlation_id: str = "c-2") -> bytes:
    """EdgeX 2: the payload bytes, which Go's encoding/json writes as base64."""
    raw = payload if isinstance(payload, bytes) else msgspec.json.encode(payload)
    return msgspec.json.encode({"correlationID": correlation_id, "payload": base64.b64encode(raw).decode(),
                                "contentType": content_type})


@contextlib.asynccontextmanager
async def publisher(broker) -> AsyncIterator[Any]:
    client = gmqtt.Client(f"pub-{uuid.uuid4().hex[:12]}")
    await client.connect(broker.host, broker.port, version=4)
    try:
        yield client
    finally:
        await client.disconnect()


# --- a rule over the source ----------------------------------------------------------------------


def stream(datasource: str = "", **options: str) -> StreamDef:
    opts = ", ".join([*([f'DATASOURCE="{datasource}"'] if datasource else []), 'TYPE="edgex"', 'FORMAT="JSON"',
                      *(f'{k}="{v}"' for k, v in options.items())])
    sql = f"CREATE STREAM demo () WITH ({opts})"
    return StreamDef.from_ast(parse(sql), sql)


@dataclass
class Running:
    source: EdgexSource
    out: list[dict]
    errors: list[str]


@contextlib.asynccontextmanager
async def running(sql: str, props: dict, d: StreamDef | None = None) -> AsyncIterator[Running]:
    d = d or stream()
    clock = RealClock()
    feed = StreamFeed(d, clock)
    out: list[dict] = []
    errors: list[str] = []
    runtime = build_rule("r1", sql, {"demo": d}, out.extend, clock)
    feeds = {"demo": feed}
    attach(runtime, feeds)
    runtime.start()
    feed._subscribers = [(ingest, index, lambda message, _e=on_error: (errors.append(message), _e(message)), et)
                         for ingest, index, on_error, et in feed._subscribers]
    source = EdgexSource(d, props, feed)
    await source.start()
    try:
        yield Running(source, out, errors)
    finally:
        await source.stop()
        detach(runtime, feeds)
        runtime.stop()


async def connected(eventually, source: EdgexSource) -> None:
    await eventually(lambda: source.status == 1, what=f"connected: {source.last_disconnected_message}")


# --- receiving ------------------------------------------------------------------------------------


async def test_v3_events_become_rows_typed_by_value_type(mosquitto, eventually):
    topic = unique()
    readings = [simple("temperature", "Float64", "2.55e+01"), simple("count", "Int32", "-7"),
                simple("on", "Bool", "true"), simple("name", "String", "pump 1"),
                simple("big", "Uint64", "18446744073709551615"), simple("levels", "Int16Array", "[1, 2]"),
                {**simple("shape", "Object", ""), "objectValue": {"w": 2, "h": "x"}}]
    for r in readings[-1:]:
        del r["value"]
    sql = "SELECT * FROM demo"
    async with running(sql, bus(mosquitto, topic=topic)) as r, publisher(mosquitto) as pub:
        await connected(eventually, r.source)
        pub.publish(topic, v3_envelope(event(*readings)))
        await eventually(lambda: r.out)
    assert r.out == [{"temperature": 25.5, "count": -7, "on": True, "name": "pump 1",
                      "big": 18446744073709551615, "levels": [1, 2], "shape": {"w": 2.0, "h": "x"}}]
    assert r.source.records_in == 1


async def test_v2_base64_envelopes_and_their_meta(mosquitto, eventually):
    topic = unique()
    e = event(simple("temperature", "Int64", "30"), {**simple("img", "Binary", ""), "binaryValue": "AAE=",
                                                     "mediaType": "image/png"}, tags={"site": "north"})
    sql = ("SELECT temperature, img, meta(deviceName) AS dev, meta(sourceName) AS src, meta(origin) AS origin, "
           "meta(tags) AS tags, meta(correlationid) AS cid, meta(id) AS id, meta(temperature) AS tmeta, "
           "meta(img) AS imeta FROM demo")
    async with running(sql, bus(mosquitto, topic=topic)) as r, publisher(mosquitto) as pub:
        await connected(eventually, r.source)
        pub.publish(topic, v2_envelope(e, correlation_id="corr-9"))
        await eventually(lambda: r.out)
    row = r.out[0]
    assert row["temperature"] == 30 and row["img"] == b"\x00\x01"
    assert (row["dev"], row["src"], row["origin"], row["tags"], row["cid"], row["id"]) == \
        ("dev-1", "src-1", 1700000000000000000, {"site": "north"}, "corr-9", e["id"])
    reading = e["readings"][0]
    assert row["tmeta"] == {"id": reading["id"], "origin": 1700000000000000001, "deviceName": "dev-1",
                            "profileName": "prof-1", "valueType": "Int64"}
    assert row["imeta"]["mediaType"] == "image/png"


async def test_filters_and_wildcard_topics_from_the_datasource(mosquitto, eventually):
    base = unique()
    # no topic property: the DATASOURCE names the topic filter
    props = bus(mosquitto)
    sql = "SELECT temperature, meta(deviceName) AS dev FROM demo WHERE temperature > 20"
    async with running(sql, props, stream(f"{base}/#")) as r, publisher(mosquitto) as pub:
        await connected(eventually, r.source)
        for i, t in enumerate(("10", "25", "30")):
            pub.publish(f"{base}/dev-{i}", v3_envelope(event(simple("temperature", "Float64", t), device=f"dev-{i}")))
        await eventually(lambda: len(r.out) == 2)
    assert r.out == [{"temperature": 25.0, "dev": "dev-1"}, {"temperature": 30.0, "dev": "dev-2"}]


async def test_request_messages_from_device_services(mosquitto, eventually):
    topic = unique("edgex/events/device")
    good = {"apiVersion": "v3", "requestId": str(uuid.uuid4()), "event": event(simple("Int16", "int16", "-8586"))}
    binary = {"apiVersion": "v3", "requestId": str(uuid.uuid4()),
              "event": event({**simple("image", "Binary", ""), "binaryValue": b"\x89PNG", "mediaType": "image/png"})}
    invalid = {"apiVersion": "v3", "event": {**event(simple("x", "Int8", "999"))}}
    sql = "SELECT *, meta(Int16) AS m FROM demo"
    async with running(sql, bus(mosquitto, topic=topic, messageType="request")) as r, publisher(mosquitto) as pub:
        await connected(eventually, r.source)
        pub.publish(topic, v3_envelope(invalid))
        pub.publish(topic, v3_envelope(good))
        pub.publish(topic, v2_envelope(cbor_dumps(binary), content_type="application/cbor"))
        await eventually(lambda: len(r.out) == 2)
    assert r.out[0]["Int16"] == -8586 and r.out[0]["m"]["valueType"] == "Int16"  # normalised
    assert r.out[1] == {"image": b"\x89PNG"}  # m is null: left out
    # the invalid request was dropped and counted, as eKuiper logs it; no error reached the rule
    assert r.source.exceptions == 1 and "Int8 valueType" in r.source.last_exception
    assert r.errors == []


async def test_bad_messages(mosquitto, eventually):
    topic = unique()
    async with running("SELECT * FROM demo", bus(mosquitto, topic=topic)) as r, publisher(mosquitto) as pub:
        await connected(eventually, r.source)
        pub.publish(topic, b"not an envelope")
        pub.publish(topic, v2_envelope(b"{}", content_type="text/plain"))
        pub.publish(topic, v3_envelope(event(simple("a", "Int64", "oops"))))
        pub.publish(topic, v3_envelope(event(simple("a", "Int64", "oops"), simple("b", "Bool", "t"))))
        await eventually(lambda: r.out)
        await eventually(lambda: r.source.exceptions == 3)
    # a message that is no envelope is an error of the rule; the others are only logged and counted
    assert len(r.errors) == 1 and "not an EdgeX message envelope" in r.errors[0]
    assert r.out == [{"b": True}]


async def test_reconnects_after_the_broker_restarts(mosquitto_factory, eventually):
    broker = mosquitto_factory()
    topic = unique()
    async with running("SELECT * FROM demo", bus(broker, topic=topic, optional={"Qos": "1"})) as r:
        await connected(eventually, r.source)
        broker.stop()
        await eventually(lambda: r.source.status != 1, what="the loss noticed")
        broker.start()
        await connected(eventually, r.source)
        async with publisher(broker) as pub:
            pub.publish(topic, v3_envelope(event(simple("n", "Int64", "1"))), qos=1)
            await eventually(lambda: r.out)
    assert r.out == [{"n": 1}]


async def test_credentials_from_optional(mosquitto_factory, tmp_path, eventually):
    import subprocess

    passwords = tmp_path / "passwd"
    passwords.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "edgex", "s3cret"], check=True)
    broker = mosquitto_factory(f"password_file {passwords}", "allow_anonymous false")
    topic = unique()
    props = bus(broker, topic=topic, optional={"username": "edgex", "Password": "s3cret", "ClientId": "kuiper-1"})
    async with running("SELECT * FROM demo", props) as r:
        await connected(eventually, r.source)
        assert r.source.settings.mqtt.client_id == "kuiper-1"
    props["optional"]["Password"] = "wrong"
    with pytest.raises(ConnectionCheckError, match="bad user name or password|not authorised"):
        await EdgexSource.ping(props, 5)
    props["optional"]["Password"] = "s3cret"
    await EdgexSource.ping(props, 5)


# --- properties and ping --------------------------------------------------------------------------


@pytest.mark.parametrize(("props", "message"), [
    ({"type": "redis"}, "type: the redis message bus is not supported"),
    ({"protocol": "redis"}, "protocol:"),
    ({"port": -1}, "port: specified wrong port value"),
    ({"port": "abc"}, "port:"),
    ({"messageType": "Event"}, "messageType:"),
    ({"optional": "x"}, "optional: invalid optional config"),
    ({"optional": {"Qos": "3"}}, "optional.Qos"),
    ({"optional": {"CleanSession": "maybe"}}, "optional.CleanSession"),
    ({"optional": {"CertFile": "/nonexistent.pem"}}, "optional.CertFile"),
    ({"topic": "a/#/b"}, "topic:"),
])
def test_bad_properties_name_the_property(props, message):
    with pytest.raises(SourceConfigError, match=message):
        EdgexSource(stream(), {"server": "localhost", **props}, StreamFeed(stream(), RealClock()))


def test_a_missing_client_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gmqtt", None)  # import gmqtt now raises ImportError
    with pytest.raises(SourceConfigError, match=r"pip install 'arrokoth\[edgex\]'"):
        EdgexSource(stream(), {}, StreamFeed(stream(), RealClock()))


def test_defaults_match_ekuiper():
    d = stream()
    source = EdgexSource(d, confkeys.shipped("sources", "edgex")["default"], StreamFeed(d, RealClock()))
    assert source.topic == "rules-events" and source.message_type == "event"
    assert source.settings.mqtt.server == "tcp://localhost:1883" and source.settings.qos == 0
    bare = EdgexSource(d, {}, StreamFeed(d, RealClock()))
    assert bare.topic == "rules-events" and bare.settings.mqtt.server == "tcp://localhost:1883"
    # host wins over server; a full URL in server is taken as it is; ssl selects TLS
    hosted = EdgexSource(d, {"host": "h1", "server": "h2", "port": "1"}, StreamFeed(d, RealClock()))
    assert hosted.settings.mqtt.server == "tcp://h1:1"
    assert EdgexSource(d, {"server": "tcp://b:1884"}, StreamFeed(d, RealClock())).settings.mqtt.port == 1884
    tls = EdgexSource(d, {"protocol": "ssl", "port": 8883, "optional": {"SkipCertVerify": "true"}},
                      StreamFeed(d, RealClock()))
    assert tls.settings.mqtt.tls is not None
    assert source_class("edgex") is EdgexSource


async def test_ping(mosquitto, closed_port):
    await EdgexSource.ping(bus(mosquitto), 5)
    with pytest.raises(ConnectionCheckError, match="connection refused"):
        await EdgexSource.ping({"server": "127.0.0.1", "port": closed_port}, 5)
    with pytest.raises(ConnectionCheckError, match="type:"):
        await EdgexSource.ping({"type": "zero"}, 5)


# --- through the engine ---------------------------------------------------------------------------


async def test_a_rule_over_an_edgex_stream(engine, mosquitto, eventually):
    from arrokoth.io.memory_bus import bus as memory_bus

    topic, out_topic = unique(), unique("edgex-out")
    got: list[dict] = []
    token = memory_bus.subscribe(out_topic, lambda t, rows: got.extend(rows))
    try:
        confkeys.put(engine, "sources", "edgex", "local", bus(mosquitto, topic=topic))
        engine.create_stream('CREATE STREAM events () WITH (FORMAT="JSON", TYPE="edgex", CONF_KEY="local")')
        await engine.create_rule({"id": "r1", "actions": [{"memory": {"topic": out_topic}}],
                                  "sql": "SELECT temperature * 2 AS t, meta(deviceName) AS dev FROM events"})
        await eventually(lambda: engine.rule_status("r1")[1].get("source_events_0_connection_status") == 1,
                         what="the source connected")
        async with publisher(mosquitto) as pub:
            pub.publish(topic, v3_envelope(event(simple("temperature", "Float64", "2.1e+01"))))
            await eventually(lambda: got)
    finally:
        memory_bus.unsubscribe(token)
    assert got == [{"t": 42.0, "dev": "dev-1"}]
    engine.create_stream('CREATE STREAM z () WITH (TYPE="edgex", CONF_KEY="zmq")')
    confkeys.put(engine, "sources", "edgex", "zmq", {"type": "zero"})
    with pytest.raises(EngineError, match="type: the zero message bus"):
        await engine.create_rule({"id": "r2", "sql": "SELECT * FROM z", "actions": [{"nop": {}}]})
