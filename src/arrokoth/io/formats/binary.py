"""The binary format: the whole payload is one bytea field.

A schemaless binary stream names that field `self`; a binary stream with a schema declares
exactly one BYTEA column (checked by `StreamDef.check`) and the payload lands there. The
encoder sends the bytes of the single field of a row.
"""

from __future__ import annotations

from typing import Any

from arrokoth.io.formats.json import FormatError
from arrokoth.plan.streams import StreamDef

DEFAULT_FIELD = "self"


class BinaryDecoder:
    def __init__(self, stream: StreamDef | None = None):
        columns = stream.columns if stream is not None else None
        self.field = next(iter(columns)) if columns else DEFAULT_FIELD

    def decode(self, payload: bytes | bytearray | memoryview | str) -> list[dict]:
        if isinstance(payload, str):
            payload = payload.encode()
        return [{self.field: bytes(payload)}]


class BinaryEncoder:
    def encode(self, data: Any) -> bytes:
        if type(data) is list:
            if len(data) != 1:
                raise FormatError(
                    f"binary format encodes one row with one field, but got {len(data)} rows: set sendSingle to true"
                )
            data = data[0]
        if type(data) is not dict:
            return _to_bytes(data, "the payload")
        if len(data) != 1:
            names = ", ".join(sorted(data)) or "none"
            raise FormatError(f"binary format encodes a row with exactly one field, but got fields: {names}")
        (name, value), = data.items()
        return _to_bytes(value, f"field {name}")


def _to_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    type_name = "null" if value is None else type(value).__name__
    raise FormatError(f"binary format cannot encode {what}: expected bytes or a string but got {type_name}")
