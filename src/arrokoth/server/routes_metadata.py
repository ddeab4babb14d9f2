"""Metadata and configuration keys (spec section 5).

Errors are eKuiper's: 400 with code 5000, the English prefixes swapped for the language of
the `Content-Language` header. The connectivity checks (`/metadata/*/connection/...`,
spec 4.5) live elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from arrokoth import confkeys, metadata
from arrokoth.engine import EngineError
from arrokoth.functions import jsonvalue
from arrokoth.server.responses import empty, error, json_response
from arrokoth.store.base import StoreError


def _engine(request: Request):
    return request.app.state.engine


def _lang(request: Request) -> str:
    return metadata.language(request.headers.get("content-language"))


def _fail(e: EngineError, lang: str) -> Response:
    return error(metadata.localize(e.message, lang), e.code, e.status)


def _sorted_json(obj) -> Response:
    """Go marshals maps with their keys sorted, at every level."""
    return Response(jsonvalue.encode(obj, sort_keys=True), media_type="application/json")


# --- connector metadata ----------------------------------------------------------------


async def list_sources(request: Request) -> Response:
    """Source types with their `about`; `?kind=lookup` lists the lookup-capable ones."""
    return json_response(metadata.source_list(request.query_params.get("kind", "")))


async def describe_source(request: Request) -> Response:
    """A source type's properties, data source and node metadata."""
    lang = _lang(request)
    try:
        return json_response(metadata.source_meta(request.path_params["name"], lang))
    except EngineError as e:
        return _fail(e, lang)


async def list_sinks(request: Request) -> Response:
    """Sink types with their `about`."""
    return json_response(metadata.sink_list())


async def describe_sink(request: Request) -> Response:
    """A sink type's properties (a flat array, the common sink properties included)."""
    lang = _lang(request)
    try:
        return json_response(metadata.sink_meta(request.path_params["name"], lang))
    except EngineError as e:
        return _fail(e, lang)


async def list_connections(request: Request) -> Response:
    """Source types that have connection settings."""
    return json_response(metadata.connection_list(_engine(request)))


async def describe_connection(request: Request) -> Response:
    """A source type's connection-related properties."""
    lang = _lang(request)
    try:
        return json_response(metadata.connection_meta(request.path_params["name"], lang))
    except EngineError as e:
        return _fail(e, lang)


# --- configuration keys ----------------------------------------------------------------

_GO_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "bool"}


async def _props_body(request: Request, typ: str, lang: str) -> dict:
    """The body as Go's json.Unmarshal into map[string]interface{} reads it."""
    prefix = f"{metadata.message(lang, 'type_conversion_fail')}{typ}."
    raw = await request.body()
    if not raw.strip():
        raise EngineError(f"{prefix}unexpected end of JSON input", 5000)
    try:
        props = jsonvalue.loads(raw)
    except jsonvalue.DecodeError as e:
        raise EngineError(f"{prefix}{e}", 5000) from None
    if props is None:  # Go leaves the map empty for `null`
        return {}
    if not isinstance(props, dict):
        go_type = _GO_TYPES.get(type(props), type(props).__name__)
        raise EngineError(f"{prefix}json: cannot unmarshal {go_type} into Go value of type map[string]interface {{}}",
                          5000)
    return props


def _yaml_view(kind: str) -> Callable:
    async def handler(request: Request) -> Response:
        lang = _lang(request)
        try:
            return _sorted_json(confkeys.view(_engine(request), kind, request.path_params["name"]))
        except EngineError as e:
            return _fail(e, lang)

    handler.__doc__ = f"The {kind[:-1]} confKeys: shipped ones merged with stored ones (stored win)."
    return handler


def _put_key(kind: str) -> Callable:
    async def handler(request: Request) -> Response:
        lang = _lang(request)
        typ = request.path_params["name"]
        key = request.path_params["confKey"]
        try:
            confkeys.check_key(key)
            confkeys.check_type(kind, typ)
            props = await _props_body(request, typ, lang)
            confkeys.put(_engine(request), kind, typ, key, props)
        except EngineError as e:
            return _fail(e, lang)
        except StoreError as e:
            return error(f"{metadata.message(lang, 'write_data_fail')}{kind}.{typ}.{e}", 5000)
        return empty()

    handler.__doc__ = f"Create or replace a {kind[:-1]} confKey (a full replace)."
    return handler


def _delete_key(kind: str) -> Callable:
    async def handler(request: Request) -> Response:
        lang = _lang(request)
        typ = request.path_params["name"]
        key = request.path_params["confKey"]
        try:
            confkeys.check_key(key)
            confkeys.delete(_engine(request), kind, typ, key)
        except EngineError as e:
            return _fail(e, lang)
        except StoreError as e:
            return error(f"{metadata.message(lang, 'write_data_fail')}{kind}.{typ}.{e}", 5000)
        return empty()

    handler.__doc__ = f"Delete a stored {kind[:-1]} confKey; an unknown key is not an error."
    return handler


async def list_resources(request: Request) -> Response:
    """The updatable (stored) confKeys of sources and sinks, `{confKey: type}` per type."""
    return _sorted_json(confkeys.resources(_engine(request)))


async def resource(request: Request) -> Response:
    """Every source confKey by type, optionally only those with a matching `sourceType` property."""
    source_type = request.query_params.get("sourceType", "")
    return _sorted_json(confkeys.resource(_engine(request), source_type or None))


# --- functions and operators ------------------------------------------------------------


async def list_functions(request: Request) -> Response:
    """The function catalogue, one group per category."""
    return json_response(metadata.functions())


async def list_operators(request: Request) -> Response:
    """The operators a rule compiles to."""
    return json_response(metadata.operators())


routes = [
    Route("/metadata/sources", list_sources, methods=["GET"]),
    Route("/metadata/sources/yaml/{name}", _yaml_view("sources"), methods=["GET"]),
    Route("/metadata/sources/{name}", describe_source, methods=["GET"]),
    Route("/metadata/sources/{name}/confKeys/{confKey}", _put_key("sources"), methods=["PUT"]),
    Route("/metadata/sources/{name}/confKeys/{confKey}", _delete_key("sources"), methods=["DELETE"]),
    Route("/metadata/sinks", list_sinks, methods=["GET"]),
    Route("/metadata/sinks/yaml/{name}", _yaml_view("sinks"), methods=["GET"]),
    Route("/metadata/sinks/{name}", describe_sink, methods=["GET"]),
    Route("/metadata/sinks/{name}/confKeys/{confKey}", _put_key("sinks"), methods=["PUT"]),
    Route("/metadata/sinks/{name}/confKeys/{confKey}", _delete_key("sinks"), methods=["DELETE"]),
    Route("/metadata/connections", list_connections, methods=["GET"]),
    Route("/metadata/connections/yaml/{name}", _yaml_view("connections"), methods=["GET"]),
    Route("/metadata/connections/{name}", describe_connection, methods=["GET"]),
    Route("/metadata/connections/{name}/confKeys/{confKey}", _put_key("connections"), methods=["PUT"]),
    Route("/metadata/connections/{name}/confKeys/{confKey}", _delete_key("connections"), methods=["DELETE"]),
    Route("/metadata/resources", list_resources, methods=["GET"]),
    Route("/metadata/resource", resource, methods=["GET"]),
    Route("/metadata/functions", list_functions, methods=["GET"]),
    Route("/metadata/operators", list_operators, methods=["GET"]),
]
