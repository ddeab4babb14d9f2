"""The queries of the sql source: eKuiper's `internalSqlQueryCfg` and `templateSqlQueryCfg`.

Either names the index fields whose last value the source remembers, so that each query asks
only for newer rows: one `indexField` (with `indexValue`, `indexFieldType` and
`dateTimeFormat`) or a list of them in `indexFields` (a single `indexField` wins, as in
eKuiper). After each query the index takes the value of the last row read, which is the
greatest because the generated query orders by the index.

* `internalSqlQueryCfg` {`table`, `limit`, index...}: `SELECT * FROM table WHERE idx > :v ...
  ORDER BY idx ASC LIMIT n`, the index values bound as parameters.
* `templateSqlQueryCfg` {`templateSql`, index...}: a data template rendered over
  `{index field name: current value as text}`, e.g. `... WHERE id > {{.id}}`.

An index of type DATETIME with a `dateTimeFormat` is written in that format (eKuiper's
`YYYY-MM-dd HH:mm:ss` patterns), so it compares with a column stored as text too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arrokoth.functions import timefmt
from arrokoth.functions.values import format_value
from arrokoth.io._sql import bind, db_value, ident, table_clause
from arrokoth.io.props import prop

DATETIME = "DATETIME"


class QueryConfigError(ValueError):
    """A query property is wrong; the message names it."""


@dataclass
class IndexField:
    name: str
    value: Any  # the raw value of the last row read (or the configured start)
    type: str = ""
    date_format: str = ""

    @property
    def is_datetime(self) -> bool:
        return self.type.upper() == DATETIME and bool(self.date_format)

    def param(self) -> Any:
        """The value to compare with: a DATETIME index formatted, anything else as it is."""
        if self.is_datetime:
            try:
                d = timefmt.to_datetime(self.value, self.date_format)
                return timefmt.format_time(d, self.date_format)
            except ValueError as e:
                raise ValueError(f"SqlQueryStatement datetime convert got error {e}") from None
        return self.value

    def text(self) -> str:
        """The value as a template sees it (Go's %v, or the DATETIME format)."""
        v = self.param()
        return v if isinstance(v, str) else format_value(db_value(v))


def _index_field(cfg: dict, where: str) -> IndexField:
    name = prop(cfg, "indexField", "")
    if not isinstance(name, str):
        raise QueryConfigError(f"{where}.indexField: expected a string but got {name!r}")
    typ = prop(cfg, "indexFieldType", "") or ""
    fmt = prop(cfg, "dateTimeFormat", "") or ""
    if not isinstance(typ, str) or not isinstance(fmt, str):
        raise QueryConfigError(f"{where}: indexFieldType and dateTimeFormat must be strings")
    field = IndexField(name, prop(cfg, "indexValue"), typ, fmt)
    if field.is_datetime and field.value not in (None, ""):
        # as eKuiper, the start value must read in the format
        try:
            timefmt.to_datetime(field.value, fmt)
        except ValueError as e:
            raise QueryConfigError(f"{where}.indexValue: InterfaceToTime datetime convert got error {e}") from None
    elif field.value == "":
        field.value = None
    return field


def index_fields(cfg: dict, where: str) -> list[IndexField]:
    """The index fields of a query config: `indexField`, else the `indexFields` list."""
    if prop(cfg, "indexField"):
        return [_index_field(cfg, where)]
    items = prop(cfg, "indexFields") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise QueryConfigError(f"{where}.indexFields: expected a list of objects with indexField, indexValue...")
    fields = [_index_field(i, f"{where}.indexFields") for i in items]
    return [f for f in fields if f.name]


class SqlQuery:
    """One kind of query; `statement(dialect)` is run, then `update(row)` for each raw row."""

    def __init__(self, fields: list[IndexField]):
        self.fields = fields

    def update(self, row: dict) -> None:
        # eKuiper stops at the first index field the row lacks
        for f in self.fields:
            if f.name in row:
                f.value = row[f.name]
                continue
            # PostgreSQL names an unquoted registerTime column registertime
            key = next((k for k in row if isinstance(k, str) and k.lower() == f.name.lower()), None)
            if key is None:
                return
            f.value = row[key]

    def offsets(self) -> dict[str, Any]:
        return {f.name: f.value for f in self.fields}


class InternalQuery(SqlQuery):
    def __init__(self, table: str, limit: int, fields: list[IndexField]):
        super().__init__(fields)
        self.table = table
        self.limit = limit

    def statement(self, dialect: Any) -> Any:
        import sqlalchemy as sa

        stmt = sa.select(sa.literal_column("*")).select_from(table_clause(self.table, dialect))
        conds = []
        for i, f in enumerate(self.fields):
            if f.value is not None:
                conds.append(sa.column(ident(f.name, dialect)) > bind(f"idx{i}", f.param()))
        if conds:
            stmt = stmt.where(sa.and_(*conds))
        if self.fields:
            stmt = stmt.order_by(*(sa.column(ident(f.name, dialect)).asc() for f in self.fields))
        if self.limit > 0:
            stmt = stmt.limit(self.limit)
        return stmt


class TemplateQuery(SqlQuery):
    def __init__(self, text: str, fields: list[IndexField]):
        super().__init__(fields)
        from arrokoth.io.templates import TemplateError, compile_template

        try:
            self.template = compile_template(text, "sql")
        except TemplateError as e:
            raise QueryConfigError(f"templateSqlQueryCfg.templateSql: {e}") from None

    def render(self) -> str:
        from arrokoth.io.templates import TemplateError

        try:
            return self.template.render({f.name: f.text() for f in self.fields})
        except TemplateError as e:
            raise ValueError(str(e)) from None


def query_from_props(props: dict) -> InternalQuery | TemplateQuery:
    """The source's query; templateSqlQueryCfg wins when both are given, as in eKuiper."""
    template = prop(props, "templateSqlQueryCfg")
    internal = prop(props, "internalSqlQueryCfg")
    if template is not None:
        if not isinstance(template, dict):
            raise QueryConfigError("templateSqlQueryCfg: expected an object with templateSql")
        text = prop(template, "templateSql")
        if not isinstance(text, str) or not text.strip():
            raise QueryConfigError("templateSqlQueryCfg.templateSql: the sql statement template is required")
        return TemplateQuery(text, index_fields(template, "templateSqlQueryCfg"))
    if internal is None:
        raise QueryConfigError("internalSqlQueryCfg: either internalSqlQueryCfg or templateSqlQueryCfg is required")
    if not isinstance(internal, dict):
        raise QueryConfigError("internalSqlQueryCfg: expected an object with table, limit, indexField...")
    table = prop(internal, "table")
    if not isinstance(table, str) or not table.strip():
        raise QueryConfigError("internalSqlQueryCfg.table: the table to query is required")
    limit = prop(internal, "limit", 0) or 0
    if isinstance(limit, str) and limit.strip().lstrip("-").isdigit():
        limit = int(limit)
    if isinstance(limit, bool) or not isinstance(limit, int | float) or limit != int(limit) or limit < 0:
        raise QueryConfigError(f"internalSqlQueryCfg.limit: expected a number of rows but got {limit!r}")
    return InternalQuery(table.strip(), int(limit), index_fields(internal, "internalSqlQueryCfg"))
