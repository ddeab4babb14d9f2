"""The MQTT source against a real mosquitto (tests/conftest.py starts it on a free port).

Rules are built with `build_rule` over a `StreamFeed` fed by the source, or run by a real
Engine. Messages are published by a gmqtt client of the test; every wait is a condition
polled until a deadline (`eventually`).
"""

from __future__ import annotations

import asyncio
import base64
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
from arrokoth.engine import EngineError
from arrokoth.functions import jsonvalue
from arrokoth.io.sources.base import SourceConfigError
from arrokoth.io.sources.mqtt import MqttSource
from arrokoth.io.sources.registry import source_class
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.builder import attach, build_rule, detach
from arrokoth.runtime.clock import RealClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_mqtt_backoff")]


def unique(prefix: str = "t") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:10]}"


# --- a test client ------------------------------------------------------------------------


@dataclass
class Received:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass
class Peer:
    """A gmqtt client of the test: publishes, and records what its subscriptions receive."""

    client: Any
    messages: list[Received] = field(default_factory=list)

    def publish(self, topic: str, payload: Any, qos: int = 0, retain: bool = False) -> None:
        if not isinstance(payload, bytes | str):
            payload = jsonvalue.encode(payload)
        self.client.publish(topic, payload, qos=qos, retain=retain)

    async def subscribe(self, topic: str, qos: int = 0) -> None:
        acked = asyncio.Event()
        self.client.on_subscribe = lambda client, mid, granted, props: acked.set()
        self.client.subscribe(topic, qos=qos)
        await asyncio.wait_for(acked.wait(), 10)


@contextlib.asynccontextmanager
async def peer(broker, *, version: int = 4, username: str | None = None, password: str | None = None,
               ssl: Any = False) -> AsyncIterator[Peer]:
    client = gmqtt.Client(f"peer-{uuid.uuid4().hex[:12]}")
    p = Peer(client)
    client.on_message = lambda cl, topic, payload, qos, props: p.messages.append(
        Received(topic, payload, qos, bool(props.get("retain")))
    )
    if username:
        client.set_auth_credentials(username, password)
    await client.connect(broker.host, broker.port, ssl=ssl, version=version)
    try:
        yield p
    finally:
        await client.disconnect()


# --- a rule over the source ---------------------------------------------------------------


def stream(datasource: str, columns: str = "", **options: str) -> StreamDef:
    opts = ", ".join([f'DATASOURCE="{datasource}"', 'TYPE="mqtt"', *(f'{k}="{v}"' for k, v in options.items())])
    sql = f"CREATE STREAM demo ({columns}) WITH ({opts})"
    return StreamDef.from_ast(parse(sql), sql)


@dataclass
class Running:
    source: MqttSource
    out: list[dict]
    feed: StreamFeed
    errors: list[str]


@contextlib.asynccontextmanager
async def running(sql: str, d: StreamDef, props: dict) -> AsyncIterator[Running]:
    clock = RealClock()
    feed = StreamFeed(d, clock)
    out: list[dict] = []
    runtime = build_rule("r1", sql, {"demo": d}, out.extend, clock)
    feeds = {"demo": feed}
    attach(runtime, feeds)
    runtime.start()
    source = MqttSource(d, props, feed)
    await source.start()
    try:
        yield Running(source, out, feed, [])
    finally:
        await source.stop()
        detach(runtime, feeds)
        runtime.stop()


async def connected(eventually, source: MqttSource) -> None:
    await eventually(lambda: source.status == 1, what=f"connected: {source.last_disconnected_message}")


# --- receiving ------------------------------------------------------------------------------


async def test_json_payloads_reach_the_rule(mosquitto, eventually):
    topic = unique()
    d = stream(topic)
    async with running("SELECT * FROM demo WHERE temperature > 50", d, {"server": mosquitto.url}) as r:
        assert r.source.status == 1
        assert r.source.last_connected > 0
        async with peer(mosquitto) as p:
            p.publish(topic, {"temperature": 20, "id": 1})
            p.publish(topic, {"temperature": 60, "id": 2})
            p.publish(topic, [{"temperature": 70, "id": 3}, {"temperature": 10, "id": 4}])
            await eventually(lambda: len(r.out) == 2, what="two rows")
    assert r.out == [{"temperature": 60.0, "id": 2.0}, {"temperature": 70.0, "id": 3.0}]
    assert r.source.records_in == 4


