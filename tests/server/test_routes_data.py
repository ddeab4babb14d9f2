"""Data import/export over the REST API (spec §7): exact bodies, codes and messages."""

from __future__ import annotations

import asyncio
import functools
import http.server
import json
import threading

import httpx
import pytest
import yaml

import arrokoth._transfer_tasks
from arrokoth.server.app import create_app
from arrokoth.transfer import SECTIONS, transfer_for

pytestmark = pytest.mark.anyio

PLAIN = 'CREATE STREAM demo () WITH (DATASOURCE="t/demo", TYPE="memory", FORMAT="json")'
EMPTY = {s: {} for s in SECTIONS}
EMPTY_RESPONSE = ('{"streams":{},"tables":{},"rules":{},"nativePlugins":{},"portablePlugins":{},"sourceConfig":{},'
                  '"sinkConfig":{},"connectionConfig":{},"Service":{},"Schema":{},"uploads":{},"scripts":{}}')
# fvt/import_test.go: a document whose stream SQL does not parse
BAD_SQL_BODY = ('{"content":"{\\"streams\\": {\\"demo\\": \\"CREATE STwREAM demo () WITH (DATASOURCE=\\\\\\"users\\\\\\", '
                'CONF_KEY=\\\\\\"td\\\\\\",TYPE=\\\\\\"none\\\\\\", FORMAT=\\\\\\"JSON\\\\\\")\\"}}"}')
TRUNCATED_BODY = ('{"content":"{\\"streams\\": {\\"demo\\": \\"CREATE STwREAM demo () WITH (DATASOURCE=\\\\\\"users\\\\\\", '
                  'CONF_KEY=\\\\\\"td\\\\\\",TYPE=\\\\\\"none\\\\\\", FORMAT=\\\\\\"JSO"}')


def rule(rule_id: str, sql: str = "SELECT * FROM demo", **extra) -> str:
    return json.dumps({"id": rule_id, "sql": sql, "actions": [{"nop": {}}], **extra})


def error_body(message: str, code: int = 1000) -> str:
    return json.dumps({"error": code, "message": message}, separators=(",", ":")) + "\n"


async def setup(api) -> None:
    assert (await api.post("/streams", json={"sql": PLAIN})).status_code == 201
    assert (await api.put("/metadata/sinks/log/confKeys/s1", json={"format": "json"})).status_code == 200
    r1 = {"id": "r1", "sql": "SELECT * FROM demo WHERE a < 3", "actions": [{"log": {"resourceId": "s1"}}]}
    assert (await api.post("/rules", json=r1)).status_code == 201
    assert (await api.post("/rules", content=rule("r2", triggered=False))).status_code == 201


async def test_get_export_is_an_attachment_of_the_twelve_sections(api):
    await setup(api)
    r = await api.get("/data/export")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"] == "Attachment"
    assert "last-modified" in r.headers
    doc = json.loads(r.content)
    assert list(doc) == list(SECTIONS)
    assert doc["streams"] == {"demo": PLAIN}
    assert set(doc["rules"]) == {"r1", "r2"}
    assert json.loads(doc["sinkConfig"]["log"]) == {"s1": {"format": "json"}}
    assert b"a \\u003c 3" in r.content  # Go's json.Marshal escapes <, > and &


async def test_export_honours_a_range(api):
    await setup(api)
    whole = (await api.get("/data/export")).content
    r = await api.get("/data/export", headers={"Range": "bytes=0-9"})
    assert r.status_code == 206
    assert r.content == whole[:10]
    assert r.headers["content-range"] == f"bytes 0-9/{len(whole)}"
    r = await api.get("/data/export", headers={"Range": f"bytes={len(whole) + 5}-"})
    assert r.status_code == 416


