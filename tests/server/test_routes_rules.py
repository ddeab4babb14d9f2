"""Rules (spec section 3), through the real app in-process."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from arrokoth.functions import jsonvalue
from arrokoth.io.memory_bus import bus

pytestmark = pytest.mark.anyio

TEXT = "text/plain; charset=utf-8"
INVALID_CHARS = "contains invalid characters: only alphanumeric, hyphens and underscores are allowed"
HEADER_KEYS = ["status", "message", "lastStartTimestamp", "lastStopTimestamp", "nextStartTimestamp"]
NODE_METRICS = [
    "records_in_total", "records_out_total", "messages_processed_total", "process_latency_us", "buffer_length",
    "last_invocation", "exceptions_total", "last_exception", "last_exception_time",
]
CONNECTION_METRICS = [
    "connection_status", "connection_last_connected_time", "connection_last_disconnected_time",
    "connection_last_disconnected_message", "connection_last_try_time",
]
_topics = itertools.count()


def assert_error(resp, message: str, code: int = 1000, status: int = 400) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == TEXT
    assert resp.content == jsonvalue.encode({"error": code, "message": message}) + b"\n"


def assert_client_error(resp) -> dict:
    """Any 4xx in eKuiper's error shape."""
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.headers["content-type"] == TEXT
    assert resp.content.endswith(b"}\n")
    err = jsonvalue.loads(resp.content)
    assert list(err) == ["error", "message"]
    assert isinstance(err["error"], int) and isinstance(err["message"], str) and err["message"]
    return err


def assert_text(resp, body: str, status: int = 200) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == TEXT
    assert resp.text == body


async def alive(api) -> None:
    assert (await api.get("/ping")).status_code == 200