async def test_declared_columns_are_typed(mosquitto, eventually):
    topic = unique()
    d = stream(topic, "id bigint, name string")
    async with (
        running("SELECT id, name FROM demo", d, {"server": mosquitto.url}) as r,
        peer(mosquitto) as p,
    ):
        p.publish(topic, {"id": 7, "name": "x", "extra": True})
        await eventually(lambda: r.out)
    assert r.out == [{"id": 7, "name": "x"}]
    assert type(r.out[0]["id"]) is int


async def test_meta_topic_qos_and_messageid(mosquitto, eventually):
    base = unique()
    sql = "SELECT v, meta(topic) AS topic, meta(qos) AS qos, meta(messageid) AS mid FROM demo"
    async with (
        running(sql, stream(f"{base}/#"), {"server": mosquitto.url, "qos": 1}) as r,
        peer(mosquitto) as p,
    ):
        p.publish(f"{base}/a", {"v": 1}, qos=0)
        p.publish(f"{base}/b/c", {"v": 2}, qos=1)
        p.publish(f"{base}/b/c", {"v": 3}, qos=1)
        await eventually(lambda: len(r.out) == 3)
    by_v = {row["v"]: row for row in r.out}
    assert by_v[1] == {"v": 1.0, "topic": f"{base}/a", "qos": 0, "mid": 0}
    assert (by_v[2]["topic"], by_v[2]["qos"]) == (f"{base}/b/c", 1)
    assert by_v[2]["mid"] > 0 and by_v[3]["mid"] > 0 and by_v[2]["mid"] != by_v[3]["mid"]


async def test_meta_star_gives_the_whole_metadata(mosquitto, eventually):
    topic = unique()
    async with (
        running("SELECT meta(*) AS m FROM demo", stream(topic), {"server": mosquitto.url}) as r,
        peer(mosquitto) as p,
    ):
        p.publish(topic, {"v": 1})
        await eventually(lambda: r.out)
    assert r.out == [{"m": {"topic": topic, "qos": 0, "messageid": 0}}]


async def test_single_level_and_multi_level_wildcards(mosquitto, eventually):
    base = unique()
    plus = stream(f"{base}/+/temp")
    async with (
        running("SELECT meta(topic) AS t FROM demo", plus, {"server": mosquitto.url}) as r,
        peer(mosquitto) as p,
    ):
        for t in (f"{base}/a/temp", f"{base}/a/b/temp", f"{base}/b/temp", f"{base}/b/hum"):
            p.publish(t, {"v": 1})
        p.publish(f"{base}/end", {"v": 0})  # not matched: its arrival is not waited for
        await eventually(lambda: len(r.out) >= 2)
    assert sorted(row["t"] for row in r.out) == [f"{base}/a/temp", f"{base}/b/temp"]

    hash_ = stream(f"{base}/#")
    async with (
        running("SELECT meta(topic) AS t FROM demo", hash_, {"server": mosquitto.url}) as r,
        peer(mosquitto) as p,
    ):
        for t in (f"{base}", f"{base}/x", f"{base}/x/y/z"):
            p.publish(t, {"v": 1})
        p.publish(f"{unique()}/x", {"v": 1})
        await eventually(lambda: len(r.out) >= 3)
    assert sorted(row["t"] for row in r.out) == [base, f"{base}/x", f"{base}/x/y/z"]


async def test_several_topics_separated_by_commas(mosquitto, eventually):
    a, b = unique(), unique()
    async with (
        running("SELECT meta(topic) AS t FROM demo", stream(f"{a},{b}"), {"server": mosquitto.url}) as r,
        peer(mosquitto) as p,
    ):
        p.publish(a, {"v": 1})
        p.publish(b, {"v": 2})
        await eventually(lambda: len(r.out) == 2)
    assert sorted(row["t"] for row in r.out) == sorted([a, b])


async def test_shared_subscription_splits_the_messages(mosquitto, eventually):
    topic = unique()
    shared = stream(f"$share/g1/{topic}")
    props = {"server": mosquitto.url}
    async with (
        running("SELECT n FROM demo", shared, props) as one,
        running("SELECT n FROM demo", shared, props) as two,
        running("SELECT n FROM demo", stream(topic), props) as everyone,
        peer(mosquitto) as p,
    ):
        for n in range(20):
            p.publish(topic, {"n": n})
        await eventually(lambda: len(everyone.out) == 20 and len(one.out) + len(two.out) == 20)
    got = sorted(row["n"] for row in one.out + two.out)
    assert got == [float(n) for n in range(20)]
    # mosquitto hands shared messages round-robin: both members get some
    assert one.out and two.out


