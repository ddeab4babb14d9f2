"""eKuiper's database URLs mapped onto SQLAlchemy (arrokoth.io._sql_url), and the shared
helpers of arrokoth.io._sql: no database needed."""

from __future__ import annotations

import datetime as dt
import decimal
import ssl
import uuid

import pytest

from arrokoth.io._sql import (
    connect_args,
    db_value,
    describe_db_error,
    ident,
    make_engine,
    table_clause,
    target_of,
    url_prop,
)
from arrokoth.io._sql_url import SqlUrlError, check_driver, mask_password, parse_db_url
from arrokoth.io.props import MissingExtra


def sa_url(text: str):
    """The SQLAlchemy URL an eKuiper URL becomes."""
    return make_engine(parse_db_url(text)).url


@pytest.mark.parametrize(("ekuiper", "sqlalchemy"), [
    ("mysql://user:test@140.210.204.147/user?parseTime=true", "mysql+pymysql://user:test@140.210.204.147/user"),
    ("mysql://u:p@db:3307/shop?charset=utf8mb4,utf8", "mysql+pymysql://u:p@db:3307/shop?charset=utf8mb4"),
    ("mariadb://u:p@db/shop", "mysql+pymysql://u:p@db/shop"),
    ("my://u:p@db/shop", "mysql+pymysql://u:p@db/shop"),
    ("postgres://user:pass@localhost/dbname", "postgresql+psycopg://user:pass@localhost/dbname"),
    ("postgres://u:p@h:5433/d?sslmode=disable", "postgresql+psycopg://u:p@h:5433/d?sslmode=disable"),
    ("postgresql://u:p@h/d", "postgresql+psycopg://u:p@h/d"),
    ("pg://u:p@h/d", "postgresql+psycopg://u:p@h/d"),
    ("pgx://u:p@h/d?pool_max_conns=5", "postgresql+psycopg://u:p@h/d"),
    ("sqlite:/path/to/file.db", "sqlite+pysqlite:////path/to/file.db"),
    ("sqlite:///path/to/file.db", "sqlite+pysqlite:////path/to/file.db"),
    ("sqlite3:/path/to/file.db", "sqlite+pysqlite:////path/to/file.db"),
    ("sqlite://test.db", "sqlite+pysqlite:///test.db"),
    ("sqlite:test.db", "sqlite+pysqlite:///test.db"),
    ("file:/data/x.db", "sqlite+pysqlite:////data/x.db"),
    ("sqlite::memory:", "sqlite+pysqlite:///:memory:"),
    ("sqlite:/data/x.db?mode=ro", "sqlite+pysqlite:///file:/data/x.db?mode=ro&uri=true"),
])
def test_urls_map_to_the_drivers_we_install(ekuiper, sqlalchemy):
    import sqlalchemy as sa

    assert sa_url(ekuiper) == sa.make_url(sqlalchemy)


def test_url_parts_are_unescaped():
    t = parse_db_url("postgres://us%40er:p%40ss%3Aw%2Frd@[::1]:6543/my%20db")
    assert (t.username, t.password, t.host, t.port, t.database) == ("us@er", "p@ss:w/rd", "::1", 6543, "my db")
    assert t.family == "postgres" and t.drivername == "postgresql+psycopg"


def test_scheme_is_case_insensitive_and_the_opaque_form_works():
    assert parse_db_url("MySQL://u:p@h/d").family == "mysql"
    # dburl reads scheme:rest as scheme://rest for network databases
    t = parse_db_url("mysql:u:p@h:3306/d")
    assert (t.username, t.host, t.port, t.database) == ("u", "h", 3306, "d")


def test_postgres_parameters():
    t = parse_db_url("postgres://u@h/d?sslmode=require&connect_timeout=3&search_path=s1&binary_parameters=yes"
                     "&pool_max_conns=4&application_name=ark")
    # libpq's own parameters pass, Go-only ones are dropped, others become run-time settings
    assert t.query == {"sslmode": "require", "connect_timeout": "3", "application_name": "ark",
                       "options": "-c search_path=s1"}
    assert t.has_timeout
    assert "connect_timeout" not in connect_args(t, 7)  # the URL's own wins


