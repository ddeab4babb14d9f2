"""The websocket source: messages read from a websocket, decoded with the stream's format.

The stream's DATASOURCE is the endpoint path, starting with / (the `path` property stands in
when DATASOURCE is empty, as in eKuiper). Without `addr` (server mode) the path is served on
the shared listener of `basic.httpServerIp:httpServerPort` (10081 by default) while a rule
reads the stream, and every message any connected client sends is one payload. With `addr`
(client mode) the source dials `ws://<addr><path>` (or wss, see `arrokoth.io._websocket`),
reads the server's messages, and redials with backoff when the server goes away.

eKuiper reads text frames only; binary frames are read too here, so that binary formats
(protobuf, binary) can arrive over a websocket.
"""

from __future__ import annotations

from arrokoth.io import _websocket, http_listener
from arrokoth.io._websocket import (
    WsClient,
    WsConfigError,
    WsTarget,
    check_path,
    require_websockets,
    str_prop,
)
from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.sources.base import Source, SourceConfigError
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.feed import StreamFeed


class WebsocketSource(Source):
    def __init__(self, stream: StreamDef, props: dict, feed: StreamFeed):
        super().__init__(stream, props, feed)
        try:
            require_websockets()
            self.path, self.target = _parse(props, stream.datasource)
        except WsConfigError as e:
            raise SourceConfigError(str(e)) from None
        self.listener = http_listener.shared() if self.target is None else None
        self._endpoint: http_listener.WebsocketEndpoint | None = None
        self._client: WsClient | None = None

    @classmethod
    async def ping(cls, props: dict, timeout: float) -> None:
        try:
            require_websockets()
            path, target = _parse(props, str_prop(props, "datasource"), default_path="/")
        except WsConfigError as e:
            raise ConnectionCheckError(str(e)) from None
        if target is None:
            _websocket.ping_server_mode(path)
        else:
            await _websocket.ping_target(target, timeout)

    async def start(self) -> None:
        self.last_try = self.feed.clock.now_ms()
        if self.target is None:
            try:
                await self.listener.start()
            except http_listener.ListenerError as e:
                self.disconnected(str(e))
                raise SourceConfigError(f"websocket: {e}") from None
            self._endpoint = self.listener.acquire_websocket(self.path)
            self._endpoint.add_receiver(self._on_message)
            self.connected()
            return
        client = self._client = _websocket.acquire_client(self.target)
        client.add_receiver(self._on_message)
        client.add_listener(self.on_status)
        # a server that is down does not fail the rule: the client keeps dialling
        await client.start(wait=WsClient.CONNECT_TIMEOUT)

    async def stop(self) -> None:
        endpoint, self._endpoint = self._endpoint, None
        if endpoint is not None:
            endpoint.remove_receiver(self._on_message)
            await self.listener.release_websocket(endpoint)
        client, self._client = self._client, None
        if client is not None:
            client.remove_receiver(self._on_message)
            client.remove_listener(self.on_status)
            await _websocket.release_client(client)

    def _on_message(self, data: bytes) -> None:
        self.publish_payload(data)



def _parse(props: dict, datasource: str, default_path: str = "") -> tuple[str, WsTarget | None]:
    if datasource:
        path = check_path(datasource, "DATASOURCE")
    else:
        # eKuiper: `path` stands in for an empty DATASOURCE
        given = str_prop(props, "path")
        path = check_path(given or default_path, "path" if given else "DATASOURCE")
    return path, WsTarget.parse(props, path)