async def test_qos1_delivers_every_message_in_order(mosquitto, eventually):
    topic = unique()
    async with (
        running("SELECT n, meta(qos) AS q FROM demo", stream(topic), {"server": mosquitto.url, "qos": 1}) as r,
        peer(mosquitto) as p,
    ):
        for n in range(300):
            p.publish(topic, {"n": n}, qos=1)
        await eventually(lambda: len(r.out) == 300)
    assert [row["n"] for row in r.out] == [float(n) for n in range(300)]
    assert {row["q"] for row in r.out} == {1}


async def test_qos2_subscription(mosquitto, eventually):
    topic = unique()
    async with (
        running("SELECT n, meta(qos) AS q FROM demo", stream(topic), {"server": mosquitto.url, "qos": 2}) as r,
        peer(mosquitto) as p,
    ):
        p.publish(topic, {"n": 1}, qos=2)
        await eventually(lambda: r.out)
    assert r.out == [{"n": 1.0, "q": 2}]


async def test_a_burst_is_handed_to_the_feed_in_batches(mosquitto, eventually):
    topic = unique()
    d = stream(topic)
    async with running("SELECT n FROM demo", d, {"server": mosquitto.url, "qos": 0}) as r:
        calls: list[int] = []
        publish_many = r.feed.publish_many

        def counting(msgs, meta=None):
            calls.append(len(msgs))
            publish_many(msgs, meta)

        r.feed.publish_many = counting  # type: ignore[method-assign]
        async with peer(mosquitto) as p:
            for n in range(2000):
                p.publish(topic, {"n": n})
            await eventually(lambda: len(r.out) == 2000)
    assert [row["n"] for row in r.out] == [float(n) for n in range(2000)]
    assert sum(calls) == 2000
    assert max(calls) > 1 and len(calls) < 1000, calls


@pytest.mark.parametrize("version", ["3.1", "3.1.1", "5"])
async def test_protocol_versions(mosquitto, eventually, version):
    topic = unique()
    async with (
        running("SELECT n FROM demo", stream(topic), {"server": mosquitto.url, "protocolVersion": version}) as r,
        peer(mosquitto) as p,
    ):
        p.publish(topic, {"n": 1})
        await eventually(lambda: r.out)
    assert r.out == [{"n": 1.0}]


async def test_invalid_payload_is_an_exception_and_later_ones_still_flow(mosquitto, eventually):
    topic = unique()
    async with (
        running("SELECT n FROM demo", stream(topic), {"server": mosquitto.url}) as r,
        peer(mosquitto) as p,
    ):
        p.publish(topic, {"n": 1})
        p.publish(topic, b"{not json")
        p.publish(topic, {"n": 2})
        await eventually(lambda: len(r.out) == 2)
    assert r.out == [{"n": 1.0}, {"n": 2.0}]
    assert r.source.exceptions == 1
    assert "json" in r.source.last_exception


async def test_gzip_decompression(mosquitto, eventually):
    topic = unique()
    async with (
        running("SELECT n FROM demo", stream(topic), {"server": mosquitto.url, "decompression": "gzip"}) as r,
        peer(mosquitto) as p,
    ):
        p.publish(topic, gzip.compress(b'{"n": 5}'))
        p.publish(topic, b'{"n": 6}')  # not gzip: an exception
        p.publish(topic, gzip.compress(b'{"n": 7}'))
        await eventually(lambda: len(r.out) == 2)
    assert r.out == [{"n": 5.0}, {"n": 7.0}]
    assert "decompress" in r.source.last_exception


# --- connection ----------------------------------------------------------------------------


