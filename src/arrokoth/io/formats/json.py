"""The json format: payload bytes ⇄ row objects, the way eKuiper's converter does it."""

from __future__ import annotations

from typing import Any

from arrokoth.functions import jsonvalue
from arrokoth.plan.streams import StreamDef
from arrokoth.sql import ast


class FormatError(Exception):
    pass


def _schema_fixer(columns: dict[str, ast.DataType]):
    """Declared BIGINT columns decode to ints; other numbers stay floats."""
    ints = [name for name, t in columns.items() if t.name == "BIGINT"]
    strings = [name for name, t in columns.items() if t.name == "STRING"]

    def fix(msg: dict) -> dict:
        for name in ints:
            v = msg.get(name)
            if type(v) is float and v.is_integer():
                msg[name] = int(v)
        for name in strings:
            v = msg.get(name)
            if type(v) is float:
                from arrokoth.functions.values import format_float

                msg[name] = format_float(v)
        return msg

    return fix


class JsonDecoder:
    """Decodes a payload into a list of messages (an array payload gives several)."""

    def __init__(self, stream: StreamDef | None = None, *, ints: bool = False):
        self.ints = ints
        self._fix = _schema_fixer(stream.columns) if stream is not None and stream.columns else None

    def decode(self, payload: bytes | str) -> list[dict]:
        try:
            obj = jsonvalue.decode_object(payload, ints=self.ints)
        except jsonvalue.DecodeError as e:
            raise FormatError(f"invalid character in json payload: {e}") from None
        if type(obj) is dict:
            msgs = [obj]
        elif type(obj) is list and all(type(m) is dict for m in obj):
            msgs = obj
        else:
            raise FormatError("only map[string]interface{} and []map[string]interface{} is supported")
        if self._fix is not None:
            msgs = [self._fix(m) for m in msgs]
        return msgs


class JsonEncoder:
    def encode(self, data: Any) -> bytes:
        return jsonvalue.encode(data)
