"""Rule trial runs, uploads and runtime configuration (spec §8)."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from arrokoth.engine import EngineError
from arrokoth.server.responses import (
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
async def ruletest_create(request: Request) -> Response:
    """Create a rule trial over mock data; its results stream as SSE on the HTTP server port."""
    body = await json_body(request)
    engine = _engine(request)
    result = engine.rule_tests.create(body)
    try:
        await engine.rule_tests.ensure_listener()
    except EngineError:
        await engine.rule_tests.stop(result["id"])
        raise
    result["port"] = engine.rule_tests.port
    return json_response(result)


@handles_errors
async def ruletest_start(request: Request) -> Response:
    """Start a rule trial."""
    return text(await _engine(request).rule_tests.start(path_id(request, "id")))


@handles_errors
async def ruletest_delete(request: Request) -> Response:
    """Stop and remove a rule trial."""
    return text(await _engine(request).rule_tests.stop(path_id(request, "id")))


def _uploads(request: Request) -> Path:
    return Path(_engine(request).config.data_dir) / "uploads"


def _target(base: Path, name: object) -> Path:
    if not isinstance(name, str) or not name.strip():
        raise EngineError("invalid file name")
    target = (base / name).resolve()
    if base.resolve() not in target.parents:
        raise EngineError(f"invalid file name {name}: it leaves the upload directory")
    return target


@handles_errors
async def upload(request: Request) -> Response:
    """Save a file under <data dir>/uploads; answers its absolute path."""
    base = _uploads(request)
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip() == "application/json":
        body = await json_object(request, "fileContent")
        name = field(body, "name")
        target = _target(base, name)
        content = field(body, "content")
        url = field(body, "file")
        if isinstance(url, str) and url:
            data = await _fetch(url)
        elif isinstance(content, str):
            data = content.encode()
        else:
            raise EngineError("invalid body: name and content or file are required")
    else:
        try:
            form = await request.form(max_files=1, max_fields=10)
        except Exception as e:  # noqa: BLE001 - a malformed multipart body is a client error
            raise EngineError(f"invalid multipart body: {e}") from None
        try:
            item = form.get("uploadFile")
            if item is None or isinstance(item, str):
                raise EngineError("missing the uploadFile form field")
            target = _target(base, item.filename)
            data = await item.read()
        finally:
            await form.close()  # the spooled temporary files, also on a rejected upload
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return text(str(target), 201)


async def _fetch(url: str) -> bytes:
    if url.startswith("file://"):
        try:
            return Path(url[len("file://"):]).read_bytes()
        except OSError as e:
            raise EngineError(f"cannot read {url}: {e.strerror}") from None
    if url.startswith(("http://", "https://")):
        import httpx

        try:
            async with httpx.AsyncClient(timeout=30) as client:
                resp = await client.get(url)
                resp.raise_for_status()
                return resp.content
        except httpx.HTTPError as e:
            raise EngineError(f"cannot download {url}: {e}") from None
    raise EngineError(f"unsupported file url {url}")


async def list_uploads(request: Request) -> Response:
    """Absolute paths of the uploaded files (top level only)."""
    base = _uploads(request)
    files = sorted(str(p.resolve()) for p in base.iterdir() if p.is_file()) if base.is_dir() else []
    return json_response(files)


@handles_errors
async def delete_upload(request: Request) -> Response:
    """Delete an uploaded file."""
    target = _target(_uploads(request), request.path_params["name"])
    if target.is_file():
        target.unlink()
    return text("ok")


@handles_errors
async def patch_configs(request: Request) -> Response:
    """Change runtime settings (log level, time zone); not written back to the config file."""
    body = await json_object(request, "Configs")
    engine = _engine(request)
    level = field(body, "logLevel")
    if level is not None:
        if level not in ("debug", "info", "warn", "warning", "error", "fatal", "panic", "trace"):
            raise EngineError(f"invalid log level {level}")
        import logging

        logging.getLogger("arrokoth").setLevel({"warn": "WARNING", "trace": "DEBUG", "fatal": "CRITICAL",
                                                 "panic": "CRITICAL"}.get(level, level.upper()))
    zone = field(body, "timezone")
    if zone is not None:
        if not isinstance(zone, str):
            raise EngineError("timezone must be a string")
        from arrokoth.functions import timefmt

        try:
            timefmt.set_default_timezone(zone or None)
        except Exception as e:  # noqa: BLE001 - an unknown zone name
            raise EngineError(f"invalid timezone {zone}: {e}") from None
        engine.config.values["basic"]["timezone"] = zone
    for key in ("debug", "consoleLog", "fileLog"):
        value = field(body, key)
        if value is not None and not isinstance(value, bool):
            raise EngineError(f"{key} must be true or false")
    return empty(204)


routes = [
    Route("/ruletest", ruletest_create, methods=["POST"]),
    Route("/ruletest/{id}/start", ruletest_start, methods=["POST"]),
    Route("/ruletest/{id}", ruletest_delete, methods=["DELETE"]),
    Route("/config/uploads", upload, methods=["POST"]),
    Route("/config/uploads", list_uploads, methods=["GET"]),
    Route("/config/uploads/{name:path}", delete_upload, methods=["DELETE"]),
    Route("/configs", patch_configs, methods=["PATCH"]),
]
