"""eKuiper's fvt scenarios (spec §10) that need no plugin, against a live `arrokoth serve`."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import time

import httpx
import pytest

from arrokoth.client import Client, EKuiperError


def wait_for(predicate, *, timeout: float = 15.0, interval: float = 0.05):
    """Poll until predicate() is truthy; the deadline bounds the wait, no fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(interval)


# --- server_test.go ---------------------------------------------------------------------


def test_server_info_and_ping(server):
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/ping").status_code == 200
        info = http.get("/").json()
    for key in ("version", "os", "arch", "upTimeSeconds", "cpuUsage", "memoryUsed", "memoryTotal"):
        assert key in info


# --- validation_test.go -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/streams/invalid%20name"),
        ("DELETE", "/streams/invalid%20name"),
        ("PUT", "/streams/invalid%20name"),
        ("GET", "/tables/invalid%20name"),
        ("DELETE", "/tables/invalid%20name"),
        ("GET", "/rules/invalid%20name"),
        ("DELETE", "/rules/invalid%20name"),
        ("PUT", "/rules/invalid%20name"),
    ],
)
def test_invalid_names_are_rejected(server, method, path):
    with httpx.Client(base_url=server.url) as http:
        resp = http.request(method, path, json={"sql": "CREATE STREAM x () WITH (DATASOURCE=\"x\")"})
        assert resp.status_code == 400
        assert "invalid characters" in resp.text
        assert http.get("/ping").status_code == 200


# --- rule_test.go (the parts with no plugin) ----------------------------------------------


def test_simulator_rule_with_memory_sink_and_lookup_join(server):
    with Client(server.url) as client, httpx.Client(base_url=server.url) as http:
        assert http.put("/metadata/sources/simulator/confKeys/devices", json={
            "interval": 20, "loop": True,
            "data": [{"id": 1, "temperature": 40}, {"id": 2, "temperature": 10}, {"id": 3, "temperature": 50}],
        }).status_code == 200
        client.create_stream('CREATE STREAM sim () WITH (DATASOURCE="sim", TYPE="simulator", CONF_KEY="devices")')
        client.create_stream('CREATE STREAM alerts () WITH (DATASOURCE="alerts", TYPE="memory")')
        client.create_table('CREATE TABLE names () WITH (DATASOURCE="names", TYPE="memory", KIND="lookup", KEY="id")')
        # a rule fills the lookup table from the simulator, through a memory sink with a key
        client.create_rule({
            "id": "fill", "sql": "SELECT id, concat(\"device-\", cast(id, \"string\")) AS name FROM sim",
            "actions": [{"memory": {"topic": "names", "keyField": "id", "rowkindField": "action"}}],
        })
        client.create_rule({
            "id": "hot", "sql": "SELECT sim.id, name, temperature FROM sim INNER JOIN names ON sim.id = names.id "
                                "WHERE temperature > 30",
            "actions": [{"memory": {"topic": "alerts"}}],
        })
        client.create_rule({"id": "count_alerts", "sql": "SELECT count(*) AS n FROM alerts",
                            "actions": [{"nop": {}}]})

        def hot_out() -> int:
            status = client.rule_status("hot")
            return status["sink_memory_0_0_records_out_total"]

        wait_for(lambda: hot_out() >= 3)
        wait_for(lambda: client.rule_status("count_alerts")["source_alerts_0_records_in_total"] >= 3)
        status = client.rule_status("hot")
        assert status["source_sim_0_exceptions_total"] == 0


def test_temp_rules_are_not_persisted(server):
    with Client(server.url) as client:
        client.create_stream('CREATE STREAM t1 () WITH (DATASOURCE="t1", TYPE="memory")')
        client.create_rule({"id": "tmp", "temp": True, "sql": "SELECT * FROM t1", "actions": [{"nop": {}}]})
        assert [r["id"] for r in client.list_rules()] == ["tmp"]
    server.kill()
    server.start()
    with Client(server.url) as client:
        assert client.list_rules() == []
        assert client.list_streams() == ["t1"]


# --- rulestate_test.go ----------------------------------------------------------------------


def test_upsert_versions_and_triggered_state(server):
    with Client(server.url) as client:
        client.create_stream('CREATE STREAM s () WITH (DATASOURCE="s", TYPE="memory")')
        rule = {"id": "r", "version": "2", "sql": "SELECT * FROM s", "actions": [{"nop": {}}]}
        assert client.update_rule("r", rule) == "Rule r was updated successfully."
        with pytest.raises(EKuiperError) as err:
            client.update_rule("r", {**rule, "version": "1"})
        assert err.value.status == 400
        assert "is lower" in err.value.message
        assert client.get_rule("r")["version"] == "2"

        client.stop_rule("r")
        client.update_rule("r", {**rule, "version": "3", "triggered": False})
        assert client.rule_status("r")["status"] == "stopped"
        client.update_rule("new", {"id": "new", "triggered": False, "sql": "SELECT * FROM s", "actions": [{"nop": {}}]})
        assert client.rule_status("new")["status"] == "stopped"
        client.start_rule("new")
        assert client.rule_status("new")["status"] == "running"
        assert client.rule_status("new")["sink_nop_0_0_records_out_total"] == 0


