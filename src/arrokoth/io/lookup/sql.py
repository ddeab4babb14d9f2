"""The sql lookup table: rows of a database table, queried by key as a rule joins them.

`CREATE TABLE t () WITH (TYPE="sql", KIND="lookup", DATASOURCE="tableName", CONF_KEY=...)`
with the source's `dburl` (or `url`). A join `... JOIN t ON s.id = t.id` runs
`SELECT * FROM tableName WHERE id = :v` with the stream's value bound as a parameter; a
`templateSqlQueryCfg.templateSql` replaces that statement with a data template over
`{key: value}`, as in eKuiper. The `lookup` section (cache, cacheTtl, cacheMissingKey) is
applied in front of this by the engine.

The rule waits for a lookup, so connecting and each query are bounded (`LOOKUP_TIMEOUT`),
and a connection the database dropped is replaced at once, with one retry.
"""

from __future__ import annotations

import logging
from typing import Any

from arrokoth.io._sql import (
    LOOKUP_TIMEOUT,
    bind,
    db_message,
    db_value,
    ident,
    is_disconnect,
    load_sqlalchemy,
    make_engine,
    ping_database,
    rows_of,
    table_clause,
    target_of,
)
from arrokoth.io.lookup.base import LookupConfigError, LookupFailed, LookupTable
from arrokoth.io.props import prop

log = logging.getLogger("arrokoth.lookup.sql")


class SqlLookupTable(LookupTable):
    def __init__(self, stream, props: dict[str, Any]):
        super().__init__(stream, props)
        self._sa = load_sqlalchemy(LookupConfigError)
        self.target = target_of(props, LookupConfigError)
        self.table = (stream.datasource or "").strip()
        self.template = None
        cfg = prop(props, "templateSqlQueryCfg")
        text = prop(cfg, "templateSql") if isinstance(cfg, dict) else None
        if isinstance(text, str) and text.strip():
            from arrokoth.io.templates import TemplateError, compile_template

            try:
                self.template = compile_template(text, "sql")
            except TemplateError as e:
                raise LookupConfigError(f"templateSqlQueryCfg.templateSql: {e}") from None
        elif not self.table:
            raise LookupConfigError("DATASOURCE: the sql lookup table needs the table name as its DATASOURCE")
        self._engine: Any = None

    @classmethod
    async def ping(cls, props: dict, timeout: float) -> None:
        await ping_database(props, timeout)

    def _statement(self, engine: Any, keys: list[str], values: list[Any]) -> Any:
        if self.template is not None:
            from arrokoth.functions.values import format_value

            return None, self.template.render(
                {k: v if isinstance(v, str) else format_value(v) for k, v in zip(keys, values)})
        sa = self._sa
        dialect = engine.dialect
        conds = [sa.column(ident(k, dialect)) == bind(f"k{i}", v) for i, (k, v) in enumerate(zip(keys, values))]
        stmt = sa.select(sa.literal_column("*")).select_from(table_clause(self.table, dialect)).where(sa.and_(*conds))
        return stmt, None

    def lookup(self, keys: list[str], values: list[Any]) -> list[dict]:
        if not keys:
            raise LookupFailed(f"lookup table {self.stream.name}: lookup keys must not be empty")
        if any(v is None for v in values):
            return []  # `col = NULL` matches nothing
        sa = self._sa
        if self._engine is None:
            self._engine = make_engine(self.target, timeout=LOOKUP_TIMEOUT, query_timeout=LOOKUP_TIMEOUT,
                                       pool="plain")
        engine = self._engine
        try:
            stmt, sql = self._statement(engine, keys, values)
        except Exception as e:  # noqa: BLE001 - a template failing on these values
            raise LookupFailed(f"lookup table {self.stream.name}: {e}") from None
        for attempt in (1, 2):
            try:
                with engine.connect() as conn:
                    if sql is not None:
                        result = conn.exec_driver_sql(sql, execution_options={"no_parameters": True})
                    else:
                        result = conn.execute(stmt)
                    names, raw = rows_of(result)
                return [{k: db_value(v) for k, v in zip(names, r)} for r in raw]
            except sa.exc.SQLAlchemyError as e:
                # a connection the server dropped (a restart): the pool is renewed, try once more
                if attempt == 1 and is_disconnect(e):
                    continue
                raise LookupFailed(f"sql lookup on {self.table or 'template'} of {self.target.masked} "
                                   f"failed: {db_message(e)}") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            engine.dispose()
