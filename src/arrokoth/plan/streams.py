"""Stream and table definitions as the planner and the sources use them."""

from __future__ import annotations

from dataclasses import dataclass, field

from arrokoth.sql import ast

STREAM_OPTIONS = (
    "DATASOURCE", "TYPE", "FORMAT", "SCHEMAID", "DELIMITER", "CONF_KEY", "EXTRA", "KEY", "SHARED",
    "STRICT_VALIDATION", "TIMESTAMP", "TIMESTAMP_FORMAT", "RETAIN_SIZE", "KIND", "VERSION", "TEMP",
)


class StreamDefError(Exception):
    pass


def _truthy(v: str | bool | None) -> bool:
    if isinstance(v, bool):
        return v
    return (v or "").strip().lower() == "true"


@dataclass
class StreamDef:
    name: str
    kind: str  # "stream" or "table"
    columns: dict[str, ast.DataType] | None  # None: schemaless
    options: dict[str, str | bool] = field(default_factory=dict)
    statement: ast.CreateStream | None = None
    sql: str = ""

    @classmethod
    def from_ast(cls, stmt: ast.CreateStream, sql: str = "") -> StreamDef:
        options: dict[str, str | bool] = {}
        for opt in stmt.options:
            if opt.name not in STREAM_OPTIONS:
                raise StreamDefError(f"unknown option {opt.name}")
            options[opt.name] = opt.value
        columns = {c.name: c.type for c in stmt.columns} if stmt.columns else None
        d = cls(stmt.name, stmt.kind.lower(), columns, options, stmt, sql)
        d.check()
        return d

    def check(self) -> None:
        if self.format == "binary":
            # eKuiper's validateStream wording: one message per rule
            if self.kind == "table":
                raise StreamDefError("'binary' format is not supported for table")
            if self.columns is not None and len(self.columns) > 1:
                raise StreamDefError("'binary' format stream can have only one field")
            if self.columns is not None and next(iter(self.columns.values())).name != "BYTEA":
                raise StreamDefError("'binary' format stream can have only 'bytea' type field")
        if self.kind == "table" and self.lookup and self.type not in ("memory", "redis", "sql", "mock"):
            raise StreamDefError(f"lookup table type {self.type} is not supported")

    def option(self, name: str, default: str = "") -> str:
        v = self.options.get(name, default)
        if isinstance(v, bool):
            return "true" if v else "false"
        return v

    @property
    def datasource(self) -> str:
        return self.option("DATASOURCE")

    @property
    def type(self) -> str:
        return self.option("TYPE", "mqtt").lower() or "mqtt"

    @property
    def format(self) -> str:
        return self.option("FORMAT", "json").lower() or "json"

    @property
    def timestamp_field(self) -> str:
        return self.option("TIMESTAMP")

    @property
    def timestamp_format(self) -> str:
        return self.option("TIMESTAMP_FORMAT")

    @property
    def strict(self) -> bool:
        return _truthy(self.options.get("STRICT_VALIDATION"))

    @property
    def shared(self) -> bool:
        return _truthy(self.options.get("SHARED"))

    @property
    def lookup(self) -> bool:
        return self.option("KIND", "scan").lower() == "lookup"

    @property
    def retain_size(self) -> int:
        v = self.option("RETAIN_SIZE")
        if v:
            try:
                return int(v)
            except ValueError:
                raise StreamDefError(f"RETAIN_SIZE must be an integer but got {v}") from None
        return 9999 if self.type in ("file", "mock") or "TYPE" not in self.options else 1