async def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def wait_for_status(api, rule_id: str, predicate, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = (await api.get(f"/v2/rules/{rule_id}/status")).json()
        if predicate(body):
            return body
        assert time.monotonic() < deadline, f"status not reached in time: {body}"
        await asyncio.sleep(0.01)


def rule(rule_id: str = "r1", sql: str = "SELECT * FROM demo", sink: str = "log", **extra) -> dict:
    return {"id": rule_id, "sql": sql, "actions": [{sink: {}}], **extra}


@pytest.fixture
async def demo(api):
    """A memory stream `demo` on a topic unique to the test."""
    topic = f"in/{next(_topics)}"
    resp = await api.post("/streams", json={"sql": f'CREATE STREAM demo (id bigint) WITH (DATASOURCE="{topic}", TYPE="memory")'})
    assert resp.status_code == 201
    return topic


@pytest.fixture
def collect():
    """Subscribe to memory topics; every row lands in the returned list."""
    tokens = []

    def subscribe(topic: str) -> list:
        rows: list = []
        tokens.append(bus.subscribe(topic, lambda _t, batch: rows.extend(batch)))
        return rows

    yield subscribe
    for token in tokens:
        bus.unsubscribe(token)


# --- create -----------------------------------------------------------------------------


async def test_create_rule(api, demo, engine):
    resp = await api.post("/rules", json=rule())
    assert_text(resp, "Rule r1 was created successfully.", 201)
    assert engine.rules["r1"].status == "running"
    assert engine.store.get("rules", "r1") is not None


async def test_get_returns_the_submitted_bytes(api, demo):
    raw = b'{ "sql" : "SELECT * FROM demo",  "id":"r1", "actions":[{"log":{}}], "zzz": 1 }'
    assert (await api.post("/rules", content=raw)).status_code == 201
    resp = await api.get("/rules/r1")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.content == raw


async def test_get_after_stop_is_remarshalled(api, demo):
    assert (await api.post("/rules", content=b'{"sql":"SELECT * FROM demo","id":"r1","actions":[{"log":{}}]}')).status_code == 201
    assert (await api.post("/rules/r1/stop")).status_code == 200
    body = (await api.get("/rules/r1")).json()
    assert body["triggered"] is False
    assert list(body) == sorted(body)


async def test_create_duplicate(api, demo):
    assert (await api.post("/rules", json=rule())).status_code == 201
    assert_error(await api.post("/rules", json=rule()), "rule r1 already exists")
    await alive(api)


@pytest.mark.parametrize(("rule_id", "message"), [
    ("rule3/21", f"invalid rule json: id 'rule3/21' {INVALID_CHARS}"),
    ("..", f"invalid rule json: id '..' {INVALID_CHARS}"),
    ("a b", f"invalid rule json: id 'a b' {INVALID_CHARS}"),
    (" r1", "invalid rule json: id ' r1' contains leading or trailing whitespace"),
    ("", "invalid rule json: Missing rule id."),
])
async def test_create_with_bad_id(api, demo, rule_id, message):
    assert_error(await api.post("/rules", json=rule(rule_id)), message)
    assert (await api.get("/rules")).json() == []
    await alive(api)


async def test_create_without_id(api, demo):
    assert_error(await api.post("/rules", json={"sql": "SELECT * FROM demo", "actions": [{"log": {}}]}),
                 "invalid rule json: Missing rule id.")


@pytest.mark.parametrize(("body", "message"), [
    ({"id": "r1", "sql": "SELECT * FROM demo"}, "invalid rule json: Missing rule actions."),
    ({"id": "r1", "sql": "SELECT * FROM demo", "actions": []}, "invalid rule json: Missing rule actions."),
    ({"id": "r1", "actions": [{"log": {}}]}, "invalid rule json: Rule r1 has neither sql nor graph."),
    ({"id": "r1", "sql": "SELECT * FROM demo", "graph": {"nodes": {}}, "actions": [{"log": {}}]},
     "invalid rule json: Rule r1 has both sql and graph."),
])
async def test_create_with_invalid_rule_json(api, demo, body, message):
    assert_error(await api.post("/rules", json=body), message)


async def test_create_on_missing_stream(api):
    assert_client_error(await api.post("/rules", json=rule(sql="SELECT * FROM nope")))
    assert (await api.get("/rules")).json() == []


async def test_create_with_unknown_sink(api, demo):
    err = assert_client_error(await api.post("/rules", json=rule(sink="nosuchsink")))
    assert "nosuchsink" in err["message"]


async def test_create_on_a_stream_whose_source_is_not_installed(api):
    sql = 'CREATE STREAM m () WITH (DATASOURCE="x", TYPE="nosuchsource")'
    assert (await api.post("/streams", json={"sql": sql})).status_code == 201
    err = assert_client_error(await api.post("/rules", json=rule(sql="SELECT * FROM m", triggered=False)))
    assert "nosuchsource" in err["message"]
    assert (await api.get("/rules")).json() == []


async def test_create_with_invalid_options(api, demo):
    assert_error(await api.post("/rules", json=rule(options={"concurrency": -1})),
                 "Rule r1 has invalid options: invalidConcurrency:-1.")
    err = assert_client_error(await api.post("/rules", json=rule(options={"qos": 7})))
    assert err["message"].startswith("Rule r1 has invalid options: ")


async def test_create_plans_even_when_not_triggered(api, demo):
    assert_client_error(await api.post("/rules", json=rule(sql="SELECT nosuchfunc(id) FROM demo", triggered=False)))


async def test_create_not_triggered_stays_stopped(api, demo, engine):
    assert (await api.post("/rules", json=rule(triggered=False))).status_code == 201
    assert engine.rules["r1"].runtime is None
    assert (await api.get("/rules")).json()[0]["status"] == "stopped"


async def test_keys_are_case_insensitive_and_unknown_keys_ignored(api, demo):
    body = {"ID": "r1", "Sql": "SELECT * FROM demo", "ACTIONS": [{"log": {}}], "Triggered": False, "foo": {"x": 1}}
    assert_text(await api.post("/rules", json=body), "Rule r1 was created successfully.", 201)
    assert (await api.get("/rules")).json()[0]["status"] == "stopped"


async def test_temp_rule_is_not_persisted(api, demo, engine):
    assert (await api.post("/rules", json=rule(temp=True))).status_code == 201
    assert engine.store.get("rules", "r1") is None
    assert (await api.get("/rules/r1")).status_code == 200


async def test_bad_source_properties_fail_the_create_naming_the_property(api, engine):
    sql = 'CREATE STREAM sim () WITH (TYPE="simulator", EXTRA="{\\"interval\\": -5}")'
    assert (await api.post("/streams", json={"sql": sql})).status_code == 201
    resp = await api.post("/rules", json=rule(sql="SELECT * FROM sim", sink="nop"))
    assert resp.status_code == 400
    assert "interval" in resp.json()["message"]
    assert (await api.get("/rules")).json() == []
    assert all(feed.subscribers == 0 for feed in engine.feeds.values())


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    b"{bad", b"", b"[]", b"null", b'"r1"',
    b'{"id": 5, "sql": "SELECT * FROM demo", "actions": [{"log": {}}]}',
    b'{"id": "r1", "sql": 5, "actions": [{"log": {}}]}',
    b'{"id": "r1", "sql": "SELECT * FROM demo", "actions": {"log": {}}}',
    b'{"id": "r1", "sql": "SELECT * FROM demo", "actions": [{"log": 1}]}',
    b'{"id": "r1", "sql": "SELECT * FROM demo", "actions": [{"log": {}}], "triggered": "yes"}',
    b'{"id": "r1", "sql": "SELECT * FROM demo", "actions": [{"log": {}}], "options": []}',
    b'{"id": "r1", "sql": "SELECT * FROM demo", "actions": [{"log": {}}], "tags": "t1"}',
    b'{"id": "r1", "sql": "SELEKT * FROM demo", "actions": [{"log": {}}]}',
])
@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_malformed_rule_bodies(api, demo, body, method):
    path = "/rules" if method == "POST" else "/rules/r1"
    err = assert_client_error(await api.request(method, path, content=body))
    if method == "PUT":
        assert err["message"].startswith("Update rule error: ")
    assert (await api.get("/rules")).json() == []
    await alive(api)


