"""The one HTTP server on `basic.httpServerIp:httpServerPort` (eKuiper's "http data server").

eKuiper serves three things on that port: the endpoints of httppush streams, the websocket
endpoints of websocket sources and sinks in server mode, and the SSE results of rule trial
runs (`GET /test/{id}`). All live here, behind one uvicorn server that starts when the first
of them needs it and stops with the engine.

Push endpoints are registered while a rule reads their stream: a request on a registered
path and method hands the body to every source registered there and answers `200 ok`,
the same path with another method answers 405, and an unknown path 404, as eKuiper's
gorilla/mux router does. Fixed routes (the rule-test SSE stream) go through a Starlette router.

A websocket endpoint (`acquire_websocket`) is served while a source or sink holds it: every
message a client sends on it goes to the endpoint's receivers, and `broadcast` sends to every
client connected to it. A path may be a push endpoint and a websocket endpoint at once (one
is HTTP, the other a websocket upgrade).

The engine makes the process's listener from its configuration (`configure`); sources,
which are built from a stream and its properties only, find it with `shared()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger("arrokoth.http_listener")

#: takes the raw body of one push request
PushHandler = Callable[[bytes], None]
#: takes one message (text frames as UTF-8 bytes) a websocket client sent
WebsocketHandler = Callable[[bytes], None]

# the CORS rules of eKuiper's data server (gorilla/handlers.CORS, any origin)
_CORS_METHODS = ["POST", "GET", "PUT", "DELETE", "HEAD"]
_CORS_HEADERS = ["Accept", "Accept-Language", "Content-Type", "Content-Language", "Origin", "Authorization"]
# SSE clients keep connections open; a stopping engine waits this long for them (seconds)
_GRACEFUL_SHUTDOWN = 1
# messages queued for one websocket client; a client that lags further loses the oldest
# (eKuiper's per-connection channel holds 1024 too)
_WS_CLIENT_QUEUE = 1024
# close code when an endpoint stops being served (RFC 6455 "going away")
_WS_GOING_AWAY = 1001


class ListenerError(Exception):
    """The listener cannot bind its address."""


class HttpListener:
    def __init__(self, host: str, port: int):
        self.host = host
        self.configured_port = port
        self._endpoints: dict[str, dict[str, list[PushHandler]]] = {}
        self._websockets: dict[str, WebsocketEndpoint] = {}
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

    def acquire_websocket(self, path: str) -> WebsocketEndpoint:
        """The websocket endpoint on `path`, served until each acquire is released."""
        endpoint = self._websockets.get(path)
        if endpoint is None:
            endpoint = self._websockets[path] = WebsocketEndpoint(path)
            log.info("websocket endpoint %s registered", path)
        endpoint.holders += 1
        return endpoint

    async def release_websocket(self, endpoint: WebsocketEndpoint) -> None:
        """Undo one acquire; the last one stops serving the path and closes its clients."""
        endpoint.holders -= 1
        if endpoint.holders > 0:
            return
        if self._websockets.get(endpoint.path) is endpoint:
            del self._websockets[endpoint.path]
            log.info("websocket endpoint %s unregistered", endpoint.path)
        await endpoint.close()

    def websocket_endpoints(self) -> dict[str, int]:
        """The websocket paths served, and how many clients each has."""
        return {path: len(ep.clients) for path, ep in self._websockets.items()}

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
        log.info("serving httppush, websocket and rule test results on %s:%s", self.host, self._bound_port)

    async def close(self) -> None:
        server, task = self._server, self._task
        self._server = self._task = None
        self._bound_port = None
        self._lock = None  # a lock belongs to one event loop; a later start may run in another
        self._endpoints.clear()
        endpoints = list(self._websockets.values())
        self._websockets.clear()
        for endpoint in endpoints:
            await endpoint.close()
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
        if scope["type"] == "websocket":
            endpoint = self._websockets.get(scope["path"])
            if endpoint is not None:
                await endpoint.serve(receive, send)
                return
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


class WebsocketEndpoint:
    """One websocket path: its connected clients and the receivers of what they send.

    Each client has a bounded queue and a writer task, so `broadcast` never waits for a
    slow client: one that lags by more than the queue loses its oldest messages.
    """

    def __init__(self, path: str):
        self.path = path
        self.holders = 0
        self.receivers: list[WebsocketHandler] = []
        self.clients: dict[int, _WebsocketClient] = {}
        self.dropped = 0
        self._next_id = 0
        self._closed = False

    def add_receiver(self, handler: WebsocketHandler) -> None:
        self.receivers.append(handler)

    def remove_receiver(self, handler: WebsocketHandler) -> None:
        # bound methods compare equal, not identical
        self.receivers = [h for h in self.receivers if h != handler]

    def broadcast(self, payload: bytes) -> int:
        """Queue one message for every connected client; the number of clients.

        UTF-8 payloads (JSON, delimited text) go as text frames, as eKuiper sends them;
        anything else (protobuf, binary) as a binary frame, which a text frame cannot carry.
        """
        if not self.clients:
            return 0
        try:
            message = {"type": "websocket.send", "text": payload.decode("utf-8")}
        except UnicodeDecodeError:
            message = {"type": "websocket.send", "bytes": payload}
        for client in tuple(self.clients.values()):
            if client.put(message):
                self.dropped += 1
                if not client.lagging:
                    client.lagging = True
                    log.warning("a websocket client of %s lags by %d messages: dropping its oldest ones",
                                self.path, _WS_CLIENT_QUEUE)
        return len(self.clients)

    async def serve(self, receive: Callable, send: Callable) -> None:
        """Run one client's connection: read what it sends until it goes."""
        first = await receive()
        if first["type"] != "websocket.connect" or self._closed:
            await send({"type": "websocket.close", "code": _WS_GOING_AWAY})
            return
        await send({"type": "websocket.accept"})
        self._next_id += 1
        client_id = self._next_id
        client = _WebsocketClient(send)
        self.clients[client_id] = client
        writer = asyncio.get_running_loop().create_task(client.write(), name=f"websocket {self.path} writer")
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.disconnect":
                    break
                if kind != "websocket.receive":
                    continue
                data = message.get("bytes")
                if data is None:
                    data = (message.get("text") or "").encode("utf-8")
                for handler in tuple(self.receivers):
                    try:
                        handler(data)
                    except Exception:  # noqa: BLE001 - one failing stream must not fail the others
                        log.exception("websocket receiver on %s failed", self.path)
        finally:
            self.clients.pop(client_id, None)
            writer.cancel()
            # (asyncio.wait: the writer's end raises nothing here, a cancellation of ours still does)
            await asyncio.wait([writer])

    async def close(self) -> None:
        """Say goodbye to every client; their connections end."""
        self._closed = True
        for client in tuple(self.clients.values()):
            client.put({"type": "websocket.close", "code": _WS_GOING_AWAY})


class _WebsocketClient:
    __slots__ = ("send", "queue", "ready", "lagging")

    def __init__(self, send: Callable):
        self.send = send
        self.queue: deque[dict] = deque()
        self.ready = asyncio.Event()
        self.lagging = False

    def put(self, message: dict) -> bool:
        """Queue a message; True when the oldest one was dropped to make room."""
        dropped = len(self.queue) >= _WS_CLIENT_QUEUE
        if dropped:
            self.queue.popleft()
        self.queue.append(message)
        self.ready.set()
        return dropped

    async def write(self) -> None:
        queue, send = self.queue, self.send
        while True:
            if not queue:
                self.lagging = False
                self.ready.clear()
                await self.ready.wait()
                continue
            message = queue.popleft()
            try:
                await send(message)
            except Exception:  # noqa: BLE001 - the client went away: its reader ends the connection
                return
            if message["type"] == "websocket.close":
                return


async def _not_found(scope: dict, receive: Callable, send: Callable) -> None:
    from starlette.responses import PlainTextResponse

    if scope["type"] == "websocket":
        # a websocket upgrade on a path nobody serves is refused (uvicorn answers 403; eKuiper's
        # router 404, but uvicorn logs an error for every denial response sent instead)
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
