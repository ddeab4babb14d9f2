"""Server basics (spec §1): version info, ping, stop, batch requests."""

from __future__ import annotations

import os
import platform
import resource
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from arrokoth import __version__
from arrokoth.engine import EngineError
from arrokoth.server.responses import empty, engine_error, field, json_body, json_response, text

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _memory_total() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


async def info(request: Request) -> Response:
    """Version, platform, uptime and resource use of the server."""
    engine = request.app.state.engine
    uptime = time.time() - engine.started_at
    body = {
        "version": __version__,
        "os": platform.system().lower(),
        "arch": _ARCH.get(platform.machine(), platform.machine()),
        "upTimeSeconds": int(uptime),
    }
    usage = resource.getrusage(resource.RUSAGE_SELF)
    if uptime > 0:
        cpu = usage.ru_utime + usage.ru_stime - engine.cpu_at_start
        body["cpuUsage"] = f"{cpu / uptime * 100:.2f}%"
    rss = _rss_bytes()
    if rss is not None:
        body["memoryUsed"] = str(rss)
    body["memoryTotal"] = str(_memory_total())
    # Go writes this without a content type; clients sniff it
    return json_response(body, media_type="text/plain; charset=utf-8")


async def ping(request: Request) -> Response:
    """Liveness probe."""
    return empty()


async def stop(request: Request) -> Response:
    """Shut the server down."""
    request.app.state.request_shutdown()
    return text("stop success")


async def batch(request: Request) -> Response:
    """Replay several requests through the same router; answer each one's code and body."""
    try:
        items = await json_body(request)
        if not isinstance(items, list):
            raise EngineError("the batch body must be a list of requests")
    except EngineError as e:
        return engine_error(e)
    import httpx

    results = []
    transport = httpx.ASGITransport(app=request.app.state.full_app)
    headers = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-language")}
    async with httpx.AsyncClient(transport=transport, base_url="http://batch") as client:
        for item in items:
            if not isinstance(item, dict):
                results.append({"code": 0, "response": "", "error": "each request must be an object"})
                continue
            method = field(item, "method", "GET")
            path = field(item, "path", "")
            body = field(item, "body", "")
            if not isinstance(method, str) or not isinstance(path, str) or not path.startswith("/") or not isinstance(body, str):
                results.append({"code": 0, "response": "", "error": "method, path and body must be strings"})
                continue
            if path.startswith("/batch"):
                results.append({"code": 0, "response": "", "error": "batch requests cannot nest"})
                continue
            resp = await client.request(method.upper(), path, content=body.encode(), headers=headers)
            results.append({"code": resp.status_code, "response": resp.text})
    return json_response(results)


routes = [
    Route("/", info, methods=["GET", "POST"]),
    Route("/ping", ping, methods=["GET"]),
    Route("/stop", stop, methods=["GET", "POST"]),
    Route("/batch/req", batch, methods=["POST"]),
]
