"""What the sql source, lookup table and sink share: the URL property, engines, identifiers,
value conversion, and errors in words.

SQLAlchemy is imported lazily (`load_sqlalchemy`): it is the `sql` extra, and the connector
modules are imported by the registries whether it is installed or not.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import decimal
import re
import uuid
from typing import TYPE_CHECKING, Any

from arrokoth.io._sql_url import DbTarget, SqlUrlError, check_driver, parse_db_url
from arrokoth.io.connectivity import ConnectionCheckError, bounded
from arrokoth.io.props import MissingExtra, prop, require_extra

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

#: seconds to wait for a connection of a source or sink (a scan may take longer than this)
CONNECT_TIMEOUT = 10.0
#: seconds a lookup, which the rule waits for, may take to connect and to answer
LOOKUP_TIMEOUT = 5.0

_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def load_sqlalchemy(error: type[Exception]) -> Any:
    """The sqlalchemy module, or `error` naming the extra to install."""
    try:
        return require_extra("sqlalchemy", "sql", "sql")
    except MissingExtra as e:
        raise error(str(e)) from None


def url_prop(props: dict) -> str:
    """`dburl`, or `url` as eKuiper 1.x and the shipped defaults spell it (dburl wins)."""
    for name in ("dburl", "url"):
        v = prop(props, name)
        if v not in (None, ""):
            if not isinstance(v, str):
                raise SqlUrlError(f"{name}: expected a string but got {v!r}")
            return v
    raise SqlUrlError("dburl: the database url is required (dburl, or url)")


def target_of(props: dict, error: type[Exception]) -> DbTarget:
    """The checked DbTarget of the props' URL, with its driver installed, or `error`."""
    try:
        target = parse_db_url(url_prop(props))
        check_driver(target)
    except (SqlUrlError, MissingExtra) as e:
        msg = str(e)
        raise error(msg if msg.startswith("dburl") else f"dburl: {msg}") from None
    return target


def connect_args(target: DbTarget, timeout: float, query_timeout: float | None = None) -> dict:
    """The driver's connect() arguments: the URL's own, and the timeouts."""
    args = dict(target.connect_args)
    family = target.family
    if family == "postgres":
        if not target.has_timeout:
            args["connect_timeout"] = max(2, round(timeout))  # libpq waits whole seconds, at least 2
        if query_timeout is not None:
            extra = f"-c statement_timeout={int(query_timeout * 1000)}"
            args["options"] = " ".join(filter(None, [target.query.get("options"), extra]))
    elif family == "mysql":
        if not target.has_timeout:
            args["connect_timeout"] = timeout
        if query_timeout is not None:
            args.setdefault("read_timeout", query_timeout)
            args.setdefault("write_timeout", query_timeout)
    elif family == "sqlite":
        if not target.has_timeout:
            args["timeout"] = timeout  # how long a locked database is waited for
        # connections move between the event loop's worker threads
        args["check_same_thread"] = False
    elif family == "sqlserver":
        args.setdefault("login_timeout", max(1, round(timeout)))
    return args


def make_engine(target: DbTarget, *, timeout: float = CONNECT_TIMEOUT, query_timeout: float | None = None,
                pool: str = "queue") -> Engine:
    """An engine for `target` that connects within `timeout` seconds; `query_timeout` bounds each
    statement too where the driver can (lookups). `pool` is "queue" (checked before each use),
    "plain" (not checked: the caller retries a dropped connection) or "null" (no pooling)."""
    sa = load_sqlalchemy(RuntimeError)
    url = sa.URL.create(target.drivername, username=target.username, password=target.password,
                        host=target.host, port=target.port, database=target.database, query=target.query)
    kwargs: dict[str, Any] = {"connect_args": connect_args(target, timeout, query_timeout)}
    if target.memory:
        # one connection, or each would see a database of its own
        kwargs["poolclass"] = sa.pool.StaticPool
    elif pool == "null":
        kwargs["poolclass"] = sa.pool.NullPool
    else:
        kwargs.update(pool_pre_ping=pool != "plain", pool_size=2, max_overflow=2, pool_timeout=timeout,
                      pool_recycle=3600)
    return sa.create_engine(url, **kwargs)


class Threads:
    """Runs blocking database calls in worker threads, keeping those still running so that a
    close can wait for them: a connection given back to a disposed pool would be left open."""

    def __init__(self) -> None:
        self._running: set[asyncio.Future] = set()

    async def run(self, fn: Any, *args: Any) -> Any:
        fut = asyncio.get_running_loop().run_in_executor(None, fn, *args)
        self._running.add(fut)
        fut.add_done_callback(self._done)
        # a cancelled caller (a rule stopping) leaves the call to finish in its thread
        return await asyncio.shield(fut)

    def _done(self, fut: asyncio.Future) -> None:
        self._running.discard(fut)
        if not fut.cancelled():
            fut.exception()  # retrieved: whoever awaited it may be gone

    async def drain(self) -> None:
        if self._running:
            await asyncio.wait(list(self._running))


# --- identifiers ---------------------------------------------------------------------------


def ident(name: str, dialect: Any) -> Any:
    """A column or table name as eKuiper writes it: a plain name unquoted (so PostgreSQL folds
    it to lower case as its own DDL did), anything else or a reserved word quoted."""
    from sqlalchemy.sql.elements import quoted_name

    if _SIMPLE.match(name) and name.lower() not in dialect.identifier_preparer.reserved_words:
        return quoted_name(name, False)
    return quoted_name(name, True)


