"""The httppull source: requests a URL every `interval` and emits the response.

The request goes to `url` + the stream's DATASOURCE with `method`, `headers`, `body` and
`bodyType`; the first one at start, then one per interval (ms, or a duration such as
`10s`). A 2xx response (and, with `responseType: body`, a 2xx `code` in each object of its
JSON body) is decoded with the stream's format; anything else counts as an exception.
`incremental` emits a response only when it differs from the previous one. `url`, `body`
and the header values may be data templates over `PullTime`, `LastPullTime` (epoch ms)
and the oAuth tokens, as in eKuiper.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib

import httpx

from arrokoth.io import http_client
from arrokoth.io.http_client import (
    PULL_METHODS,
    BodyError,
    ClientSettings,
    HttpConfigError,
    ResponseError,
    check_response,
    duration_prop,
    request,
)
from arrokoth.io.sources.base import CONNECTED, Source, SourceConfigError, log

DEFAULT_INTERVAL_MS = 10_000
_REQUEST_ERRORS = (httpx.HTTPError, httpx.InvalidURL)


class HttpPullSource(Source):
    def __init__(self, stream, props, feed):
        super().__init__(stream, props, feed)
        try:
            self.settings = ClientSettings.parse(props, path=stream.datasource, methods=PULL_METHODS)
            self.interval_ms = duration_prop(props, "interval", DEFAULT_INTERVAL_MS)
        except HttpConfigError as e:
            raise SourceConfigError(str(e)) from None
        if self.interval_ms <= 0:
            raise SourceConfigError("interval: must be greater than 0")
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task | None = None
        self._last_digest: bytes | None = None
        self._last_pull_ms: int | None = None

    @classmethod
    async def ping(cls, props: dict, timeout: float) -> None:
        try:
            settings = ClientSettings.parse(props, methods=PULL_METHODS)
        except HttpConfigError as e:
            raise SourceConfigError(str(e)) from None
        await http_client.ping(settings, timeout)

    async def start(self) -> None:
        self._client = self.settings.client()
        oauth = self.settings.oauth
        if oauth is not None:
            now = self.last_try = self.feed.clock.now_ms()
            try:
                await oauth.authorize(self._client, now)
            except (*_REQUEST_ERRORS, ResponseError, BodyError) as e:
                await self._client.aclose()
                self._client = None
                self.disconnected(str(e))
                raise SourceConfigError(f"oAuth: fail to authorize by oAuth: {e}") from None
        self._task = asyncio.get_running_loop().create_task(self.every(self.interval_ms, self.pull, "pulling"))

    async def pull(self) -> None:
        """One request, and its response handed to the feed (or counted as an exception)."""
        settings, client = self.settings, self._client
        if client is None:
            return
        now = self.last_try = self.feed.clock.now_ms()
        if self._last_pull_ms is None:
            self._last_pull_ms = now - self.interval_ms
        data: dict = {"LastPullTime": self._last_pull_ms, "PullTime": now}
        if settings.oauth is not None:
            try:
                await settings.oauth.ensure_fresh(client, now)
            except (*_REQUEST_ERRORS, ResponseError, BodyError) as e:
                # eKuiper only warns and pulls with the tokens it has
                log.warning("refreshing the oAuth token of stream %s failed: %s", self.stream.name, e)
            data = {**settings.oauth.tokens, **data}
        try:
            req = request(client, settings.method.render(data), settings.url.render(data),
                          settings.render_headers(data), settings.body_type, settings.body.render(data))
        except Exception as e:  # noqa: BLE001 - a template that fails on this data
            self._error(f"parse request error {e}")
            return
        try:
            resp = await client.send(req)
        except _REQUEST_ERRORS as e:
            message = str(e) or type(e).__name__
            self.disconnected(message)
            self._error(f"send request error {message}")
            return
        if self.status != CONNECTED:
            self.connected()
        try:
            check_response(resp.status_code, resp.content, settings.response_type)
        except (ResponseError, BodyError) as e:
            self._error(f"parse response error {e}")
            return
        self._last_pull_ms = now
        if settings.incremental:
            digest = hashlib.md5(resp.content, usedforsecurity=False).digest()
            if digest == self._last_digest:
                return
            self._last_digest = digest
        self.publish_payload(resp.content)

    def _error(self, message: str) -> None:
        self.exceptions += 1
        self.last_exception = message
        self.last_exception_time = self.feed.clock.now_ms()
        self.feed._fail(message)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