async def test_username_and_password(mosquitto_factory, tmp_path, eventually):
    import subprocess

    passwd = tmp_path / "passwd"
    passwd.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "alice", "s3cret"], check=True, capture_output=True)
    broker = mosquitto_factory("allow_anonymous false", f"password_file {passwd}")
    topic = unique()
    good = {"server": broker.url, "username": "alice", "password": "s3cret"}
    async with running("SELECT n FROM demo", stream(topic), good) as r:
        assert r.source.status == 1
        async with peer(broker, username="alice", password="s3cret") as p:
            p.publish(topic, {"n": 1})
            await eventually(lambda: r.out)
    assert r.out == [{"n": 1.0}]

    for bad in ({"server": broker.url, "username": "alice", "password": "wrong"}, {"server": broker.url}):
        async with running("SELECT n FROM demo", stream(topic), bad) as r:
            await eventually(lambda: r.source.last_disconnected_message)
            assert r.source.status == -1
            assert "not authori" in r.source.last_disconnected_message.lower()


async def test_tls_with_a_root_ca(mosquitto_factory, tls_certs, eventually):
    broker = mosquitto_factory(f"cafile {tls_certs.ca}", f"certfile {tls_certs.server_cert}",
                               f"keyfile {tls_certs.server_key}")
    server = f"ssl://127.0.0.1:{broker.port}"
    ca_raw = base64.b64encode(tls_certs.ca.read_bytes()).decode()
    variants = [
        {"server": server, "rootCaPath": str(tls_certs.ca)},
        {"server": server, "rootCARaw": ca_raw},
        {"server": server, "insecureSkipVerify": True},
        {"server": f"mqtts://127.0.0.1:{broker.port}", "rootCaPath": str(tls_certs.ca), "tlsMinVersion": "tls1.3"},
    ]
    for props in variants:
        topic = unique()
        async with running("SELECT n FROM demo", stream(topic), props) as r:
            assert r.source.status == 1, (props, r.source.last_disconnected_message)
            ctx = _client_tls(tls_certs)
            async with peer(broker, ssl=ctx) as p:
                p.publish(topic, {"n": 1})
                await eventually(lambda: r.out)
        assert r.out == [{"n": 1.0}]

    # a CA that did not sign the broker's certificate: the dial fails and says why
    untrusted = {"server": server, "rootCaPath": str(tls_certs.other_ca)}
    async with running("SELECT n FROM demo", stream(unique()), untrusted) as r:
        assert r.source.status == -1
        assert "certificate verify failed" in r.source.last_disconnected_message


async def test_tls_with_a_client_certificate(mosquitto_factory, tls_certs, eventually):
    broker = mosquitto_factory(f"cafile {tls_certs.ca}", f"certfile {tls_certs.server_cert}",
                               f"keyfile {tls_certs.server_key}", "require_certificate true")
    server = f"ssl://127.0.0.1:{broker.port}"
    raw = {k: base64.b64encode(p.read_bytes()).decode() for k, p in
           (("certificationRaw", tls_certs.client_cert), ("privateKeyRaw", tls_certs.client_key),
            ("rootCARaw", tls_certs.ca))}
    for props in (
        {"server": server, "rootCaPath": str(tls_certs.ca), "certificationPath": str(tls_certs.client_cert),
         "privateKeyPath": str(tls_certs.client_key)},
        {"server": server, **raw},
        # eKuiper's docs spell it certficationRaw
        {"server": server, **{("certficationRaw" if k == "certificationRaw" else k): v for k, v in raw.items()}},
    ):
        topic = unique()
        async with running("SELECT n FROM demo", stream(topic), props) as r:
            assert r.source.status == 1, (list(props), r.source.last_disconnected_message)
            async with peer(broker, ssl=_client_tls(tls_certs, with_cert=True)) as p:
                p.publish(topic, {"n": 1})
                await eventually(lambda: r.out)

    # without a client certificate the broker refuses the handshake
    no_cert = {"server": server, "rootCaPath": str(tls_certs.ca)}
    async with running("SELECT n FROM demo", stream(unique()), no_cert) as r:
        await eventually(lambda: r.source.status == -1)


def _client_tls(certs, with_cert: bool = False):
    import ssl

    ctx = ssl.create_default_context(cafile=str(certs.ca))
    if with_cert:
        ctx.load_cert_chain(str(certs.client_cert), str(certs.client_key))
    return ctx


