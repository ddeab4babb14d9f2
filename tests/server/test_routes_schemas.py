"""The schema endpoints (spec §8), driven in-process through the real app."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.anyio

PROTO = """syntax = "proto3";
package demo;
message Reading {
  string device = 1;
  double temperature = 2;
}
"""


async def test_schema_lifecycle(api, engine):
    r = await api.get("/schemas/protobuf")
    assert r.status_code == 200 and r.json() == []
    r = await api.post("/schemas/protobuf", json={"name": "s1", "content": PROTO})
    assert r.status_code == 201 and r.text == "protobuf schema s1 is created"
    assert (await api.get("/schemas/protobuf")).json() == ["s1"]

    r = await api.get("/schemas/protobuf/s1")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert list(body) == ["type", "name", "content", "file", "soFile", "version"]
    assert body["type"] == "protobuf" and body["name"] == "s1" and body["content"] == PROTO
    assert body["file"].endswith("/schemas/protobuf/s1.proto")

    r = await api.put("/schemas/protobuf/s1", json={"type": "protobuf", "name": "s1", "content": PROTO,
                                                      "version": "2"})
    assert r.status_code == 200 and r.text == "protobuf schema s1 is updated"
    assert (await api.get("/schemas/protobuf/s1")).json()["version"] == "2"

    r = await api.delete("/schemas/protobuf/s1")
    assert r.status_code == 200 and r.text == "protobuf schema s1 is deleted"
    assert (await api.get("/schemas/protobuf")).json() == []


async def test_put_creates_and_keys_match_case_insensitively(api):
    r = await api.put("/schemas/protobuf/s2", json={"Content": PROTO})
    assert r.status_code == 200
    assert (await api.get("/schemas/protobuf/s2")).json()["content"] == PROTO


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), [
    ("get", "/schemas/protobuf/nope", None, 404, "schema type protobuf, file nope not found"),
    ("get", "/schemas/avro", None, 400, "schema type avro not found"),
    ("post", "/schemas/protobuf", {"content": PROTO}, 400, "Invalid body: name is required"),
    ("post", "/schemas/protobuf", {"name": "x"}, 400, "Invalid body: must specify content or file"),
    ("post", "/schemas/protobuf", {"name": "x", "content": "message {"}, 400,
     "schema create command error: x.proto:1: expected a message name but found '{'"),
    ("put", "/schemas/protobuf/a", {"name": "b", "content": PROTO}, 400, "Invalid body: Type or name does not match"),
    ("put", "/schemas/protobuf/a", {"type": "custom", "content": PROTO}, 400,
     "Invalid body: Type or name does not match"),
    ("delete", "/schemas/protobuf/nope", None, 400,
     "delete protobuf schema nope error: schema protobuf.nope not found"),
])
async def test_errors(api, method, path, body, status, message):
    kwargs = {"json": body} if body is not None else {}
    r = await api.request(method.upper(), path, **kwargs)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/plain")
    err = json.loads(r.text)
    assert err["message"] == message
    assert err["error"] == (1002 if status == 404 else 1000)


async def test_bad_json_body(api):
    r = await api.post("/schemas/protobuf", content=b"{")
    assert r.status_code == 400
    assert r.json()["message"].startswith("Invalid body: Error decoding schema json")


async def test_duplicate(api):
    await api.post("/schemas/protobuf", json={"name": "s1", "content": PROTO})
    r = await api.post("/schemas/protobuf", json={"name": "s1", "content": PROTO})
    assert r.status_code == 400
    assert r.json()["message"] == "schema create command error: schema protobuf.s1 already registered"


async def test_upload(api):
    files = {"file": ("s1.proto", PROTO.encode(), "application/octet-stream")}
    r = await api.put("/schemas/protobuf/s1/upload", files=files, data={"version": "1"})
    assert r.status_code == 201
    assert r.json() == {"type": "protobuf", "name": "s1"}
    assert r.headers["location"] == "/schemas/protobuf/s1"
    r = await api.put("/schemas/protobuf/s1/upload", files=files)
    assert r.status_code == 200
    desc = (await api.get("/schemas/protobuf/s1")).json()
    assert desc["content"] == PROTO and desc["version"] == ""


@pytest.mark.parametrize(("kwargs", "status", "message"), [
    ({"json": {"content": PROTO}}, 415, "multipart/form-data"),
    ({"data": {"version": "1"}, "files": {"other": ("x", b"x")}}, 400, "missing the file form field"),
    ({"files": {"file": ("x.proto", b"\xff\xfe")}}, 400, "not UTF-8"),
    ({"files": {"file": ("x.proto", b"message {")}}, 400, "expected a message name"),
])
async def test_upload_errors_are_json(api, kwargs, status, message):
    r = await api.put("/schemas/protobuf/s1/upload", **kwargs)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    assert message in r.json()["message"]


async def test_schemas_in_the_data_export(api):
    await api.post("/schemas/protobuf", json={"name": "s1", "content": PROTO})
    doc = json.loads((await api.get("/data/export")).content)
    assert json.loads(doc["Schema"]["protobuf_s1"])["content"] == PROTO
