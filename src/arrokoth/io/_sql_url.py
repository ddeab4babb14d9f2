"""eKuiper's database URLs, mapped onto SQLAlchemy's drivers.

eKuiper's sql connectors take one URL (`dburl`, or `url` in older configurations) and read it
with xo/dburl: `mysql://user:pw@host:port/db?parseTime=true`, `postgres://user:pw@host/db?
sslmode=disable`, `sqlite:/path/to.db`, `sqlserver://user:pw@host/db` and the aliases dburl
knows (`pg`, `mariadb`, `sq`, `mssql`...). `parse_db_url` turns such a URL into a `DbTarget`:
the SQLAlchemy driver name, the parts of the URL, the query parameters the Python driver
understands, and `connect_args` for the Go DSN parameters that have a Python equivalent.
Go-only parameters (`parseTime`, `loc`, pgx's pool settings...) are dropped: the Python
drivers would refuse them, and what they ask for is what Arrokoth does anyway.

This module is plain stdlib so that a missing driver is reported as a configuration error
naming what to install (`check_driver`), not as an ImportError.
"""

from __future__ import annotations

import importlib
import logging
import re
import ssl
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from arrokoth.io.props import MissingExtra
from arrokoth.plan.options import OptionError, parse_duration_ms

log = logging.getLogger("arrokoth.sql")


class SqlUrlError(ValueError):
    """The database URL cannot be used; the message says why."""


# dburl's schemes and aliases (including its automatic two-letter ones), by database family
_ALIASES: dict[str, tuple[str, ...]] = {
    "postgres": ("postgres", "postgresql", "pg", "pgsql", "pgx", "px", "cockroachdb", "cockroach", "cr",
                 "crdb", "cdb", "redshift", "rs"),
    "mysql": ("mysql", "my", "mariadb", "maria", "percona", "aurora", "memsql", "me", "tidb", "ti",
              "vitess", "vt", "mymysql", "zm", "mymy"),
    "sqlite": ("sqlite3", "sqlite", "sq", "file", "moderncsqlite", "mq", "modernsqlite"),
    "sqlserver": ("sqlserver", "ms", "mssql", "azuresql"),
    "oracle": ("oracle", "or", "ora", "oci", "oci8", "odpi", "odpi-c", "godror", "gr"),
}
FAMILY_OF = {alias: family for family, aliases in _ALIASES.items() for alias in aliases}


@dataclass(frozen=True)
class Driver:
    drivername: str  # SQLAlchemy's dialect+driver
    module: str  # the DB-API module to import
    install: str  # how to get it


DRIVERS = {
    "postgres": Driver("postgresql+psycopg", "psycopg", "the sql extra: pip install 'arrokoth[sql]'"),
    "mysql": Driver("mysql+pymysql", "pymysql", "the sql extra: pip install 'arrokoth[sql]'"),
    "sqlite": Driver("sqlite+pysqlite", "sqlite3", "a Python built with the sqlite3 module"),
    "sqlserver": Driver("mssql+pymssql", "pymssql", "the pymssql package: pip install pymssql"),
    "oracle": Driver("oracle+oracledb", "oracledb", "the oracledb package: pip install oracledb"),
}

# libpq's connection parameters: passed to psycopg as they are
_LIBPQ_PARAMS = frozenset({
    "passfile", "channel_binding", "connect_timeout", "client_encoding", "options", "application_name",
    "fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
    "tcp_user_timeout", "replication", "gssencmode", "sslmode", "requiressl", "sslcompression", "sslcert",
    "sslkey", "sslpassword", "sslcertmode", "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer",
    "ssl_min_protocol_version", "ssl_max_protocol_version", "krbsrvname", "gsslib", "gssdelegation",
    "service", "target_session_attrs", "load_balance_hosts", "host", "hostaddr", "port", "dbname",
})
# settings of Go's pq/pgx themselves (not sent to the server): dropped
_PG_GO_ONLY = frozenset({
    "binary_parameters", "disable_prepared_binary_result", "statement_cache_capacity",
    "description_cache_capacity", "default_query_exec_mode", "prefer_simple_protocol",
    "min_read_buffer_size", "servicefile",
})
# go-sql-driver/mysql parameters that only steer the Go driver: dropped
_MYSQL_GO_ONLY = frozenset({
    "parsetime", "loc", "allownativepasswords", "allowcleartextpasswords", "allowoldpasswords",
    "allowallfiles", "allowfallbacktoplaintext", "interpolateparams", "multistatements", "clientfoundrows",
    "columnswithalias", "maxallowedpacket", "rejectreadonly", "checkconnliveness", "collation",
    "servername", "serverpubkey", "timetruncate", "connectionattributes", "compress", "net",
})
# the parameters of an SQLite URI filename
_SQLITE_URI_PARAMS = frozenset({"mode", "cache", "immutable", "nolock", "vfs", "psow", "modeof"})