async def test_post_export_limits_to_the_rules_and_their_dependencies(api):
    await setup(api)
    assert (await api.put("/metadata/sinks/log/confKeys/unused", json={"format": "json"})).status_code == 200
    r = await api.post("/data/export", json=["r1"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    doc = json.loads(r.content)
    assert list(doc) == list(SECTIONS)
    assert list(doc["rules"]) == ["r1"]
    assert doc["streams"] == {"demo": PLAIN}
    assert json.loads(doc["sinkConfig"]["log"]) == {"s1": {"format": "json"}}
    r = await api.post("/data/export", content=b"not json")  # eKuiper ignores an undecodable body
    assert r.status_code == 200 and json.loads(r.content)["rules"] == {}


async def test_import_body_errors(api):
    r = await api.post("/data/import", json={"content": "{}", "file": "file:///tmp/x.json"})
    assert (r.status_code, r.text) == (400, error_body("Invalid body: Cannot specify both content and file"))
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    r = await api.post("/data/import", json={})
    assert (r.status_code, r.text) == (400, error_body("Invalid body: must specify content or file"))
    r = await api.post("/data/import", content=b"")
    assert (r.status_code, r.text) == (400, error_body("Invalid body: Error decoding json: EOF"))
    r = await api.post("/data/import", json={"content": 5})
    assert r.text == error_body("Invalid body: Error decoding json: json: cannot unmarshal number into "
                                "Go struct field configurationInfo.content of type string")


async def test_import_of_malformed_json_keeps_everything(api, engine):
    await setup(api)
    r = await api.post("/data/import", content=TRUNCATED_BODY)
    assert (r.status_code, r.text) == (400, error_body("configuration unmarshal with error unexpected end of JSON input"))
    assert set(engine.rules) == {"r1", "r2"}


@pytest.mark.parametrize("query", ["?partial=1", ""])
async def test_import_item_errors_are_the_json_encoded_config_response(api, query):
    r = await api.post(f"/data/import{query}", content=BAD_SQL_BODY)
    assert r.status_code == 400
    body = json.loads(r.text)
    assert body["error"] == 1000 and r.text.endswith("}\n")
    inner = json.loads(body["message"])
    assert list(inner) == list(SECTIONS)
    assert list(inner["streams"]) == ["demo"] and "STWREAM" in inner["streams"]["demo"].upper()
    assert {k: v for k, v in inner.items() if k != "streams"} == {k: {} for k in SECTIONS if k != "streams"}
    # the inner document is Go-marshalled: struct order, no spaces
    assert body["message"].endswith(EMPTY_RESPONSE[len('{"streams":{}'):])


async def test_full_import_success_and_status(api, engine):
    await setup(api)
    doc = (await api.get("/data/export")).text
    r = await api.post("/data/import", json={"content": doc})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.text == '{"ErrorMsg":"","ConfigResponse":' + EMPTY_RESPONSE + "}"
    assert engine.rules["r1"].status == "running" and engine.rules["r2"].status == "stopped"
    assert (await api.get("/data/export")).text == doc

    failing = json.loads(doc)
    failing["rules"]["r3"] = '{"id":"r3","sql":"SELECT * FROM nowhere","actions":[{"nop":{}}]}'
    r = await api.post("/data/import", json={"content": json.dumps(failing)})
    assert r.status_code == 400
    status = (await api.get("/data/import/status")).json()
    assert list(status) == list(SECTIONS)
    assert list(status["rules"]) == ["r3"]
    assert set(engine.rules) == {"r1", "r2"}


async def test_import_from_a_file(api, engine, tmp_path):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({"streams": {"demo": PLAIN}, "rules": {"r1": rule("r1")}}))
    r = await api.post("/data/import?partial=1", json={"file": f"file://{path}"})
    assert r.status_code == 200, r.text
    assert set(engine.rules) == {"r1"}
    r = await api.post("/data/import", json={"file": f"file://{tmp_path}/missing.json"})
    assert r.text == error_body(f"stat {tmp_path}/missing.json: no such file or directory")


@pytest.fixture
def http_files(tmp_path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


async def test_import_over_http(api, engine, http_files):
    root, url = http_files
    (root / "doc.json").write_text(json.dumps({"streams": {"demo": PLAIN}}))
    r = await api.post("/data/import?partial=1", json={"file": f"{url}/doc.json"})
    assert r.status_code == 200, r.text
    assert set(engine.streams) == {"demo"}
    r = await api.post("/data/import?partial=1", json={"file": f"{url}/missing.json"})
    assert r.status_code == 400
    assert json.loads(r.text)["message"].startswith("cannot download the file with status: 404")


async def test_stop_requests_a_shutdown_after_a_full_import(engine):
    calls = []
    app = create_app(engine, request_shutdown=lambda: calls.append(1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        r = await client.post("/data/import?partial=1&stop=1", json={"content": "{}"})
        assert r.status_code == 200 and calls == []  # partial imports ignore stop
        r = await client.post("/data/import?stop=1", json={"content": "{}"})
        assert r.status_code == 200 and calls == [1]
        r = await client.post("/data/import?stop=1", json={"content": "{"})
        assert r.status_code == 400 and calls == [1]  # only after a successful import


async def test_async_import_runs_and_reports(api, engine):
    content = json.dumps({"streams": {"demo": PLAIN}, "rules": {"r1": rule("r1")}})
    r = await api.post("/async/data/import?partial=1", json={"content": content})
    assert r.status_code == 200
    task_id = r.json()["id"]
    assert task_id.startswith("dataImport-") and task_id[len("dataImport-"):].isdigit()
    await transfer_for(engine).tasks.wait()
    r = await api.get(f"/async/task/{task_id}")
    body = r.json()
    assert list(body) == ["id", "status", "message", "createdTimestamp", "updatedTimestamp"]
    assert body["status"] == "finish"
    assert json.loads(body["message"]) == {"ErrorMsg": "", "ConfigResponse": EMPTY}
    assert set(engine.rules) == {"r1"}


async def test_async_import_failures_and_cancel(api, engine, monkeypatch):
    clock = iter(range(1_700_000_000, 1_800_000_000))
    monkeypatch.setattr(arrokoth._transfer_tasks, "_unix", lambda: next(clock))
    r = await api.post("/async/data/import", json={"content": "{}", "file": "file:///x"})
    failed = r.json()["id"]
    r = await api.post("/async/data/import?partial=1", json={"content": json.dumps({"streams": {"x": "nonsense"}})})
    partial_failed = r.json()["id"]
    await transfer_for(engine).tasks.wait()
    body = (await api.get(f"/async/task/{failed}")).json()
    assert body["status"] == "error"
    assert body["message"] == "err:Invalid body: Cannot specify both content and file, response:null"
    body = (await api.get(f"/async/task/{partial_failed}")).json()
    assert body["status"] == "error" and body["message"].startswith('err:process error, response:{"ErrorMsg":"process error"')

    r = await api.post(f"/async/task/{failed}/cancel")
    assert (r.status_code, r.text) == (200, "cancel success")
    assert (await api.get(f"/async/task/{failed}")).json()["status"] == "cancel"
    r = await api.get("/async/task/dataImport-1")
    assert (r.status_code, r.text) == (400, error_body("async task: dataImport-1 not found"))
    r = await api.post("/async/task/dataImport-1/cancel")
    assert r.status_code == 400


async def test_cancelling_a_running_import_keeps_it_cancelled(api, engine):
    content = json.dumps({"streams": {f"s{i}": PLAIN.replace("demo", f"s{i}") for i in range(500)}})
    task_id = (await api.post("/async/data/import?partial=1", json={"content": content})).json()["id"]
    assert (await api.post(f"/async/task/{task_id}/cancel")).text == "cancel success"
    await transfer_for(engine).tasks.wait()
    assert (await api.get(f"/async/task/{task_id}")).json()["status"] == "cancel"
    assert len(engine.streams) < 500


async def test_async_task_ids_are_unique_per_second(api, monkeypatch):
    monkeypatch.setattr(arrokoth._transfer_tasks, "_unix", lambda: 1_700_000_000)
    assert (await api.post("/async/data/import?partial=1", json={"content": "{}"})).status_code == 200
    r = await api.post("/async/data/import?partial=1", json={"content": "{}"})
    assert (r.status_code, r.text) == (400, error_body("async task: dataImport-1700000000 not found"))


async def test_v2_yaml_export_and_import(api, engine):
    await setup(api)
    r = await api.get("/v2/data/export")
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    doc = yaml.safe_load(r.text)
    assert list(doc) == ["sinkConfig", "streams", "rules"]
    assert doc["sinkConfig"] == {"sinks.log.s1": {"format": "json"}}
    assert doc["streams"] == {"demo": {"sql": PLAIN}}

    await api.post("/data/import", json={"content": "{}"})
    assert engine.rules == {}
    r = await api.post("/v2/data/import", json={"content": r.text})
    assert (r.status_code, r.text) == (200, "success")
    assert set(engine.rules) == {"r1", "r2"} and engine.rules["r1"].status == "running"

    r = await api.post("/v2/data/import", json={"content": "streams:\n  s: {sql: 'CREATE STWREAM s ()'}\n"})
    assert r.status_code == 400 and json.loads(r.text)["message"].startswith("import failed: replace stream s failed, err:")
    r = await api.post("/v2/data/import", json={"content": "a", "file": "b"})
    assert r.text == error_body("Invalid body: Cannot specify both content and file: bad request")
    r = await api.post("/v2/data/import", json={})
    assert r.text == error_body("Invalid body: must specify content or file: bad request")
    r = await api.post("/v2/data/import", json={"file": "file:///nonexistent/x.yaml"})
    assert r.text == error_body("Fail to read file: stat /nonexistent/x.yaml: no such file or directory")


async def test_ruleset_export_and_import(api, engine):
    await setup(api)
    r = await api.post("/ruleset/export")
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    ruleset = json.loads(r.content)
    assert list(ruleset) == ["streams", "tables", "rules"]
    ruleset["rules"]["bad"] = rule("bad", "SELECT * FROM nowhere")
    ruleset["tables"]["t1"] = "CREATE TABLE"

    await api.post("/data/import", json={"content": "{}"})
    r = await api.post("/ruleset/import", json={"content": json.dumps(ruleset)})
    assert (r.status_code, r.text) == (200, "imported 1 streams, 0 tables and 2 rules")
    assert set(engine.rules) == {"r1", "r2"}
    r = await api.post("/ruleset/import", json={"content": "{"})
    assert r.text == error_body("Import ruleset error: invalid import file: unexpected end of JSON input")


async def test_import_yields_to_other_requests(api, engine):
    content = json.dumps({"streams": {f"s{i}": PLAIN.replace("demo", f"s{i}") for i in range(300)}})
    task = asyncio.get_running_loop().create_task(api.post("/data/import?partial=1", json={"content": content}))
    pings = 0
    for _ in range(100_000):
        if task.done():
            break
        assert (await api.get("/ping")).status_code == 200
        pings += 1
        await asyncio.sleep(0)  # an in-process request need not suspend; give the import its turn
    assert (await task).status_code == 200
    assert len(engine.streams) == 300
    assert pings >= 100  # served while the import ran: it yields between items
