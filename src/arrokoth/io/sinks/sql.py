"""The sql sink: writes result rows into a database table.

Properties as eKuiper's: `dburl` (or `url`) and `table` (required), `fields` (the columns to
write; every key of the row when unset, a listed field the row lacks is written as NULL),
`tableDataField` (write the rows nested in that field instead), `rowkindField` and `keyField`.
Without `rowkindField` rows are inserted, a batch (the list a rule sends without
`sendSingle`) as one multi-row insert in one transaction. With it, the row's field says
`insert`, `update` or `delete` (an absent field means insert; `upsert`, which eKuiper lacks,
updates or else inserts); update and delete match the row's `keyField` value. Each such row
is its own statement, and a row that fails does not stop the rows after it.

Values are bound as parameters, never written into the SQL; objects and arrays are written
as JSON text. A database that cannot be reached raises `SinkSendError`, so the rule retries
and caches; a statement the database rejects (a constraint, an unknown column) cannot succeed
by retrying, so it raises `SqlWriteError` and the message is dropped and counted.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
from typing import Any

from arrokoth.functions import jsonvalue
from arrokoth.io._sql import (
    Threads,
    db_message,
    is_disconnect,
    load_sqlalchemy,
    make_engine,
    ping_database,
    table_clause,
    target_of,
)
from arrokoth.io.sinks.base import CONNECTED, AsyncSink, SinkConfigError, SinkSendError, _prop, _str_prop

log = logging.getLogger("arrokoth.sink.sql")

ROW_KINDS = ("insert", "update", "delete", "upsert")


class SqlWriteError(Exception):
    """The database refused the data: sending it again would not help."""


class _Unreachable(Exception):
    """No connection to the database could be made."""


class SqlSink(AsyncSink):
    wants_rows = True

    def __init__(self, props: dict):
        super().__init__(props)
        self._sa = load_sqlalchemy(SinkConfigError)
        self.target = target_of(props, SinkConfigError)
        self.table = _str_prop(props, "table").strip()
        if not self.table:
            raise SinkConfigError("table: property table is required")
        fields = _prop(props, "fields")
        if fields is not None and not (isinstance(fields, list) and all(isinstance(f, str) for f in fields)):
            raise SinkConfigError("fields: expected a list of strings")
        self.fields: list[str] | None = fields or None
        self.table_data_field = _str_prop(props, "tableDataField") or None
        self.rowkind_field = _str_prop(props, "rowkindField") or None
        self.key_field = _str_prop(props, "keyField") or None
        if self.rowkind_field and not self.key_field:
            raise SinkConfigError("keyField: keyField is required when rowkindField is set")
        self._engine: Any = None
        self._threads = Threads()

    @classmethod
    async def ping(cls, props: dict, timeout: float) -> None:
        await ping_database(props, timeout)

    # --- connection ------------------------------------------------------------------------

    def _engine_now(self) -> Any:
        if self._engine is None:
            self._engine = make_engine(self.target)
        return self._engine

    def _check(self) -> None:
        with self._engine_now().connect():
            pass

    async def connect(self) -> None:
        try:
            await self._threads.run(self._check)
        except self._sa.exc.SQLAlchemyError as e:
            raise SinkSendError(f"cannot connect to {self.target.masked}: {db_message(e)}") from None
        if self.status != CONNECTED:
            self.mark_connected()

    async def aclose(self) -> None:
        await self._threads.drain()
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await asyncio.to_thread(engine.dispose)

    # --- sending ---------------------------------------------------------------------------

    async def send_async(self, payload: bytes | None, data: Any) -> None:
        rows = self._rows(data)
        if not rows:
            return
        sa = self._sa
        try:
            failures = await self._threads.run(self._write, rows)
        except _Unreachable as e:
            self.mark_disconnected(str(e))
            raise SinkSendError(f"sql sink cannot reach {self.target.masked}: {e}") from None
        except sa.exc.SQLAlchemyError as e:
            message = db_message(e)
            if is_disconnect(e):
                self.mark_disconnected(message)
                raise SinkSendError(f"sql sink lost {self.target.masked}: {message}") from None
            raise SqlWriteError(f"sql sink cannot write to {self.table}: {message}") from None
        if failures:
            n, first = len(failures), failures[0]
            raise SqlWriteError(f"sql sink: {n} of {len(rows)} rows failed on {self.table}, the first: {first}")

    def _rows(self, data: Any) -> list[dict]:
        items = data if isinstance(data, list) else [data]
        if self.table_data_field:
            nested: list = []
            for item in items:
                v = item.get(self.table_data_field) if isinstance(item, dict) else None
                nested.extend(v if isinstance(v, list) else [v] if v is not None else [])
            items = nested
        rows = [r for r in items if isinstance(r, dict)]
        if len(rows) != len(items):
            raise SqlWriteError(f"sql sink: expected rows (objects) but got {data!r:.200}")
        return [r for r in rows if r]

    def _values(self, row: dict) -> dict[str, Any]:
        cols = self.fields if self.fields is not None else list(row)
        sqlite = self.target.family == "sqlite"
        out = {}
        for c in cols:
            if c == self.rowkind_field and self.fields is None:
                continue  # the action is not a column
            out[c] = _param(row.get(c), sqlite)
        return out

    def _write(self, rows: list[dict]) -> list[str]:
        """Runs in a worker thread; returns the errors of rows that failed on their own."""
        sa = self._sa
        engine = self._engine_now()
        try:
            conn = engine.connect()
        except sa.exc.SQLAlchemyError as e:
            raise _Unreachable(db_message(e)) from None
        with conn:
            if not self.rowkind_field:
                self._insert_all(conn, [self._values(r) for r in rows])
                return []
            failures = []
            for row in rows:
                try:
                    with conn.begin():
                        self._apply(conn, row)
                except sa.exc.SQLAlchemyError as e:
                    if is_disconnect(e):
                        raise
                    failures.append(db_message(e))
                except SqlWriteError as e:
                    failures.append(str(e))
            return failures

    def _insert_all(self, conn: Any, rows: list[dict]) -> None:
        sa = self._sa
        dialect = conn.dialect
        with conn.begin():
            # rows with the same columns go in one executemany, in their order
            start = 0
            while start < len(rows):
                cols = tuple(rows[start])
                end = start + 1
                while end < len(rows) and tuple(rows[end]) == cols:
                    end += 1
                table = table_clause(self.table, dialect, cols)
                params = [{table.c[c].key: r[c] for c in cols} for r in rows[start:end]]
                conn.execute(sa.insert(table), params)
                start = end

    def _apply(self, conn: Any, row: dict) -> None:
        sa = self._sa
        kind = row.get(self.rowkind_field, "insert")
        if kind is None:
            kind = "insert"
        if not isinstance(kind, str):
            raise SqlWriteError(f"rowkind field {self.rowkind_field} is not a string in data {row}")
        kind = kind.lower()
        if kind not in ROW_KINDS:
            raise SqlWriteError(f"invalid rowkind {kind}")
        values = self._values(row)
        dialect = conn.dialect
        if kind == "insert":
            table = table_clause(self.table, dialect, tuple(values))
            conn.execute(sa.insert(table).values({table.c[c]: v for c, v in values.items()}))
            return
        key = self.key_field
        if key not in row:
            raise SqlWriteError(f"field {key} does not exist in data {row}")
        table = table_clause(self.table, dialect, tuple(dict.fromkeys([*values, key])))
        where = table.c[key] == sa.bindparam("key_value", _param(row[key], self.target.family == "sqlite"),
                                             type_=sa.types.NullType())
        if kind == "delete":
            conn.execute(sa.delete(table).where(where))
            return
        result = conn.execute(sa.update(table).where(where).values({table.c[c]: v for c, v in values.items()}))
        if kind == "upsert" and result.rowcount == 0:
            if key not in values:
                values[key] = _param(row[key], self.target.family == "sqlite")
            conn.execute(sa.insert(table).values({table.c[c]: v for c, v in values.items()}))


def _param(v: Any, sqlite: bool) -> Any:
    """A row value as a parameter: objects and arrays as JSON text; for SQLite, whose driver's
    date adapters are deprecated, times as text too."""
    if isinstance(v, dict | list):
        return jsonvalue.encode(v).decode()
    if sqlite and isinstance(v, _dt.datetime):
        return v.isoformat(sep=" ")
    return v