def test_postgres_query_timeout_goes_into_options():
    t = parse_db_url("postgres://u@h/d?options=-c%20work_mem%3D4MB")
    args = connect_args(t, 5, query_timeout=2.5)
    assert args["connect_timeout"] == 5
    assert args["options"] == "-c work_mem=4MB -c statement_timeout=2500"


def test_mysql_parameters():
    t = parse_db_url("mysql://u:p@h/d?parseTime=true&loc=Local&timeout=5s&readTimeout=1m&writeTimeout=500ms"
                     "&tls=skip-verify&sql_mode=ANSI&allowNativePasswords=true")
    assert t.query == {}
    assert t.connect_args["connect_timeout"] == 5
    assert t.connect_args["read_timeout"] == 60
    assert t.connect_args["write_timeout"] == 0.5
    ctx = t.connect_args["ssl"]
    assert isinstance(ctx, ssl.SSLContext) and ctx.verify_mode == ssl.CERT_NONE
    # a system variable, set as the Go driver does
    assert t.connect_args["init_command"] == "SET sql_mode=ANSI"
    assert parse_db_url("mysql://u@h/d?tls=true").connect_args["ssl"].verify_mode == ssl.CERT_REQUIRED
    with pytest.raises(SqlUrlError, match="tls=custom"):
        parse_db_url("mysql://u@h/d?tls=custom")
    with pytest.raises(SqlUrlError, match="timeout must be a duration"):
        parse_db_url("mysql://u@h/d?timeout=soon")


def test_engines_get_connect_timeouts():
    assert connect_args(parse_db_url("postgres://u@h/d"), 0.5)["connect_timeout"] == 2  # libpq's least
    args = connect_args(parse_db_url("mysql://u@h/d"), 3, query_timeout=4)
    assert (args["connect_timeout"], args["read_timeout"], args["write_timeout"]) == (3, 4, 4)
    assert connect_args(parse_db_url("mysql://u@h/d?timeout=1s"), 3)["connect_timeout"] == 1
    lite = connect_args(parse_db_url("sqlite:/x.db"), 3)
    assert (lite["timeout"], lite["check_same_thread"]) == (3, False)


def test_sqlserver_and_oracle_map_to_their_drivers_and_say_what_to_install():
    t = parse_db_url("sqlserver://username:password@140.210.204.147/testdb")
    assert (t.drivername, t.database, t.host) == ("mssql+pymssql", "testdb", "140.210.204.147")
    assert parse_db_url("mssql://u:p@h:1433/x?database=real").database == "real"
    with pytest.raises(MissingExtra, match=r"pymssql package .*pip install pymssql"):
        check_driver(t)
    o = parse_db_url("oracle://u:p@h:1521/ORCLPDB")
    assert (o.drivername, o.query) == ("oracle+oracledb", {"service_name": "ORCLPDB"})
    with pytest.raises(MissingExtra, match="pip install oracledb"):
        check_driver(o)
    for url in ("mysql://u@h/d", "postgres://u@h/d", "sqlite:/x.db"):
        check_driver(parse_db_url(url))  # installed with the sql extra


def test_a_missing_driver_is_a_config_error_naming_what_to_install():
    from arrokoth.io.sources.base import SourceConfigError

    with pytest.raises(SourceConfigError, match=r"^dburl: .*pip install pymssql"):
        target_of({"url": "sqlserver://u:p@h/db"}, SourceConfigError)


@pytest.mark.parametrize(("url", "message"), [
    ("", "empty"),
    ("no-scheme-here", "no scheme"),
    ("clickhouse://u@h/d", "unsupported database url scheme 'clickhouse'"),
    ("mysql+unix://u@/tmp/s.sock/d", "transport is not supported"),
    ("mysql://u@h:notaport/d", "invalid database url"),
    ("sqlite:", "needs a file path"),
    ("sqlite:///", "needs a file path"),
])
def test_bad_urls(url, message):
    with pytest.raises(SqlUrlError, match=message):
        parse_db_url(url)