async def test_one_megabyte_sql(api, demo):
    # a valid 1 MB statement is planned and stored like any other
    sql = "SELECT id, '" + "x" * 1_000_000 + "' AS s FROM demo"
    assert_text(await api.post("/rules", json=rule(sql=sql, triggered=False)), "Rule r1 was created successfully.", 201)
    assert (await api.get("/rules/r1")).json()["sql"] == sql
    # 1 MB of garbage is a plain 400
    assert_client_error(await api.post("/rules", json=rule("r2", sql="x" * 1_000_000)))
    assert_client_error(await api.post("/rules", json=rule("r3", sql="SELECT " + "(" * 1_000_000 + " FROM demo")))
    await alive(api)
    assert [r["id"] for r in (await api.get("/rules")).json()] == ["r1"]


@pytest.mark.parametrize("raw", ["invalid%20name", "a.b", "%2E%2E"])
@pytest.mark.parametrize(("method", "suffix"), [
    ("GET", ""), ("PUT", ""), ("DELETE", ""), ("POST", "/start"), ("POST", "/stop"), ("POST", "/restart"),
    ("GET", "/status"), ("GET", "/topo"), ("GET", "/explain"), ("PUT", "/tags"),
])
async def test_invalid_ids_in_path(api, raw, method, suffix):
    resp = await api.request(method, f"/rules/{raw}{suffix}", json=rule())
    err = assert_client_error(resp)
    assert resp.status_code == 400
    assert INVALID_CHARS in err["message"]
    await alive(api)


# --- GET /rules ---------------------------------------------------------------------------


async def test_list_rules_item_shape(api, demo):
    assert (await api.get("/rules")).content == b"[]"
    assert (await api.post("/rules", json=rule("r2", triggered=False, name="Second", tags=["t1"], version="7"))).status_code == 201
    assert (await api.post("/rules", json=rule("r1"))).status_code == 201
    resp = await api.get("/rules")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.content == (
        b'[{"id":"r1","name":"r1","status":"running","tags":null,"trace":false,"version":""},'
        b'{"id":"r2","name":"Second","status":"stopped","tags":["t1"],"trace":false,"version":"7"}]'
    )


async def test_get_missing_rule(api):
    assert_error(await api.get("/rules/nope"), "Describe rule error: Rule nope is not found.", 1002, 404)


async def test_get_rules_validate_describes_a_rule_named_validate(api):
    assert_error(await api.get("/rules/validate"), "Describe rule error: Rule validate is not found.", 1002, 404)


# --- PUT /rules/{id} ----------------------------------------------------------------------


