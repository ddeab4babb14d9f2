"""The mqtt connection type: one broker connection shared by rules, through an outage.

A named connection to mosquitto carries two rules: one reads a topic through it (its
stream's conf key selects the connection), the other publishes through it at QoS 1.
The broker is killed and started again: the connection's status follows, both rules
carry on without a hand on them, and every row reaches its destination.
"""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest

from arrokoth import confkeys
from arrokoth.engine import EngineError
from arrokoth.io.memory_bus import bus
from arrokoth.io.sinks.mqtt import MqttSink

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_mqtt_backoff")]

ROWS = 30


def distinct(payloads: list[bytes]) -> list[bytes]:
    """At-least-once: a row in flight when the broker died may come twice."""
    seen: list[bytes] = []
    for p in payloads:
        if p not in seen:
            seen.append(p)
    return seen


async def test_rules_share_one_connection_through_a_broker_outage(engine, mosquitto_factory, tmp_path, eventually,
                                                                 persistent_subscriber):
    store = tmp_path / "broker"
    store.mkdir()
    # the broker saves its sessions every second, so the test subscriber's survives a SIGKILL
    broker = mosquitto_factory("log_type notice", "persistence true", f"persistence_location {store}/",
                               "autosave_interval 1")
    tag = uuid.uuid4().hex[:8]
    in_topic, out_topic = f"in/{tag}", f"out/{tag}"
    conn_client_id = f"arrokoth-conn-{tag}"

    await engine.connections.create({"id": "conn1", "typ": "mqtt",
                                     "props": {"server": broker.url, "clientid": conn_client_id}})

    async def status() -> dict:
        return await engine.connections.describe("conn1")

    described: dict = {}

    async def poll_status(want) -> None:
        async def check() -> bool:
            described.clear()
            described.update(await status())
            return want(described)
        deadline = asyncio.get_running_loop().time() + 20
        while not await check():
            assert asyncio.get_running_loop().time() < deadline, f"connection status stuck at {described}"
            await asyncio.sleep(0.02)

    await poll_status(lambda d: d["status"] == "connected")

    confkeys.put(engine, "sources", "mqtt", "shared", {"connectionSelector": "conn1", "qos": 1})
    engine.create_stream(f'CREATE STREAM readings () WITH (DATASOURCE="{in_topic}", TYPE="mqtt", CONF_KEY="shared")')
    engine.create_stream(f'CREATE STREAM local () WITH (DATASOURCE="local/{tag}", TYPE="memory")')
    got: list[dict] = []
    bus.subscribe(f"res/{tag}", lambda topic, rows: got.extend(rows))
    await engine.create_rule({"id": "reader", "sql": "SELECT seq FROM readings",
                              "actions": [{"memory": {"topic": f"res/{tag}"}}]})
    await engine.create_rule({"id": "writer", "sql": "SELECT seq FROM local",
                              "actions": [{"mqtt": {"connectionSelector": "conn1", "topic": out_topic, "qos": 1,
                                                    "sendSingle": True}}]})

    def metric(rule: str, name: str):
        return engine.rule_status(rule)[1].get(name)

    # the source's node is named after the connection and the data source (spec §3.4)
    source_status = f"source_conn1/{in_topic}_0_connection_status"
    await eventually(lambda: metric("reader", source_status) == 1, what="the reader subscribed")
    await eventually(lambda: metric("writer", "sink_mqtt_0_0_connection_status") == 1, what="the writer connected")
    assert (await status())["refCount"] == 2

    received: list[bytes] = []
    sub_id, pub_id = f"sub-{tag}", f"pub-{tag}"
    sub = await persistent_subscriber(broker, out_topic, received, sub_id)
    saved = (store / "mosquitto.db")
    marker = saved.stat().st_mtime if saved.exists() else 0
    publisher = MqttSink({"server": broker.url, "topic": in_topic, "qos": 1, "clientid": pub_id})
    await publisher.connect()
    for seq in range(ROWS):
        await publisher.send_async(b'{"seq": %d}' % seq, None)
        bus.publish(f"local/{tag}", [{"seq": seq}])
    await eventually(lambda: len(got) == ROWS and len(received) == ROWS, what="rows before the outage")
    await publisher.aclose()
    await sub.disconnect()
    # the subscriber's session is on disk before the broker dies
    await eventually(lambda: saved.exists() and saved.stat().st_mtime > marker, what="the broker saved its sessions")

    broker.stop()  # SIGKILL
    await poll_status(lambda d: d["status"] != "connected" and d.get("err"))
    assert "lost" in described["err"] or "refused" in described["err"]
    await eventually(lambda: metric("reader", source_status) != 1, what="the reader saw the outage")

    # results made while the broker is down wait in the writer's sink
    for seq in range(ROWS, 2 * ROWS):
        bus.publish(f"local/{tag}", [{"seq": seq}])

    await asyncio.to_thread(broker.start)
    await poll_status(lambda d: d["status"] == "connected")
    assert "err" not in described
    sub = await persistent_subscriber(broker, out_topic, received, sub_id)

    publisher = MqttSink({"server": broker.url, "topic": in_topic, "qos": 1, "clientid": pub_id})
    await publisher.connect()
    await eventually(lambda: metric("reader", source_status) == 1, what="the reader subscribed again")
    for seq in range(ROWS, 2 * ROWS):
        await publisher.send_async(b'{"seq": %d}' % seq, None)
    await publisher.aclose()

    await eventually(lambda: len(got) == 2 * ROWS, what="the reader's rows after the outage")
    assert [r["seq"] for r in got] == list(range(2 * ROWS))
    await eventually(lambda: len(distinct(received)) == 2 * ROWS, timeout=30, what="the writer's rows")
    assert distinct(received) == [b'{"seq":%d}' % i for i in range(2 * ROWS)]
    assert engine.rule_status("reader")[0]["status"] == "running"
    assert engine.rule_status("writer")[0]["status"] == "running"
    await sub.disconnect()

    # one broker connection for everything the engine did: the connection's client id only
    log = (broker.log_path).read_text(errors="replace")
    clients = set(re.findall(r"New client connected from \S+ as (\S+)", log))
    assert clients - {sub_id, pub_id} == {conn_client_id}, log

    # referenced: neither replaced nor dropped; once the rules are gone, it can be
    with pytest.raises(EngineError, match=r"can't be dropped due to rule references \[reader_conn1/"):
        await engine.connections.drop("conn1")
    await engine.delete_rule("reader")
    with pytest.raises(EngineError, match=r"rule references \[writer_mqtt_0_0\]"):
        await engine.connections.drop("conn1")
    await engine.delete_rule("writer")
    await engine.connections.drop("conn1")
    assert await engine.connections.list(force_all=True) == []


async def test_secrets_stay_out_of_logs_and_errors(engine, mosquitto_factory, closed_port, tmp_path, caplog,
                                                   eventually):
    import subprocess

    passwd = tmp_path / "passwd"
    passwd.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "alice", "s3cret"], check=True, capture_output=True)
    broker = mosquitto_factory("allow_anonymous false", f"password_file {passwd}")
    closed = f"tcp://alice:hunter2@127.0.0.1:{closed_port}"
    caplog.set_level("DEBUG")
    await engine.connections.create({"id": "wrong", "typ": "mqtt",
                                     "props": {"server": broker.url, "username": "alice", "password": "hunter2"}})
    await engine.connections.create({"id": "inurl", "typ": "mqtt", "props": {"server": closed}})
    await eventually(lambda: all(c.err for c in engine.connections.pool.list()), what="both connections failed")
    described = {c["id"]: c for c in await engine.connections.list()}
    assert "not authori" in described["wrong"]["err"].lower()
    assert "******" in described["inurl"]["err"]
    assert "hunter2" not in caplog.text
    assert "hunter2" not in described["inurl"]["err"] + described["wrong"]["err"]
