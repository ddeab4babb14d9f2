"""The delimited format: one row per line, values separated by a delimiter (default `,`).

Columns, first match wins: a header line when `hasHeader` is set (the first line the
decoder sees), the stream's schema, the `fields` (or `columns`) property; without any of
them the values are named `col0`, `col1`, …. Values are strings, except that a column the
schema declares BIGINT, FLOAT or BOOLEAN is converted when its text parses as one.

With a one-character delimiter the text is read and written as CSV (RFC 4180 quoting), so a
value holding the delimiter survives a round trip; a longer delimiter is a plain split and
join, as eKuiper's converter does.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from arrokoth.functions import jsonvalue
from arrokoth.functions.values import to_string_all
from arrokoth.io.formats.json import FormatError
from arrokoth.plan.streams import StreamDef


def _prop(props: dict, name: str, default: Any = None) -> Any:
    from arrokoth.io.formats.registry import prop

    return prop(props, name, default)


def _names(value: Any, what: str) -> list[str] | None:
    if value is None or value == []:
        return None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FormatError(f"{what}: expected a list of column names")
    return list(value) or None


def _delimiter(value: Any) -> str:
    if value is None or value == "":
        return ","
    if not isinstance(value, str):
        raise FormatError(f"delimiter: expected a string but got {value!r}")
    if value in ("\n", "\r", "\r\n"):
        raise FormatError("delimiter: a line break cannot separate values")
    return value


def _bool(text: str) -> bool | None:
    low = text.strip().lower()
    if low in ("true", "t", "1"):
        return True
    if low in ("false", "f", "0"):
        return False
    return None


def _converter(type_name: str):
    """Text → the declared type; text that does not parse stays text."""
    if type_name == "BIGINT":
        def conv(text: str) -> Any:
            s = text.strip()
            if not s:
                return None
            try:
                return int(s)
            except ValueError:
                try:
                    f = float(s)
                except ValueError:
                    return text
                return int(f) if f.is_integer() else text
        return conv
    if type_name == "FLOAT":
        def conv(text: str) -> Any:
            s = text.strip()
            if not s:
                return None
            try:
                return float(s)
            except ValueError:
                return text
        return conv
    if type_name == "BOOLEAN":
        def conv(text: str) -> Any:
            if not text.strip():
                return None
            b = _bool(text)
            return text if b is None else b
        return conv
    return None


class DelimitedDecoder:
    def __init__(
        self,
        delimiter: str = ",",
        columns: list[str] | None = None,
        *,
        has_header: bool = False,
        types: dict[str, str] | None = None,
        trim_leading_space: bool = False,
    ):
        self.delimiter = _delimiter(delimiter)
        self.columns = list(columns) if columns else None
        self._header_pending = has_header
        self._trim = trim_leading_space
        self._convert = {}
        for name, type_name in (types or {}).items():
            conv = _converter(type_name)
            if conv is not None:
                self._convert[name] = conv

    @classmethod
    def from_props(cls, stream: StreamDef | None, props: dict, **kw: Any) -> DelimitedDecoder:
        from arrokoth.io.formats.registry import bool_prop

        delimiter = (stream.option("DELIMITER") if stream is not None else "") or _prop(props, "delimiter")
        columns = list(stream.columns) if stream is not None and stream.columns else None
        if columns is None:
            columns = _names(_prop(props, "fields"), "fields") or _names(_prop(props, "columns"), "columns")
        types = {n: t.name for n, t in stream.columns.items()} if stream is not None and stream.columns else None
        return cls(delimiter, columns, has_header=bool_prop(props, "hasHeader"), types=types, **kw)

    def records(self, text: str) -> list[list[str]]:
        if len(self.delimiter) == 1:
            reader = csv.reader(io.StringIO(text), delimiter=self.delimiter, skipinitialspace=self._trim, strict=True)
            try:
                return [r for r in reader if r]
            except csv.Error as e:
                raise FormatError(f"invalid delimited payload: {e}") from None
        out = []
        for line in text.splitlines():
            if line:
                out.append([v.lstrip() for v in line.split(self.delimiter)] if self._trim else line.split(self.delimiter))
        return out

    def decode(self, payload: bytes | bytearray | memoryview | str) -> list[dict]:
        if isinstance(payload, str):
            text = payload
        else:
            try:
                text = bytes(payload).decode("utf-8")
            except UnicodeDecodeError as e:
                raise FormatError(f"invalid delimited payload: not UTF-8 text ({e.reason} at byte {e.start})") from None
        rows = []
        for record in self.records(text):
            if self._header_pending:
                self._header_pending = False
                self.columns = [c.strip() for c in record]
                continue
            rows.append(self._row(record))
        return rows

    def _row(self, record: list[str]) -> dict:
        cols = self.columns
        if cols is None:
            return {f"col{i}": v for i, v in enumerate(record)}
        row = dict(zip(cols, record))
        if self._convert:
            for name, conv in self._convert.items():
                v = row.get(name)
                if v is not None:
                    row[name] = conv(v)
        return row


def format_value(v: Any) -> str:
    """A value as delimited text: Go's cast.ToString, and JSON for objects and arrays."""
    if isinstance(v, dict | list):
        return jsonvalue.encode(v).decode()
    try:
        return to_string_all(v)
    except (ValueError, TypeError):
        return str(v)


class DelimitedEncoder:
    """Rows → lines of values. The columns are `fields` when given, otherwise the keys of
    the first row sorted by name (eKuiper's order), kept for every later row. With
    `hasHeader` the first payload starts with the header line."""

    def __init__(self, delimiter: str = ",", fields: list[str] | None = None, *, has_header: bool = False):
        self.delimiter = _delimiter(delimiter)
        self.fields = list(fields) if fields else None
        self.has_header = has_header
        self._header_sent = False

    @classmethod
    def from_props(cls, props: dict) -> DelimitedEncoder:
        from arrokoth.io.formats.registry import bool_prop

        return cls(
            _prop(props, "delimiter") or ",",
            _names(_prop(props, "fields"), "fields"),
            has_header=bool_prop(props, "hasHeader"),
        )

    def columns_for(self, row: dict) -> list[str]:
        if self.fields is None:
            self.fields = sorted(row)
        return self.fields

    def header(self) -> bytes:
        return self._join(self.fields or [])

    def encode(self, data: Any) -> bytes:
        rows = data if type(data) is list else [data]
        lines: list[bytes] = []
        for row in rows:
            if type(row) is not dict:
                type_name = "null" if row is None else type(row).__name__
                raise FormatError(f"delimited format encodes objects, not {type_name}")
            cols = self.columns_for(row)
            if self.has_header and not self._header_sent:
                self._header_sent = True
                lines.append(self._join(cols))
            lines.append(self._join([format_value(row.get(c)) for c in cols]))
        return b"\n".join(lines)

    def _join(self, values: list[str]) -> bytes:
        if len(self.delimiter) == 1:
            buf = io.StringIO()
            csv.writer(buf, delimiter=self.delimiter, lineterminator="").writerow(values)
            return buf.getvalue().encode()
        return self.delimiter.join(values).encode()