async def test_put_creates_then_updates(api, demo, engine):
    resp = await api.put("/rules/r1", json={"sql": "SELECT * FROM demo", "actions": [{"log": {}}]})
    assert_text(resp, "Rule r1 was updated successfully.")
    assert engine.rules["r1"].status == "running"
    resp = await api.put("/rules/r1", json=rule(sql="SELECT id FROM demo"))
    assert_text(resp, "Rule r1 was updated successfully.")
    assert (await api.get("/rules/r1")).json()["sql"] == "SELECT id FROM demo"


async def test_put_id_mismatch(api, demo):
    err = assert_client_error(await api.put("/rules/r1", json=rule("r2")))
    assert err["message"].startswith("Update rule error: ")
    assert err["message"].endswith("RuleId is not consistent with rule id.")


async def test_put_stops_the_old_run_and_starts_the_new(api, demo, engine, collect):
    rows = collect(f"out/{demo}")
    assert (await api.post("/rules", json=rule(sql="SELECT id FROM demo", sink="memory") | {
        "actions": [{"memory": {"topic": f"out/{demo}"}}]})).status_code == 201
    old = engine.rules["r1"].runtime
    body = rule(sql="SELECT id * 10 AS id FROM demo") | {"actions": [{"memory": {"topic": f"out/{demo}"}}]}
    assert (await api.put("/rules/r1", json=body)).status_code == 200
    assert engine.rules["r1"].runtime is not old
    bus.publish(demo, [{"id": 2}])
    await wait_for(lambda: rows)
    assert rows == [{"id": 20}]


async def test_put_invalid_keeps_the_old_rule_running(api, demo, engine):
    assert (await api.post("/rules", json=rule())).status_code == 201
    runtime = engine.rules["r1"].runtime
    err = assert_client_error(await api.put("/rules/r1", json=rule(sql="SELECT * FROM nope")))
    assert err["message"].startswith("Update rule error: ")
    assert engine.rules["r1"].runtime is runtime
    assert (await api.get("/rules/r1")).json()["sql"] == "SELECT * FROM demo"


async def test_put_not_triggered_stops_and_stays_stopped(api, demo, engine):
    assert (await api.post("/rules", json=rule())).status_code == 201
    assert (await api.post("/rules/r1/stop")).status_code == 200
    assert (await api.put("/rules/r1", json=rule(triggered=False))).status_code == 200
    assert (await api.get("/v2/rules/r1/status")).json()["status"] == "stopped"
    assert engine.rules["r1"].runtime is None
    # a new rule upserted stopped, then started
    assert (await api.put("/rules/r2", json=rule("r2", triggered=False))).status_code == 200
    assert (await api.get("/v2/rules/r2/status")).json()["status"] == "stopped"
    assert_text(await api.post("/rules/r2/start"), "Rule r2 was started")
    await wait_for_status(api, "r2", lambda s: s["status"] == "running")


async def test_put_running_rule_with_triggered_false_stops_it(api, demo, engine):
    assert (await api.post("/rules", json=rule())).status_code == 201
    assert (await api.put("/rules/r1", json=rule(triggered=False))).status_code == 200
    assert engine.rules["r1"].runtime is None
    assert (await api.get("/v2/rules/r1/status")).json()["status"] == "stopped"


@pytest.mark.parametrize(("old", "new", "accepted"), [
    ("", "", True),
    ("", "1", True),
    ("1", "2", True),
    ("2", "10", False),  # versions compare as strings
    ("2", "2", False),
    ("2", "1", False),
    ("2", "", False),  # a versioned rule rejects a version-less update
])
async def test_put_version_rule(api, demo, old, new, accepted):
    first = rule(triggered=False, sql="SELECT * FROM demo")
    if old:
        first["version"] = old
    assert (await api.put("/rules/r1", json=first)).status_code == 200
    second = rule(triggered=False, sql="SELECT id FROM demo")
    if new:
        second["version"] = new
    resp = await api.put("/rules/r1", json=second)
    stored = (await api.get("/rules/r1")).json()
    if accepted:
        assert_text(resp, "Rule r1 was updated successfully.")
        assert stored["sql"] == "SELECT id FROM demo"
    else:
        assert_error(resp, f"Update rule error: rule r1 already exists with version ({old}), new version ({new}) is lower")
        assert stored["sql"] == "SELECT * FROM demo"
        assert stored.get("version", "") == old


