"""The sql source: queries a database every `interval` and emits the rows it reads.

Properties as eKuiper's: `dburl` (or `url`), `interval` (ms, or a duration such as `10s`) and
the query, `internalSqlQueryCfg` or `templateSqlQueryCfg` (see `_sql_query`): with an index
field each query reads only the rows after the last one read, so a table being appended to
becomes a stream. The first query runs at start. Each query runs in a worker thread, so a
slow database never holds up the event loop; rows go to the rules as one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from arrokoth.io._sql import (
    Threads,
    db_message,
    db_value,
    is_disconnect,
    load_sqlalchemy,
    make_engine,
    ping_database,
    rows_of,
    target_of,
)
from arrokoth.io._sql_query import QueryConfigError, TemplateQuery, query_from_props
from arrokoth.io.sources.base import CONNECTED, Source, SourceConfigError, log, prop
from arrokoth.plan.options import OptionError, parse_duration_ms

DEFAULT_INTERVAL_MS = 10_000


class SqlSource(Source):
    def __init__(self, stream, props, feed):
        super().__init__(stream, props, feed)
        self._sa = load_sqlalchemy(SourceConfigError)
        self.target = target_of(props, SourceConfigError)
        try:
            self.interval_ms = parse_duration_ms(prop(props, "interval", DEFAULT_INTERVAL_MS), "interval")
        except OptionError as e:
            raise SourceConfigError(f"interval: {e}") from None
        if self.interval_ms <= 0:
            raise SourceConfigError("interval: interval should be defined (greater than 0)")
        try:
            self.query = query_from_props(props)
        except QueryConfigError as e:
            raise SourceConfigError(str(e)) from None
        self._engine: Any = None
        self._task: asyncio.Task | None = None
        self._threads = Threads()

    @classmethod
    async def ping(cls, props: dict, timeout: float) -> None:
        await ping_database(props, timeout)

    async def start(self) -> None:
        self._engine = make_engine(self.target)
        self._task = asyncio.get_running_loop().create_task(
            self.every(self.interval_ms, self.pull, "querying the database"), name=f"sql-source-{self.stream.name}")

    async def pull(self) -> None:
        """One query, its rows handed to the rules (or the failure counted)."""
        if self._engine is None:
            return
        self.last_try = self.feed.clock.now_ms()
        sa = self._sa
        try:
            rows = await self._threads.run(self._query)
        except (sa.exc.SQLAlchemyError, _Unreachable) as e:
            message = db_message(e)
            if is_disconnect(e) or isinstance(e, _Unreachable):
                self.disconnected(message)
            self.fail(f"query sql error {message}")
            return
        except ValueError as e:  # an index value that does not fit its format
            self.fail(f"Get sql query error {e}")
            return
        if self.status != CONNECTED:
            self.connected()
        if rows:
            self.publish_rows(rows)

    def _query(self) -> list[dict]:
        """Runs in a worker thread: the query, the rows, the index moved on."""
        sa = self._sa
        engine = self._engine
        try:
            conn = engine.connect()
        except sa.exc.SQLAlchemyError as e:
            raise _Unreachable(db_message(e)) from e
        with conn:
            if isinstance(self.query, TemplateQuery):
                sql = self.query.render()
                log.debug("stream %s queries %s", self.stream.name, sql)
                # the template wrote the whole statement: nothing in it is a parameter
                result = conn.exec_driver_sql(sql, execution_options={"no_parameters": True})
            else:
                result = conn.execute(self.query.statement(engine.dialect))
            keys, raw = rows_of(result)
        rows = []
        for values in raw:
            self.query.update(dict(zip(keys, values)))
            rows.append({k: db_value(v) for k, v in zip(keys, values)})
        return rows

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._threads.drain()
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await asyncio.to_thread(engine.dispose)


class _Unreachable(Exception):
    """The database could not be reached (no connection could be made)."""