async def test_reconnects_after_the_broker_restarts(mosquitto_factory, eventually):
    broker = mosquitto_factory()
    topic = unique()
    async with running("SELECT n FROM demo", stream(topic), {"server": broker.url, "qos": 1}) as r:
        source = r.source
        assert source.status == 1
        first_connected = source.last_connected
        broker.stop()
        await eventually(lambda: source.status in (-1, 0), what="the loss is noticed")
        assert source.last_disconnected >= first_connected
        assert "lost" in source.last_disconnected_message
        await eventually(lambda: source.last_try > source.last_disconnected and source.status == 0,
                         what="redialling")
        broker.start()
        await connected(eventually, source)
        assert source.last_connected >= source.last_disconnected
        # subscribed again on the fresh broker
        async with peer(broker) as p:
            p.publish(topic, {"n": 2}, qos=1)
            await eventually(lambda: r.out)
    assert r.out == [{"n": 2.0}]


async def test_a_broker_that_is_down_at_start_does_not_fail_the_source(mosquitto_factory, eventually):
    broker = mosquitto_factory()
    broker.stop()
    topic = unique()
    async with running("SELECT n FROM demo", stream(topic), {"server": broker.url}) as r:
        assert r.source.status == -1
        assert "connect" in r.source.last_disconnected_message
        broker.start()
        await connected(eventually, r.source)
        async with peer(broker) as p:
            p.publish(topic, {"n": 1})
            await eventually(lambda: r.out)


async def test_a_persistent_session_gets_what_was_sent_while_it_was_away(mosquitto, eventually):
    topic = unique()
    for persistent in (True, False):
        props = {"server": mosquitto.url, "qos": 1, "clientid": f"p-{uuid.uuid4().hex[:12]}",
                 "enableClientSession": persistent}
        async with running("SELECT n FROM demo", stream(topic), props) as r:
            assert r.source.status == 1
        async with peer(mosquitto) as p:
            for n in range(3):
                p.publish(topic, {"n": n}, qos=1)
            await p.subscribe(topic)  # a round trip: the broker has queued them by now
        async with running("SELECT n FROM demo", stream(topic), props) as r, peer(mosquitto) as p:
            p.publish(topic, {"n": 99}, qos=1)
            await eventually(lambda: {"n": 99.0} in r.out)
        if persistent:
            assert r.out == [{"n": 0.0}, {"n": 1.0}, {"n": 2.0}, {"n": 99.0}]
        else:
            assert r.out == [{"n": 99.0}]  # a clean session starts empty


async def test_stop_closes_the_connection(mosquitto, eventually):
    topic = unique()
    async with running("SELECT n FROM demo", stream(topic), {"server": mosquitto.url}) as r:
        session = r.source._hold.session
    assert r.source._hold is None and session.client is None
    async with peer(mosquitto) as p:
        p.publish(topic, {"n": 1})
        await p.subscribe(topic)  # a round trip: the broker has routed the publish by now
    assert r.out == []


# --- configuration --------------------------------------------------------------------------


def make(props: dict, datasource: str = "t/1") -> MqttSource:
    d = stream(datasource)
    return MqttSource(d, props, StreamFeed(d, RealClock()))


@pytest.mark.parametrize(
    ("props", "datasource", "message"),
    [
        ({"qos": 3}, "t", "qos: expected 0, 1 or 2"),
        ({"qos": "high"}, "t", "qos: expected 0, 1 or 2"),
        ({"qos": True}, "t", "qos: expected 0, 1 or 2"),
        ({"server": ""}, "t", "server: missing"),
        ({"server": "127.0.0.1:1883"}, "t", "server: "),
        ({"server": "http://127.0.0.1"}, "t", "server: "),
        ({"server": "ws://127.0.0.1:8083"}, "t", "server: MQTT over websocket"),
        ({"server": "tcp://127.0.0.1:99999"}, "t", "server: "),
        ({"server": "tcp://:1883"}, "t", "server: the host"),
        ({"protocolVersion": "6"}, "t", "protocolVersion: expected"),
        ({"insecureSkipVerify": "maybe"}, "t", "insecureSkipVerify: expected true or false"),
        ({"rootCaPath": "/no/such/ca.pem"}, "t", "rootCaPath: cannot read /no/such/ca.pem"),
        ({"rootCARaw": "%%%"}, "t", "rootCARaw: expected base64"),
        ({"certificationRaw": base64.b64encode(b"nope").decode()}, "t", "certificationRaw"),
        ({"tlsMinVersion": "ssl3"}, "t", "tlsMinVersion: expected"),
        ({"decompression": "lz4"}, "t", "decompression: unsupported method"),
        ({"kubeedgeModelFile": "model.json"}, "t", "kubeedgeModelFile: "),
        ({}, "", "datasource: "),
        ({}, "a/#/b", "datasource: "),
        ({}, "a/b#", "datasource: "),
        ({}, "a/x+/b", "datasource: "),
        ({}, "$share/g", "datasource: "),
        ({}, "$share//t", "datasource: "),
    ],
)
def test_bad_properties_name_the_property(props, datasource, message):
    with pytest.raises(SourceConfigError) as info:
        make({"server": "tcp://127.0.0.1:1883", **props}, datasource)
    assert message in str(info.value)


