"""What every sink shares: the transformations eKuiper applies before sending.

A `SinkNode` receives the result rows of one trigger and turns them into payloads:
`omitIfEmpty`, `fields`, `dataField`, `sendSingle`, then the format. The sink itself
only sends payloads (`Sink.send`).
"""

from __future__ import annotations

import logging
from typing import Any

from arrokoth.functions import jsonvalue

log = logging.getLogger("arrokoth.sink")


class SinkConfigError(Exception):
    """A sink property is wrong; the message names the property."""


class Sink:
    """A destination. `send(payload, data)` gets the encoded bytes and the rows."""

    #: sinks that take the row objects rather than bytes (memory) set this
    wants_rows = False
    #: AsyncSink sets this: the node sends from a task of its own
    is_async = False

    def __init__(self, props: dict[str, Any]):
        self.props = props

    def open(self) -> None:
        pass

    def send(self, payload: bytes | None, data: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class SinkSendError(Exception):
    """Sending failed; the SinkNode retries and, with enableCache, caches the payload."""


class AsyncSink(Sink):
    """A sink with a remote end (MQTT, REST, ...): it connects, sends without blocking the
    rule that produced the data, and raises `SinkSendError` when a send fails.

    The SinkNode runs `connect()` before the first send, calls `send_async()` from its own
    task, and `aclose()` when the rule stops. A sink that is down at start must not stop
    the rule: `connect()` failing leaves the node retrying and caching.
    """

    is_async = True

    # connection_status in rule metrics: 1 connected, 0 connecting, -1 disconnected
    status = 0
    last_connected = 0
    last_disconnected = 0
    last_disconnected_message = ""

    async def connect(self) -> None:
        pass

    async def send_async(self, payload: bytes | None, data: Any) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        pass

    def send(self, payload: bytes | None, data: Any) -> None:
        raise TypeError("an AsyncSink is sent to through send_async")


def _prop(props: dict, name: str, default: Any = None) -> Any:
    """eKuiper reads sink properties case-insensitively."""
    if name in props:
        return props[name]
    lname = name.lower()
    for k, v in props.items():
        if k.lower() == lname:
            return v
    return default


_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def _bool_prop(props: dict, name: str) -> bool:
    # bool("false") is True in Python; a string takes Go's strconv.ParseBool spellings
    v = _prop(props, name, False)
    if v is None or isinstance(v, bool):
        return bool(v)
    if isinstance(v, str):
        if v in _TRUE:
            return True
        if v in _FALSE:
            return False
    raise SinkConfigError(f"{name}: expected a bool but got {v!r}")


class SinkNode:
    """Applies the common sink properties and hands payloads to one sink."""

    def __init__(self, sink: Sink, props: dict[str, Any]):
        self.sink = sink
        self.send_single = _bool_prop(props, "sendSingle")
        self.omit_if_empty = _bool_prop(props, "omitIfEmpty")
        fields = _prop(props, "fields")
        if fields is not None and not (isinstance(fields, list) and all(isinstance(f, str) for f in fields)):
            raise SinkConfigError("fields: expected a list of strings")
        # eKuiper selects only when len(fields) > 0; `fields: []` must not empty every row
        self.fields = fields or None
        data_field = _prop(props, "dataField")
        if data_field is not None and not isinstance(data_field, str):
            raise SinkConfigError("dataField: expected a string")
        self.data_field = data_field
        fmt = _prop(props, "format", "json") or "json"
        if not isinstance(fmt, str):
            raise SinkConfigError(f"format: expected a string but got {fmt!r}")
        fmt = fmt.lower()
        if fmt != "json":
            raise SinkConfigError(f"format: unsupported format {fmt}")
        self.count = 0
        self.exceptions = 0
        self.last_exception = ""
        self._encode = jsonvalue.encode

    def _shape(self, item: Any) -> Any:
        if self.data_field:
            item = item.get(self.data_field) if type(item) is dict else None
        if self.fields is not None:
            # eKuiper's selectMap sets every listed field (`output[f] = it[f]`), so a
            # missing one is sent as null rather than left out
            if type(item) is dict:
                item = {f: item.get(f) for f in self.fields}
            elif type(item) is list:
                item = [{f: r.get(f) for f in self.fields} for r in item if type(r) is dict]
        return item

    def collect(self, rows: list[dict]) -> None:
        if self.omit_if_empty and (not rows or rows == [{}]):
            return
        if self.send_single:
            for row in rows:
                if self.omit_if_empty and not row:
                    continue
                self._send(self._shape(row))
            return
        data: Any = rows
        if self.data_field:
            # eKuiper's TransItem takes dataField from the first row of a list only
            data = self._shape(rows[0]) if rows else None
        elif self.fields is not None:
            data = self._shape(rows)
        self._send(data)

    def _send(self, data: Any) -> None:
        self.count += 1
        if self.sink.wants_rows:
            self.sink.send(None, data)
        else:
            self.sink.send(self._encode(data), data)
