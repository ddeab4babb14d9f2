"""Rules (spec §3)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from arrokoth.engine import EngineError
from arrokoth.functions import jsonvalue
from arrokoth.rules import format_status
from arrokoth.server.responses import (
    TEXT,
    empty,
    engine_error,
    error,
    field,
    json_body,
    json_object,
    json_response,
    path_id,
    text,
)


def _engine(request: Request):
    return request.app.state.engine


async def create(request: Request) -> Response:
    """Create a rule; it starts unless `triggered` is false."""
    try:
        return text(await _engine(request).create_rule(await request.body()), 201)
    except EngineError as e:
        return engine_error(e)


async def list_all(request: Request) -> Response:
    """Every rule with its status, sorted by id."""
    return json_response(_engine(request).list_rules())


async def describe(request: Request) -> Response:
    """The rule JSON as stored."""
    try:
        rule_id = path_id(request, "id")
        return Response(_engine(request).get_rule(rule_id), media_type="application/json")
    except EngineError as e:
        return engine_error(e)


async def update(request: Request) -> Response:
    """Create or replace a rule (upsert), restarting it if it runs."""
    try:
        rule_id = path_id(request, "id")
        return text(await _engine(request).upsert_rule(rule_id, await request.body()))
    except EngineError as e:
        return engine_error(e)


async def delete(request: Request) -> Response:
    """Stop and drop a rule."""
    try:
        rule_id = path_id(request, "id")
        return text(await _engine(request).delete_rule(rule_id))
    except EngineError as e:
        return engine_error(e)


async def start(request: Request) -> Response:
    """Start a rule."""
    try:
        return text(await _engine(request).start_rule(path_id(request, "id")))
    except EngineError as e:
        return engine_error(e)


async def stop(request: Request) -> Response:
    """Stop a rule."""
    try:
        return text(await _engine(request).stop_rule(path_id(request, "id")))
    except EngineError as e:
        return engine_error(e)


async def restart(request: Request) -> Response:
    """Restart a rule from its stored definition."""
    try:
        return text(await _engine(request).restart_rule(path_id(request, "id")))
    except EngineError as e:
        return engine_error(e)


async def status(request: Request) -> Response:
    """Status and metrics of a rule, pretty-printed."""
    try:
        header, metrics = _engine(request).rule_status(path_id(request, "id"))
        return Response(format_status(header, metrics), media_type="application/json")
    except EngineError as e:
        return engine_error(e)


async def status_v2(request: Request) -> Response:
    """Status and metrics of a rule, compact with sorted keys."""
    try:
        header, metrics = _engine(request).rule_status(path_id(request, "id"))
        return Response(jsonvalue.encode({**header, **metrics}, sort_keys=True), media_type="application/json")
    except EngineError as e:
        return engine_error(e)


async def status_all(request: Request) -> Response:
    """Status of every rule."""
    return json_response(_engine(request).all_status())


async def topo(request: Request) -> Response:
    """The operator graph of a rule that has run."""
    try:
        return json_response(_engine(request).rule_topo(path_id(request, "id")))
    except EngineError as e:
        return engine_error(e)


async def explain(request: Request) -> Response:
    """The logical plan of a rule, one JSON object per node."""
    try:
        return text(_engine(request).explain_rule(path_id(request, "id")))
    except EngineError as e:
        return engine_error(e)


async def rule_schema(request: Request) -> Response:
    """The output schema of a rule."""
    try:
        return json_response(_engine(request).rule_schema(path_id(request, "id")))
    except EngineError as e:
        return engine_error(e)


async def validate(request: Request) -> Response:
    """Check a rule without creating it: 200 with its sources, or 422 with the reason."""
    try:
        return json_response(_engine(request).validate_rule(await request.body()))
    except EngineError as e:
        return Response(e.message, status_code=422, media_type=TEXT)


async def reset_state(request: Request) -> Response:
    """Reset a rule's state (type 1: the source offset of a rewindable source)."""
    try:
        rule_id = path_id(request, "id")
        body = await json_object(request, "ResetStateReq")
        return text(await _engine(request).reset_state(rule_id, field(body, "type"), field(body, "params")))
    except EngineError as e:
        return engine_error(e)