def test_defaults_and_accepted_spellings():
    s = make({"server": "tcp://broker"})
    assert (s.settings.host, s.settings.port, s.settings.level, s.qos) == ("broker", 1883, 4, 0)
    assert s.settings.tls is None and s.settings.clean_session
    assert len(s.settings.client_id) <= 23
    s = make({"SERVER": "ssl://broker", "QoS": "2", "protocolversion": 5, "ClientId": "me",
              "enableClientSession": "true"})
    assert (s.settings.port, s.settings.level, s.qos, s.settings.client_id) == (8883, 5, 2, "me")
    assert s.settings.tls is not None and not s.settings.clean_session
    assert make({"server": "tcp://b", "protocolVersion": 3.1}).settings.level == 3
    assert make({"server": "tcp://b", "protocolVersion": "4"}).settings.level == 4
    assert make({"server": "mqtt://b:1884"}).settings.port == 1884
    assert make({"server": "tcp://b"}, "a/+/c/#, $share/g/x/#").topics == ["a/+/c/#", "$share/g/x/#"]


def test_registered_and_shipped_defaults():
    assert source_class("mqtt") is MqttSource
    assert confkeys.shipped("sources", "mqtt")["default"] == {"qos": 1, "server": "tcp://127.0.0.1:1883"}


def test_without_gmqtt_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gmqtt", None)  # import gmqtt raises ImportError
    with pytest.raises(SourceConfigError, match=r"arrokoth\[mqtt\]"):
        make({"server": "tcp://127.0.0.1:1883"})


# --- through the engine ---------------------------------------------------------------------


def rule(sql: str, rule_id: str = "r1") -> dict:
    return {"id": rule_id, "sql": sql, "actions": [{"memory": {"topic": f"out/{rule_id}"}}]}


async def test_a_rule_on_an_mqtt_stream_in_the_engine(engine, mosquitto, eventually):
    topic = unique()
    confkeys.put(engine, "sources", "mqtt", "local", {"server": mosquitto.url, "qos": 0})
    engine.create_stream(f'CREATE STREAM demo () WITH (DATASOURCE="{topic}", TYPE="mqtt", CONF_KEY="local")')
    await engine.create_rule(rule("SELECT * FROM demo WHERE temperature > 50"))

    def metric(name: str) -> Any:
        return engine.rule_status("r1")[1].get(name)

    assert metric("source_demo_0_connection_status") == 1
    assert metric("source_demo_0_connection_last_connected_time") > 0
    async with peer(mosquitto) as p:
        for t in (40, 60, 70):
            p.publish(topic, {"temperature": t})
        await eventually(lambda: metric("source_demo_0_records_in_total") == 3)
    await engine.stop_rule("r1")
    assert "demo" not in engine.sources


async def test_bad_properties_fail_rule_creation_with_a_400(engine):
    confkeys.put(engine, "sources", "mqtt", "bad", {"server": "tcp://127.0.0.1:1883", "qos": 5})
    engine.create_stream('CREATE STREAM demo () WITH (DATASOURCE="t", TYPE="mqtt", CONF_KEY="bad")')
    with pytest.raises(EngineError) as info:
        await engine.create_rule(rule("SELECT * FROM demo"))
    assert info.value.status == 400
    assert "qos: expected 0, 1 or 2" in info.value.message
    assert engine.rules == {}


async def test_without_gmqtt_rule_creation_names_the_extra(engine, monkeypatch):
    monkeypatch.setitem(sys.modules, "gmqtt", None)
    engine.create_stream('CREATE STREAM demo () WITH (DATASOURCE="t", TYPE="mqtt")')
    with pytest.raises(EngineError) as info:
        await engine.create_rule(rule("SELECT * FROM demo"))
    assert info.value.status == 400
    assert "pip install 'arrokoth[mqtt]'" in info.value.message
