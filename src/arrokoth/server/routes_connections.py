"""Named connections and connectivity checks (spec §4): `/connections` and
`/metadata/{sources|sinks|lookups}/connection/{type}`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from arrokoth.engine import EngineError
from arrokoth.io.connectivity import DEFAULT_TIMEOUT, ConnectionCheckError
from arrokoth.io.lookup.base import LookupConfigError
from arrokoth.io.props import MissingExtra
from arrokoth.io.sinks.base import SinkConfigError
from arrokoth.io.sources.base import SourceConfigError
from arrokoth.server.responses import empty, handles_errors, json_body, json_response, text

#: the error code of a check that reached no usable remote end (eKuiper's)
CHECK_FAILED = 1003


def _connections(request: Request):
    return request.app.state.engine.connections


@handles_errors
async def create_connection(request: Request) -> Response:
    """Create a named connection `{id, typ, props}`; it dials in the background."""
    await _connections(request).create(await json_body(request))
    return text("success", 201)


@handles_errors
async def list_connections(request: Request) -> Response:
    """Named connections with their status; `?forceAll=true` adds the anonymous ones."""
    force_all = request.query_params.get("forceAll", "").lower() == "true"
    return json_response(await _connections(request).list(force_all))


@handles_errors
async def describe_connection(request: Request) -> Response:
    """One connection with its live status."""
    return json_response(await _connections(request).describe(request.path_params["id"]))


@handles_errors
async def update_connection(request: Request) -> Response:
    """Replace a connection's type and props (refused while rules reference it)."""
    await _connections(request).update(request.path_params["id"], await json_body(request))
    return text("success")


@handles_errors
async def delete_connection(request: Request) -> Response:
    """Drop a connection (refused while rules reference it; an unknown id is fine)."""
    await _connections(request).drop(request.path_params["id"])
    return text("success")


# --- connectivity checks --------------------------------------------------------------------


def _check_endpoint(kind: str):
    async def handler(request: Request) -> Response:
        typ = request.path_params["type"]
        cls = _connector(kind, typ)
        ping = getattr(cls, "ping", None)
        if ping is None:
            noun = {"sources": "source", "sinks": "sink", "lookups": "lookup source"}[kind]
            raise EngineError(f"{noun} {typ} doesn't support ping connection")
        props = await json_body(request)
        if not isinstance(props, dict):
            raise EngineError("the body must be a JSON object of the connector's properties")
        if kind == "lookups":
            props.setdefault("datasource", "/$$TEST_CONNECTION$$")
        props = request.app.state.engine.connections.resolve(props)
        try:
            await ping(props, DEFAULT_TIMEOUT)
        except ConnectionCheckError as e:
            raise EngineError(str(e), CHECK_FAILED) from None
        except (SourceConfigError, SinkConfigError, LookupConfigError, MissingExtra) as e:
            raise EngineError(str(e)) from None
        return empty()

    handler.__name__ = f"check_{kind}_connection"
    handler.__doc__ = f"Check that a {kind[:-1]} configuration reaches its remote end (within 5 s)."
    return handles_errors(handler)


def _connector(kind: str, typ: str) -> type:
    from arrokoth.io.lookup.registry import lookup_class
    from arrokoth.io.sinks.registry import sink_class
    from arrokoth.io.sources.registry import source_class

    try:
        if kind == "sources":
            return source_class(typ)
        if kind == "sinks":
            return sink_class(typ)
        if typ.lower() == "memory":
            return type("MemoryLookup", (), {})
        return lookup_class(typ)
    except (SourceConfigError, SinkConfigError, LookupConfigError) as e:
        raise EngineError(str(e)) from None


routes = [
    Route("/connections", create_connection, methods=["POST"]),
    Route("/connections", list_connections, methods=["GET"]),
    # `:path`: the ids of anonymous connections hold their MQTT topic, slashes included
    Route("/connections/{id:path}", describe_connection, methods=["GET"]),
    Route("/connections/{id:path}", update_connection, methods=["PUT"]),
    Route("/connections/{id:path}", delete_connection, methods=["DELETE"]),
    Route("/metadata/sources/connection/{type}", _check_endpoint("sources"), methods=["POST"]),
    Route("/metadata/sinks/connection/{type}", _check_endpoint("sinks"), methods=["POST"]),
    Route("/metadata/lookups/connection/{type}", _check_endpoint("lookups"), methods=["POST"]),
]
