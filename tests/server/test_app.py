"""The app around the handlers (spec 0.2, 1.2): CORS, Connection: close, router misses, /openapi.json."""

from __future__ import annotations

import re

import pytest

from arrokoth.functions import jsonvalue
from arrokoth.server.app import all_routes

pytestmark = pytest.mark.anyio

TEXT = "text/plain; charset=utf-8"
STREAM = 'CREATE STREAM demo () WITH (DATASOURCE="t", TYPE="memory")'


def preflight(method: str | None = None, headers: str | None = None, origin: str = "http://ui.example") -> dict:
    out = {"Origin": origin}
    if method is not None:
        out["Access-Control-Request-Method"] = method
    if headers is not None:
        out["Access-Control-Request-Headers"] = headers
    return out


# --- CORS preflight ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_preflight_allowed(api, method):
    resp = await api.options("/rules/r1", headers=preflight(method, "Content-Type, Authorization"))
    assert resp.status_code == 200
    assert resp.content == b""
    assert resp.headers["access-control-allow-origin"] == "*"
    assert resp.headers["access-control-allow-methods"] == method
    assert resp.headers["access-control-allow-headers"] == "Content-Type, Authorization"
    assert "access-control-allow-credentials" not in resp.headers
    assert resp.headers["connection"] == "close"


@pytest.mark.parametrize("method", ["GET", "POST", "HEAD"])
async def test_preflight_simple_method_has_no_allow_methods(api, method):
    resp = await api.options("/streams", headers=preflight(method))
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-methods" not in resp.headers
    assert "access-control-allow-headers" not in resp.headers


async def test_preflight_simple_headers_are_not_echoed(api):
    resp = await api.options("/streams", headers=preflight("POST", "Accept, Accept-Language, Content-Language"))
    assert resp.status_code == 200
    assert "access-control-allow-headers" not in resp.headers


async def test_preflight_runs_before_the_router(api):
    resp = await api.options("/no/such/path", headers=preflight("GET"))
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("path", ["/configs", "/rules/r1/tags"])
async def test_preflight_patch_is_rejected(api, path):
    resp = await api.options(path, headers=preflight("PATCH", "Content-Type"))
    assert resp.status_code == 405
    assert resp.content == b""
    assert "access-control-allow-origin" not in resp.headers
    assert resp.headers["connection"] == "close"


async def test_preflight_without_request_method(api):
    resp = await api.options("/streams", headers=preflight())
    assert resp.status_code == 400
    assert resp.content == b""
    assert "access-control-allow-origin" not in resp.headers


@pytest.mark.parametrize("headers", ["X-Custom", "Content-Type, X-Requested-With", "Cookie"])
async def test_preflight_bad_header(api, headers):
    resp = await api.options("/streams", headers=preflight("PUT", headers))
    assert resp.status_code == 403
    assert resp.content == b""
    assert "access-control-allow-origin" not in resp.headers
    assert resp.headers["connection"] == "close"


async def test_options_without_origin_goes_to_the_router(api):
    resp = await api.options("/streams", headers={"Access-Control-Request-Method": "GET"})
    assert resp.status_code == 405
    assert resp.content == b""
    assert "access-control-allow-origin" not in resp.headers


# --- CORS on normal responses --------------------------------------------------------------


async def test_allow_origin_on_responses_with_origin(api):
    origin = {"Origin": "http://ui.example"}
    for resp in (
        await api.get("/ping", headers=origin),
        await api.post("/streams", json={"sql": STREAM}, headers=origin),
        await api.post("/streams", json={"sql": STREAM}, headers=origin),  # an error body
        await api.get("/nosuchpath", headers=origin),
        await api.patch("/streams", headers=origin),
    ):
        assert resp.headers["access-control-allow-origin"] == "*", resp.request.url
        assert "access-control-allow-credentials" not in resp.headers


async def test_no_cors_headers_without_origin(api):
    resp = await api.get("/ping")
    assert not [h for h in resp.headers if h.startswith("access-control-")]


# --- Connection: close ----------------------------------------------------------------------


async def test_connection_close_everywhere(api):
    responses = [
        await api.get("/"),
        await api.get("/ping"),
        await api.head("/ping"),
        await api.post("/streams", json={"sql": STREAM}),           # 201
        await api.get("/streams/demo"),                               # 200 JSON
        await api.get("/streams/nope"),                               # 400 error body
        await api.delete("/streams/nope"),                            # 404 error body
        await api.post("/rules/validate", json={"id": "x"}),        # 422 text
        await api.patch("/configs", json={}),                         # 204
        await api.get("/nosuchpath"),                                 # router 404
        await api.put("/ping"),                                       # router 405
        await api.get("/openapi.json"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 201, 200, 400, 404, 422, 204, 404, 405, 200]
    for resp in responses:
        assert resp.headers.get("connection") == "close", f"{resp.request.method} {resp.request.url}"


# --- router misses ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nosuchpath", "/rules/r1/nosuch", "/streams/a/b/c", "/v2/rules", "/v3/rules/r1/status"])
async def test_unknown_path(api, path):
    resp = await api.get(path)
    assert resp.status_code == 404
    assert resp.headers["content-type"] == TEXT
    assert resp.content == b"404 page not found\n"


@pytest.mark.parametrize(("method", "path"), [
    ("PATCH", "/streams"), ("DELETE", "/rules"), ("POST", "/ping"), ("GET", "/batch/req"), ("POST", "/rules/status/all"),
    ("GET", "/configs"), ("POST", "/rules/r1"), ("DELETE", "/"),
])
async def test_wrong_method(api, method, path):
    resp = await api.request(method, path)
    assert resp.status_code == 405
    assert resp.content == b""


async def test_literal_routes_beat_params(api):
    assert (await api.get("/rules/status/all")).json() == {}
    assert (await api.post("/rules/validate", json={"id": "x"})).status_code == 422
    assert (await api.get("/streamdetails")).json() == []


# --- /openapi.json ---------------------------------------------------------------------------


async def test_openapi_lists_every_route(api):
    resp = await api.get("/openapi.json")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    doc = jsonvalue.loads(resp.content)
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"]
    missing = []
    for route in all_routes():
        if route.path == "/openapi.json":
            continue  # the document itself
        path = re.sub(r"{(\w+)(?::\w+)?}", r"{\1}", route.path)
        for method in route.methods or ():
            if method != "HEAD" and method.lower() not in doc["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    assert not missing
    create = doc["paths"]["/rules"]["post"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert schema["$ref"].rsplit("/", 1)[-1] in doc["components"]["schemas"]
