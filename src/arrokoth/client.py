"""A Python client for eKuiper's REST API, which Arrokoth serves byte for byte.

`Client` is synchronous and `AsyncClient` is its asyncio twin; both talk to one server. Every endpoint is
written once, in `_Endpoints`, as a builder that turns the arguments into a `_Call` (method, path, query,
body, how to decode the answer). The two clients get one method per builder: `Client` sends the call with
`httpx.Client`, `AsyncClient` awaits it with `httpx.AsyncClient`, and both decode through `_decode`.

Answers come back as eKuiper sends them: JSON bodies parsed (dict/list), plain-text sentences such as
`Rule r1 was created successfully.` as `str`, empty bodies as `None`. Any status >= 400 raises
`EKuiperError`; a server that cannot be reached (or does not answer in time) raises `ConnectionFailed`.

httpx is imported when the first client is built, not with this module, so the CLI starts fast.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import httpx

__all__ = ["AsyncClient", "Client", "ConnectionFailed", "EKuiperError"]

DEFAULT_URL = "http://127.0.0.1:9081"


class EKuiperError(Exception):
    """The server answered with a status >= 400.

    `code` is eKuiper's error code (1000 undefined, 1002 not found, 3000 stream/table, 5000 metadata, …)
    when the body is eKuiper's `{"error":<code>,"message":"…"}`, else None; `message` is then eKuiper's
    message, or the raw body text for the errors that are not JSON (401 `missing_token`, 422 validate bodies,
    `404 page not found`), or the HTTP reason phrase when the body is empty (405).
    """

    def __init__(self, status: int | None, code: int | None, message: str, *, body: str = "") -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message
        self.body = body

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class ConnectionFailed(EKuiperError):
    """The request never got an answer: connection refused, timeout, reset, bad TLS, …

    `status` and `code` are None; `message` is the underlying reason and `reason` the httpx exception.
    """

    def __init__(self, url: str, reason: BaseException) -> None:
        super().__init__(None, None, f"{type(reason).__name__}: {reason}")
        self.args = (url, reason)  # so that it pickles
        self.url = url
        self.reason = reason

    def __str__(self) -> str:
        return f"cannot reach {self.url}: {self.message}"


# --- requests ---------------------------------------------------------------------------------------------

_NO_BODY: Any = object()

# how to decode a 2xx answer (an empty body is None whatever the mode)
JSON = (
    "json"  # parse as JSON whatever the content type (eKuiper serves some JSON as text/plain or octet-stream)
)
TEXT = "text"  # a plain-text sentence, YAML or Prometheus exposition
BYTES = "bytes"  # a download (zip)
AUTO = "auto"  # JSON when it is JSON, else text: for endpoints that answer either way, or nothing


@dataclass(frozen=True, slots=True)
class _Call:
    method: str
    path: str
    params: dict[str, str] | None = None
    json: Any = _NO_BODY
    content: bytes | None = None  # a JSON body the caller gave already encoded
    files: dict[str, Any] | None = None
    data: dict[str, str] | None = None
    decode: str = AUTO

    def request_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {}
        if self.params:
            kw["params"] = self.params
        if self.json is not _NO_BODY or self.content is not None:
            body = self.content if self.content is not None else _dumps(self.json)
            # `/config/uploads` wants exactly `application/json`, no charset
            kw["content"] = body
            kw["headers"] = {"Content-Type": "application/json"}
        if self.files is not None:
            kw["files"] = self.files
        if self.data is not None:
            kw["data"] = self.data
        return kw


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _seg(value: object) -> str:
    """One path segment, percent-quoted; `.` and `..` too, or httpx would resolve them as dot segments."""
    text = str(value)
    if text in (".", ".."):
        return text.replace(".", "%2E")
    return quote(text, safe="")


def _path(template: str, *args: object) -> str:
    return template.format(*(_seg(a) for a in args))


def _body(method: str, path: str, body: Any, decode: str, **kw: Any) -> _Call:
    """A call whose JSON body is `body`; a str or bytes `body` is sent as given (already-encoded JSON)."""
    if isinstance(body, str):
        return _Call(method, path, content=body.encode(), decode=decode, **kw)
    if isinstance(body, bytes | bytearray):
        return _Call(method, path, content=bytes(body), decode=decode, **kw)
    return _Call(method, path, json=body, decode=decode, **kw)


def _tags(tags: str | Iterable[str]) -> list[str]:
    return [tags] if isinstance(tags, str) else list(tags)


def _flag(on: bool, value: str = "true") -> str | None:
    return value if on else None


def _query(**params: Any) -> dict[str, str] | None:
    kept = {k: str(v) for k, v in params.items() if v is not None}
    return kept or None


def _document(value: Any) -> Any:
    """`content` of the import endpoints is a *string* holding the document; encode a dict for the caller."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode()
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _source(content: Any, file: str | None) -> dict[str, Any]:
    """`{"content": …}` and/or `{"file": …}`; both or neither is left for the server to reject."""
    body: dict[str, Any] = {}
    if content is not None:
        body["content"] = _document(content)
    if file is not None:
        body["file"] = file
    return body


def _plugin_kind(kind: str) -> str:
    plural = {"source": "sources", "sink": "sinks", "function": "functions"}.get(kind, kind)
    if plural not in ("sources", "sinks", "functions"):
        raise ValueError(f"plugin type must be sources, sinks or functions, not {kind!r}")
    return plural


def _file_part(data: Any, filename: str | None) -> tuple[str, bytes]:
    """bytes, a path, or a binary file object → (filename, bytes) for a multipart part."""
    if isinstance(data, bytes | bytearray):
        return filename or "upload", bytes(data)
    if isinstance(data, str | os.PathLike):
        with open(data, "rb") as f:
            return filename or os.path.basename(os.fspath(data)), f.read()
    name = filename or os.path.basename(str(getattr(data, "name", "") or "upload"))
    return name, data.read()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


