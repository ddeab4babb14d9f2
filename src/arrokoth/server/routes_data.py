"""Data import and export (spec §7): the export document, imports (sync and async), the
v2 YAML document and the legacy ruleset."""

from __future__ import annotations

import logging
from email.utils import formatdate
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from arrokoth.functions import jsonvalue
from arrokoth.server.responses import TEXT, error, field, text
from arrokoth.transfer import (
    PROCESS_ERROR,
    DataTransfer,
    TransferError,
    check_source,
    go_json,
    go_json_error,
    go_kind,
    import_source,
    read_uri,
    transfer_for,
)

log = logging.getLogger("arrokoth.server")

OCTET = "application/octet-stream"


def _transfer(request: Request) -> DataTransfer:
    return transfer_for(request.app.state.engine)


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name) == "1"


def _json(value: Any) -> Response:
    return Response(go_json(value), media_type="application/json")


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """One `bytes=` range as (start, end) inclusive; None to serve everything; or the error."""
    unit, _, spec = header.strip().partition("=")
    if unit.strip() != "bytes" or not spec:
        return "invalid range"
    if "," in spec:
        return None  # several ranges: served whole rather than as multipart/byteranges
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return "invalid range"
    try:
        if first == "":
            length = int(last)
            if length <= 0:
                return "invalid range: failed to overlap"
            return max(size - length, 0), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return "invalid range"
    if start < 0 or end < start:
        return "invalid range"
    if start >= size:
        return "invalid range: failed to overlap"
    return start, min(end, size - 1)


def _attachment(request: Request, body: bytes) -> Response:
    """An octet-stream download as http.ServeContent sends it (Last-Modified, one Range)."""
    headers = {"Content-Disposition": "Attachment", "Accept-Ranges": "bytes",
               "Last-Modified": formatdate(usegmt=True)}
    header = request.headers.get("range")
    span = _parse_range(header, len(body)) if header else None
    if isinstance(span, str):
        return Response(f"{span}\n", status_code=416, media_type=TEXT,
                        headers={"Content-Range": f"bytes */{len(body)}", "X-Content-Type-Options": "nosniff"})
    if span is not None:
        start, end = span
        headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
        return Response(body[start:end + 1], status_code=206, media_type=OCTET, headers=headers)
    return Response(body, media_type=OCTET, headers=headers)


async def _import_body(request: Request, struct: str) -> tuple[Any, Any]:
    """`{"content","file"}` decoded as Go's json.Decoder into a struct of two strings."""
    raw = await request.body()
    prefix = "Invalid body: Error decoding json: "
    if not raw.strip():
        raise TransferError(prefix + "EOF")
    try:
        obj = jsonvalue.loads(raw)
    except jsonvalue.DecodeError as e:
        message = go_json_error(e, raw)
        raise TransferError(prefix + ("unexpected EOF" if message == "unexpected end of JSON input" else message)) from None
    if obj is None:
        return "", ""
    if not isinstance(obj, dict):
        raise TransferError(f"{prefix}json: cannot unmarshal {go_kind(obj)} into Go value of type server.{struct}")
    out = []
    for name in ("content", "file"):
        value = field(obj, name)
        if value is not None and not isinstance(value, str):
            raise TransferError(f"{prefix}json: cannot unmarshal {go_kind(value)} into Go struct field {struct}.{name} of type string")
        out.append(value or "")
    return out[0], out[1]


async def export_data(request: Request) -> Response:
    """Download the export document: streams, tables, rules, confKeys, connections."""
    return _attachment(request, go_json(_transfer(request).export_document()))


