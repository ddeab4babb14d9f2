"""Server basics (spec section 1): info, ping, stop, batch requests."""

from __future__ import annotations

import platform
import re

import httpx
import pytest

from arrokoth import __version__
from arrokoth.functions import jsonvalue
from arrokoth.server.app import create_app

pytestmark = pytest.mark.anyio

TEXT = "text/plain; charset=utf-8"
STREAM = 'CREATE STREAM b1 () WITH (DATASOURCE="b", TYPE="memory")'


def assert_client_error(resp) -> dict:
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.headers["content-type"] == TEXT
    assert resp.content.endswith(b"}\n")
    err = jsonvalue.loads(resp.content)
    assert list(err) == ["error", "message"]
    return err


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_info(api, method):
    resp = await api.request(method, "/")
    assert resp.status_code == 200
    # Go writes it without a content type, so clients see the sniffed text/plain
    assert resp.headers["content-type"] == TEXT
    body = jsonvalue.loads(resp.content)
    assert list(body) == ["version", "os", "arch", "upTimeSeconds", "cpuUsage", "memoryUsed", "memoryTotal"]
    assert body["version"] == __version__
    assert body["os"] == "linux"
    go_arch = {"x86_64": "amd64", "aarch64": "arm64"}
    assert body["arch"] == go_arch.get(platform.machine(), platform.machine())
    assert isinstance(body["upTimeSeconds"], int) and body["upTimeSeconds"] >= 0
    assert re.fullmatch(r"\d+\.\d\d%", body["cpuUsage"])
    assert body["memoryUsed"].isdigit() and int(body["memoryUsed"]) > 0
    assert body["memoryTotal"].isdigit() and int(body["memoryTotal"]) > 0


async def test_ping(api):
    resp = await api.get("/ping")
    assert resp.status_code == 200
    assert resp.content == b""


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_stop_asks_for_shutdown(engine, method):
    calls = []
    app = create_app(engine, request_shutdown=lambda: calls.append(1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        resp = await client.request(method, "/stop")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == TEXT
    assert resp.text == "stop success"
    assert calls == [1]


async def test_batch(api):
    items = [
        {"method": "POST", "path": "/streams", "body": jsonvalue.dumps({"sql": STREAM})},
        {"method": "GET", "path": "/streams/b1"},
        {"method": "GET", "path": "/streams/zz"},
        {"method": "POST", "path": "/streams", "body": jsonvalue.dumps({"sql": STREAM})},
        {"method": "DELETE", "path": "/streams/nope", "body": ""},
        {"method": "get", "path": "/streams"},
        {"method": "GET", "path": "/nosuchpath"},
    ]
    resp = await api.post("/batch/req", json=items)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    out = resp.json()
    assert [r["code"] for r in out] == [201, 200, 400, 400, 404, 200, 404]
    assert all(list(r) == ["code", "response"] for r in out)
    assert out[0]["response"] == "Stream b1 is created."
    assert jsonvalue.loads(out[1]["response"])["Name"] == "b1"
    assert out[2]["response"] == ('{"error":3000,"message":"describe stream error: Describe stream fails, '
                                  'zz is not found."}\n')
    assert jsonvalue.loads(out[3]["response"])["message"] == (
        "Stream command error: Create stream fails: Item b1 already exists.")
    assert jsonvalue.loads(out[4]["response"])["error"] == 1002
    assert out[5]["response"] == '["b1"]'
    assert out[6]["response"] == "404 page not found\n"
    # the batch really ran
    assert (await api.get("/streams")).json() == ["b1"]


async def test_batch_creates_rules(api):
    items = [
        {"method": "POST", "path": "/streams", "body": jsonvalue.dumps({"sql": STREAM})},
        {"method": "POST", "path": "/rules",
         "body": jsonvalue.dumps({"id": "r1", "sql": "SELECT * FROM b1", "actions": [{"nop": {}}]})},
        {"method": "GET", "path": "/rules/r1/status"},
    ]
    out = (await api.post("/batch/req", json=items)).json()
    assert [r["code"] for r in out] == [201, 201, 200]
    assert out[1]["response"] == "Rule r1 was created successfully."
    assert jsonvalue.loads(out[2]["response"])["status"] == "running"


async def test_batch_items_that_cannot_be_built(api):
    items = [
        {"method": "GET", "path": "no-slash"},
        {"method": "POST", "path": "/streams", "body": {"sql": STREAM}},
        "not an object",
        {"method": "POST", "path": "/batch/req", "body": "[]"},
        {"method": "GET", "path": "/ping"},
    ]
    resp = await api.post("/batch/req", json=items)
    assert resp.status_code == 200
    out = resp.json()
    assert [r["code"] for r in out] == [0, 0, 0, 0, 200]
    assert all(r["error"] for r in out[:4])
    assert "error" not in out[4]
    assert (await api.get("/streams")).json() == []


@pytest.mark.parametrize("body", [b"", b"{", b"{}", b'"x"', b"null"])
async def test_batch_bad_body(api, body):
    assert_client_error(await api.post("/batch/req", content=body))
    assert (await api.get("/ping")).status_code == 200


async def test_batch_empty_list(api):
    resp = await api.post("/batch/req", json=[])
    assert resp.status_code == 200
    assert resp.content == b"[]"
