"""`arrokoth connection ...` against a live server (named connections, spec restapi §4)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx


def cli(server, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "arrokoth.cli", "connection", *args, "--server", server.url],
        capture_output=True, text=True, timeout=60,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def status_of(server, cid: str, wanted: str) -> dict:
    deadline = time.monotonic() + 10
    while True:
        body = httpx.get(f"{server.url}/connections/{cid}", timeout=5).json()
        if body["status"] == wanted:
            return body
        assert time.monotonic() < deadline, f"{cid} is {body['status']}, not {wanted}"
        time.sleep(0.05)


def test_connection_lifecycle(server, mosquitto, tmp_path, closed_port):
    assert cli(server, "create", "c1", "mqtt", "--props", json.dumps({"server": mosquitto.url})).stdout == "success\n"
    status_of(server, "c1", "connected")
    listed = json.loads(cli(server, "list", "--json").stdout)
    assert listed == [{"id": "c1", "typ": "mqtt", "props": {"server": mosquitto.url}, "isNamed": True,
                       "status": "connected"}]
    table = cli(server, "list").stdout
    assert "c1" in table and "connected" in table and "mqtt" in table

    closed = f"tcp://127.0.0.1:{closed_port}"
    # -p KEY=VALUE: the value is JSON when it parses (true → a boolean), else text (3.1.1)
    out = cli(server, "update", "c1", "mqtt", "-p", f"server={closed}", "-p", "protocolVersion=3.1.1",
              "-p", "insecureSkipVerify=true")
    assert out.stdout == "success\n"
    status_of(server, "c1", "disconnected")
    shown = json.loads(cli(server, "show", "c1", "--json").stdout)
    assert list(shown) == ["id", "typ", "props", "isNamed", "status", "err"]
    assert shown["props"] == {"server": closed, "protocolVersion": "3.1.1", "insecureSkipVerify": True}
    assert "c1" in cli(server, "show", "c1").stdout

    props = tmp_path / "props.json"
    props.write_text(json.dumps({"server": mosquitto.url, "username": "ignored"}))
    assert cli(server, "update", "c1", "mqtt", "-f", str(props), "-p", "username=v").stdout == "success\n"
    assert json.loads(cli(server, "show", "c1", "--json").stdout)["props"] == {"server": mosquitto.url,
                                                                                "username": "v"}

    assert cli(server, "drop", "c1").stdout == "success\n"
    assert cli(server, "drop", "c1").stdout == "success\n"  # idempotent, as the API
    assert json.loads(cli(server, "list", "--json").stdout) == []


def test_connection_errors(server, closed_port):
    closed = f"tcp://127.0.0.1:{closed_port}"
    cli(server, "create", "c1", "mqtt", "-p", f"server={closed}")
    dup = cli(server, "create", "c1", "mqtt", "-p", f"server={closed}", check=False)
    assert dup.returncode == 1
    assert "400 1000: create connection failed: connection c1 already been created" in dup.stderr
    missing = cli(server, "show", "nope", check=False)
    assert missing.returncode == 1 and "connection nope not existed" in missing.stderr

    bad_json = cli(server, "create", "c2", "mqtt", "--props", "{", check=False)
    assert bad_json.returncode == 2 and "--props is not valid JSON" in bad_json.stderr
    not_object = cli(server, "create", "c2", "mqtt", "--props", "[1]", check=False)
    assert not_object.returncode == 2 and "--props must be a JSON object" in not_object.stderr
    bad_pair = cli(server, "create", "c2", "mqtt", "-p", "server", check=False)
    assert bad_pair.returncode == 2 and "expected KEY=VALUE" in bad_pair.stderr


def test_connection_list_all_shows_the_anonymous_ones(server, closed_port):
    closed = f"tcp://127.0.0.1:{closed_port}"
    r = httpx.post(f"{server.url}/streams", json={"sql": 'CREATE STREAM m () WITH (TYPE="memory", DATASOURCE="m")'})
    assert r.status_code == 201
    r = httpx.post(f"{server.url}/rules", json={"id": "r1", "sql": "SELECT * FROM m",
                                                "actions": [{"mqtt": {"server": closed, "topic": "cli_t"}}]})
    assert r.status_code == 201, r.text
    assert json.loads(cli(server, "list", "--json").stdout) == []
    anonymous = json.loads(cli(server, "list", "--all", "--json").stdout)
    assert [(c["id"], c["isNamed"], c["refCount"]) for c in anonymous] == [("cli_t-mqtt-sink", False, 1)]


def test_connection_check(server, mosquitto, closed_port):
    assert cli(server, "check", "source", "mqtt", "-p", f"server={mosquitto.url}").stdout == "ok\n"
    assert cli(server, "check", "sinks", "mqtt", "--props", json.dumps({"server": mosquitto.url}),
               "--json").stdout == '"ok"\n'

    closed = f"tcp://127.0.0.1:{closed_port}"
    down = cli(server, "check", "source", "mqtt", "-p", f"server={closed}", check=False)
    assert down.returncode == 1
    assert f"400 1003: found error when connecting for {closed}" in down.stderr
    unsupported = cli(server, "check", "sink", "log", check=False)
    assert unsupported.returncode == 1 and "sink log doesn't support ping connection" in unsupported.stderr
    lookup = cli(server, "check", "lookup", "memory", check=False)
    assert lookup.returncode == 1 and "lookup source memory doesn't support ping connection" in lookup.stderr
    wrong_kind = cli(server, "check", "stream", "mqtt", check=False)
    assert wrong_kind.returncode == 2 and "expected one of source, sink, lookup" in wrong_kind.stderr