async def export_rules(request: Request) -> Response:
    """Download the export document limited to the given rules and what they depend on."""
    raw = await request.body()
    try:
        ids = jsonvalue.loads(raw) if raw.strip() else []
    except jsonvalue.DecodeError:
        ids = []  # eKuiper ignores a body it cannot decode
    ids = [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []
    return _attachment(request, go_json(_transfer(request).export_rules(ids)))


async def import_data(request: Request) -> Response:
    """Import an export document; without partial=1 everything is replaced."""
    partial, stop = _flag(request, "partial"), _flag(request, "stop")
    try:
        content, file = await _import_body(request, "configurationInfo")
        data = await import_source(content, file)
    except TransferError as e:
        return error(e.message)
    result = await _transfer(request).import_document(data, partial=partial, stop=stop)
    if result.error == PROCESS_ERROR:
        return error(go_json(result.response).decode())
    if result.error:
        return error(result.error)
    # eKuiper exits after a successful full import with stop=1
    background = BackgroundTask(request.app.state.request_shutdown) if stop and not partial else None
    return Response(go_json(result.to_json()), media_type="application/json", background=background)


async def import_status(request: Request) -> Response:
    """The per-item errors of the last full import."""
    return _json(_transfer(request).import_status())


async def async_import(request: Request) -> Response:
    """Run an import in the background; answers the task id to poll."""
    partial, stop = _flag(request, "partial"), _flag(request, "stop")
    try:
        content, file = await _import_body(request, "configurationInfo")
        task_id = _transfer(request).tasks.start(
            content, file, partial=partial, stop=stop, on_success=request.app.state.request_shutdown
        )
    except TransferError as e:
        return error(e.message)
    return _json({"id": task_id})


async def async_task(request: Request) -> Response:
    """The status of an asynchronous import."""
    try:
        return _json(_transfer(request).tasks.status(request.path_params["id"]))
    except TransferError as e:
        return error(e.message)


async def cancel_task(request: Request) -> Response:
    """Cancel an asynchronous import; it stops before its next item."""
    try:
        _transfer(request).tasks.cancel(request.path_params["id"])
    except TransferError as e:
        return error(e.message)
    return text("cancel success")


async def _legacy_source(request: Request, struct: str) -> bytes:
    """The body checks of the YAML and ruleset imports, worded as their handlers do."""
    content, file = check_source(*await _import_body(request, struct), suffix=": bad request")
    if not file:
        return content.encode()
    try:
        return await read_uri(file)
    except TransferError as e:
        raise TransferError(f"Fail to read file: {e.message}") from None


async def export_yaml(request: Request) -> Response:
    """Download the v2 export document (YAML)."""
    return _attachment(request, _transfer(request).export_yaml().encode())


async def import_yaml(request: Request) -> Response:
    """Import a v2 YAML document (upsert, stopping at the first error)."""
    try:
        data = await _legacy_source(request, "importConfiguration")
    except TransferError as e:
        return error(e.message)
    try:
        await _transfer(request).import_yaml(data)
    except TransferError as e:
        return error(f"import failed: {e.message}")
    except Exception as e:  # noqa: BLE001 - a strange document is the client's error, not a 500
        log.exception("v2 import")
        return error(f"import failed: {e}")
    return text("success")


async def export_ruleset(request: Request) -> Response:
    """Download the streams, tables and rules."""
    return _attachment(request, go_json(_transfer(request).export_ruleset()))


async def import_ruleset(request: Request) -> Response:
    """Import streams, tables and rules; failing items are logged and not counted."""
    try:
        data = await _legacy_source(request, "configurationInfo")
    except TransferError as e:
        return error(e.message)
    try:
        streams, tables, rules = await _transfer(request).import_ruleset(data)
    except TransferError as e:
        return error(f"Import ruleset error: {e.message}")
    return text(f"imported {streams} streams, {tables} tables and {rules} rules")


routes = [
    Route("/data/export", export_data, methods=["GET"]),
    Route("/data/export", export_rules, methods=["POST"]),
    Route("/data/import", import_data, methods=["POST"]),
    Route("/data/import/status", import_status, methods=["GET"]),
    Route("/async/data/import", async_import, methods=["POST"]),
    Route("/async/task/{id}", async_task, methods=["GET"]),
    Route("/async/task/{id}/cancel", cancel_task, methods=["POST"]),
    Route("/v2/data/export", export_yaml, methods=["GET"]),
    Route("/v2/data/import", import_yaml, methods=["POST"]),
    Route("/ruleset/export", export_ruleset, methods=["POST"]),
    Route("/ruleset/import", import_ruleset, methods=["POST"]),
]
