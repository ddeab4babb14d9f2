"""The one HTTP server on `basic.httpServerIp:httpServerPort` (eKuiper's "http data server").

eKuiper serves two things on that port: the endpoints of httppush streams, and the SSE
results of rule trial runs (`GET /test/{id}`). Both live here, behind one uvicorn server
that starts when the first of them needs it and stops with the engine.

Push endpoints are registered while a rule reads their stream: a request on a registered
path and method hands the body to every source registered there and answers `200 ok`,
the same path with another method answers 405, and an unknown path 404, as eKuiper's
gorilla/mux router does. Fixed routes (the rule-test SSE stream) go through a Starlette router.

The engine makes the process's listener from its configuration (`configure`); sources,
which are built from a stream and its properties only, find it with `shared()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

log = logging.getLogger("arrokoth.http_listener")

#: takes the raw body of one push request
PushHandler = Callable[[bytes], None]

# the CORS rules of eKuiper's data server (gorilla/handlers.CORS, any origin)
_CORS_METHODS = ["POST", "GET", "PUT", "DELETE", "HEAD"]
_CORS_HEADERS = ["Accept", "Accept-Language", "Content-Type", "Content-Language", "Origin", "Authorization"]
# SSE clients keep connections open; a stopping engine waits this long for them (seconds)
_GRACEFUL_SHUTDOWN = 1


class ListenerError(Exception):
    """The listener cannot bind its address."""


class HttpListener:
    def __init__(self, host: str, port: int):
        self.host = host
        self.configured_port = port
        self._endpoints: dict[str, dict[str, list[PushHandler]]] = {}
        self._server: Any = None
        self._task: asyncio.Task | None = None
        self._lock: asyncio.Lock | None = None
        self._bound_port: int | None = None
        self._app: Any = None
        self._router: Any = None

    # --- what is served ------------------------------------------------------------------

    def add_route(self, path: str, endpoint: Callable, methods: list[str]) -> None:
        """A fixed Starlette route, such as the rule-test SSE stream."""
        self._ensure_app()
        self._router.add_route(path, endpoint, methods=methods)

    def register(self, path: str, method: str, handler: PushHandler) -> None:
        """Hand the bodies of `method` requests on `path` to `handler` (one of possibly several)."""
        self._endpoints.setdefault(path, {}).setdefault(method.upper(), []).append(handler)

    def unregister(self, path: str, method: str, handler: PushHandler) -> None:
        methods = self._endpoints.get(path)
        if methods is None:
            return
        handlers = methods.get(method.upper(), [])
        # bound methods compare equal, not identical
        methods[method.upper()] = [h for h in handlers if h != handler]
        if not methods[method.upper()]:
            del methods[method.upper()]
        if not methods:
            del self._endpoints[path]

    def endpoints(self) -> dict[str, list[str]]:
        """The registered push paths and their methods."""
        return {path: sorted(methods) for path, methods in self._endpoints.items()}

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        """The port listened on; the configured one before the start (0 picks a free port)."""
        return self._bound_port if self._bound_port is not None else self.configured_port

    async def start(self) -> None:
        """Start serving, once; later calls return at once. Raises ListenerError when the
        address cannot be bound."""
        if self._server is not None:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._server is not None:
                return
            await self._serve()

    async def _serve(self) -> None:
        import uvicorn

        class _Server(uvicorn.Server):
            # the listener lives inside the engine's process: signals belong to the REST server
            @contextlib.contextmanager
            def capture_signals(self):
                yield

        # the socket is bound here so that a busy port is an error to report, not uvicorn's sys.exit
        try:
            infos = socket.getaddrinfo(self.host or None, self.configured_port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
            family, kind, proto, _, address = infos[0]
            sock = socket.socket(family, kind, proto)
        except OSError as e:
            raise ListenerError(f"cannot listen on {self.host}:{self.configured_port}: {e}") from None
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
            sock.setblocking(False)
        except OSError as e:
            sock.close()
            raise ListenerError(f"cannot listen on {self.host}:{self.configured_port}: {e.strerror or e}") from None
        server = _Server(uvicorn.Config(
            self._ensure_app(), log_level="warning", lifespan="off", access_log=False,
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN,
        ))
        task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if task.done():
            sock.close()
            error = task.exception() if not task.cancelled() else None
            raise ListenerError(f"cannot listen on {self.host}:{self.configured_port}: {error}")
        self._server, self._task = server, task
        self._bound_port = sock.getsockname()[1]
        log.info("serving httppush and rule test results on %s:%s", self.host, self._bound_port)

    async def close(self) -> None:
        server, task = self._server, self._task
        self._server = self._task = None
        self._bound_port = None
        self._lock = None  # a lock belongs to one event loop; a later start may run in another
        self._endpoints.clear()
        if server is not None:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await task
        if self in _configured:
            _configured.remove(self)

    # --- the ASGI application ---------------------------------------------------------------

    def _ensure_app(self) -> Any:
        if self._app is None:
            from starlette.middleware.cors import CORSMiddleware
            from starlette.routing import Router

            self._router = Router(default=_not_found)
            self._app = CORSMiddleware(self._dispatch, allow_origins=["*"], allow_methods=_CORS_METHODS,
                                       allow_headers=_CORS_HEADERS)
        return self._app

    async def _dispatch(self, scope: dict, receive: Callable, send: Callable) -> None:
        methods = self._endpoints.get(scope["path"]) if scope["type"] == "http" else None
        if methods is None:
            await self._router(scope, receive, send)
            return
        from starlette.requests import Request
        from starlette.responses import PlainTextResponse, Response

        handlers = methods.get(scope["method"])
        if not handlers:
            await Response(status_code=405)(scope, receive, send)
            return
        body = await Request(scope, receive).body()
        for handler in tuple(handlers):
            try:
                handler(body)
            except Exception:  # noqa: BLE001 - one failing stream must not fail the others or the client
                log.exception("httppush handler for %s failed", scope["path"])
        await PlainTextResponse("ok")(scope, receive, send)


async def _not_found(scope: dict, receive: Callable, send: Callable) -> None:
    from starlette.responses import PlainTextResponse

    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1000})
        return
    # the body Go's http.NotFound writes
    await PlainTextResponse("404 page not found\n", status_code=404)(scope, receive, send)


# the listeners of the engines alive, latest last (tests may run one engine inside another)
_configured: list[HttpListener] = []


def configure(host: str, port: int) -> HttpListener:
    """Make the process's listener for this address; it starts on first use and is the
    shared one until it is closed."""
    listener = HttpListener(host, port)
    _configured.append(listener)
    return listener


def shared() -> HttpListener:
    """The process's listener: the latest engine's, else one on eKuiper's default address."""
    if not _configured:
        _configured.append(HttpListener("0.0.0.0", 10081))
    return _configured[-1]