def test_tags(server):
    with Client(server.url) as client:
        client.create_stream('CREATE STREAM s () WITH (DATASOURCE="s", TYPE="memory")')
        client.create_rule({"id": "a", "sql": "SELECT * FROM s", "actions": [{"nop": {}}], "tags": ["x"]})
        client.create_rule({"id": "b", "sql": "SELECT * FROM s", "actions": [{"nop": {}}]})
        client.add_rule_tags("b", ["x", "y"])
        assert client.match_rule_tags(["x"]) == {"rules": ["a", "b"]}
        client.remove_rule_tags("b", ["x"])
        assert client.match_rule_tags(["x", "y"]) == {}
        client.set_rule_tags("a", ["y"])
        assert client.match_rule_tags(["y"]) == {"rules": ["a", "b"]}
        result = client.bulk_stop(["y"])
        assert result == [{"ruleId": "a", "success": True}, {"ruleId": "b", "success": True}]


def test_shared_stream_under_rapid_start_stop(server):
    with Client(server.url) as client:
        client.create_stream('CREATE STREAM sh () WITH (DATASOURCE="sh", TYPE="simulator", SHARED="true", '
                             'EXTRA="{\\"interval\\": 10}")')
        for i in range(3):
            client.create_rule({"id": f"s{i}", "sql": "SELECT * FROM sh", "actions": [{"nop": {}}]})
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: (client.stop_rule(f"s{i % 3}"), client.start_rule(f"s{i % 3}")), range(12)))
        assert {r["status"] for r in client.list_rules()} == {"running"}
        wait_for(lambda: all(client.rule_status(f"s{i}")["source_sh_0_records_in_total"] > 0 for i in range(3)))


# --- import_race_test.go ------------------------------------------------------------------


def test_concurrent_updates_keep_the_highest_version(server):
    with Client(server.url) as client:
        client.create_stream('CREATE STREAM s () WITH (DATASOURCE="s", TYPE="memory")')

        def put(version: str):
            # a lower version losing the race is expected
            with Client(server.url) as c, contextlib.suppress(EKuiperError):
                c.update_rule("raceTest", {"id": "raceTest", "version": version, "sql": "SELECT * FROM s",
                                           "actions": [{"nop": {}}]})

        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            list(pool.map(put, ["1.0.0", "2.0.0", "3.0.0"] * 3))
        assert client.get_rule("raceTest")["version"] == "3.0.0"


# --- import_test.go ---------------------------------------------------------------------


def test_import_error_bodies(server):
    with httpx.Client(base_url=server.url) as http:
        bad = {"streams": {"demo": "CREATE STWREAM demo () WITH (DATASOURCE=\"x\")"}}
        resp = http.post("/data/import", params={"partial": "1"}, json={"content": json.dumps(bad)})
        assert resp.status_code == 400
        body = resp.json()
        assert body["error"] == 1000
        assert "STWREAM" in json.loads(body["message"])["streams"]["demo"]
        resp = http.post("/data/import", json={"content": "{"})
        assert resp.status_code == 400
        assert resp.json()["message"].startswith("configuration unmarshal with error")


# --- upload_test.go -----------------------------------------------------------------------


def test_uploads(server):
    with httpx.Client(base_url=server.url) as http:
        for name in ("../x", "a/../../x"):
            assert http.post("/config/uploads", json={"name": name, "content": "x"}).status_code == 400
        resp = http.post("/config/uploads", json={"name": "level1/level2/level3/test.txt", "content": "hello"})
        assert resp.status_code == 201
        assert resp.text.endswith("uploads/level1/level2/level3/test.txt")
        with open(resp.text) as f:
            assert f.read() == "hello"
        assert http.delete("/config/uploads/level1/level2/level3/test.txt").text == "ok"


# --- ruletest_test.go -----------------------------------------------------------------------


def test_ruletest_streams_results(server):
    with httpx.Client(base_url=server.url) as http:
        http.post("/streams", json={"sql": 'CREATE STREAM demo () WITH (DATASOURCE="demo", TYPE="memory")'})
        resp = http.post("/ruletest", json={
            "id": "t1", "sql": "SELECT unnest(arr) AS a, name FROM demo",
            "mockSource": {"demo": {"data": [{"name": "n", "arr": [1, 2]}], "interval": 10, "loop": True}},
            "sinkProps": {"sendSingle": True},
        })
        assert resp.status_code == 200
        body = resp.json()
        assert body["id"] == "t1"
        with httpx.Client(timeout=10) as sse, sse.stream("GET", f"http://127.0.0.1:{body['port']}/test/t1",
                                                        headers={"Accept": "text/event-stream"}) as stream:
            assert http.post("/ruletest/t1/start").text == "Test rule t1 was started"
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    first = json.loads(line[len("data:"):])
                    break
        assert first == {"a": 1, "name": "n"}
        assert http.delete("/ruletest/t1").text == "Test rule t1 was stopped."