async def _tags_body(request: Request) -> list[str]:
    body = await json_object(request, "RuleTagRequest")
    tags = field(body, "tags")
    if tags is None:
        tags = []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise EngineError("tags must be a list of strings")
    return tags


def _tags_handler(mode: str):
    async def handler(request: Request) -> Response:
        try:
            rule_id = path_id(request, "id")
            _engine(request).set_tags(rule_id, await _tags_body(request), mode)
            return empty()
        except EngineError as e:
            return engine_error(e)

    handler.__doc__ = {"replace": "Replace a rule's tags.", "add": "Add tags to a rule.",
                       "remove": "Remove tags from a rule."}[mode]
    return handler


async def match_tags(request: Request) -> Response:
    """Rules that carry every given tag (a GET with a JSON body)."""
    try:
        body = await json_body(request, allow_empty=True)
        tags = field(body, "tags", []) if isinstance(body, dict) else []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise EngineError("tags must be a list of strings")
        ids = _engine(request).match_tags(tags)
        return json_response({"rules": ids} if ids else {})
    except EngineError as e:
        return engine_error(e)


def _bulk(start: bool):
    async def handler(request: Request) -> Response:
        try:
            return json_response(await _engine(request).bulk(await _tags_body(request), start))
        except EngineError as e:
            return error(e.message, e.code, e.status)

    handler.__doc__ = "Start every rule with the given tags." if start else "Stop every rule with the given tags."
    return handler


async def scan_tables(request: Request) -> Response:
    """The scan-table rows held by a running rule's join."""
    try:
        return json_response(_engine(request).scan_tables(path_id(request, "id")))
    except EngineError as e:
        return engine_error(e)


async def cpu_usage(request: Request) -> Response:
    """Per-rule CPU usage; Arrokoth does not profile rules, as eKuiper with the profiler off."""
    return text("cpu usage not enabled")


routes = [
    Route("/rules", create, methods=["POST"]),
    Route("/rules", list_all, methods=["GET"]),
    Route("/rules/validate", validate, methods=["POST"]),
    Route("/rules/bulkstart", _bulk(True), methods=["POST"]),
    Route("/rules/bulkstop", _bulk(False), methods=["POST"]),
    Route("/rules/status/all", status_all, methods=["GET"]),
    Route("/rules/usage/cpu", cpu_usage, methods=["GET"]),
    Route("/rules/tags/match", match_tags, methods=["GET"]),
    Route("/rules/{id}", describe, methods=["GET"]),
    Route("/rules/{id}", update, methods=["PUT"]),
    Route("/rules/{id}", delete, methods=["DELETE"]),
    Route("/rules/{id}/start", start, methods=["POST"]),
    Route("/rules/{id}/stop", stop, methods=["POST"]),
    Route("/rules/{id}/restart", restart, methods=["POST"]),
    Route("/rules/{id}/status", status, methods=["GET"]),
    Route("/v2/rules/{id}/status", status_v2, methods=["GET"]),
    Route("/rules/{id}/topo", topo, methods=["GET"]),
    Route("/rules/{id}/explain", explain, methods=["GET"]),
    Route("/rules/{id}/schema", rule_schema, methods=["GET"]),
    Route("/rules/{id}/reset_state", reset_state, methods=["PUT"]),
    Route("/rules/{id}/scantables", scan_tables, methods=["GET"]),
    Route("/rules/{id}/tags", _tags_handler("replace"), methods=["PUT"]),
    Route("/rules/{id}/tags", _tags_handler("add"), methods=["PATCH"]),
    Route("/rules/{id}/tags", _tags_handler("remove"), methods=["DELETE"]),
]
