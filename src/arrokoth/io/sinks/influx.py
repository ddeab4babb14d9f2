"""The influx sink: writes the results to InfluxDB 1.x through its HTTP `/write` endpoint.

Properties are eKuiper's: `addr` (default http://127.0.0.1:8086), `username`, `password`,
`database` and `measurement` (both required), `tags` (an object whose values may be data
templates over the row, `{"device": "{{.id}}"}`), `fields` (the row fields written; all when
unset), `precision` (ns, us, ms, s; default ms) and `tsFieldName` (the row field holding the
timestamp, in `precision` units; the current time when unset), and the TLS keys
`insecureSkipVerify`, `rootCaPath`, `certificationPath`, `privateKeyPath`. Rules exported
from older eKuiper plugins name the database `databasename` and give one tag as `tagKey` and
`tagValue`; those are read too. A `measurement` holding `{{` is a data template as well.

Each message becomes one request of one line per row (a batch from `batchSize` is one
write). A transport error or a 5xx answer raises `SinkSendError`, so the SinkNode retries
and caches. A 4xx answer (an unknown database, bad credentials, data InfluxDB rejects) raises
`InfluxWriteError` with InfluxDB's own message, and rows that make no point (a missing
`tsFieldName` field, a failing tag template) raise `InfluxDataError`: sending them again
would not help, so the node drops and counts them.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import httpx

from arrokoth.functions import jsonvalue
from arrokoth.io._line_protocol import PRECISIONS, encode_line
from arrokoth.io.connectivity import ConnectionCheckError, bounded, describe_os_error, socket_error
from arrokoth.io.http_client import HttpConfigError, check_url
from arrokoth.io.http_client import _verify as tls_verify
from arrokoth.io.props import prop, redact_url
from arrokoth.io.sinks.base import CONNECTED, AsyncSink, SinkConfigError, SinkSendError

DEFAULT_ADDR = "http://127.0.0.1:8086"
DEFAULT_PRECISION = "ms"
# InfluxDB 1.x's /write spells microseconds `u` and takes an unknown precision ("us") as ns
_WRITE_PRECISION = {"ns": "n", "us": "u", "ms": "ms", "s": "s"}
#: seconds a ping or a write may take (eKuiper pings with 10 s)
REQUEST_TIMEOUT_S = 10.0
# InfluxDB skips such a line without an error, so the points would vanish
_COMMENT = "a name starting with # would make each line a comment that InfluxDB ignores"
# of an error answer, this much goes into the exception (and so into the rule's metrics)
_BODY_IN_ERRORS = 500


class InfluxWriteError(Exception):
    """InfluxDB refused the write (a 4xx answer); not retried."""


class InfluxDataError(Exception):
    """The data does not make points; not retried."""


def fmt_v(v: Any) -> str:
    """Go's `%v` of a value, as eKuiper's messages print it."""
    from arrokoth.io._template_funcs import fmt_v as go_fmt_v  # slow to import; needed only here

    return go_fmt_v(v)


def _str_prop(props: dict, name: str, default: str = "") -> str:
    v = prop(props, name, default)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, str | int | float):
        raise SinkConfigError(f"{name}: expected a string but got {v!r}")
    return str(v)


def _template(name: str, text: str) -> Any:
    """The compiled data template of a value holding `{{`, else None."""
    if "{{" not in text:
        return None
    from arrokoth.io.templates import TemplateError, compile_template  # only templated props pay for it

    try:
        return compile_template(text)
    except TemplateError as e:
        raise SinkConfigError(f"{name}: invalid template {text!r}: {e}") from None


def _tags_prop(props: dict) -> dict[str, str]:
    tags = prop(props, "tags")
    if isinstance(tags, str) and tags.strip():
        # eKuiper's own example writes the object as a JSON string
        try:
            tags = jsonvalue.loads(tags)
        except jsonvalue.DecodeError:
            raise SinkConfigError(f"tags: expected an object of tag names and values but got {tags!r}") from None
    if tags is None or tags == "" or tags == {}:
        key = _str_prop(props, "tagKey")
        # the older eKuiper plugin took a single tag as tagKey/tagValue
        return {key: _str_prop(props, "tagValue")} if key else {}
    if not isinstance(tags, dict):
        raise SinkConfigError(f"tags: expected an object of tag names and values but got {tags!r}")
    out = {}
    for k, v in tags.items():
        if isinstance(v, dict | list) or v is None:
            raise SinkConfigError(f"tags: the value of tag {k} must be a string")
        out[str(k)] = v if isinstance(v, str) else fmt_v(v)
    return out


def _fields_prop(props: dict) -> list[str]:
    fields = prop(props, "fields")
    if fields is None or fields == "":
        return []
    if not (isinstance(fields, list) and all(isinstance(f, str) for f in fields)):
        raise SinkConfigError("fields: expected a list of strings")
    return fields


def _describe(e: Exception) -> str:
    """A transport error in words: the socket error under it when there is one."""
    if isinstance(e, httpx.TimeoutException):
        return f"timed out after {REQUEST_TIMEOUT_S:g}s"
    found = socket_error(e)
    if found is not None:
        return describe_os_error(found)
    return str(e) or type(e).__name__


def _error_text(resp: httpx.Response) -> str:
    """InfluxDB's error message: the `error` of its JSON answer, else the body."""
    with contextlib.suppress(ValueError):
        body = jsonvalue.loads(resp.content)
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return body["error"]
    return resp.headers.get("X-Influxdb-Error") or resp.text[:_BODY_IN_ERRORS] or resp.reason_phrase