def test_passwords_are_masked_in_what_is_shown():
    assert mask_password("mysql://user:secret@h/d") == "mysql://user:***@h/d"
    assert mask_password("postgres://user@h/d") == "postgres://user@h/d"
    assert mask_password("sqlite:/x.db") == "sqlite:/x.db"
    t = parse_db_url("mysql://user:secret@h/d")
    assert "secret" not in t.masked and "secret" not in repr(t.masked)
    with pytest.raises(SqlUrlError) as info:
        parse_db_url("clickhouse://user:secret@h/d")
    assert "secret" not in str(info.value)


def test_url_property_names():
    assert url_prop({"url": "sqlite:/a.db"}) == "sqlite:/a.db"
    # eKuiper 2's dburl wins over url; names match case-insensitively
    assert url_prop({"url": "sqlite:/a.db", "dbUrl": "sqlite:/b.db"}) == "sqlite:/b.db"
    assert url_prop({"dburl": "", "url": "sqlite:/a.db"}) == "sqlite:/a.db"
    with pytest.raises(SqlUrlError, match="dburl: the database url is required"):
        url_prop({})
    with pytest.raises(SqlUrlError, match="url: expected a string"):
        url_prop({"url": 5})


def test_identifiers_are_bare_when_plain_and_quoted_otherwise():
    pg = make_engine(parse_db_url("postgres://u@h/d")).dialect
    my = make_engine(parse_db_url("mysql://u@h/d")).dialect
    assert table_clause("readings", pg).name == "readings"

    def render(name, dialect):
        return dialect.identifier_preparer.quote(ident(name, dialect))

    assert render("registerTime", pg) == "registerTime"  # folded by PostgreSQL, as eKuiper writes it
    assert render("user", pg) == '"user"'  # reserved
    assert render("device-id", pg) == '"device-id"'
    assert render("device-id", my) == "`device-id`"
    assert render('we"ird', pg) == '"we""ird"'
    t = table_clause("public.readings", pg)
    assert (t.schema, t.name) == ("public", "readings")


def test_database_values_become_rule_values():
    assert db_value(decimal.Decimal("12.50")) == 12.5
    assert db_value(dt.datetime(2024, 1, 2, 3, 4, 5)) == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    aware = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert db_value(aware) is aware
    assert db_value(dt.date(2024, 1, 2)) == dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    assert db_value(dt.time(10, 30)) == "10:30:00"
    assert db_value(dt.timedelta(hours=26, minutes=3, seconds=4)) == "26:03:04"
    assert db_value(-dt.timedelta(seconds=61)) == "-00:01:01"
    assert db_value(memoryview(b"ab")) == b"ab"
    u = uuid.uuid4()
    assert db_value(u) == str(u)
    assert db_value({"a": [decimal.Decimal("1"), None]}) == {"a": [1.0, None]}
    assert db_value(True) is True and db_value(3) == 3 and db_value(None) is None


def test_connection_errors_in_words():
    t = parse_db_url("postgres://u:pw@127.0.0.1:5999/d")

    class Err(Exception):
        pass

    def words(message: str) -> str:
        return describe_db_error(Err(message), t)

    assert "connection refused (is the database server running on 127.0.0.1:5999?)" in words(
        'connection to server at "127.0.0.1", port 5999 failed: Connection refused')
    assert "bad credentials" in words('FATAL: password authentication failed for user "u"')
    assert "bad credentials" in words("(1045, \"Access denied for user 'u'@'127.0.0.1' (using password: YES)\")")
    assert "database does not exist" in words('FATAL: database "nope" does not exist')
    assert "database does not exist" in words("(1049, \"Unknown database 'nope'\")")
    assert "unknown host" in words('could not translate host name "nohost" to address')
    assert "pw" not in words("anything").replace("postgres://u:***", "")
