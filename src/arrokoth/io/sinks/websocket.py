"""The websocket sink: each result message goes out over a websocket.

`path` (required, starting with /) is the endpoint. Without `addr` (server mode) the path is
served on the shared listener of `basic.httpServerIp:httpServerPort` (10081 by default) while
the rule runs, and every message is sent to every client connected to it at that moment (a
message with no client connected goes nowhere, as in eKuiper). With `addr` (client mode)
the sink dials `ws://<addr><path>` (or wss, see `arrokoth.io._websocket`) and sends to that
server; while the connection is down a send raises `SinkSendError`, so the SinkNode retries
and, with `enableCache`, keeps the messages until the connection is back.

UTF-8 payloads (JSON, delimited) go as text frames, as eKuiper sends them; other payloads
(protobuf) as binary frames.
"""

from __future__ import annotations

import contextlib
from typing import Any

from arrokoth.io import _websocket, http_listener
from arrokoth.io._websocket import (
    WsClient,
    WsConfigError,
    WsNotConnected,
    WsTarget,
    check_path,
    require_websockets,
    str_prop,
)
from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.sinks.base import AsyncSink, SinkConfigError, SinkSendError


class WebsocketSink(AsyncSink):
    # the client redials by itself (and an endpoint served stays served): the node calls
    # connect() until it succeeds once, then follows `status`
    reconnects_itself = True

    def __init__(self, props: dict[str, Any]):
        super().__init__(props)
        try:
            require_websockets()
            self.path, self.target = _parse(props)
        except WsConfigError as e:
            raise SinkConfigError(str(e)) from None
        self.listener = http_listener.shared() if self.target is None else None
        self._endpoint: http_listener.WebsocketEndpoint | None = None
        self._client: WsClient | None = None

    @classmethod
    async def ping(cls, props: dict, timeout: float) -> None:
        try:
            require_websockets()
            path, target = _parse(props)
        except WsConfigError as e:
            raise ConnectionCheckError(str(e)) from None
        if target is None:
            _websocket.ping_server_mode(path)
        else:
            await _websocket.ping_target(target, timeout)


    async def connect(self) -> None:
        if self.target is None:
            if self._endpoint is None:
                try:
                    await self.listener.start()
                except http_listener.ListenerError as e:
                    raise SinkSendError(f"websocket: {e}") from None
                self._endpoint = self.listener.acquire_websocket(self.path)
            return
        if self._client is None:
            self._client = _websocket.acquire_client(self.target)
            self._client.add_listener(self.on_status)
        # a server that is down raises here while the client keeps dialling in the background
        await self._client.start(wait=WsClient.CONNECT_TIMEOUT)
        if not self._client.connected:
            raise SinkSendError(f"websocket client is not connected: {self._client.message or 'connecting'}")

    async def send_async(self, payload: bytes | None, data: Any) -> None:
        body = payload or b""
        endpoint = self._endpoint
        if endpoint is not None:
            endpoint.broadcast(body)
            return
        client = self._client
        if client is None:
            raise SinkSendError("websocket client is not connected")
        try:
            await client.send(body)
        except WsNotConnected as e:
            raise SinkSendError(str(e)) from None

    async def aclose(self) -> None:
        endpoint, self._endpoint = self._endpoint, None
        if endpoint is not None:
            await self.listener.release_websocket(endpoint)
        client, self._client = self._client, None
        if client is not None:
            client.remove_listener(self.on_status)
            with contextlib.suppress(Exception):
                await _websocket.release_client(client)


def _parse(props: dict) -> tuple[str, WsTarget | None]:
    path = str_prop(props, "path") or str_prop(props, "datasource")
    if not path:
        raise WsConfigError("path: the websocket endpoint path is required, for example /api/data")
    check_path(path, "path")
    return path, WsTarget.parse(props, path)