def table_clause(name: str, dialect: Any, columns: list[str] | tuple[str, ...] = ()) -> Any:
    """A TableClause for `name` (`schema.table` when both parts are plain names)."""
    import sqlalchemy as sa

    schema = None
    parts = name.split(".")
    if len(parts) == 2 and all(_SIMPLE.match(p) for p in parts):
        schema, name = parts
    cols = [sa.column(ident(c, dialect)) for c in columns]
    return sa.table(ident(name, dialect), *cols, schema=ident(schema, dialect) if schema else None)


def bind(name: str, value: Any) -> Any:
    """A bound parameter without a type: the driver sends the Python value, and the server
    fits it to the column (a SQLAlchemy type would cast it, so '5' could not meet an int column)."""
    import sqlalchemy as sa
    from sqlalchemy.types import NullType

    return sa.bindparam(name, value, type_=NullType())


# --- values --------------------------------------------------------------------------------


def db_value(v: Any) -> Any:
    """A value read from a database as a rule sees it (as eKuiper's Go drivers give it):
    numbers, strings, bools and bytes as they are, DECIMAL as a float, dates and times of
    day without a zone in UTC, JSON columns as objects."""
    if v is None or type(v) in (int, float, str, bool):
        return v
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, _dt.datetime):
        return v if v.tzinfo is not None else v.replace(tzinfo=_dt.UTC)
    if isinstance(v, _dt.date):
        return _dt.datetime(v.year, v.month, v.day, tzinfo=_dt.UTC)
    if isinstance(v, _dt.time):
        return v.isoformat()
    if isinstance(v, _dt.timedelta):
        # MySQL's TIME: [-]H:MM:SS[.ffffff], as the server prints it
        sign = "-" if v < _dt.timedelta(0) else ""
        total = abs(v)
        secs = total.days * 86400 + total.seconds
        text = f"{sign}{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
        return text + (f".{total.microseconds:06d}" if total.microseconds else "")
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v)
    if isinstance(v, dict):
        return {str(k): db_value(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [db_value(x) for x in v]
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, int | float | str):  # bool subclasses and the like
        return v
    return str(v)


def rows_of(result: Any) -> tuple[list[str], list[tuple]]:
    """The column names and the raw rows of a result."""
    keys = list(result.keys())
    return keys, [tuple(r) for r in result.fetchall()]


# --- errors --------------------------------------------------------------------------------


def db_message(e: BaseException) -> str:
    """The driver's own words for a database error, without SQLAlchemy's SQL echo and link."""
    orig = getattr(e, "orig", None)
    text = str(orig if orig is not None else e) or type(e).__name__
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return " ".join(lines[:2]) if lines else type(e).__name__


def describe_db_error(e: BaseException, target: DbTarget) -> str:
    """A failed connection in words a user can act on."""
    msg = db_message(e)
    low = msg.lower()
    where = target.masked
    if "refused" in low:
        host = f"{target.host or 'localhost'}:{target.port}" if target.port else (target.host or "localhost")
        return f"cannot connect to {where}: connection refused (is the database server running on {host}?)"
    if ("password authentication failed" in low or ("access denied for user" in low and "to database" not in low)
            or "authentication failed" in low or "(1045" in low or "login failed" in low):
        return f"cannot connect to {where}: bad credentials, the user name or password was rejected ({msg})"
    if ("does not exist" in low and "database" in low) or "unknown database" in low or "(1049" in low:
        return f"cannot connect to {where}: the database does not exist ({msg})"
    if "(1044" in low or ("access denied" in low and "to database" in low):
        return f"cannot connect to {where}: the user may not use this database ({msg})"
    if "timeout" in low or "timed out" in low:
        return f"cannot connect to {where}: timed out ({msg})"
    if ("could not translate host name" in low or "name or service not known" in low
            or "temporary failure in name resolution" in low or "nodename nor servname" in low
            or "getaddrinfo" in low):
        return f"cannot connect to {where}: unknown host ({msg})"
    if "unable to open database file" in low:
        return f"cannot open {where}: the SQLite file or its directory cannot be opened ({msg})"
    return f"cannot connect to {where}: {msg}"


def is_disconnect(e: BaseException) -> bool:
    """Did the database connection fail (rather than the statement)?"""
    return bool(getattr(e, "connection_invalidated", False))


# --- connectivity check -----------------------------------------------------------------------


async def ping_database(props: dict, timeout: float) -> None:
    """Connect to the props' database once within `timeout` seconds, or ConnectionCheckError."""
    from pathlib import Path

    target = target_of(props, ConnectionCheckError)
    sa = load_sqlalchemy(ConnectionCheckError)
    path = target.sqlite_path
    if path is not None and not Path(path).exists():
        # connecting would create it: say what is wrong instead
        raise ConnectionCheckError(f"cannot open {target.masked}: the SQLite file {path} does not exist")
    engine = make_engine(target, timeout=timeout, pool="null")

    def attempt() -> None:
        try:
            with engine.connect() as conn:
                # reads the SQLite header too, so a file that is no database fails here
                check = "PRAGMA schema_version" if target.family == "sqlite" else "SELECT 1"
                if target.family == "oracle":
                    check = "SELECT 1 FROM DUAL"
                conn.exec_driver_sql(check).fetchall()
        except sa.exc.SQLAlchemyError as e:
            raise ConnectionCheckError(describe_db_error(e, target)) from None

    try:
        await bounded(f"cannot connect to {target.masked}", asyncio.to_thread(attempt), timeout)
    finally:
        await asyncio.to_thread(engine.dispose)