# --- DELETE --------------------------------------------------------------------------------


async def test_delete_rule(api, demo, engine):
    assert (await api.post("/rules", json=rule())).status_code == 201
    assert_text(await api.delete("/rules/r1"), "Rule r1 is dropped.")
    assert "r1" not in engine.rules
    assert engine.store.get("rules", "r1") is None
    assert "demo" not in engine.sources
    assert (await api.get("/rules")).json() == []
    # the stream is free again
    assert (await api.delete("/streams/demo")).status_code == 200


async def test_delete_missing_rule_is_400(api):
    assert_error(await api.delete("/rules/nope"), "Delete rule error: rule nope not found")


# --- start / stop / restart --------------------------------------------------------------


async def test_start_stop_restart(api, demo, engine):
    assert (await api.post("/rules", json=rule(triggered=False))).status_code == 201
    assert_text(await api.post("/rules/r1/start"), "Rule r1 was started")
    await wait_for_status(api, "r1", lambda s: s["status"] == "running")
    assert (await api.get("/rules/r1")).json()["triggered"] is True
    assert_text(await api.post("/rules/r1/stop"), "Rule r1 was stopped.")
    status = (await api.get("/v2/rules/r1/status")).json()
    assert status["status"] == "stopped"
    assert status["message"] == "canceled manually"
    assert status["lastStopTimestamp"] >= status["lastStartTimestamp"] > 0
    assert (await api.get("/rules/r1")).json()["triggered"] is False
    assert_text(await api.post("/rules/r1/restart"), "Rule r1 was restarted")
    await wait_for_status(api, "r1", lambda s: s["status"] == "running")
    assert (await api.get("/rules/r1")).json()["triggered"] is True


async def test_start_stop_restart_missing(api):
    assert_error(await api.post("/rules/nope/start"),
                 "start rule error: Rule nope is not found in registry, please check if it is created", 1002, 404)
    for action in ("stop", "restart"):
        resp = await api.post(f"/rules/nope/{action}")
        assert resp.status_code == 404
        assert assert_client_error(resp)["error"] == 1002


# --- status --------------------------------------------------------------------------------


async def test_status_of_a_never_started_rule(api, demo):
    assert (await api.post("/rules", json=rule(triggered=False))).status_code == 201
    resp = await api.get("/rules/r1/status")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.text == ('{\n  "status": "stopped",\n  "message": "",\n  "lastStartTimestamp": 0,\n'
                         '  "lastStopTimestamp": 0,\n  "nextStartTimestamp": 0\n}')


async def test_status_body_and_metric_names(api, demo):
    assert (await api.post("/rules", json=rule())).status_code == 201
    resp = await api.get("/rules/r1/status")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    lines = resp.text.split("\n")
    assert lines[0] == "{" and lines[-1] == "}"
    assert all(line.startswith('  "') and not line.startswith('   ') for line in lines[1:-1])
    body = jsonvalue.loads(resp.content)
    keys = list(body)
    assert keys[:5] == HEADER_KEYS
    assert body["status"] == "running"
    assert body["lastStartTimestamp"] > 0
    nodes = ["source_demo_0", "op_2_decoder_0", "op_3_project_0", "op_log_0_0_transform_0", "op_log_0_1_encode_0",
             "sink_log_0_0"]
    expected = []
    for node in nodes:
        expected += [f"{node}_{m}" for m in NODE_METRICS]
        if node.startswith(("source_", "sink_")):
            expected += [f"{node}_{m}" for m in CONNECTION_METRICS]
    assert keys[5:] == expected
    assert body["source_demo_0_connection_status"] == 1
    assert body["sink_log_0_0_last_exception"] == ""


