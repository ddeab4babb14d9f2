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

    def __init__(self, props: dict[str, Any]):
        self.props = props

    def open(self) -> None:
        pass

    def send(self, payload: bytes | None, data: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _prop(props: dict, name: str, default: Any = None) -> Any:
    """eKuiper reads sink properties case-insensitively."""
    if name in props:
        return props[name]
    lname = name.lower()
    for k, v in props.items():
        if k.lower() == lname:
            return v
    return default


class SinkNode:
    """Applies the common sink properties and hands payloads to one sink."""

    def __init__(self, sink: Sink, props: dict[str, Any]):
        self.sink = sink
        self.send_single = bool(_prop(props, "sendSingle", False))
        self.omit_if_empty = bool(_prop(props, "omitIfEmpty", False))
        fields = _prop(props, "fields")
        if fields is not None and not (isinstance(fields, list) and all(isinstance(f, str) for f in fields)):
            raise SinkConfigError("fields: expected a list of strings")
        self.fields = fields
        self.data_field = _prop(props, "dataField")
        fmt = (_prop(props, "format", "json") or "json").lower()
        if fmt != "json":
            raise SinkConfigError(f"format: unsupported format {fmt}")
        self.count = 0
        self._encode = jsonvalue.encode

    def _shape(self, item: Any) -> Any:
        if self.data_field:
            item = item.get(self.data_field) if type(item) is dict else None
        if self.fields is not None:
            if type(item) is dict:
                item = {f: item[f] for f in self.fields if f in item}
            elif type(item) is list:
                item = [{f: r[f] for f in self.fields if f in r} for r in item if type(r) is dict]
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
            data = self._shape(rows[0]) if len(rows) == 1 else [self._shape(r) for r in rows]
        elif self.fields is not None:
            data = self._shape(rows)
        self._send(data)

    def _send(self, data: Any) -> None:
        self.count += 1
        if self.sink.wants_rows:
            self.sink.send(None, data)
        else:
            self.sink.send(self._encode(data), data)
