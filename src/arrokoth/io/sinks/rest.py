"""The rest sink: sends each payload to an HTTP endpoint.

Properties as eKuiper's: `url` (required), `method` (get, post, put, patch, delete, head;
default get), `bodyType` (none, json, text, html, xml, javascript, form, binary; none for
get/head, else json), `headers`, `timeout` (ms or a duration, default 5000, 0 = none),
`insecureSkipVerify` and the certificate paths, `oAuth`, `debugResp` and `responseType`
(code, or body: a 2xx `code` in the JSON answer). `url`, `method` and the header values may
be data templates over the data sent, so per-row values need `sendSingle: true`; the oAuth
tokens are there for the headers too.

A transport error, a timeout or an answer that is not a success raises `SinkSendError`, so
the SinkNode retries and caches. A request that cannot be built from the data (a template
that fails, a form body that is not an object) raises `RestRequestError`: sending it again
would not help.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import httpx

from arrokoth.functions import jsonvalue
from arrokoth.io.http_client import (
    SINK_METHODS,
    BodyError,
    ClientSettings,
    HttpConfigError,
    ResponseError,
    bool_prop,
    check_response,
    ping,
    request,
)
from arrokoth.io.sinks.base import CONNECTED, AsyncSink, SinkConfigError, SinkSendError

log = logging.getLogger("arrokoth.sink.rest")

_REQUEST_ERRORS = (httpx.HTTPError, httpx.InvalidURL)
# of an error answer, this much goes into the exception (and so into the rule's metrics)
_BODY_IN_ERRORS = 1000


class RestRequestError(Exception):
    """The data does not make a request; not retried."""


def _form_value(v: Any) -> str:
    # Go's fmt %v for scalars, JSON for objects and arrays, as eKuiper's form encoding
    if isinstance(v, str):
        return v
    if v is None:
        return "<nil>"
    return jsonvalue.encode(v).decode()


def form_body(payload: bytes, send_single: bool) -> str:
    """eKuiper's form body: the fields of a JSON object payload; without sendSingle a
    payload that is not an object goes whole as the field `result`."""
    try:
        value = jsonvalue.loads(payload)
    except jsonvalue.DecodeError as e:
        if send_single:
            raise RestRequestError(f"fail to decode content: {e}") from None
        value = None
    if not isinstance(value, dict):
        if send_single:
            raise RestRequestError(f"invalid content: {payload.decode('utf-8', 'replace')}")
        value = {"result": payload.decode("utf-8", "replace")}
    return urlencode(sorted((k, _form_value(v)) for k, v in value.items()))


class RestSink(AsyncSink):
    def __init__(self, props: dict):
        super().__init__(props)
        try:
            self.settings = ClientSettings.parse(props, methods=SINK_METHODS, default_url=None)
            self.debug_resp = bool_prop(props, "debugResp")
            self.send_single = bool_prop(props, "sendSingle")
        except HttpConfigError as e:
            raise SinkConfigError(str(e)) from None
        self._client: httpx.AsyncClient | None = None

    @classmethod
    async def ping(cls, props: dict, timeout: float) -> None:
        try:
            settings = ClientSettings.parse(props, methods=SINK_METHODS, default_url=None)
        except HttpConfigError as e:
            raise SinkConfigError(str(e)) from None
        await ping(settings, timeout)

    # --- connection ------------------------------------------------------------------------

    async def connect(self) -> None:
        if self._client is None:
            self._client = self.settings.client()
        oauth = self.settings.oauth
        if oauth is not None and not oauth.updated_ms:
            try:
                await oauth.authorize(self._client, self._now())
            except (*_REQUEST_ERRORS, ResponseError, BodyError) as e:
                raise SinkSendError(f"fail to authorize by oAuth: {e}") from None
        if self.status != CONNECTED:
            self.mark_connected()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- sending ---------------------------------------------------------------------------

    async def send_async(self, payload: bytes | None, data: Any) -> None:
        if self._client is None or (self.settings.oauth is not None and not self.settings.oauth.updated_ms):
            await self.connect()
        client = self._client
        settings = self.settings
        payload = payload or b""
        header_data = data
        if settings.oauth is not None:
            try:
                await settings.oauth.ensure_fresh(client, self._now())
            except (*_REQUEST_ERRORS, ResponseError, BodyError) as e:
                log.warning("refreshing the oAuth token of the rest sink failed: %s", e)
            tokens = settings.oauth.tokens
            header_data = {**tokens, **data} if isinstance(data, dict) else tokens
        try:
            method = settings.method.render(data).upper()
            url = settings.url.render(data)
            headers = settings.render_headers(header_data)
        except Exception as e:  # noqa: BLE001 - a template that fails on this data
            raise RestRequestError(f"rest sink cannot render its properties: {e}") from None
        if method not in SINK_METHODS:
            raise RestRequestError(f"rest sink: unsupported HTTP method {method}")
        body: bytes | str = payload
        if settings.body_type == "form":
            body = form_body(payload, self.send_single)
        try:
            resp = await client.send(request(client, method, url, headers, settings.body_type, body))
        except _REQUEST_ERRORS as e:
            message = str(e) or type(e).__name__
            # the node reconnects (with backoff) before it sends again
            self.mark_disconnected(message)
            raise SinkSendError(
                f'rest sink fails to send out the data: err={message} method={method} path="{url}"'
            ) from None
        try:
            check_response(resp.status_code, resp.content, settings.response_type)
        except ResponseError as e:
            raise SinkSendError(
                f'parse response error: {e}. | method={method} path="{url}" status={resp.status_code} '
                f'response_body="{resp.text[:_BODY_IN_ERRORS]}"'
            ) from None
        except BodyError as e:
            # as in eKuiper, an answer that is not JSON does not make the send fail
            log.warning("rest sink response body error: %s", e)
        if self.debug_resp:
            log.info("Response raw content: %s", resp.text)
