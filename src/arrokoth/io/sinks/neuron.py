"""The neuron sink: writes tags of a local Neuron, over nng pair0.

Properties are eKuiper's: `url` (tcp://host:port or ipc:///path), `nodeName`, `groupName`
(both required unless `raw`; data templates such as `{{.node}}` are rendered per row),
`tags` (the fields to write; each may be a template naming the field; all fields of the
row when unset) and `raw`. Each result row becomes one write command:

    {"group_name": "group1", "node_name": "node1",
     "tags": [{"tag_name": "temperature", "value": 25.2}, ...]}

A listed tag that the row lacks is left out, as eKuiper does. With `raw: true` the payload
the sink pipeline made (format, dataTemplate) is sent as it is.

The connection is shared with every neuron source and sink on the URL (`arrokoth.io._nng`)
and redials by itself; a send while Neuron is away raises `SinkSendError`, so the SinkNode
retries and caches.
"""

from __future__ import annotations

import logging
from typing import Any

from arrokoth.functions import jsonvalue
from arrokoth.io import _nng
from arrokoth.io.connectivity import DEFAULT_TIMEOUT
from arrokoth.io.props import MissingExtra, bool_prop
from arrokoth.io.sinks.base import CONNECTING, AsyncSink, SinkConfigError, SinkSendError, _prop, _str_prop

log = logging.getLogger("arrokoth.sink.neuron")


class NeuronSink(AsyncSink):
    # nng redials by itself: the node calls connect() once and then follows `status`
    reconnects_itself = True

    def __init__(self, props: dict[str, Any]):
        super().__init__(props)
        try:
            _nng.require_pynng()
            self.url = _nng.check_url(_prop(props, "url"))
        except (MissingExtra, _nng.NngConfigError) as e:
            raise SinkConfigError(str(e)) from None
        self.raw = bool_prop(props, "raw", False, error=SinkConfigError, expected="a bool")
        self.node_name = _str_prop(props, "nodeName")
        self.group_name = _str_prop(props, "groupName")
        tags = _prop(props, "tags")
        if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
            raise SinkConfigError(f"tags: expected a list of strings but got {tags!r}")
        self.tags: list[str] = tags or []
        if not self.raw:
            if not self.node_name:
                raise SinkConfigError("nodeName: node name is required if raw is not set")
            if not self.group_name:
                raise SinkConfigError("groupName: group name is required if raw is not set")
        # raw sends the encoded payload; otherwise the rows are needed, not their encoding
        self.wants_rows = not self.raw
        self._node_template = _compile(self.node_name, "nodeName")
        self._group_template = _compile(self.group_name, "groupName")
        self._tag_templates = [(tag, _compile(tag, "tags")) for tag in self.tags]
        self._conn: _nng.NngConnection | None = None

    @classmethod
    async def ping(cls, props: dict, timeout: float = DEFAULT_TIMEOUT) -> None:
        await _nng.ping(props, timeout)

    # --- connection ----------------------------------------------------------------------

    def _on_status(self, status: int, message: str) -> None:
        if status == _nng.CONNECTED:
            self.mark_connected()
        elif status == _nng.DISCONNECTED:
            self.mark_disconnected(message)
        else:
            self.status = CONNECTING
            self.last_try = self._now()

    async def connect(self) -> None:
        if self._conn is None:
            try:
                self._conn = _nng.acquire(self.url)
            except _nng.NngConfigError as e:
                raise SinkSendError(str(e)) from None
            self._conn.add_listener(self._on_status)
        await self._conn.wait_first_dial()
        if not self._conn.connected:
            raise SinkSendError(_nng.NOT_CONNECTED)

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.remove_listener(self._on_status)
            await _nng.release(conn)

    # --- sending -------------------------------------------------------------------------

    async def send_async(self, payload: bytes | None, data: Any) -> None:
        conn = self._conn
        if conn is None:
            raise SinkSendError(_nng.NOT_CONNECTED)
        messages = [payload or b""] if self.raw else [self.command(row) for row in _rows(data)]
        for message in messages:
            try:
                await conn.send(message)
            except _nng.NngNotConnected as e:
                raise SinkSendError(str(e)) from None

    def command(self, row: dict) -> bytes:
        """The write command of one row, in Neuron's format."""
        node = self._node_template.render(row) if self._node_template else self.node_name
        group = self._group_template.render(row) if self._group_template else self.group_name
        if self.tags:
            tags = []
            for tag, template in self._tag_templates:
                name = template.render(row) if template else tag
                if name not in row:
                    # eKuiper sends as many tags as it can and drops the missing ones
                    log.debug("neuron sink: the result has no field %s for the tag %s", name, tag)
                    continue
                tags.append({"tag_name": name, "value": row[name]})
        else:
            tags = [{"tag_name": k, "value": v} for k, v in row.items()]
        return jsonvalue.encode({"group_name": group, "node_name": node, "tags": tags})


def _rows(data: Any) -> list[dict]:
    if type(data) is dict:
        return [data]
    if type(data) is list and all(type(r) is dict for r in data):
        return data
    raise ValueError(f"unrecognized format of {data!r}: neuron sink expects result rows")


def _compile(text: str, name: str) -> Any:
    """The compiled data template of a property holding `{{`, else None."""
    if "{{" not in text:
        return None
    from arrokoth.io.templates import compile_template

    try:
        return compile_template(text)
    except Exception as e:  # noqa: BLE001 - whatever the template engine raises, name the property
        raise SinkConfigError(f"{name}: invalid template {text!r}: {e}") from None