async def test_status_counts_rows(api, demo, collect):
    rows = collect(f"out/{demo}")
    body = rule(sql="SELECT id FROM demo WHERE id > 1") | {"actions": [{"memory": {"topic": f"out/{demo}"}}]}
    assert (await api.post("/rules", json=body)).status_code == 201
    bus.publish(demo, [{"id": 1}, {"id": 2}])
    bus.publish(demo, [{"id": 3}])
    await wait_for(lambda: len(rows) == 2)
    assert rows == [{"id": 2}, {"id": 3}]
    status = await wait_for_status(api, "r1", lambda s: s["sink_memory_0_0_records_out_total"] == 2)
    assert status["source_demo_0_records_in_total"] == 3
    assert status["source_demo_0_records_out_total"] == 3
    assert status["op_3_filter_0_records_in_total"] == 3
    assert status["op_3_filter_0_records_out_total"] == 2
    assert status["sink_memory_0_0_records_in_total"] == 2
    assert status["source_demo_0_exceptions_total"] == 0
    # a stopped rule keeps the metrics of its last run
    assert (await api.post("/rules/r1/stop")).status_code == 200
    stopped = (await api.get("/v2/rules/r1/status")).json()
    assert stopped["status"] == "stopped"
    assert stopped["sink_memory_0_0_records_out_total"] == 2


async def test_status_counts_simulator_rows(api):
    sql = ('CREATE STREAM sim () WITH (TYPE="simulator", '
           'EXTRA="{\\"interval\\": 1, \\"loop\\": false, \\"data\\": [{\\"a\\": 1}, {\\"a\\": 2}, {\\"a\\": 3}]}")')
    assert (await api.post("/streams", json={"sql": sql})).status_code == 201
    assert (await api.post("/rules", json=rule(sql="SELECT * FROM sim", sink="nop"))).status_code == 201
    status = await wait_for_status(api, "r1", lambda s: s.get("sink_nop_0_0_records_out_total") == 3)
    assert status["source_sim_0_records_in_total"] == 3


async def test_status_v2_is_compact_and_sorted(api, demo):
    assert (await api.post("/rules", json=rule())).status_code == 201
    resp = await api.get("/v2/rules/r1/status")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert b"\n" not in resp.content and b": " not in resp.content
    body = resp.json()
    assert list(body) == sorted(body)
    v1 = (await api.get("/rules/r1/status")).json()
    assert set(v1) == set(body)
    assert body["status"] == v1["status"] == "running"


async def test_status_of_missing_rule(api):
    assert_error(await api.get("/rules/nope/status"), "get rule status error: Rule nope is not found", 1002, 404)
    assert (await api.get("/v2/rules/nope/status")).status_code == 404


async def test_status_all(api, demo):
    assert (await api.get("/rules/status/all")).json() == {}
    assert (await api.post("/rules", json=rule("r1"))).status_code == 201
    assert (await api.post("/rules", json=rule("r2", triggered=False))).status_code == 201
    resp = await api.get("/rules/status/all")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert list(body) == ["r1", "r2"]
    assert body["r1"]["status"] == "running"
    assert body["r1"]["exceptions_total"] == 0
    assert body["r2"] == {"status": "stopped"}


# --- topo, explain, schema ----------------------------------------------------------------


async def test_topo(api, demo):
    assert (await api.post("/rules", json=rule(triggered=False))).status_code == 201
    assert_error(await api.get("/rules/r1/topo"),
                 "get rule topo error: Fail to get rule r1's topo, make sure the rule has been started before", 1001)
    assert (await api.post("/rules/r1/start")).status_code == 200
    expected = (b'{"sources":["source_demo"],"edges":{"source_demo":["op_2_decoder"],"op_2_decoder":["op_3_project"],'
                b'"op_3_project":["op_log_0_0_transform"],"op_log_0_0_transform":["op_log_0_1_encode"],'
                b'"op_log_0_1_encode":["sink_log_0"]}}')
    resp = await api.get("/rules/r1/topo")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.content == expected
    # kept after a stop
    assert (await api.post("/rules/r1/stop")).status_code == 200
    assert (await api.get("/rules/r1/topo")).content == expected


async def test_topo_of_missing_rule(api):
    resp = await api.get("/rules/nope/topo")
    assert resp.status_code == 404
    assert assert_client_error(resp)["error"] == 1002


async def test_explain(api, demo):
    assert (await api.post("/rules", json=rule(sql="SELECT id FROM demo WHERE id > 1", triggered=False))).status_code == 201
    resp = await api.get("/rules/r1/explain")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == TEXT
    lines = resp.text.split("\n")
    nodes = []
    for depth, line in enumerate(lines):
        assert line.startswith("\t" * depth) and not line[depth:].startswith("\t")
        node = jsonvalue.loads(line.strip())
        assert list(node) == ["op", "info"]
        nodes.append(node["op"])
    assert nodes == ["ProjectPlan_0", "FilterPlan_1", "DataSourcePlan_2"]
    assert jsonvalue.loads(lines[-1].strip())["info"].startswith("StreamName: demo")