# --- answers ----------------------------------------------------------------------------------------------


def _decode(call: _Call, response: httpx.Response) -> Any:
    body = response.content
    if response.status_code >= 400:
        raise _error(response.status_code, body, response.reason_phrase)
    if not body:
        return None
    if call.decode == BYTES:
        return body
    text = body.decode("utf-8", "replace")
    if call.decode == TEXT:
        return text
    if call.decode == JSON:
        try:
            return json.loads(text)
        except ValueError:
            raise EKuiperError(
                response.status_code, None, f"the answer is not JSON: {text[:200]}", body=text
            ) from None
    content_type = response.headers.get("content-type", "")
    if "json" in content_type or text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def _error(status: int, body: bytes, reason: str) -> EKuiperError:
    text = body.decode("utf-8", "replace")
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if isinstance(obj, dict) and "message" in obj:
        code = obj.get("error")
        return EKuiperError(status, code if isinstance(code, int) else None, str(obj["message"]), body=text)
    return EKuiperError(status, None, text.rstrip("\r\n") or reason, body=text)


# --- the endpoints ----------------------------------------------------------------------------------------


class _Endpoints:
    """One builder per endpoint of `shared/spec/restapi.md`. Private: `Client`/`AsyncClient` expose them."""

    # §1 server basics

    def info(self) -> _Call:
        """`GET /` — version, os, arch, upTimeSeconds, cpuUsage, memoryUsed, memoryTotal."""
        return _Call("GET", "/", decode=JSON)

    def ping(self) -> _Call:
        """`GET /ping` — the liveness probe; None when the server is up."""
        return _Call("GET", "/ping")

    def stop_server(self) -> _Call:
        """`POST /stop` — shut the server down; returns `stop success`."""
        return _Call("POST", "/stop", decode=TEXT)

    def batch(self, requests: Iterable[Mapping[str, Any]]) -> _Call:
        """`POST /batch/req` — replay `[{"method","path","body"}]`; returns `[{"code","response"}]`.

        A `body` that is not a string is JSON-encoded (the server wants the raw body as a string).
        """
        items = []
        for req in requests:
            item = dict(req)
            if "body" in item and not isinstance(item["body"], str):
                item["body"] = _document(item["body"])
            items.append(item)
        return _body("POST", "/batch/req", items, JSON)

    def metrics(self) -> _Call:
        """`GET /metrics` — the Prometheus exposition, as text."""
        return _Call("GET", "/metrics", decode=TEXT)

    def metrics_dump_check(self) -> _Call:
        """`GET /metrics/dump/check` — `enabled` or `disabled`."""
        return _Call("GET", "/metrics/dump/check", decode=TEXT)

    def metrics_dump(self, start_time: int | None = None, end_time: int | None = None) -> _Call:
        """`GET /metrics/dump?startTime=&endTime=` — the zip of dumped metrics (unix seconds), as bytes."""
        return _Call(
            "GET", "/metrics/dump", params=_query(startTime=start_time, endTime=end_time), decode=BYTES
        )

    def patch_configs(self, **changes: Any) -> _Call:
        """`PATCH /configs` — change logLevel, debug, consoleLog, fileLog, timezone, metricsDumpConfig at run time.

        Keywords may be given in snake_case (`log_level=`) or as the wire's camelCase (`logLevel=`).
        """
        return _body("PATCH", "/configs", {_camel(k): v for k, v in changes.items()}, AUTO)

    # §2 streams and tables

    def create_stream(self, sql: str) -> _Call:
        """`POST /streams` `{"sql"}` — run a stream statement; returns `Stream x is created.`."""
        return _body("POST", "/streams", {"sql": sql}, TEXT)

    def create_table(self, sql: str) -> _Call:
        """`POST /tables` `{"sql"}` — run a table statement; returns `Table x is created.`."""
        return _body("POST", "/tables", {"sql": sql}, TEXT)

    def list_streams(self) -> _Call:
        """`GET /streams` — the stream names."""
        return _Call("GET", "/streams", decode=JSON)

    def list_tables(self, kind: str | None = None) -> _Call:
        """`GET /tables[?kind=scan|lookup]` — the table names."""
        return _Call("GET", "/tables", params=_query(kind=kind), decode=JSON)

    def stream_details(self) -> _Call:
        """`GET /streamdetails` — `[{"name","type","format"}]` of every stream."""
        return _Call("GET", "/streamdetails", decode=JSON)

    def table_details(self, kind: str | None = None) -> _Call:
        """`GET /tabledetails[?kind=]` — `[{"name","type","format"}]` of every table."""
        return _Call("GET", "/tabledetails", params=_query(kind=kind), decode=JSON)

    def describe_stream(self, name: str) -> _Call:
        """`GET /streams/{name}` — the stream statement as JSON (`Name`, `StreamFields`, `Options`, …)."""
        return _Call("GET", _path("/streams/{}", name), decode=JSON)

    def describe_table(self, name: str) -> _Call:
        """`GET /tables/{name}` — the table statement as JSON."""
        return _Call("GET", _path("/tables/{}", name), decode=JSON)

    def replace_stream(self, name: str, sql: str) -> _Call:
        """`PUT /streams/{name}` `{"sql"}` — create or replace; returns `Stream x is replaced.`."""
        return _body("PUT", _path("/streams/{}", name), {"sql": sql}, TEXT)

    def replace_table(self, name: str, sql: str) -> _Call:
        """`PUT /tables/{name}` `{"sql"}` — create or replace; returns `Table x is replaced.`."""
        return _body("PUT", _path("/tables/{}", name), {"sql": sql}, TEXT)

    def drop_stream(self, name: str, force: bool = False) -> _Call:
        """`DELETE /streams/{name}[?force=true]` — returns `Stream x is dropped.`; force skips the reference check."""
        return _Call("DELETE", _path("/streams/{}", name), params=_query(force=_flag(force)), decode=TEXT)

    def drop_table(self, name: str, force: bool = False) -> _Call:
        """`DELETE /tables/{name}[?force=true]` — returns `Table x is dropped.`."""
        return _Call("DELETE", _path("/tables/{}", name), params=_query(force=_flag(force)), decode=TEXT)

    def stream_schema(self, name: str) -> _Call:
        """`GET /streams/{name}/schema` — `{field: {"type","index",…}}` (None or {} for a schemaless stream)."""
        return _Call("GET", _path("/streams/{}/schema", name), decode=JSON)

    def table_schema(self, name: str) -> _Call:
        """`GET /tables/{name}/schema` — the table's schema map."""
        return _Call("GET", _path("/tables/{}/schema", name), decode=JSON)

    # §3 rules

    def create_rule(self, rule: Mapping[str, Any] | str) -> _Call:
        """`POST /rules` — returns `Rule x was created successfully.`; a str rule is sent as given."""
        return _body("POST", "/rules", _mapping(rule), TEXT)

    def list_rules(self) -> _Call:
        """`GET /rules` — `[{"id","name","status","tags","trace","version"}]` sorted by id."""
        return _Call("GET", "/rules", decode=JSON)

    def get_rule(self, rule_id: str) -> _Call:
        """`GET /rules/{id}` — the stored rule JSON, parsed."""
        return _Call("GET", _path("/rules/{}", rule_id), decode=JSON)

    def update_rule(self, rule_id: str, rule: Mapping[str, Any] | str) -> _Call:
        """`PUT /rules/{id}` — create or update; returns `Rule x was updated successfully.`."""
        return _body("PUT", _path("/rules/{}", rule_id), _mapping(rule), TEXT)

    def delete_rule(self, rule_id: str) -> _Call:
        """`DELETE /rules/{id}` — returns `Rule x is dropped.`."""
        return _Call("DELETE", _path("/rules/{}", rule_id), decode=TEXT)

    def start_rule(self, rule_id: str) -> _Call:
        """`POST /rules/{id}/start` — returns `Rule x was started` (the start is queued)."""
        return _Call("POST", _path("/rules/{}/start", rule_id), decode=TEXT)

    def stop_rule(self, rule_id: str) -> _Call:
        """`POST /rules/{id}/stop` — returns `Rule x was stopped.`."""
        return _Call("POST", _path("/rules/{}/stop", rule_id), decode=TEXT)

    def restart_rule(self, rule_id: str) -> _Call:
        """`POST /rules/{id}/restart` — returns `Rule x was restarted`."""
        return _Call("POST", _path("/rules/{}/restart", rule_id), decode=TEXT)

    def rule_status(self, rule_id: str) -> _Call:
        """`GET /rules/{id}/status` — status, message, timestamps and the node metrics."""
        return _Call("GET", _path("/rules/{}/status", rule_id), decode=JSON)

    def rule_status_v2(self, rule_id: str) -> _Call:
        """`GET /v2/rules/{id}/status` — the same content, compact with sorted keys."""
        return _Call("GET", _path("/v2/rules/{}/status", rule_id), decode=JSON)

    def all_rule_status(self) -> _Call:
        """`GET /rules/status/all` — `{id: {"status","last_exception","exceptions_total"}}`."""
        return _Call("GET", "/rules/status/all", decode=JSON)

    def rule_topo(self, rule_id: str) -> _Call:
        """`GET /rules/{id}/topo` — `{"sources":[…],"edges":{…}}`."""
        return _Call("GET", _path("/rules/{}/topo", rule_id), decode=JSON)

    def explain_rule(self, rule_id: str) -> _Call:
        """`GET /rules/{id}/explain` — the logical plan, one JSON object per line (tab-indented), as text."""
        return _Call("GET", _path("/rules/{}/explain", rule_id), decode=TEXT)

    def rule_schema(self, rule_id: str) -> _Call:
        """`GET /rules/{id}/schema` — the rule's output schema map."""
        return _Call("GET", _path("/rules/{}/schema", rule_id), decode=JSON)

    def validate_rule(self, rule: Mapping[str, Any] | str) -> _Call:
        """`POST /rules/validate` — `{"sources":[…],"valid":true}`; an invalid rule raises EKuiperError 422."""
        return _body("POST", "/rules/validate", _mapping(rule), JSON)

    def reset_rule_state(self, rule_id: str, body: Mapping[str, Any]) -> _Call:
        """`PUT /rules/{id}/reset_state` `{"type":1,"params":{…}}` — returns `success`."""
        return _body("PUT", _path("/rules/{}/reset_state", rule_id), dict(body), TEXT)

    def set_rule_tags(self, rule_id: str, tags: str | Iterable[str]) -> _Call:
        """`PUT /rules/{id}/tags` `{"tags"}` — replace the rule's tags."""
        return _body("PUT", _path("/rules/{}/tags", rule_id), {"tags": _tags(tags)}, AUTO)

    def add_rule_tags(self, rule_id: str, tags: str | Iterable[str]) -> _Call:
        """`PATCH /rules/{id}/tags` `{"tags"}` — add tags (de-duplicated)."""
        return _body("PATCH", _path("/rules/{}/tags", rule_id), {"tags": _tags(tags)}, AUTO)

    def remove_rule_tags(self, rule_id: str, tags: str | Iterable[str]) -> _Call:
        """`DELETE /rules/{id}/tags` `{"tags"}` — remove tags (the field is `tags`, not the docs' `keys`)."""
        return _body("DELETE", _path("/rules/{}/tags", rule_id), {"tags": _tags(tags)}, AUTO)

    def match_rule_tags(self, tags: str | Iterable[str]) -> _Call:
        """`GET /rules/tags/match` with body `{"tags"}` — `{"rules":[…]}` of rules having all tags, `{}` if none."""
        return _body("GET", "/rules/tags/match", {"tags": _tags(tags)}, JSON)

    def bulk_start(self, tags: str | Iterable[str]) -> _Call:
        """`POST /rules/bulkstart` `{"tags"}` — `[{"ruleId","success","error"?}]`."""
        return _body("POST", "/rules/bulkstart", {"tags": _tags(tags)}, JSON)

    def bulk_stop(self, tags: str | Iterable[str]) -> _Call:
        """`POST /rules/bulkstop` `{"tags"}` — `[{"ruleId","success","error"?}]`."""
        return _body("POST", "/rules/bulkstop", {"tags": _tags(tags)}, JSON)

    def scan_tables(self, rule_id: str) -> _Call:
        """`GET /rules/{id}/scantables` — `[{"emitter","content"}]` held by the rule's join."""
        return _Call("GET", _path("/rules/{}/scantables", rule_id), decode=JSON)

    def rule_cpu_usage(self) -> _Call:
        """`GET /rules/usage/cpu` — `{id: cpu_ms}`, or the text `cpu usage not enabled`."""
        return _Call("GET", "/rules/usage/cpu", decode=AUTO)

    def start_rule_trace(self, rule_id: str, strategy: str = "always") -> _Call:
        """`POST /rules/{id}/trace/start` `{"strategy":"always"|"head"}`."""
        return _body("POST", _path("/rules/{}/trace/start", rule_id), {"strategy": strategy}, AUTO)

    def stop_rule_trace(self, rule_id: str) -> _Call:
        """`POST /rules/{id}/trace/stop`."""
        return _Call("POST", _path("/rules/{}/trace/stop", rule_id), decode=AUTO)

    def rule_traces(self, rule_id: str, limit: int | None = None) -> _Call:
        """`GET /trace/rule/{id}[?limit=n]` — the rule's trace ids."""
        return _Call("GET", _path("/trace/rule/{}", rule_id), params=_query(limit=limit), decode=JSON)

    def get_trace(self, trace_id: str) -> _Call:
        """`GET /trace/{traceId}` — the span tree (`ChildSpan` holds the children)."""
        return _Call("GET", _path("/trace/{}", trace_id), decode=JSON)

    def start_tracer(self, service_name: str | None = None, collector_url: str | None = None) -> _Call:
        """`POST /tracer` `{"action":"start","service_name","collector_url"}` — returns `success`."""
        body = {"action": "start", "service_name": service_name, "collector_url": collector_url}
        return _body("POST", "/tracer", {k: v for k, v in body.items() if v is not None}, TEXT)

    def stop_tracer(self) -> _Call:
        """`POST /tracer` `{"action":"stop"}` — returns `success`."""
        return _body("POST", "/tracer", {"action": "stop"}, TEXT)

    # §8 rule trial run

    def ruletest_create(self, body: Mapping[str, Any]) -> _Call:
        """`POST /ruletest` `{"id","sql","mockSource","sinkProps"}` — `{"id","port"}` of the SSE server."""
        return _body("POST", "/ruletest", dict(body), JSON)

    def ruletest_start(self, test_id: str) -> _Call:
        """`POST /ruletest/{id}/start` — returns `Test rule x was started`."""
        return _Call("POST", _path("/ruletest/{}/start", test_id), decode=TEXT)

    def ruletest_delete(self, test_id: str) -> _Call:
        """`DELETE /ruletest/{id}` — returns `Test rule x was stopped.`."""
        return _Call("DELETE", _path("/ruletest/{}", test_id), decode=TEXT)

    # §4 connections

    def create_connection(self, conn_id: str, typ: str, props: Mapping[str, Any]) -> _Call:
        """`POST /connections` `{"id","typ","props"}` — returns `success` (before dialling)."""
        return _body("POST", "/connections", {"id": conn_id, "typ": typ, "props": dict(props)}, TEXT)

    def list_connections(self, force_all: bool = False) -> _Call:
        """`GET /connections[?forceAll=true]` — `[{"id","typ","props","isNamed","status",…}]`."""
        return _Call("GET", "/connections", params=_query(forceAll=_flag(force_all)), decode=JSON)

    def get_connection(self, conn_id: str) -> _Call:
        """`GET /connections/{id}` — `{"id","typ","props","isNamed","status","err"?,"refCount"?}`."""
        return _Call("GET", _path("/connections/{}", conn_id), decode=JSON)

    def update_connection(self, conn_id: str, typ: str, props: Mapping[str, Any]) -> _Call:
        """`PUT /connections/{id}` `{"typ","props"}` — returns `success`."""
        return _body("PUT", _path("/connections/{}", conn_id), {"typ": typ, "props": dict(props)}, TEXT)

    def delete_connection(self, conn_id: str) -> _Call:
        """`DELETE /connections/{id}` — returns `success` (also for an unknown id)."""
        return _Call("DELETE", _path("/connections/{}", conn_id), decode=TEXT)

    def check_source_connection(self, source_type: str, props: Mapping[str, Any]) -> _Call:
        """`POST /metadata/sources/connection/{type}` with the source props — None when reachable."""
        return _body("POST", _path("/metadata/sources/connection/{}", source_type), dict(props), AUTO)

    def check_sink_connection(self, sink_type: str, props: Mapping[str, Any]) -> _Call:
        """`POST /metadata/sinks/connection/{type}` with the sink props — None when reachable."""
        return _body("POST", _path("/metadata/sinks/connection/{}", sink_type), dict(props), AUTO)

    def check_lookup_connection(self, lookup_type: str, props: Mapping[str, Any]) -> _Call:
        """`POST /metadata/lookups/connection/{type}` with the lookup props — None when reachable."""
        return _body("POST", _path("/metadata/lookups/connection/{}", lookup_type), dict(props), AUTO)

    # §5 metadata and confKeys

    def list_sources(self, kind: str | None = None) -> _Call:
        """`GET /metadata/sources[?kind=lookup]` — `[{"name","about","type"}]` of source plugins."""
        return _Call("GET", "/metadata/sources", params=_query(kind=kind), decode=JSON)

    def describe_source(self, name: str) -> _Call:
        """`GET /metadata/sources/{name}` — the source's metadata (`about`, `properties`, …)."""
        return _Call("GET", _path("/metadata/sources/{}", name), decode=JSON)

    def list_sinks(self) -> _Call:
        """`GET /metadata/sinks` — `[{"name","about","type"}]` of sink plugins."""
        return _Call("GET", "/metadata/sinks", decode=JSON)

    def describe_sink(self, name: str) -> _Call:
        """`GET /metadata/sinks/{name}` — the sink's metadata."""
        return _Call("GET", _path("/metadata/sinks/{}", name), decode=JSON)

    def list_connection_types(self) -> _Call:
        """`GET /metadata/connections` — `[{"name","about"}]` of types that have connection settings."""
        return _Call("GET", "/metadata/connections", decode=JSON)

    def describe_connection_type(self, name: str) -> _Call:
        """`GET /metadata/connections/{name}` — the type's connection-related fields."""
        return _Call("GET", _path("/metadata/connections/{}", name), decode=JSON)

    def source_confkeys(self, source_type: str) -> _Call:
        """`GET /metadata/sources/yaml/{type}` — `{confKey: props}` of the source type."""
        return _Call("GET", _path("/metadata/sources/yaml/{}", source_type), decode=JSON)

    def sink_confkeys(self, sink_type: str) -> _Call:
        """`GET /metadata/sinks/yaml/{type}` — `{confKey: props}` of the sink type."""
        return _Call("GET", _path("/metadata/sinks/yaml/{}", sink_type), decode=JSON)

    def connection_confkeys(self, conn_type: str) -> _Call:
        """`GET /metadata/connections/yaml/{type}` — `{confKey: props}` of the connection type."""
        return _Call("GET", _path("/metadata/connections/yaml/{}", conn_type), decode=JSON)

    def put_source_confkey(self, source_type: str, key: str, props: Mapping[str, Any]) -> _Call:
        """`PUT /metadata/sources/{type}/confKeys/{key}` — replace the confKey's props."""
        return _body("PUT", _path("/metadata/sources/{}/confKeys/{}", source_type, key), dict(props), AUTO)

    def delete_source_confkey(self, source_type: str, key: str) -> _Call:
        """`DELETE /metadata/sources/{type}/confKeys/{key}`."""
        return _Call("DELETE", _path("/metadata/sources/{}/confKeys/{}", source_type, key), decode=AUTO)

    def put_sink_confkey(self, sink_type: str, key: str, props: Mapping[str, Any]) -> _Call:
        """`PUT /metadata/sinks/{type}/confKeys/{key}` — replace the confKey's props."""
        return _body("PUT", _path("/metadata/sinks/{}/confKeys/{}", sink_type, key), dict(props), AUTO)

    def delete_sink_confkey(self, sink_type: str, key: str) -> _Call:
        """`DELETE /metadata/sinks/{type}/confKeys/{key}`."""
        return _Call("DELETE", _path("/metadata/sinks/{}/confKeys/{}", sink_type, key), decode=AUTO)

    def put_connection_confkey(self, conn_type: str, key: str, props: Mapping[str, Any]) -> _Call:
        """`PUT /metadata/connections/{type}/confKeys/{key}` — replace the stored connection's props."""
        return _body("PUT", _path("/metadata/connections/{}/confKeys/{}", conn_type, key), dict(props), AUTO)

    def delete_connection_confkey(self, conn_type: str, key: str) -> _Call:
        """`DELETE /metadata/connections/{type}/confKeys/{key}`."""
        return _Call("DELETE", _path("/metadata/connections/{}/confKeys/{}", conn_type, key), decode=AUTO)

    def resources(self) -> _Call:
        """`GET /metadata/resources` — `{"sources":[{confKey: plugin}],"sinks":[…]}` of updatable keys."""
        return _Call("GET", "/metadata/resources", decode=JSON)

    def resource(self, source_type: str | None = None) -> _Call:
        """`GET /metadata/resource[?sourceType=]` — `{plugin: {confKey: props}}`."""
        return _Call("GET", "/metadata/resource", params=_query(sourceType=source_type), decode=JSON)

    def functions_metadata(self) -> _Call:
        """`GET /metadata/functions` — the function catalogue's metadata."""
        return _Call("GET", "/metadata/functions", decode=JSON)

    def operators_metadata(self) -> _Call:
        """`GET /metadata/operators` — the operator metadata."""
        return _Call("GET", "/metadata/operators", decode=JSON)

    # §6 plugins

    def create_plugin(
        self,
        plugin_type: str,
        name: str,
        file: str,
        *,
        shell_paras: Iterable[str] | None = None,
        functions: Iterable[str] | None = None,
    ) -> _Call:
        """`POST /plugins/{sources|sinks|functions}` `{"name","file","shellParas","functions"}` — returns a sentence."""
        body = _plugin_body(name, file, shell_paras, functions)
        return _body("POST", _path("/plugins/{}", _plugin_kind(plugin_type)), body, TEXT)

    def list_plugins(self, plugin_type: str) -> _Call:
        """`GET /plugins/{sources|sinks|functions}` — the native plugin names."""
        return _Call("GET", _path("/plugins/{}", _plugin_kind(plugin_type)), decode=JSON)

    def describe_plugin(self, plugin_type: str, name: str) -> _Call:
        """`GET /plugins/{type}/{name}` — `{"name","version","functions"?}`."""
        return _Call("GET", _path("/plugins/{}/{}", _plugin_kind(plugin_type), name), decode=JSON)

    def update_plugin(
        self,
        plugin_type: str,
        name: str,
        file: str,
        *,
        shell_paras: Iterable[str] | None = None,
        functions: Iterable[str] | None = None,
    ) -> _Call:
        """`PUT /plugins/{type}/{name}` `{"name","file",…}` — returns `plugin x is updated and …`."""
        body = _plugin_body(name, file, shell_paras, functions)
        return _body("PUT", _path("/plugins/{}/{}", _plugin_kind(plugin_type), name), body, TEXT)

    def delete_plugin(self, plugin_type: str, name: str, stop: bool = False) -> _Call:
        """`DELETE /plugins/{type}/{name}[?stop=1]` — with stop, the server process exits."""
        path = _path("/plugins/{}/{}", _plugin_kind(plugin_type), name)
        return _Call("DELETE", path, params=_query(stop=_flag(stop, "1")), decode=TEXT)

    def register_plugin_functions(self, name: str, functions: Iterable[str]) -> _Call:
        """`POST /plugins/functions/{name}/register` `{"functions"}` — returns a sentence."""
        return _body(
            "POST", _path("/plugins/functions/{}/register", name), {"functions": list(functions)}, TEXT
        )

    def prebuilt_plugins(self, plugin_type: str) -> _Call:
        """`GET /plugins/{type}/prebuild` — `{name: download URL}` (Linux only)."""
        return _Call("GET", _path("/plugins/{}/prebuild", _plugin_kind(plugin_type)), decode=JSON)

    def list_udfs(self) -> _Call:
        """`GET /plugins/udfs` — every function symbol of the native function plugins."""
        return _Call("GET", "/plugins/udfs", decode=JSON)

    def describe_udf(self, name: str) -> _Call:
        """`GET /plugins/udfs/{name}` — `{"name","plugin"}`."""
        return _Call("GET", _path("/plugins/udfs/{}", name), decode=JSON)

    def create_portable(self, name: str, file: str) -> _Call:
        """`POST /plugins/portables` `{"name","file"}` — returns `portable plugin x is created`."""
        return _body("POST", "/plugins/portables", {"name": name, "file": file}, TEXT)

    def list_portables(self) -> _Call:
        """`GET /plugins/portables` — `[{"name","version","language","executable","sources","sinks","functions"}]`."""
        return _Call("GET", "/plugins/portables", decode=JSON)

    def describe_portable(self, name: str) -> _Call:
        """`GET /plugins/portables/{name}` — the portable plugin's object."""
        return _Call("GET", _path("/plugins/portables/{}", name), decode=JSON)

    def portable_status(self, name: str) -> _Call:
        """`GET /plugins/portables/{name}/status` — `{"refCount","status","errMsg"}`."""
        return _Call("GET", _path("/plugins/portables/{}/status", name), decode=JSON)

    def update_portable(self, name: str, file: str) -> _Call:
        """`PUT /plugins/portables/{name}` `{"name","file"}` — returns `portable plugin x is updated`."""
        return _body("PUT", _path("/plugins/portables/{}", name), {"name": name, "file": file}, TEXT)

    def delete_portable(self, name: str) -> _Call:
        """`DELETE /plugins/portables/{name}` — returns `portable plugin x is deleted`."""
        return _Call("DELETE", _path("/plugins/portables/{}", name), decode=TEXT)

    # §7 data import / export

    def export_data(self, rule_ids: Iterable[str] | None = None) -> _Call:
        """`GET /data/export`, or `POST /data/export` `[ids]` for some rules — the parsed export document."""
        if rule_ids is None:
            return _Call("GET", "/data/export", decode=JSON)
        return _body("POST", "/data/export", _tags(rule_ids), JSON)

    def import_data(
        self, content: Any = None, file: str | None = None, partial: bool = False, stop: bool = False
    ) -> _Call:
        """`POST /data/import[?partial=1][&stop=1]` `{"content"|"file"}` — `{"ErrorMsg","ConfigResponse"}`.

        `content` is the export document, as a dict or as its JSON string. Without `partial` the server
        wipes everything first.
        """
        params = _query(partial=_flag(partial, "1"), stop=_flag(stop, "1"))
        return _body("POST", "/data/import", _source(content, file), JSON, params=params)

    def import_status(self) -> _Call:
        """`GET /data/import/status` — the error messages of the last full import."""
        return _Call("GET", "/data/import/status", decode=JSON)

    def async_import(
        self, content: Any = None, file: str | None = None, partial: bool = False, stop: bool = False
    ) -> _Call:
        """`POST /async/data/import[?partial=1][&stop=1]` — `{"id":"dataImport-…"}`, see `async_task`."""
        params = _query(partial=_flag(partial, "1"), stop=_flag(stop, "1"))
        return _body("POST", "/async/data/import", _source(content, file), JSON, params=params)

    def async_task(self, task_id: str) -> _Call:
        """`GET /async/task/{id}` — `{"id","status","message","createdTimestamp","updatedTimestamp"}`."""
        return _Call("GET", _path("/async/task/{}", task_id), decode=JSON)

    def cancel_async_task(self, task_id: str) -> _Call:
        """`POST /async/task/{id}/cancel` — returns `cancel success`."""
        return _Call("POST", _path("/async/task/{}/cancel", task_id), decode=TEXT)

    def export_data_v2(self) -> _Call:
        """`GET /v2/data/export` — the export document as YAML text."""
        return _Call("GET", "/v2/data/export", decode=TEXT)

    def import_data_v2(self, content: Any = None, file: str | None = None) -> _Call:
        """`POST /v2/data/import` `{"content"|"file"}` (YAML; a dict is sent as JSON, which is YAML) — `success`."""
        return _body("POST", "/v2/data/import", _source(content, file), TEXT)

    def export_ruleset(self) -> _Call:
        """`POST /ruleset/export` — the parsed `{"streams","tables","rules"}` document."""
        return _Call("POST", "/ruleset/export", decode=JSON)

    def import_ruleset(self, content: Any = None, file: str | None = None) -> _Call:
        """`POST /ruleset/import` `{"content"|"file"}` — returns `imported n streams, n tables and n rules`."""
        return _body("POST", "/ruleset/import", _source(content, file), TEXT)

    # §8 services

    def create_service(self, name: str, file: str) -> _Call:
        """`POST /services` `{"name","file"}` — returns `service x is created`."""
        return _body("POST", "/services", {"name": name, "file": file}, TEXT)

    def list_services(self) -> _Call:
        """`GET /services` — the service names."""
        return _Call("GET", "/services", decode=JSON)

    def describe_service(self, name: str) -> _Call:
        """`GET /services/{name}` — `{"About","Interfaces"}`."""
        return _Call("GET", _path("/services/{}", name), decode=JSON)

    def update_service(self, name: str, file: str) -> _Call:
        """`PUT /services/{name}` `{"name","file"}` — returns `service x is updated`."""
        return _body("PUT", _path("/services/{}", name), {"name": name, "file": file}, TEXT)

    def delete_service(self, name: str) -> _Call:
        """`DELETE /services/{name}` — returns `service x is deleted`."""
        return _Call("DELETE", _path("/services/{}", name), decode=TEXT)

    def list_service_functions(self) -> _Call:
        """`GET /services/functions` — `[{"FuncName","ServiceName","InterfaceName","Addr","MethodName"}]`."""
        return _Call("GET", "/services/functions", decode=JSON)

    def describe_service_function(self, name: str) -> _Call:
        """`GET /services/functions/{name}` — one service function."""
        return _Call("GET", _path("/services/functions/{}", name), decode=JSON)

    # §8 schemas

    def create_schema(
        self,
        schema_type: str,
        name: str,
        content: str | None = None,
        file: str | None = None,
        so_file: str | None = None,
        version: str | None = None,
    ) -> _Call:
        """`POST /schemas/{type}` `{"name","content"|"file","soFile","version"}` — returns a sentence."""
        body = _schema_body(None, name, content, file, so_file, version)
        return _body("POST", _path("/schemas/{}", schema_type), body, TEXT)

    def list_schemas(self, schema_type: str) -> _Call:
        """`GET /schemas/{type}` — the schema names."""
        return _Call("GET", _path("/schemas/{}", schema_type), decode=JSON)

    def describe_schema(self, schema_type: str, name: str) -> _Call:
        """`GET /schemas/{type}/{name}` — `{"type","name","content","file","soFile","version"}`."""
        return _Call("GET", _path("/schemas/{}/{}", schema_type, name), decode=JSON)

    def update_schema(
        self,
        schema_type: str,
        name: str,
        content: str | None = None,
        file: str | None = None,
        so_file: str | None = None,
        version: str | None = None,
    ) -> _Call:
        """`PUT /schemas/{type}/{name}` `{"type","name","content"|"file",…}` — returns a sentence."""
        body = _schema_body(schema_type, name, content, file, so_file, version)
        return _body("PUT", _path("/schemas/{}/{}", schema_type, name), body, TEXT)

    def delete_schema(self, schema_type: str, name: str) -> _Call:
        """`DELETE /schemas/{type}/{name}` — returns `… is deleted`."""
        return _Call("DELETE", _path("/schemas/{}/{}", schema_type, name), decode=TEXT)

    def upload_schema_file(
        self, schema_type: str, name: str, data: Any, filename: str | None = None, version: str | None = None
    ) -> _Call:
        """`PUT /schemas/{type}/{name}/upload` (multipart `file`, `version`) — `{"type","name"}`.

        `data` is bytes, a path or a binary file object.
        """
        form = {"version": version} if version is not None else None
        files = {"file": _file_part(data, filename)}
        return _Call(
            "PUT", _path("/schemas/{}/{}/upload", schema_type, name), files=files, data=form, decode=JSON
        )

    # §8 JavaScript UDFs

    def create_javascript_udf(
        self, udf_id: str, script: str, description: str = "", is_agg: bool = False
    ) -> _Call:
        """`POST /udf/javascript` `{"id","description","script","isAgg"}` — returns a sentence."""
        body = {"id": udf_id, "description": description, "script": script, "isAgg": is_agg}
        return _body("POST", "/udf/javascript", body, TEXT)

    def list_javascript_udfs(self) -> _Call:
        """`GET /udf/javascript` — the JavaScript UDF ids."""
        return _Call("GET", "/udf/javascript", decode=JSON)

    def describe_javascript_udf(self, udf_id: str) -> _Call:
        """`GET /udf/javascript/{id}` — `{"id","description","script","isAgg"}`."""
        return _Call("GET", _path("/udf/javascript/{}", udf_id), decode=JSON)

    def update_javascript_udf(
        self, udf_id: str, script: str, description: str = "", is_agg: bool = False
    ) -> _Call:
        """`PUT /udf/javascript/{id}` `{"id","description","script","isAgg"}` (upsert) — returns a sentence."""
        body = {"id": udf_id, "description": description, "script": script, "isAgg": is_agg}
        return _body("PUT", _path("/udf/javascript/{}", udf_id), body, TEXT)

    def delete_javascript_udf(self, udf_id: str) -> _Call:
        """`DELETE /udf/javascript/{id}` — returns `… is deleted`."""
        return _Call("DELETE", _path("/udf/javascript/{}", udf_id), decode=TEXT)

    # §8 uploads

    def create_upload(self, name: str, content: str | None = None, file: str | None = None) -> _Call:
        """`POST /config/uploads` (application/json) `{"name","content"|"file"}` — the saved absolute path."""
        body: dict[str, Any] = {"name": name}
        body.update(_source(content, file))
        return _body("POST", "/config/uploads", body, TEXT)

    def upload_file(self, data: Any, filename: str | None = None) -> _Call:
        """`POST /config/uploads` (multipart, field `uploadFile`) — the saved absolute path.

        `data` is bytes, a path or a binary file object; `filename` defaults to the path's base name.
        """
        return _Call("POST", "/config/uploads", files={"uploadFile": _file_part(data, filename)}, decode=TEXT)

    def list_uploads(self) -> _Call:
        """`GET /config/uploads` — absolute paths of the uploaded files."""
        return _Call("GET", "/config/uploads", decode=JSON)

    def delete_upload(self, name: str) -> _Call:
        """`DELETE /config/uploads/{name}` — returns `ok`."""
        return _Call("DELETE", _path("/config/uploads/{}", name), decode=TEXT)


