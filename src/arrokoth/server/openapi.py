"""The OpenAPI document, built from the route table and the request body structs."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from arrokoth import __version__
from arrokoth.functions import jsonvalue


class StreamRequest(msgspec.Struct):
    sql: str


class RuleRequest(msgspec.Struct):
    id: str
    sql: str
    actions: list[dict[str, dict[str, Any]]]
    name: str = ""
    options: dict[str, Any] = {}
    tags: list[str] = []
    triggered: bool = True
    version: str = ""


class TagsRequest(msgspec.Struct):
    tags: list[str]


class ImportRequest(msgspec.Struct):
    content: str = ""
    file: str = ""


class ResetStateRequest(msgspec.Struct):
    type: int
    params: dict[str, Any] = {}


class BatchItem(msgspec.Struct):
    method: str
    path: str
    body: str = ""


class ConnectionRequest(msgspec.Struct):
    typ: str
    id: str = ""  # required by POST; PUT takes the id from the path
    props: dict[str, Any] = {}


# (method, path) → the body struct; a list type for array bodies
REQUEST_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/streams"): StreamRequest,
    ("POST", "/tables"): StreamRequest,
    ("PUT", "/streams/{name}"): StreamRequest,
    ("PUT", "/tables/{name}"): StreamRequest,
    ("POST", "/rules"): RuleRequest,
    ("PUT", "/rules/{id}"): RuleRequest,
    ("POST", "/rules/validate"): RuleRequest,
    ("PUT", "/rules/{id}/tags"): TagsRequest,
    ("PATCH", "/rules/{id}/tags"): TagsRequest,
    ("DELETE", "/rules/{id}/tags"): TagsRequest,
    ("POST", "/rules/bulkstart"): TagsRequest,
    ("POST", "/rules/bulkstop"): TagsRequest,
    ("PUT", "/rules/{id}/reset_state"): ResetStateRequest,
    ("POST", "/batch/req"): list[BatchItem],
    ("POST", "/data/import"): ImportRequest,
    ("POST", "/async/data/import"): ImportRequest,
    ("POST", "/ruleset/import"): ImportRequest,
    ("POST", "/v2/data/import"): ImportRequest,
    ("POST", "/data/export"): list[str],
    ("POST", "/connections"): ConnectionRequest,
    ("PUT", "/connections/{id}"): ConnectionRequest,
    ("POST", "/metadata/sources/connection/{type}"): dict[str, Any],
    ("POST", "/metadata/sinks/connection/{type}"): dict[str, Any],
    ("POST", "/metadata/lookups/connection/{type}"): dict[str, Any],
}

_PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def document(routes) -> dict:
    paths: dict[str, dict] = {}
    components: dict[str, Any] = {}
    for route in routes:
        if not getattr(route, "include_in_schema", True) or route.path == "/openapi.json":
            continue
        path = _PARAM.sub(r"{\1}", route.path)
        params = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in _PARAM.findall(route.path)
        ]
        doc = (route.endpoint.__doc__ or route.name or "").strip().splitlines()
        for method in sorted(m for m in route.methods or () if m != "HEAD"):
            op: dict[str, Any] = {
                "summary": doc[0] if doc else "",
                "operationId": f"{method.lower()}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '') or 'root'}",
                "responses": {
                    "200": {"description": "success"},
                    "201": {"description": "created"},
                    "400": {"description": 'eKuiper error body {"error":code,"message":...}'},
                    "404": {"description": "not found"},
                },
            }
            if params:
                op["parameters"] = params
            body = REQUEST_BODIES.get((method, path))
            if body is not None:
                (schema,), defs = msgspec.json.schema_components([body], ref_template="#/components/schemas/{name}")
                components.update(defs)
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "Arrokoth REST API (eKuiper compatible)", "version": __version__},
        "paths": paths,
        "components": {"schemas": components},
    }


async def endpoint(request: Request) -> Response:
    """This OpenAPI document."""
    from arrokoth.server.app import all_routes

    return Response(jsonvalue.encode(document(all_routes())), media_type="application/json")