@dataclass(frozen=True)
class DbTarget:
    """A database URL taken apart: what `_sql.make_engine` builds an engine from."""

    family: str
    drivername: str
    username: str | None = None
    password: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    connect_args: dict = field(default_factory=dict)
    #: the URL as written, with the password masked: what logs and errors show
    masked: str = ""
    #: set by a URL that gives its own connect timeout (which then wins over ours)
    has_timeout: bool = False

    @property
    def memory(self) -> bool:
        return self.family == "sqlite" and self.database in (None, ":memory:")

    @property
    def sqlite_path(self) -> str | None:
        """The SQLite file, for a file database."""
        if self.family != "sqlite" or self.memory:
            return None
        db = self.database or ""
        if db.startswith("file:"):
            return unquote(db[5:])
        return db


def mask_password(text: str) -> str:
    """The URL with the password of its user info replaced by ***."""
    m = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*:/*)([^/@?#]*)@", text)
    if not m or ":" not in m.group(2):
        return text
    user = m.group(2).split(":", 1)[0]
    return f"{m.group(1)}{user}:***@{text[m.end():]}"


def parse_db_url(text: object) -> DbTarget:
    """The DbTarget of an eKuiper database URL; SqlUrlError when it cannot be used."""
    if not isinstance(text, str) or not text.strip():
        raise SqlUrlError("the database url is empty")
    text = text.strip()
    m = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):(.*)\Z", text, re.S)
    if not m:
        raise SqlUrlError(f"invalid database url {mask_password(text)}: it has no scheme such as mysql:// "
                          "or postgres://")
    scheme, rest = m.group(1).lower(), m.group(2)
    proto = ""
    if "+" in scheme:
        scheme, proto = scheme.split("+", 1)
    family = FAMILY_OF.get(scheme)
    masked = mask_password(text)
    if family is None:
        known = ", ".join(sorted(a for aliases in _ALIASES.values() for a in aliases[:1]))
        raise SqlUrlError(f"unsupported database url scheme {scheme!r} in {masked}: Arrokoth supports {known} "
                          "(and their aliases)")
    if proto and proto != "tcp":
        raise SqlUrlError(f"database url {masked}: the +{proto} transport is not supported; for PostgreSQL "
                          "over a unix socket give its directory as ?host=/run/postgresql")
    if family == "sqlite":
        return _sqlite(rest, masked)
    if not rest.startswith("//"):
        rest = "//" + rest  # dburl reads `mysql:user@host/db` as `mysql://user@host/db`
    try:
        parts = urlsplit("x:" + rest)
        port = parts.port
    except ValueError as e:
        raise SqlUrlError(f"invalid database url {masked}: {e}") from None
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    host = parts.hostname or None
    database = unquote(parts.path.lstrip("/")) or None
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    base = dict(family=family, drivername=DRIVERS[family].drivername, username=user, password=password,
                host=host, port=port, masked=masked)
    if family == "postgres":
        return _postgres(base, database, query)
    if family == "mysql":
        return _mysql(base, database, query)
    if family == "sqlserver":
        db = query.pop("database", None) or database
        if query:
            log.debug("sql url %s: ignoring the parameters %s", masked, sorted(query))
        return DbTarget(**base, database=db)
    # oracle: the path names the service
    query = {"service_name": database} if database else {}
    return DbTarget(**base, query=query)


def _postgres(base: dict, database: str | None, query: dict[str, str]) -> DbTarget:
    keep: dict[str, str] = {}
    runtime: list[str] = []
    for k, v in query.items():
        if k in _LIBPQ_PARAMS:
            keep[k] = v
        elif k in _PG_GO_ONLY or k.startswith("pool_"):
            log.debug("sql url %s: dropping the Go driver setting %s", base["masked"], k)
        else:
            # pq and pgx send any other parameter as a run-time setting (search_path...)
            runtime.append(f"-c {k}={v}")
    if runtime:
        keep["options"] = " ".join(filter(None, [keep.get("options"), *runtime]))
    return DbTarget(**base, database=database, query=keep, has_timeout="connect_timeout" in keep)


def _go_seconds(value: str, name: str, masked: str) -> float:
    try:
        ms = parse_duration_ms(value if any(c.isalpha() for c in value) else value + "s", name)
    except OptionError:
        raise SqlUrlError(f"database url {masked}: {name} must be a duration such as 5s, not {value!r}") from None
    return ms / 1000


def _mysql(base: dict, database: str | None, query: dict[str, str]) -> DbTarget:
    keep: dict[str, str] = {}
    args: dict = {}
    masked = base["masked"]
    for k, v in query.items():
        lk = k.lower()
        if lk == "charset":
            keep["charset"] = v.split(",")[0]  # Go takes a list to try in turn
        elif lk in ("timeout", "readtimeout", "writetimeout"):
            name = {"timeout": "connect_timeout", "readtimeout": "read_timeout", "writetimeout": "write_timeout"}[lk]
            args[name] = _go_seconds(v, k, masked)
        elif lk == "tls":
            if v.lower() in ("true", "1"):
                args["ssl"] = ssl.create_default_context()
            elif v.lower() in ("skip-verify", "preferred"):
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                args["ssl"] = ctx
            elif v.lower() not in ("false", "0"):
                raise SqlUrlError(f"database url {masked}: tls={v} (a registered TLS config) is not supported; "
                                  "use tls=true or tls=skip-verify")
        elif lk in _MYSQL_GO_ONLY:
            log.debug("sql url %s: dropping the Go driver setting %s", masked, k)
        else:
            # anything else is a system variable the Go driver sets with SET k=v
            args.setdefault("init_command", [])
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", k):
                raise SqlUrlError(f"database url {masked}: invalid parameter {k!r}")
            args["init_command"].append(f"SET {k}={v}")
    if "init_command" in args:
        args["init_command"] = "; ".join(args["init_command"])
    return DbTarget(**base, database=database, query=keep, connect_args=args,
                    has_timeout="connect_timeout" in args)


def _sqlite(rest: str, masked: str) -> DbTarget:
    rest, _, q = rest.partition("?")
    if rest.startswith("//"):
        # sqlite:///abs/path.db is /abs/path.db; sqlite://test.db is test.db, as dburl reads it
        rest = rest[2:]
    path = unquote(rest)
    if not path.strip("/"):
        raise SqlUrlError(f"database url {masked}: an SQLite url needs a file path, such as sqlite:/path/to/file.db")
    query = dict(parse_qsl(q, keep_blank_values=True))
    args: dict = {}
    uri: dict[str, str] = {}
    for k, v in query.items():
        if k in _SQLITE_URI_PARAMS:
            uri[k] = v
        elif k in ("_busy_timeout", "_timeout"):
            try:
                args["timeout"] = int(v) / 1000  # milliseconds in the Go drivers
            except ValueError:
                raise SqlUrlError(f"database url {masked}: {k} must be milliseconds, not {v!r}") from None
        else:
            log.debug("sql url %s: ignoring the parameter %s", masked, k)
    if path == ":memory:":
        return DbTarget("sqlite", DRIVERS["sqlite"].drivername, database=":memory:", masked=masked)
    if uri:
        # the URI form carries mode=ro and friends to SQLite itself
        from urllib.parse import quote

        return DbTarget("sqlite", DRIVERS["sqlite"].drivername, database=f"file:{quote(path)}",
                        query={"uri": "true", **uri},
                        connect_args=args, masked=masked, has_timeout="timeout" in args)
    return DbTarget("sqlite", DRIVERS["sqlite"].drivername, database=path, connect_args=args, masked=masked,
                    has_timeout="timeout" in args)


def check_driver(target: DbTarget) -> None:
    """Import the DB-API driver of `target`, or raise MissingExtra saying what to install."""
    driver = DRIVERS[target.family]
    try:
        importlib.import_module(driver.module)
    except ImportError:
        raise MissingExtra(
            f"the sql connector needs the {driver.module} package for {target.family} databases: "
            f"install {driver.install}"
        ) from None
