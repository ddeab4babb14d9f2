"""Streams and tables (spec §2). Both kinds share the handlers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from arrokoth.engine import EngineError
from arrokoth.server.responses import (
    field,
    handles_errors,
    json_object,
    json_response,
    path_id,
    text,
)


def _kind(request: Request) -> str:
    return "table" if request.url.path.startswith("/table") else "stream"


def _engine(request: Request):
    return request.app.state.engine


@handles_errors
async def create(request: Request) -> Response:
    """Run a stream or table statement (CREATE, DROP, SHOW, DESCRIBE, EXPLAIN)."""
    body = await json_object(request, "StreamReq")
    sql = field(body, "sql")
    if not isinstance(sql, str):
        raise EngineError("Stream command error: sql must be a string", 3000)
    return text(_engine(request).exec_stream_statement(sql), 201)


async def list_all(request: Request) -> Response:
    """Names of the streams (or tables; `?kind=scan|lookup`)."""
    kind = _kind(request)
    table_kind = request.query_params.get("kind") if kind == "table" else None
    if table_kind not in ("scan", "lookup"):
        table_kind = None
    return json_response(_engine(request).list_streams(kind, table_kind))


async def details(request: Request) -> Response:
    """Name, type and format of every stream (or table)."""
    kind = "table" if request.url.path.startswith("/tabledetails") else "stream"
    table_kind = request.query_params.get("kind") if kind == "table" else None
    if table_kind not in ("scan", "lookup"):
        table_kind = None
    return json_response(_engine(request).stream_details(kind, table_kind))


@handles_errors
async def describe(request: Request) -> Response:
    """The definition of one stream or table."""
    kind = _kind(request)
    name = path_id(request)
    return json_response(_engine(request).describe_stream(name, kind))


@handles_errors
async def replace(request: Request) -> Response:
    """Create or replace a stream or table with the same name."""
    kind = _kind(request)
    name = path_id(request)
    body = await json_object(request, "StreamReq")
    sql = field(body, "sql")
    if not isinstance(sql, str):
        raise EngineError("sql must be a string", 3000)
    return text(_engine(request).replace_stream(name, sql, kind))


@handles_errors
async def drop(request: Request) -> Response:
    """Drop a stream or table; `?force=true` skips the rule reference check."""
    kind = _kind(request)
    name = path_id(request)
    force = request.query_params.get("force", "").lower() == "true"
    return text(_engine(request).drop_stream(name, kind, force))


@handles_errors
async def schema(request: Request) -> Response:
    """The schema of a stream or table."""
    kind = _kind(request)
    name = path_id(request)
    return json_response(_engine(request).stream_schema(name, kind))


routes = [
    Route("/streamdetails", details, methods=["GET"]),
    Route("/tabledetails", details, methods=["GET"]),
]
for _kind_path in ("streams", "tables"):
    routes += [
        Route(f"/{_kind_path}", create, methods=["POST"]),
        Route(f"/{_kind_path}", list_all, methods=["GET"]),
        Route(f"/{_kind_path}/{{name}}", describe, methods=["GET"]),
        Route(f"/{_kind_path}/{{name}}", replace, methods=["PUT"]),
        Route(f"/{_kind_path}/{{name}}", drop, methods=["DELETE"]),
        Route(f"/{_kind_path}/{{name}}/schema", schema, methods=["GET"]),
    ]
