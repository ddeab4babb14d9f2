"""The neuron source: the events of a local Neuron, over nng pair0.

Neuron publishes one JSON object per group read:

    {"timestamp": 1646125996000, "node_name": "node1", "group_name": "group1",
     "values": {"tag_name1": 11.22}, "errors": {"tag_name3": 122}}

which the stream's format (json unless FORMAT says otherwise) decodes into one row with
those fields. The only property is eKuiper's `url` (tcp://host:port or ipc:///path; the
stream's DATASOURCE is not used). Every neuron stream and sink on a URL shares one
connection (`arrokoth.io._nng`), so every neuron stream sees every event.
"""

from __future__ import annotations

from arrokoth.io import _nng
from arrokoth.io.connectivity import DEFAULT_TIMEOUT
from arrokoth.io.props import MissingExtra, prop
from arrokoth.io.sources.base import Source, SourceConfigError
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.feed import StreamFeed

# Neuron prefixes a traced message with these two bytes, a 16-byte trace id and an 8-byte span id
_TRACE_HEADER = b"\x0a\xce"
_TRACE_HEADER_LEN = 2 + 16 + 8


def strip_trace_header(data: bytes) -> bytes:
    if len(data) > _TRACE_HEADER_LEN and data[:2] == _TRACE_HEADER:
        return data[_TRACE_HEADER_LEN:]
    return data


class NeuronSource(Source):
    def __init__(self, stream: StreamDef, props: dict, feed: StreamFeed):
        super().__init__(stream, props, feed)
        try:
            _nng.require_pynng()
            self.url = _nng.check_url(prop(props, "url"))
        except (MissingExtra, _nng.NngConfigError) as e:
            raise SourceConfigError(str(e)) from None
        self._conn: _nng.NngConnection | None = None

    @classmethod
    async def ping(cls, props: dict, timeout: float = DEFAULT_TIMEOUT) -> None:
        await _nng.ping(props, timeout)

    async def start(self) -> None:
        try:
            conn = _nng.acquire(self.url)
        except _nng.NngConfigError as e:
            raise SourceConfigError(str(e)) from None
        self._conn = conn
        conn.subscribe(self._on_message)
        conn.add_listener(self.on_status)
        # a Neuron that is down does not fail the rule: the socket keeps redialling
        await conn.wait_first_dial()

    async def stop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.unsubscribe(self._on_message)
            conn.remove_listener(self.on_status)
            await _nng.release(conn)


    def _on_message(self, data: bytes) -> None:
        self.publish_payload(strip_trace_header(data))