class InfluxSink(AsyncSink):
    wants_rows = True
    #: the rule's clock, set by the SinkNode; a virtual one (replay) stamps rows with its time
    clock: Any = None

    def __init__(self, props: dict[str, Any]):
        super().__init__(props)
        addr = _str_prop(props, "addr") or DEFAULT_ADDR
        database = _str_prop(props, "database") or _str_prop(props, "databasename")
        measurement = _str_prop(props, "measurement")
        precision = _str_prop(props, "precision", DEFAULT_PRECISION) or DEFAULT_PRECISION
        try:
            check_url("addr", addr)
            self.verify = tls_verify(props)
        except HttpConfigError as e:
            raise SinkConfigError(str(e)) from None
        if not database:
            raise SinkConfigError("database: database is required")
        if not measurement:
            raise SinkConfigError("measurement: measurement is required")
        if measurement.startswith("#"):
            raise SinkConfigError(f"measurement: {_COMMENT}")
        if precision not in PRECISIONS:
            raise SinkConfigError(f"precision: precision {precision} is not supported, expected ns, us, ms or s")
        self.addr = addr.rstrip("/")
        self.username = _str_prop(props, "username")
        self.password = _str_prop(props, "password")
        self.database = database
        self.measurement = measurement
        self.precision = precision
        self.ts_field = _str_prop(props, "tsFieldName")
        self.tags = _tags_prop(props)
        self.fields = _fields_prop(props)
        self._measurement_template = _template("measurement", measurement)
        self._tag_templates = {k: _template(f"tags.{k}", v) for k, v in self.tags.items()}
        self._unit = PRECISIONS[precision]
        self._write_params = {"db": database, "precision": _WRITE_PRECISION[precision]}
        self._client: httpx.AsyncClient | None = None

    # --- points ----------------------------------------------------------------------------

    def _now_ns(self) -> int:
        clock = self.clock
        if clock is not None and clock.virtual:
            return clock.now_ms() * 1_000_000
        return time.time_ns()

    def _timestamp(self, row: dict, now: int) -> int:
        if not self.ts_field:
            return now
        if self.ts_field not in row:
            raise InfluxDataError(f"time field {self.ts_field} not found")
        v = row[self.ts_field]
        if type(v) is int:
            return v
        if type(v) is float and v == v and v not in (float("inf"), float("-inf")):
            return int(v)
        raise InfluxDataError(f"time field {self.ts_field} can not convert to timestamp(int64) : {fmt_v(v)}")

    def _tags(self, row: dict) -> dict[str, str]:
        out = {}
        for k, text in self.tags.items():
            tpl = self._tag_templates[k]
            if tpl is None:
                out[k] = text
                continue
            try:
                out[k] = tpl.render(row)
            except Exception as e:  # noqa: BLE001 - whatever the template raises, name the tag
                raise InfluxDataError(f"parse {k} tag template {text} failed, err:{e}") from None
        return out

    def _measurement(self, row: dict) -> str:
        if self._measurement_template is None:
            return self.measurement
        try:
            name = self._measurement_template.render(row)
        except Exception as e:  # noqa: BLE001
            raise InfluxDataError(f"parse measurement template {self.measurement} failed, err:{e}") from None
        if not name:
            raise InfluxDataError(f"measurement template {self.measurement} rendered an empty name")
        if name.startswith("#"):
            raise InfluxDataError(f"measurement {name}: {_COMMENT}")
        return name

    def encode(self, data: Any) -> bytes:
        """The line-protocol body of one message: a row or a list of rows."""
        if type(data) is dict:
            rows = [data]
        elif type(data) is list and all(type(r) is dict for r in data):
            rows = data
        else:
            raise InfluxDataError(f"sink needs map or []map, but receive unsupported data {fmt_v(data)}")
        now = 0 if self.ts_field else self._now_ns() // self._unit
        lines = []
        for row in rows:
            fields = {f: row[f] for f in self.fields if f in row} if self.fields else row
            line = encode_line(self._measurement(row), self._tags(row), fields, self._timestamp(row, now))
            if line is not None:
                lines.append(line)
        if rows and not lines:
            raise InfluxDataError("no field to write: every field is null, missing or not a number InfluxDB takes")
        return "\n".join(lines).encode()

    # --- connection ------------------------------------------------------------------------

    def _make_client(self, timeout: float = REQUEST_TIMEOUT_S) -> httpx.AsyncClient:
        # Go's client sends basic auth when a username is set, and ignores the environment's proxies
        auth = (self.username, self.password) if self.username else None
        return httpx.AsyncClient(verify=self.verify, timeout=timeout, trust_env=False, auth=auth)

    async def connect(self) -> None:
        """Ping the server, as eKuiper does before the rule writes."""
        if self._client is None:
            self._client = self._make_client()
        try:
            resp = await self._client.get(self.addr + "/ping")
        except httpx.HTTPError as e:
            raise SinkSendError(f"error pinging influx server {redact_url(self.addr)}: {_describe(e)}") from None
        if resp.status_code // 100 != 2:
            raise SinkSendError(
                f"error pinging influx server {redact_url(self.addr)}: {resp.status_code} {_error_text(resp)}"
            )
        if self.status != CONNECTED:
            self.mark_connected()

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # --- sending ---------------------------------------------------------------------------

    async def send_async(self, payload: bytes | None, data: Any) -> None:
        body = self.encode(data)
        if not body:
            return  # an empty list: nothing to write
        if self._client is None:
            await self.connect()
        try:
            resp = await self._client.post(self.addr + "/write", params=self._write_params, content=body)
        except httpx.HTTPError as e:
            message = _describe(e)
            # the node pings again (with backoff) before it sends again
            self.mark_disconnected(message)
            raise SinkSendError(f"influx write to {redact_url(self.addr)} failed: {message}") from None
        status = resp.status_code
        if status // 100 == 2:
            return
        text = _error_text(resp)
        if status >= 500:
            raise SinkSendError(f"influx write failed: {status} {text}")
        if status in (401, 403):
            text += " (check username and password)"
        raise InfluxWriteError(f"influx write failed: {status} {text}")

    # --- connectivity check ----------------------------------------------------------------

    @classmethod
    async def ping(cls, props: dict, timeout: float) -> None:
        """GET /ping, then `SHOW DATABASES`: checks the credentials and that the database is there.

        Bad properties raise SinkConfigError, which the check endpoint reports as such."""
        sink = cls(props)
        where = f"influx server {redact_url(sink.addr)}"
        async with sink._make_client(timeout) as client:
            resp = await bounded(where, _request(where, client, sink.addr + "/ping"), timeout)
            if resp.status_code // 100 != 2:
                raise ConnectionCheckError(f"{where}: ping answered {resp.status_code} {_error_text(resp)}")
            resp = await bounded(
                where, _request(where, client, sink.addr + "/query", params={"q": "SHOW DATABASES"}), timeout
            )
        if resp.status_code in (401, 403):
            if sink.username:
                raise ConnectionCheckError(f"{where}: bad credentials for user {sink.username}: {_error_text(resp)}")
            raise ConnectionCheckError(
                f"{where}: the server requires authentication, set username and password: {_error_text(resp)}"
            )
        if resp.status_code // 100 != 2:
            raise ConnectionCheckError(f"{where}: SHOW DATABASES answered {resp.status_code} {_error_text(resp)}")
        if sink.database not in _database_names(resp):
            raise ConnectionCheckError(
                f"{where}: database {sink.database} does not exist"
                + (f" or user {sink.username} may not use it" if sink.username else "")
            )


async def _request(where: str, client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
    """GET `url`; a transport error reads as the socket error under it."""
    try:
        return await client.get(url, **kwargs)
    except httpx.TimeoutException:
        raise TimeoutError from None  # `bounded` words it
    except httpx.HTTPError as e:
        raise ConnectionCheckError(f"{where}: {_describe(e)}") from None


def _database_names(resp: httpx.Response) -> set[str]:
    """The names in a SHOW DATABASES answer."""
    try:
        body = jsonvalue.loads(resp.content)
        series = body["results"][0].get("series") or []
        return {row[0] for s in series for row in s.get("values") or []}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return set()
