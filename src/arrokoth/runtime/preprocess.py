"""What happens to a decoded message before any rule sees it.

Strict validation converts every declared field to its type (a failure turns the row
into an error), and event time is read from the TIMESTAMP field.
"""

from __future__ import annotations

import base64
import datetime as _dt
from collections.abc import Callable
from typing import Any

from arrokoth.functions.values import format_value, go_type, to_bool, to_float, to_int, typed
from arrokoth.plan.streams import StreamDef
from arrokoth.sql import ast


class PreprocessError(Exception):
    def __init__(self, message: str):
        super().__init__(f"error in preprocessor: {message}")


def _convert(value: Any, dtype: ast.DataType, time_format: str = "") -> Any:
    name = dtype.name
    t = type(value)
    if name == "BIGINT":
        if t is int:
            return value
        if t is float:
            return int(value)
        if t is str:
            return to_int(value, strict=True)
        raise ValueError(f"cannot convert {typed(value)} to int64")
    if name == "FLOAT":
        if t is float:
            return value
        if t is int:
            return float(value)
        if t is str:
            return to_float(value)
        raise ValueError(f"cannot convert {typed(value)} to float64")
    if name == "STRING":
        if t is str:
            return value
        if t is int or t is float or t is bool:
            return format_value(value)
        raise ValueError(f"cannot convert {typed(value)} to string")
    if name == "BOOLEAN":
        if t is bool:
            return value
        return to_bool(value)
    if name == "DATETIME":
        if isinstance(value, _dt.datetime):
            return value
        if t is int or t is float:
            return _dt.datetime.fromtimestamp(value / 1000, _dt.UTC)
        if t is str:
            from arrokoth.functions import timefmt

            # the stream's TIMESTAMP_FORMAT first, then the automatic layouts, as
            # eKuiper's preprocessor parseTime does (this called a parse_auto that
            # timefmt does not have: the AttributeError escaped the feed)
            return timefmt.parse_time(value, time_format)
        raise ValueError(f"cannot convert {typed(value)} to datetime")
    if name == "BYTEA":
        if t is bytes:
            return value
        if t is str:
            # strict, as Go's StdEncoding: without validate, "!!" would decode to b""
            return base64.b64decode(value, validate=True)
        raise ValueError(f"cannot convert {typed(value)} to bytea")
    if name == "ARRAY":
        if t is not list:
            raise ValueError(f"cannot convert {typed(value)} to array")
        if dtype.element is None:
            return value
        return [None if v is None else _convert(v, dtype.element, time_format) for v in value]
    if name == "STRUCT":
        if t is str:
            from arrokoth.functions.jsonvalue import loads

            value = loads(value)
        if type(value) is not dict:
            raise ValueError(f"cannot convert {typed(value)} to map")
        out = dict(value)
        for col in dtype.fields:
            if col.name in out and out[col.name] is not None:
                out[col.name] = _convert(out[col.name], col.type, time_format)
        return out
    return value


def strict_validator(stream: StreamDef) -> Callable[[dict], dict]:
    """The converter of a STRICT_VALIDATION stream; raises PreprocessError."""
    columns = stream.statement.columns if stream.statement else []
    time_format = stream.timestamp_format

    def validate(msg: dict) -> dict:
        out = dict(msg)
        for col in columns:
            v = msg.get(col.name)
            if v is None:
                if col.default is not None and col.type.name in ("STRING", "BOOLEAN", "FLOAT", "BIGINT"):
                    out[col.name] = getattr(col.default, "value", None)
                    continue
                raise PreprocessError(f"field {col.name} is not found")
            try:
                out[col.name] = _convert(v, col.type, time_format)
            except (ValueError, TypeError) as e:
                raise PreprocessError(f"field {col.name} type mismatch: {e}") from None
        return out

    return validate


def timestamp_extractor(stream: StreamDef) -> Callable[[dict], int]:
    """Reads the event time (epoch ms) of a message from its TIMESTAMP field."""
    field = stream.timestamp_field
    fmt = stream.timestamp_format

    def extract(msg: dict) -> int:
        v = msg.get(field)
        t = type(v)
        if t is int:
            return v
        if t is float:
            return int(v)
        if isinstance(v, _dt.datetime):
            return int(v.timestamp() * 1000)
        if t is str:
            from arrokoth.functions import timefmt

            try:
                return timefmt.to_unix_milli(timefmt.parse_time(v, fmt))
            except ValueError as e:
                raise PreprocessError(str(e)) from None
        if v is None:
            raise PreprocessError(f"cannot find timestamp field {field} in tuple {msg}")
        raise PreprocessError(f"unsupported type {go_type(v)} for timestamp field {field}")

    return extract
