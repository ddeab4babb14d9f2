"""The json format: payload bytes ⇄ row objects, the way eKuiper's converter does it."""

from __future__ import annotations

from typing import Any

from arrokoth.functions import jsonvalue
from arrokoth.plan.streams import StreamDef
from arrokoth.sql import ast


class FormatError(Exception):
    pass


def _schema_fixer(columns: dict[str, ast.DataType], ints: bool = True):
    """Declared BIGINT columns decode to ints, FLOAT to floats; other numbers stay floats."""
    ints = [name for name, t in columns.items() if t.name == "BIGINT"]
    # without `ints` every number already decodes as a float
    floats = [name for name, t in columns.items() if t.name == "FLOAT"] if ints else []
    strings = [name for name, t in columns.items() if t.name == "STRING"]

    declared = list(columns)
    declared_set = frozenset(columns)

    def fix(msg: dict) -> dict:
        # like eKuiper's schema-aware converter, only declared columns are decoded
        if not msg.keys() <= declared_set:
            msg = {k: msg[k] for k in declared if k in msg}
        for name in ints:
            v = msg.get(name)
            if type(v) is float and v.is_integer():
                msg[name] = int(v)
        # with `ints` (useInt64ForWholeNumber) whole numbers arrive as ints, but eKuiper's
        # converter still reads a FLOAT column with Float64() and a STRING one via float64
        for name in floats:
            v = msg.get(name)
            if type(v) is int:
                msg[name] = float(v)
        for name in strings:
            v = msg.get(name)
            if type(v) is float or type(v) is int:
                from arrokoth.functions.values import format_float

                msg[name] = format_float(float(v))
        return msg

    return fix


class JsonDecoder:
    """Decodes a payload into a list of messages (an array payload gives several)."""

    def __init__(self, stream: StreamDef | None = None, *, ints: bool = False):
        self.ints = ints
        self._fix = _schema_fixer(stream.columns, ints) if stream is not None and stream.columns else None

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