def _mapping(rule: Any) -> Any:
    return rule if isinstance(rule, str | bytes | bytearray) else dict(rule)


def _plugin_body(name: str, file: str, shell_paras: Any, functions: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "file": file}
    if shell_paras is not None:
        body["shellParas"] = list(shell_paras)
    if functions is not None:
        body["functions"] = list(functions)
    return body


def _schema_body(
    schema_type: str | None, name: str, content: Any, file: Any, so_file: Any, version: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {} if schema_type is None else {"type": schema_type}
    fields = {"name": name, "content": content, "file": file, "soFile": so_file, "version": version}
    body.update({k: v for k, v in fields.items() if v is not None})
    return body


# --- the clients ------------------------------------------------------------------------------------------


class _Base:
    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float | None = 10.0,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        transport: Any = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        merged = dict(headers or {})
        if token is not None:
            merged["Authorization"] = token  # eKuiper takes the raw JWT, no `Bearer ` prefix
        self._options: dict[str, Any] = {"base_url": self.base_url, "timeout": timeout, "headers": merged}
        if transport is not None:
            self._options["transport"] = transport

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    if TYPE_CHECKING:
        # the endpoint methods are installed below, from `_Endpoints`; type checkers see them as Any
        def __getattr__(self, name: str) -> Any: ...


class Client(_Base):
    """A synchronous client for one eKuiper/Arrokoth server: `with Client(url) as c: c.list_rules()`.

    `token` goes raw into `Authorization`; `headers` are sent with every request (e.g. `Content-Language`);
    `transport` is handed to httpx (e.g. `httpx.MockTransport` or a WSGI transport in tests).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float | None = 10.0,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        transport: Any = None,
    ) -> None:
        super().__init__(base_url, timeout=timeout, token=token, headers=headers, transport=transport)
        import httpx

        self._httpx = httpx
        self._http = httpx.Client(**self._options)

    def _send(self, call: _Call) -> Any:
        try:
            response = self._http.request(call.method, call.path, **call.request_kwargs())
        except self._httpx.TransportError as e:
            raise ConnectionFailed(self.base_url, e) from e
        return _decode(call, response)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Base):
    """The asyncio twin of `Client`: the same constructor, every method `async def`.

    `async with AsyncClient(url) as c: await c.list_rules()`.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float | None = 10.0,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        transport: Any = None,
    ) -> None:
        super().__init__(base_url, timeout=timeout, token=token, headers=headers, transport=transport)
        import httpx

        self._httpx = httpx
        self._http = httpx.AsyncClient(**self._options)

    async def _send(self, call: _Call) -> Any:
        try:
            response = await self._http.request(call.method, call.path, **call.request_kwargs())
        except self._httpx.TransportError as e:
            raise ConnectionFailed(self.base_url, e) from e
        return _decode(call, response)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _sync_method(build: Any) -> Any:
    @functools.wraps(build)
    def method(self: Client, *args: Any, **kwargs: Any) -> Any:
        return self._send(build(self, *args, **kwargs))

    return method


def _async_method(build: Any) -> Any:
    @functools.wraps(build)
    async def method(self: AsyncClient, *args: Any, **kwargs: Any) -> Any:
        return await self._send(build(self, *args, **kwargs))

    return method


def _install(cls: type, wrap: Any) -> None:
    for name, build in vars(_Endpoints).items():
        if name.startswith("_") or not callable(build):
            continue
        method = wrap(build)
        method.__qualname__ = f"{cls.__name__}.{name}"
        # help() and IDEs show the builder's parameters, answering Any rather than the private _Call
        method.__signature__ = inspect.signature(build).replace(return_annotation="Any")
        del method.__wrapped__
        setattr(cls, name, method)


_install(Client, _sync_method)
_install(AsyncClient, _async_method)

ENDPOINTS: tuple[str, ...] = tuple(
    n for n, f in vars(_Endpoints).items() if not n.startswith("_") and callable(f)
)
"""The names of the endpoint methods, the same on `Client` and `AsyncClient`."""
