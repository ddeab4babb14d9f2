"""The client sub-commands of the `arrokoth` CLI against a live server."""

from __future__ import annotations

import json
import subprocess
import sys


def cli(server, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "arrokoth.cli", *args, "--server", server.url],
        capture_output=True, text=True, timeout=60,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_streams_rules_lifecycle(server, tmp_path):
    out = cli(server, "create", "stream", "demo", '(temperature FLOAT) WITH (DATASOURCE="demo", TYPE="memory")')
    assert out.stdout.strip() == "Stream demo is created."
    assert json.loads(cli(server, "show", "streams", "--json").stdout) == ["demo"]
    described = json.loads(cli(server, "describe", "stream", "demo", "--json").stdout)
    assert described["StreamFields"] == [{"FieldType": "float", "Name": "temperature"}]

    rule = tmp_path / "rule.json"
    rule.write_text(json.dumps({"sql": "SELECT * FROM demo WHERE temperature > 30", "actions": [{"nop": {}}]}))
    assert cli(server, "create", "rule", "hot", "-f", str(rule)).stdout.strip() == "Rule hot was created successfully."
    rules = json.loads(cli(server, "show", "rules", "--json").stdout)
    assert [(r["id"], r["status"]) for r in rules] == [("hot", "running")]
    assert cli(server, "stop", "rule", "hot").stdout.strip() == "Rule hot was stopped."
    status = json.loads(cli(server, "getstatus", "rule", "hot", "--json").stdout)
    assert status["status"] == "stopped"
    assert cli(server, "start", "rule", "hot").stdout.strip() == "Rule hot was started"

    failed = cli(server, "drop", "stream", "demo", check=False)
    assert failed.returncode == 1
    assert "referenced by other rules" in failed.stderr
    assert cli(server, "drop", "rule", "hot").stdout.strip() == "Rule hot is dropped."
    assert cli(server, "drop", "stream", "demo").stdout.strip() == "Stream demo is dropped."


def test_show_prints_a_table(server):
    cli(server, "create", "table", "devs", '() WITH (DATASOURCE="devs", TYPE="memory", KIND="lookup", KEY="id")')
    out = cli(server, "show", "tables").stdout
    assert "devs" in out and "memory" in out


def test_errors_carry_the_server_message(server):
    proc = cli(server, "describe", "rule", "nope", check=False)
    assert proc.returncode == 1
    assert "404 1002: Describe rule error: Rule nope is not found." in proc.stderr
