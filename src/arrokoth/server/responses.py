"""Responses in eKuiper's wire shapes: JSON bodies, plain-text sentences, error bodies."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from arrokoth.engine import EngineError
from arrokoth.functions import jsonvalue

TEXT = "text/plain; charset=utf-8"


def json_response(obj: Any, status: int = 200, *, media_type: str = "application/json") -> Response:
    return Response(jsonvalue.encode(obj), status_code=status, media_type=media_type)


def text(message: str, status: int = 200) -> Response:
    return Response(message, status_code=status, media_type=TEXT)


def empty(status: int = 200) -> Response:
    return Response(b"", status_code=status)


def error(message: str, code: int = 1000, status: int | None = None) -> Response:
    """`{"error":code,"message":...}` + newline, labelled text/plain as Go's http.Error does."""
    if status is None:
        status = 404 if code == 1002 else 400
    body = jsonvalue.encode({"error": code, "message": message}) + b"\n"
    return Response(body, status_code=status, media_type=TEXT, headers={"X-Content-Type-Options": "nosniff"})


def engine_error(e: EngineError, prefix: str = "") -> Response:
    message = f"{prefix}{e.message}" if prefix else e.message
    return error(message, e.code, e.status)


def handles_errors(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Answer an EngineError raised by a route handler with eKuiper's error body."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except EngineError as e:
            return engine_error(e)

    return wrapper


def field(obj: dict, name: str, default: Any = None) -> Any:
    """Go's encoding/json matches object keys to struct fields case-insensitively."""
    if name in obj:
        return obj[name]
    lname = name.lower()
    for k, v in obj.items():
        if isinstance(k, str) and k.lower() == lname:
            return v
    return default


async def json_body(request: Request, *, allow_empty: bool = False) -> Any:
    """The request body as JSON; malformed JSON is an EngineError (400, code 1000)."""
    raw = await request.body()
    if not raw.strip():
        if allow_empty:
            return None
        raise EngineError("unexpected end of JSON input")
    try:
        return jsonvalue.loads(raw)
    except jsonvalue.DecodeError as e:
        raise EngineError(f"invalid JSON body: {e}") from None


async def json_object(request: Request, what: str = "body") -> dict:
    obj = await json_body(request)
    if not isinstance(obj, dict):
        raise EngineError(f"json: cannot unmarshal {type(obj).__name__} into Go value of type {what}")
    return obj


def path_id(request: Request, name: str = "name") -> str:
    """A path id, checked by eKuiper's id rule."""
    from arrokoth.rules import RuleDefError, validate_id

    value = request.path_params[name]
    try:
        return validate_id(value)
    except RuleDefError as e:
        raise EngineError(str(e)) from None
