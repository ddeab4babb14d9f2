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
    field,
    handles_errors,
    json_body,
    json_object,
    json_response,
    path_id,
    text,
)


def _engine(request: Request):
    return request.app.state.engine


@handles_errors
async def create(request: Request) -> Response:
    """Create a rule; it starts unless `triggered` is false."""
    return text(await _engine(request).create_rule(await request.body()), 201)


async def list_all(request: Request) -> Response:
    """Every rule with its status, sorted by id."""
    return json_response(_engine(request).list_rules())


@handles_errors
async def describe(request: Request) -> Response:
    """The rule JSON as stored."""
    rule_id = path_id(request, "id")
    return Response(_engine(request).get_rule(rule_id), media_type="application/json")


@handles_errors
async def update(request: Request) -> Response:
    """Create or replace a rule (upsert), restarting it if it runs."""
    rule_id = path_id(request, "id")
    return text(await _engine(request).upsert_rule(rule_id, await request.body()))


@handles_errors
async def delete(request: Request) -> Response:
    """Stop and drop a rule."""
    rule_id = path_id(request, "id")
    return text(await _engine(request).delete_rule(rule_id))


@handles_errors
async def start(request: Request) -> Response:
    """Start a rule."""
    return text(await _engine(request).start_rule(path_id(request, "id")))


@handles_errors
async def stop(request: Request) -> Response:
    """Stop a rule."""
    return text(await _engine(request).stop_rule(path_id(request, "id")))


@handles_errors
async def restart(request: Request) -> Response:
    """Restart a rule from its stored definition."""
    return text(await _engine(request).restart_rule(path_id(request, "id")))


@handles_errors
async def status(request: Request) -> Response:
    """Status and metrics of a rule, pretty-printed."""
    header, metrics = _engine(request).rule_status(path_id(request, "id"))
    return Response(format_status(header, metrics), media_type="application/json")


@handles_errors
async def status_v2(request: Request) -> Response:
    """Status and metrics of a rule, compact with sorted keys."""
    header, metrics = _engine(request).rule_status(path_id(request, "id"))
    return Response(jsonvalue.encode({**header, **metrics}, sort_keys=True), media_type="application/json")


async def status_all(request: Request) -> Response:
    """Status of every rule."""
    return json_response(_engine(request).all_status())


@handles_errors
async def topo(request: Request) -> Response:
    """The operator graph of a rule that has run."""
    return json_response(_engine(request).rule_topo(path_id(request, "id")))


@handles_errors
async def explain(request: Request) -> Response:
    """The logical plan of a rule, one JSON object per node."""
    return text(_engine(request).explain_rule(path_id(request, "id")))


@handles_errors
async def rule_schema(request: Request) -> Response:
    """The output schema of a rule."""
    return json_response(_engine(request).rule_schema(path_id(request, "id")))


async def validate(request: Request) -> Response:
    """Check a rule without creating it: 200 with its sources, or 422 with the reason."""
    try:
        return json_response(_engine(request).validate_rule(await request.body()))
    except EngineError as e:
        return Response(e.message, status_code=422, media_type=TEXT)


@handles_errors
async def reset_state(request: Request) -> Response:
    """Reset a rule's state (type 1: the source offset of a rewindable source)."""
    rule_id = path_id(request, "id")
    body = await json_object(request, "ResetStateReq")
    return text(await _engine(request).reset_state(rule_id, field(body, "type"), field(body, "params")))


async def _tags_body(request: Request) -> list[str]:
    body = await json_object(request, "RuleTagRequest")
    tags = field(body, "tags")
    if tags is None:
        tags = []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise EngineError("tags must be a list of strings")
    return tags


def _tags_handler(mode: str):
    @handles_errors
    async def handler(request: Request) -> Response:
        rule_id = path_id(request, "id")
        _engine(request).set_tags(rule_id, await _tags_body(request), mode)
        return empty()

    handler.__doc__ = {"replace": "Replace a rule's tags.", "add": "Add tags to a rule.",
                       "remove": "Remove tags from a rule."}[mode]
    return handler


@handles_errors
async def match_tags(request: Request) -> Response:
    """Rules that carry every given tag (a GET with a JSON body)."""
    body = await json_body(request, allow_empty=True)
    tags = field(body, "tags", []) if isinstance(body, dict) else []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise EngineError("tags must be a list of strings")
    ids = _engine(request).match_tags(tags)
    return json_response({"rules": ids} if ids else {})


def _bulk(start: bool):
    @handles_errors
    async def handler(request: Request) -> Response:
        return json_response(await _engine(request).bulk(await _tags_body(request), start))

    handler.__doc__ = "Start every rule with the given tags." if start else "Stop every rule with the given tags."
    return handler


@handles_errors
async def scan_tables(request: Request) -> Response:
    """The scan-table rows held by a running rule's join."""
    return json_response(_engine(request).scan_tables(path_id(request, "id")))


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