async def test_explain_missing_rule(api):
    assert_error(await api.get("/rules/nope/explain"), "explain rules error: Rule nope is not found.", 1002, 404)


async def test_rule_schema(api):
    sql = 'CREATE STREAM demo (id bigint, name string) WITH (DATASOURCE="t", TYPE="memory")'
    assert (await api.post("/streams", json={"sql": sql})).status_code == 201
    assert (await api.post("/rules", json=rule(sql="SELECT id FROM demo", triggered=False))).status_code == 201
    resp = await api.get("/rules/r1/schema")
    assert resp.status_code == 200
    assert resp.json() == {"id": {"type": "bigint", "index": 0}}


# --- validate -------------------------------------------------------------------------------


async def test_validate(api, demo):
    resp = await api.post("/rules/validate", json=rule())
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.content == b'{"sources":["demo"],"valid":true}'
    assert (await api.get("/rules")).json() == []


async def test_validate_invalid_is_422_text(api, demo):
    resp = await api.post("/rules/validate", json={"id": "r1", "sql": "SELECT * FROM demo"})
    assert resp.status_code == 422
    assert resp.headers["content-type"] == TEXT
    assert resp.text == "invalid rule json: Missing rule actions."
    resp = await api.post("/rules/validate", json=rule(sql="SELECT * FROM nope"))
    assert resp.status_code == 422
    assert "nope" in resp.text
    resp = await api.post("/rules/validate", content=b"{bad")
    assert resp.status_code == 422
    await alive(api)


# --- reset_state, cpu usage -----------------------------------------------------------------


async def test_reset_state_unknown_type(api, demo):
    assert (await api.post("/rules", json=rule())).status_code == 201
    assert_error(await api.put("/rules/r1/reset_state", json={"type": 0}), "unknown stateType:0")
    assert_client_error(await api.put("/rules/r1/reset_state", content=b"{"))


async def test_cpu_usage_not_enabled(api):
    assert_text(await api.get("/rules/usage/cpu"), "cpu usage not enabled")


# --- tags and bulk operations ------------------------------------------------------------


async def tags_of(api, rule_id: str):
    return (await api.get("/rules/" + rule_id)).json().get("tags")


async def test_tags(api, demo):
    assert (await api.post("/rules", json=rule(triggered=False))).status_code == 201
    resp = await api.put("/rules/r1/tags", json={"tags": ["a", "b"]})
    assert resp.status_code == 200 and resp.content == b""
    assert await tags_of(api, "r1") == ["a", "b"]
    resp = await api.patch("/rules/r1/tags", json={"tags": ["b", "c"]})
    assert resp.status_code == 200 and resp.content == b""
    assert await tags_of(api, "r1") == ["a", "b", "c"]
    resp = await api.request("DELETE", "/rules/r1/tags", json={"tags": ["a", "zz"]})
    assert resp.status_code == 200 and resp.content == b""
    assert await tags_of(api, "r1") == ["b", "c"]
    assert (await api.put("/rules/r1/tags", json={"TAGS": ["x"]})).status_code == 200
    assert await tags_of(api, "r1") == ["x"]
    assert (await api.get("/rules")).json()[0]["tags"] == ["x"]


async def test_tags_on_missing_rule(api):
    for method in ("PUT", "PATCH", "DELETE"):
        resp = await api.request(method, "/rules/nope/tags", json={"tags": ["a"]})
        assert resp.status_code == 404
        assert assert_client_error(resp)["error"] == 1002


@pytest.mark.parametrize("body", [b"{", b"[]", b'{"tags": "a"}', b'{"tags": [1]}'])
async def test_tags_bad_body(api, demo, body):
    assert (await api.post("/rules", json=rule(triggered=False, tags=["keep"]))).status_code == 201
    assert_client_error(await api.put("/rules/r1/tags", content=body))
    assert await tags_of(api, "r1") == ["keep"]
    await alive(api)


