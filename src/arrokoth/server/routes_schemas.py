"""The schema registry endpoints (spec §8): `/schemas/{type}` and `/schemas/{type}/{name}`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from arrokoth.engine import EngineError
from arrokoth.functions import jsonvalue
from arrokoth.schemas import SchemaRegistry, registry_for
from arrokoth.server.responses import handles_errors, json_body, json_response, text


def _registry(request: Request) -> SchemaRegistry:
    return registry_for(request.app.state.engine)


@handles_errors
async def list_schemas(request: Request) -> Response:
    """Names of the schemas of a type."""
    return json_response(_registry(request).names(request.path_params["type"]))


@handles_errors
async def create_schema(request: Request) -> Response:
    """Register a schema from `content` or a `file` URL."""
    body = await _schema_body(request)
    return text(await _registry(request).create(request.path_params["type"], body), 201)


@handles_errors
async def describe_schema(request: Request) -> Response:
    """A schema: type, name, content, file path, version."""
    return json_response(_registry(request).describe(request.path_params["type"], request.path_params["name"]))


@handles_errors
async def update_schema(request: Request) -> Response:
    """Create or replace a schema; the body's type and name must match the path."""
    body = await _schema_body(request)
    reg = _registry(request)
    return text(await reg.update(request.path_params["type"], request.path_params["name"], body))


@handles_errors
async def delete_schema(request: Request) -> Response:
    """Delete a schema and its file."""
    return text(_registry(request).delete(request.path_params["type"], request.path_params["name"]))


async def _schema_body(request: Request):
    try:
        return await json_body(request)
    except EngineError as e:
        raise EngineError(f"Invalid body: Error decoding schema json: {e.message}") from None


def _json_error(message: str, status: int) -> Response:
    # this endpoint answers its errors as application/json, unlike the rest of the API
    return Response(jsonvalue.encode({"error": 1000, "message": message}) + b"\n", status_code=status,
                    media_type="application/json")


async def upload_schema(request: Request) -> Response:
    """Create or replace a schema from a multipart upload (`file`, optional `version`)."""
    schema_type, name = request.path_params["type"], request.path_params["name"]
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return _json_error("the request must be multipart/form-data with a file field", 415)
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception as e:  # noqa: BLE001 - a malformed multipart body is a client error
        return _json_error(f"invalid multipart body: {e}", 400)
    try:
        item = form.get("file")
        if item is None or isinstance(item, str):
            return _json_error("missing the file form field", 400)
        data = await item.read()
        version = form.get("version")
        version = version if isinstance(version, str) else ""
    finally:
        await form.close()
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError:
        return _json_error("the schema file is not UTF-8 text", 400)
    try:
        created = _registry(request).upload(schema_type, name, content, version)
    except EngineError as e:
        status = 500 if "cannot write" in e.message else 400
        return _json_error(e.message, status)
    resp = json_response({"type": schema_type, "name": name}, 201 if created else 200)
    resp.headers["Location"] = f"/schemas/{schema_type}/{name}"
    return resp


routes = [
    Route("/schemas/{type}", list_schemas, methods=["GET"]),
    Route("/schemas/{type}", create_schema, methods=["POST"]),
    Route("/schemas/{type}/{name}", describe_schema, methods=["GET"]),
    Route("/schemas/{type}/{name}", update_schema, methods=["PUT"]),
    Route("/schemas/{type}/{name}", delete_schema, methods=["DELETE"]),
    Route("/schemas/{type}/{name}/upload", upload_schema, methods=["PUT"]),
]
