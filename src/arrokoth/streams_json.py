"""Streams as eKuiper's REST API shows them: the describe body and the schema body."""

from __future__ import annotations

from typing import Any

from arrokoth.plan.streams import StreamDef
from arrokoth.sql import ast, to_sql

# WITH option → (key in the describe body, kind)
_OPTION_KEYS = {
    "DATASOURCE": ("datasource", str),
    "KEY": ("key", str),
    "FORMAT": ("format", str),
    "CONF_KEY": ("confKey", str),
    "TYPE": ("type", str),
    "STRICT_VALIDATION": ("strictValidation", bool),
    "TIMESTAMP": ("timestamp", str),
    "TIMESTAMP_FORMAT": ("timestampFormat", str),
    "SHARED": ("shared", bool),
    "SCHEMAID": ("schemaid", str),
    "VERSION": ("version", str),
    "EXTRA": ("extra", str),
    "TEMP": ("temp", bool),
    "RETAIN_SIZE": ("retainSize", int),
    "KIND": ("kind", str),
    "DELIMITER": ("delimiter", str),
}


def _field_type(t: ast.DataType) -> Any:
    if t.name == "ARRAY":
        return {"Type": "array", "ElementType": _field_type(t.element) if t.element else None}
    if t.name == "STRUCT":
        return {"Type": "struct", "Fields": [_field(c) for c in t.fields]}
    return t.name.lower()


def _field(c: ast.Column) -> dict:
    out: dict[str, Any] = {"FieldType": _field_type(c.type), "Name": c.name}
    if c.default is not None:
        out["DefaultClause"] = to_sql(c.default)
    return out


def describe(d: StreamDef) -> dict:
    """GET /streams/{name}: the Go StreamStmt marshalled as eKuiper does."""
    options: dict[str, Any] = {}
    # Go marshals the Options struct in field declaration order, whatever the SQL order
    for name, (key, kind) in _OPTION_KEYS.items():
        if name not in d.options:
            continue
        value = d.options[name]
        if kind is bool:
            v = value if isinstance(value, bool) else str(value).lower() == "true"
            if v:
                options[key] = True
        elif kind is int:
            try:
                n = int(value)
            except (TypeError, ValueError):
                continue
            if n:
                options[key] = n
        elif value not in ("", None):
            options[key] = value
    columns = d.statement.columns if d.statement is not None else []
    return {
        "Name": d.name,
        "StreamFields": [_field(c) for c in columns] if columns else None,
        "Options": options,
        "StreamType": 1 if d.kind == "table" else 0,
        "Statement": None,
    }


def _schema_type(t: ast.DataType) -> dict:
    if t.name == "ARRAY":
        return {"type": "array", "items": _schema_type(t.element) if t.element else {}}
    if t.name == "STRUCT":
        return {"type": "struct", "properties": {c.name: _schema_type(c.type) for c in t.fields}}
    return {"type": t.name.lower()}


def schema(d: StreamDef, referenced: list[str] | None = None) -> dict:
    """GET /streams/{name}/schema; a schemaless stream shows the columns rules use."""
    columns = d.statement.columns if d.statement is not None else []
    if not columns:
        return {name: None for name in sorted(set(referenced or []))}
    out = {}
    for c in columns:
        entry = _schema_type(c.type)
        entry["index"] = 0
        out[c.name] = entry
    return out
