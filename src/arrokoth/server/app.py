"""The Starlette application: routes, eKuiper's CORS and error conventions, OpenAPI."""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arrokoth.server import (
    routes_basic,
    routes_connections,
    routes_data,
    routes_metadata,
    routes_misc,
    routes_rules,
    routes_schemas,
    routes_streams,
)
from arrokoth.server.responses import TEXT, json_response

_PREFLIGHT_METHODS = {"POST", "GET", "PUT", "DELETE", "HEAD"}
_PREFLIGHT_HEADERS = {"accept", "accept-language", "content-language", "origin", "content-type", "authorization"}


class EKuiperHttp:
    """CORS as gorilla's handlers.CORS does it, and `Connection: close` on every reply."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin")
        if origin is not None and scope["method"] == "OPTIONS":
            await self._preflight(headers, send)
            return

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"connection", b"close")]
                if origin is not None:
                    extra.append((b"access-control-allow-origin", b"*"))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_wrapped)

    async def _preflight(self, headers: dict[str, str], send: Send) -> None:
        method = headers.get("access-control-request-method")
        out = [(b"connection", b"close")]
        if not method:
            status = 400
        elif method.upper() not in _PREFLIGHT_METHODS:
            status = 405
        else:
            requested = [h.strip() for h in headers.get("access-control-request-headers", "").split(",") if h.strip()]
            if any(h.lower() not in _PREFLIGHT_HEADERS for h in requested):
                status = 403
            else:
                status = 200
                out.append((b"access-control-allow-origin", b"*"))
                simple = {"accept", "accept-language", "content-language", "origin"}
                non_simple = [h for h in requested if h.lower() not in simple]
                if non_simple:
                    out.append((b"access-control-allow-headers", ", ".join(non_simple).encode()))
                if method.upper() not in ("GET", "HEAD", "POST"):
                    out.append((b"access-control-allow-methods", method.upper().encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": b""})


async def _not_found(request: Request, exc: Exception) -> Response:
    return Response("404 page not found\n", status_code=404, media_type=TEXT)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return Response(b"", status_code=405)


async def _internal(request: Request, exc: Exception) -> Response:
    # never expected: every handler maps its errors; keep eKuiper's error shape anyway
    from arrokoth.server.responses import error

    return error(f"internal error: {exc}", 1000, 500)


def all_routes() -> list[Route]:
    from arrokoth.server import openapi

    routes: list[Route] = []
    for module in ROUTE_MODULES:
        routes.extend(module.routes)
    routes.append(Route("/openapi.json", openapi.endpoint, methods=["GET"]))
    return routes


ROUTE_MODULES = (
    routes_basic, routes_streams, routes_rules, routes_misc, routes_connections, routes_metadata, routes_data,
    routes_schemas,
)


def create_app(engine, *, request_shutdown: Callable[[], None] | None = None, auth=None) -> ASGIApp:
    """The ASGI app serving `engine`. `auth` is an optional ASGI middleware factory."""
    app = Starlette(
        routes=all_routes(),
        exception_handlers={404: _not_found, 405: _method_not_allowed, 500: _internal},
    )
    app.router.redirect_slashes = False  # eKuiper answers 404 for a trailing slash
    app.state.engine = engine
    app.state.request_shutdown = request_shutdown or (lambda: None)
    app.state.json_response = json_response
    inner: ASGIApp = app
    if auth is not None:
        inner = auth(inner)
    wrapped = EKuiperHttp(inner)
    app.state.full_app = wrapped  # batch requests go through auth and CORS like any other
    wrapped.state = app.state  # type: ignore[attr-defined]
    wrapped.starlette = app  # type: ignore[attr-defined]
    return wrapped
