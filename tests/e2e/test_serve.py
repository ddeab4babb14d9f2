"""`arrokoth serve` as a subprocess: definitions and running state survive SIGKILL."""

from __future__ import annotations

import httpx

from arrokoth.client import Client


def _state(client: Client) -> dict:
    return {
        "streams": sorted(client.list_streams()),
        "tables": sorted(client.list_tables()),
        "rules": {r["id"]: r["status"] for r in client.list_rules()},
    }


def test_everything_survives_sigkill(server):
    with Client(server.url) as client:
        client.create_stream('CREATE STREAM demo (temperature FLOAT) WITH (DATASOURCE="demo", TYPE="memory")')
        client.create_stream(
            'CREATE STREAM sim () WITH (DATASOURCE="sim", TYPE="simulator", EXTRA="{\\"interval\\": 50}")'
        )
        client.create_table('CREATE TABLE devices () WITH (DATASOURCE="devs", TYPE="memory", KIND="lookup", KEY="id")')
        client.create_rule({"id": "hot", "sql": "SELECT * FROM demo WHERE temperature > 30", "actions": [{"log": {}}]})
        client.create_rule({"id": "idle", "sql": "SELECT * FROM sim", "actions": [{"nop": {}}], "triggered": False})
        client.create_rule({"id": "stopped_later", "sql": "SELECT * FROM sim", "actions": [{"nop": {}}]})
        client.stop_rule("stopped_later")
        before = _state(client)
        described = client.describe_stream("demo")
        rule_text = client.get_rule("hot")
    assert before["rules"] == {"hot": "running", "idle": "stopped", "stopped_later": "stopped"}

    server.kill()
    server.start()

    with Client(server.url) as client:
        assert _state(client) == before
        assert client.describe_stream("demo") == described
        assert client.get_rule("hot") == rule_text


def test_sigterm_shuts_down_cleanly(server):
    with Client(server.url) as client:
        client.create_stream('CREATE STREAM demo () WITH (DATASOURCE="demo", TYPE="memory")')
        client.create_rule({"id": "r", "sql": "SELECT * FROM demo", "actions": [{"nop": {}}]})
    assert server.terminate() == 0
    server.start()
    with httpx.Client(base_url=server.url) as raw:
        assert raw.get("/rules").json()[0]["status"] == "running"
