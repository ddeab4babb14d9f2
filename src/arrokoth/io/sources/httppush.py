"""The httppush source: clients POST (or PUT) messages to the engine.

The stream's DATASOURCE is the URL path on the shared listener of `basic.httpServerIp:
httpServerPort` (10081 by default); `method` is POST or PUT, POST by default. The path is
served while a rule reads the stream. A request is answered `200 ok` once its body is read,
as in eKuiper; the body is decoded with the stream's format (a JSON object or an array of
objects), and a body that does not decode counts as an exception of the rules reading it.
"""

from __future__ import annotations

from arrokoth.io import http_listener
from arrokoth.io.sources.base import Source, SourceConfigError, prop

METHODS = ("POST", "PUT")


class HttpPushSource(Source):
    def __init__(self, stream, props, feed):
        super().__init__(stream, props, feed)
        path = stream.datasource
        if not path.startswith("/"):
            raise SourceConfigError(
                f"DATASOURCE: the httppush endpoint must be a URL path starting with /, got {path!r}"
            )
        method = prop(props, "method", "POST") or "POST"
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise SourceConfigError(f"method: {method} is not supported, must be POST or PUT")
        self.path = path
        self.method = method.upper()
        self.listener = http_listener.shared()
        self._registered = False

    async def start(self) -> None:
        self.last_try = self.feed.clock.now_ms()
        try:
            await self.listener.start()
        except http_listener.ListenerError as e:
            self.disconnected(str(e))
            raise SourceConfigError(f"httppush: {e}") from None
        self.listener.register(self.path, self.method, self._on_body)
        self._registered = True
        self.connected()

    def _on_body(self, body: bytes) -> None:
        self.publish_payload(body)

    async def stop(self) -> None:
        if self._registered:
            self.listener.unregister(self.path, self.method, self._on_body)
            self._registered = False