async def test_tags_match(api, demo):
    assert (await api.post("/rules", json=rule("r1", triggered=False, tags=["a", "b"]))).status_code == 201
    assert (await api.post("/rules", json=rule("r2", triggered=False, tags=["b"]))).status_code == 201
    resp = await api.request("GET", "/rules/tags/match", json={"tags": ["b"]})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.content == b'{"rules":["r1","r2"]}'
    assert (await api.request("GET", "/rules/tags/match", json={"tags": ["a", "b"]})).json() == {"rules": ["r1"]}
    resp = await api.request("GET", "/rules/tags/match", json={"tags": ["zz"]})
    assert resp.status_code == 200
    assert resp.content == b"{}"


async def test_bulk_start_and_stop(api, demo):
    assert (await api.post("/rules", json=rule("r1", triggered=False, tags=["g"]))).status_code == 201
    assert (await api.post("/rules", json=rule("r2", triggered=False, tags=["g"]))).status_code == 201
    assert (await api.post("/rules", json=rule("r3", triggered=False))).status_code == 201
    resp = await api.post("/rules/bulkstart", json={"tags": ["g"]})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.content == b'[{"ruleId":"r1","success":true},{"ruleId":"r2","success":true}]'
    statuses = {r["id"]: r["status"] for r in (await api.get("/rules")).json()}
    assert statuses == {"r1": "running", "r2": "running", "r3": "stopped"}
    resp = await api.post("/rules/bulkstop", json={"tags": ["g"]})
    assert resp.json() == [{"ruleId": "r1", "success": True}, {"ruleId": "r2", "success": True}]
    statuses = {r["id"]: r["status"] for r in (await api.get("/rules")).json()}
    assert statuses == {"r1": "stopped", "r2": "stopped", "r3": "stopped"}


async def test_bulk_without_match(api, demo):
    assert (await api.post("/rules", json=rule(triggered=False, tags=["g"]))).status_code == 201
    assert_error(await api.post("/rules/bulkstart", json={"tags": ["zz"]}), "bulk start failed: no matching rules")
    assert_error(await api.post("/rules/bulkstop", json={"tags": ["zz"]}), "bulk stop failed: no matching rules")
    assert_client_error(await api.post("/rules/bulkstart", content=b"{"))
    await alive(api)



async def test_scantables_without_a_join(api, demo):
    assert (await api.post("/rules", json=rule())).status_code == 201
    assert_client_error(await api.get("/rules/r1/scantables"))
    resp = await api.get("/rules/nope/scantables")
    assert 400 <= resp.status_code < 500


async def test_put_on_a_literal_path_upserts_a_rule_of_that_name(api, demo):
    # only POST /rules/validate is literal; PUT goes to /rules/{id}, as in eKuiper's router
    assert_text(await api.put("/rules/validate", json=rule("validate", triggered=False)),
                "Rule validate was updated successfully.")
    assert [r["id"] for r in (await api.get("/rules")).json()] == ["validate"]


async def test_rules_are_restored_by_triggered(tmp_path):
    import httpx

    from arrokoth.config import Config
    from arrokoth.engine import Engine
    from arrokoth.server.app import create_app
    from arrokoth.store import open_store

    store = open_store("sqlite::memory:")
    store.set("streams", "demo", 'CREATE STREAM demo () WITH (DATASOURCE="restore", TYPE="memory")')
    store.set("streams", "bad", 'CREATE STREAM bad () WITH (TYPE="simulator", EXTRA="{\\"interval\\": -1}")')
    store.set("rules", "on", jsonvalue.dumps(rule("on", triggered=True)))
    store.set("rules", "off", jsonvalue.dumps(rule("off", triggered=False)))
    store.set("rules", "broken", jsonvalue.dumps(rule("broken", sql="SELECT * FROM bad", sink="nop")))
    engine = Engine(Config({"basic": {"httpServerIp": "127.0.0.1", "httpServerPort": 0}}, data_dir=tmp_path), store)
    await engine.open()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(engine)),
                                     base_url="http://test") as api:
            statuses = {r["id"]: r["status"] for r in (await api.get("/rules")).json()}
            assert statuses == {"broken": "stopped by error", "off": "stopped", "on": "running"}
            assert engine.rules["broken"].runtime is None
            assert "interval" in (await api.get("/v2/rules/broken/status")).json()["message"]
    finally:
        await engine.close()
