"""The sql source (arrokoth.io.sources.sql) against SQLite files and live PostgreSQL and MariaDB
servers, on a real asyncio loop: every wait has a deadline, no assertion rests on a sleep."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from arrokoth.io._sql_query import TemplateQuery, query_from_props
from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.sources.base import CONNECTED, CONNECTING, DISCONNECTED, SourceConfigError
from arrokoth.io.sources.sql import SqlSource
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.clock import RealClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse

pytestmark = pytest.mark.anyio


class Pulled:
    def __init__(self, source: SqlSource):
        self.source = source
        self.rows: list[dict] = []
        self.errors: list[str] = []
        source.feed.subscribe(lambda index, row: self.rows.append(row.msg), 0, self.errors.append)


def new_source(props: dict) -> SqlSource:
    sql = 'CREATE STREAM s () WITH (DATASOURCE="ignored", TYPE="sql")'
    d = StreamDef.from_ast(parse(sql), sql)
    return SqlSource(d, props, StreamFeed(d, RealClock()))


@pytest.fixture
async def pull():
    """`pull(props)` builds a source on a stream of its own; all are stopped at the end."""
    made: list[SqlSource] = []

    def make(props: dict) -> Pulled:
        source = new_source(props)
        made.append(source)
        return Pulled(source)

    yield make
    for source in made:
        await source.stop()


def ids(rows: list[dict]) -> list:
    return [r["id"] for r in rows]


# --- incremental queries on each database --------------------------------------------------------


async def test_an_integer_index_reads_only_new_rows(db, pull, eventually):
    t = db.table()
    db.execute(f"CREATE TABLE {t} (id INTEGER PRIMARY KEY, name VARCHAR(20), price DECIMAL(10,2))",
               f"INSERT INTO {t} VALUES (1, 'a', 1.50), (2, 'b', 2.25), (3, 'c', NULL)")
    p = pull({"url": db.url, "interval": 30,
              "internalSqlQueryCfg": {"table": t, "indexField": "id", "indexValue": 1, "limit": 10}})
    assert p.source.status == CONNECTING
    await p.source.start()
    await eventually(lambda: len(p.rows) >= 2, what="the rows after the start index")
    assert p.rows == [{"id": 2, "name": "b", "price": 2.25}, {"id": 3, "name": "c", "price": None}]
    assert p.source.status == CONNECTED
    db.execute(f"INSERT INTO {t} VALUES (4, 'd', 4), (5, 'e', 5)")
    await eventually(lambda: len(p.rows) >= 4, what="the rows inserted later")
    # a few more queries find nothing new
    before = p.source.last_try
    await eventually(lambda: p.source.last_try > before + 60, what="more queries")
    assert ids(p.rows) == [2, 3, 4, 5]
    assert p.rows[2] == {"id": 4, "name": "d", "price": 4.0}
    assert p.errors == [] and p.source.exceptions == 0
    assert p.source.records_in == 4


async def test_a_datetime_index_in_its_format(db, pull, eventually):
    t = db.table()
    db.execute(f"CREATE TABLE {t} (id INTEGER, registerTime {db.datetime_type})",
               f"INSERT INTO {t} VALUES (1, '2022-04-21 10:23:55'), (2, '2022-04-21 10:23:56'), "
               f"(3, '2022-04-22 00:00:00')")
    p = pull({"url": db.url, "interval": 30, "internalSqlQueryCfg": {
        "table": t, "limit": 1, "indexField": "registerTime", "indexValue": "2022-04-21 10:23:55",
        "indexFieldType": "DATETIME", "dateTimeFormat": "YYYY-MM-dd HH:mm:ss"}})
    await p.source.start()
    # one row a query (limit 1), in index order, never the start row again
    await eventually(lambda: len(p.rows) >= 2)
    db.execute(f"INSERT INTO {t} VALUES (4, '2023-01-01 08:00:00')")
    await eventually(lambda: len(p.rows) >= 3)
    assert ids(p.rows) == [2, 3, 4]
    # PostgreSQL folds the unquoted column name to registertime
    first = {k.lower(): v for k, v in p.rows[0].items()}["registertime"]
    if db.kind == "sqlite":
        assert first == "2022-04-21 10:23:56"  # SQLite keeps times as the text written
    else:
        assert first == dt.datetime(2022, 4, 21, 10, 23, 56, tzinfo=dt.UTC)
    assert p.errors == []


async def test_a_template_query(db, pull, eventually):
    t = db.table()
    db.execute(f"CREATE TABLE {t} (id INTEGER, v VARCHAR(10))", f"INSERT INTO {t} VALUES (1, 'x'), (2, 'y')")
    p = pull({"url": db.url, "interval": 30, "templateSqlQueryCfg": {
        "templateSql": f"select id, v from {t} where id > {{{{.id}}}} and v like 'y%' order by id",
        "indexField": "id", "indexValue": 0}})
    await p.source.start()
    await eventually(lambda: len(p.rows) >= 1)
    db.execute(f"INSERT INTO {t} VALUES (3, 'no'), (4, 'yes')")
    await eventually(lambda: len(p.rows) >= 2)
    assert p.rows == [{"id": 2, "v": "y"}, {"id": 4, "v": "yes"}]
    assert p.errors == []


# --- query building (SQLite) -----------------------------------------------------------------------


async def test_without_an_index_each_query_reads_the_whole_table(sqlite_db, pull, eventually):
    t = sqlite_db.table()
    sqlite_db.execute(f"CREATE TABLE {t} (id INTEGER)", f"INSERT INTO {t} VALUES (1), (2)")
    p = pull({"url": sqlite_db.url, "interval": 20, "internalSqlQueryCfg": {"table": t}})
    await p.source.start()
    await eventually(lambda: len(p.rows) >= 6)
    assert ids(p.rows[:6]) == [1, 2, 1, 2, 1, 2]


async def test_several_index_fields(sqlite_db, pull, eventually):
    t = sqlite_db.table()
    sqlite_db.execute(f"CREATE TABLE {t} (a INTEGER, b INTEGER, id INTEGER)",
                      f"INSERT INTO {t} VALUES (1, 1, 1), (2, 1, 2), (2, 2, 3), (3, 3, 4)")
    p = pull({"url": sqlite_db.url, "interval": 20, "internalSqlQueryCfg": {"table": t, "indexFields": [
        {"indexField": "a", "indexValue": 1}, {"indexField": "b", "indexValue": 0}]}})
    await p.source.start()
    await eventually(lambda: len(p.rows) >= 3)
    # a > 1 AND b > 0, ordered by a then b; then both move on to (3, 3)
    assert ids(p.rows) == [2, 3, 4]
    assert p.source.query.offsets() == {"a": 3, "b": 3}


async def test_the_limit_pages_through_the_table(sqlite_db, pull, eventually):
    t = sqlite_db.table()
    sqlite_db.execute(f"CREATE TABLE {t} (id INTEGER)", *(f"INSERT INTO {t} VALUES ({i})" for i in range(1, 8)))
    p = pull({"url": sqlite_db.url, "interval": 20,
              "internalSqlQueryCfg": {"table": t, "limit": 3, "indexField": "id", "indexValue": 0}})
    await p.source.start()
    await eventually(lambda: len(p.rows) >= 7)
    assert ids(p.rows) == [1, 2, 3, 4, 5, 6, 7]


def test_the_generated_statements():
    from sqlalchemy.dialects import mysql, postgresql, sqlite

    q = query_from_props({"internalSqlQueryCfg": {"table": "Student", "limit": 10, "indexField": "stun",
                                                  "indexValue": 100}})

    def sql(dialect) -> str:
        return " ".join(str(q.statement(dialect).compile(dialect=dialect)).split())

    assert sql(postgresql.dialect()) == (
        "SELECT * FROM Student WHERE stun > %(idx0)s ORDER BY stun ASC LIMIT %(param_1)s::INTEGER")
    assert sql(mysql.dialect()) == "SELECT * FROM Student WHERE stun > %s ORDER BY stun ASC LIMIT %s"
    assert sql(sqlite.dialect()) == "SELECT * FROM Student WHERE stun > ? ORDER BY stun ASC LIMIT ? OFFSET ?"
    # a column name that is no plain identifier is quoted, never pasted
    q2 = query_from_props({"internalSqlQueryCfg": {"table": "t", "indexField": 'x" OR 1=1 --', "indexValue": 1}})
    text = str(q2.statement(postgresql.dialect()).compile(dialect=postgresql.dialect()))
    assert '"x"" OR 1=1 --" >' in text


def test_datetime_index_values_are_written_in_their_format():
    q = query_from_props({"internalSqlQueryCfg": {
        "table": "t", "indexField": "ts", "indexValue": "2022-04-13 06:22:32.233", "indexFieldType": "DATETIME",
        "dateTimeFormat": "YYYY-MM-dd HH:mm:ssSSS"}})
    assert q.fields[0].param() == "2022-04-13 06:22:32.233"
    q.update({"ts": dt.datetime(2024, 5, 6, 7, 8, 9, 120000)})  # a value read from the database
    assert q.fields[0].param() == "2024-05-06 07:08:09.120"


def test_the_template_sees_the_index_values_as_text():
    q = query_from_props({"templateSqlQueryCfg": {
        "templateSql": "select * from t where ts > '{{.ts}}' and id > {{.id}}", "indexFields": [
            {"indexField": "ts", "indexValue": "2022-04-21 10:23:55", "indexFieldType": "DATETIME",
             "dateTimeFormat": "YYYY-MM-dd HH:mm:ss"},
            {"indexField": "id", "indexValue": 7}]},
        "internalSqlQueryCfg": {"table": "ignored"}})
    assert isinstance(q, TemplateQuery)  # it wins over internalSqlQueryCfg
    assert q.render() == "select * from t where ts > '2022-04-21 10:23:55' and id > 7"
    # eKuiper's single indexField wins over the list
    q2 = query_from_props({"templateSqlQueryCfg": {"templateSql": "{{.a}}", "indexField": "a", "indexValue": 1,
                                                   "indexFields": [{"indexField": "b", "indexValue": 2}]}})
    assert q2.offsets() == {"a": 1}


@pytest.mark.parametrize(("props", "message"), [
    ({}, "dburl: the database url is required"),
    ({"url": "sqlite:/x.db"}, "internalSqlQueryCfg: either internalSqlQueryCfg or templateSqlQueryCfg"),
    ({"url": "sqlite:/x.db", "internalSqlQueryCfg": {}}, "internalSqlQueryCfg.table: the table"),
    ({"url": "sqlite:/x.db", "internalSqlQueryCfg": {"table": "t", "limit": -1}}, "internalSqlQueryCfg.limit"),
    ({"url": "sqlite:/x.db", "internalSqlQueryCfg": {"table": "t"}, "interval": 0}, "interval: interval should"),
    ({"url": "sqlite:/x.db", "internalSqlQueryCfg": {"table": "t"}, "interval": "soon"}, "interval: invalid"),
    ({"url": "sqlite:/x.db", "templateSqlQueryCfg": {"templateSql": "{{.a"}}, "templateSqlQueryCfg.templateSql"),
    ({"url": "sqlite:/x.db", "templateSqlQueryCfg": {}}, "templateSqlQueryCfg.templateSql: the sql statement"),
    ({"url": "sqlite:/x.db", "internalSqlQueryCfg": {"table": "t", "indexField": "ts", "indexValue": "yesterday",
                                                     "indexFieldType": "DATETIME", "dateTimeFormat": "YYYY-MM-dd"}},
     "internalSqlQueryCfg.indexValue: InterfaceToTime"),
    ({"url": "oracle://u:p@h/x", "internalSqlQueryCfg": {"table": "t"}}, "dburl: .*pip install oracledb"),
    ({"url": "nosql://h", "internalSqlQueryCfg": {"table": "t"}}, "unsupported database url scheme"),
])
def test_bad_properties(props, message):
    with pytest.raises(SourceConfigError, match=message):
        new_source(props)


def test_defaults_and_durations():
    s = new_source({"dburl": "sqlite:/x.db", "internalSqlQueryCfg": {"table": "t"}})
    assert s.interval_ms == 10_000
    assert new_source({"url": "sqlite:/x.db", "Interval": "2s", "internalSqlQueryCfg": {"table": "t"}}).interval_ms == 2000


# --- failures --------------------------------------------------------------------------------------


async def test_a_database_that_is_down_is_reported_and_queried_again(postgres_server, pull, eventually,
                                                                     closed_port):
    p = pull({"url": postgres_server.url(port=closed_port), "interval": 30,
              "internalSqlQueryCfg": {"table": "t"}})
    await p.source.start()
    await eventually(lambda: p.source.exceptions >= 2, what="two failed queries")
    assert p.source.status == DISCONNECTED
    assert "refused" in p.source.last_disconnected_message.lower()
    assert p.errors[0].startswith("query sql error")
    assert "s3cret" not in " ".join(p.errors)


async def test_a_failing_query_is_counted_but_the_source_stays_connected(sqlite_db, pull, eventually):
    sqlite_db.execute("CREATE TABLE present (id INTEGER)")
    p = pull({"url": sqlite_db.url, "interval": 30, "internalSqlQueryCfg": {"table": "missing_table"}})
    await p.source.start()
    await eventually(lambda: p.source.exceptions >= 1)
    assert "no such table" in p.source.last_exception
    assert p.source.status != DISCONNECTED


async def test_stop_ends_the_queries(sqlite_db, pull, eventually):
    t = sqlite_db.table()
    sqlite_db.execute(f"CREATE TABLE {t} (id INTEGER)", f"INSERT INTO {t} VALUES (1)")
    p = pull({"url": sqlite_db.url, "interval": 20, "internalSqlQueryCfg": {"table": t}})
    await p.source.start()
    await eventually(lambda: len(p.rows) >= 1)
    await p.source.stop()
    assert p.source._task is None and p.source._engine is None
    await p.source.stop()  # twice is harmless


# --- ping ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["postgres", "mariadb"])
async def test_ping(kind, request, closed_port):
    server = request.getfixturevalue("postgres_server" if kind == "postgres" else "mariadb_server")
    await SqlSource.ping({"url": server.url()}, 5)
    await SqlSource.ping({"dburl": server.url(), "url": "mysql://nobody@127.0.0.1:1/x"}, 5)
    with pytest.raises(ConnectionCheckError, match="connection refused") as info:
        await SqlSource.ping({"url": server.url(port=closed_port)}, 5)
    assert "s3cret" not in str(info.value) and "***" in str(info.value)
    with pytest.raises(ConnectionCheckError, match="bad credentials"):
        await SqlSource.ping({"url": server.url(password="wrong")}, 5)
    with pytest.raises(ConnectionCheckError, match="database does not exist"):
        await SqlSource.ping({"url": server.url(database="nope")}, 5)


async def test_ping_sqlite(sqlite_db, tmp_path):
    sqlite_db.execute("CREATE TABLE x (id INTEGER)")
    await SqlSource.ping({"url": sqlite_db.url}, 5)
    with pytest.raises(ConnectionCheckError, match="does not exist"):
        await SqlSource.ping({"url": f"sqlite:{tmp_path / 'absent.db'}"}, 5)
    assert not (tmp_path / "absent.db").exists()
    (tmp_path / "junk.db").write_bytes(b"this is no database, not at all" * 10)
    with pytest.raises(ConnectionCheckError, match="not a database"):
        await SqlSource.ping({"url": f"sqlite:{tmp_path / 'junk.db'}"}, 5)


async def test_ping_rejects_bad_properties():
    with pytest.raises(ConnectionCheckError, match="dburl: the database url is required"):
        await SqlSource.ping({}, 5)
    with pytest.raises(ConnectionCheckError, match="pip install pymssql"):
        await SqlSource.ping({"url": "sqlserver://u:p@127.0.0.1/db"}, 5)


# --- in the engine -----------------------------------------------------------------------------------


async def test_a_stream_in_the_engine(sqlite_db, eventually, tmp_path):
    from arrokoth.config import Config
    from arrokoth.engine import Engine
    from arrokoth.io.memory_bus import bus
    from arrokoth.store import open_store

    t = sqlite_db.table()
    sqlite_db.execute(f"CREATE TABLE {t} (id INTEGER, temperature REAL)",
                      f"INSERT INTO {t} VALUES (1, 20.5), (2, 31.0), (3, 35.5)")
    got: list[dict] = []
    token = bus.subscribe("sql/test/out", lambda topic, rows: got.extend(rows))
    engine = Engine(Config({"basic": {"httpServerIp": "127.0.0.1", "httpServerPort": 0}}, data_dir=tmp_path),
                    open_store("sqlite::memory:"))
    await engine.open()
    try:
        extra = json.dumps({"url": sqlite_db.url, "interval": 30, "internalSqlQueryCfg": {
            "table": t, "indexField": "id", "indexValue": 0}}).replace('"', '\\"')
        engine.create_stream(f'CREATE STREAM readings () WITH (DATASOURCE="{t}", TYPE="sql", EXTRA="{extra}")')
        await engine.create_rule({"id": "r1", "sql": "SELECT id, temperature FROM readings WHERE temperature > 30",
                                  "actions": [{"memory": {"topic": "sql/test/out"}}]})
        await eventually(lambda: len(got) >= 2)
        sqlite_db.execute(f"INSERT INTO {t} VALUES (4, 40.0), (5, 10.0)")
        await eventually(lambda: len(got) >= 3)
        assert got == [{"id": 2, "temperature": 31.0}, {"id": 3, "temperature": 35.5}, {"id": 4, "temperature": 40.0}]
        _, metrics = engine.rule_status("r1")
        assert metrics["source_readings_0_connection_status"] == 1
        await engine.stop_rule("r1")
        assert "readings" not in engine.sources
    finally:
        bus.unsubscribe(token)
        await engine.close()


async def test_the_rest_connectivity_checks(mariadb_server, postgres_server, sqlite_db, tmp_path, closed_port):
    import httpx

    from arrokoth.config import Config
    from arrokoth.engine import Engine
    from arrokoth.server.app import create_app
    from arrokoth.store import open_store

    sqlite_db.execute("CREATE TABLE x (id INTEGER)")
    engine = Engine(Config({"basic": {"httpServerIp": "127.0.0.1", "httpServerPort": 0}}, data_dir=tmp_path),
                    open_store("sqlite::memory:"))
    await engine.open()
    try:
        transport = httpx.ASGITransport(app=create_app(engine))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            for kind in ("sources", "sinks", "lookups"):
                for server in (mariadb_server, postgres_server):
                    ok = await api.post(f"/metadata/{kind}/connection/sql", json={"url": server.url()})
                    assert ok.status_code == 200, ok.text
                ok = await api.post(f"/metadata/{kind}/connection/sql", json={"dburl": sqlite_db.url})
                assert ok.status_code == 200, ok.text
            bad = await api.post("/metadata/sinks/connection/sql",
                                 json={"url": mariadb_server.url(port=closed_port)})
            assert bad.status_code == 400
            assert "connection refused" in bad.json()["message"] and "s3cret" not in bad.text
            bad = await api.post("/metadata/sources/connection/sql", json={"url": postgres_server.url(password="nope")})
            assert bad.status_code == 400 and bad.json()["error"] == 1003, bad.text
            assert "password" in bad.json()["message"].lower() and "nope" not in bad.text
    finally:
        await engine.close()


@pytest.mark.parametrize("scheme", ["postgres", "mysql"])
async def test_ping_of_a_server_that_never_answers_times_out(scheme):
    import socket

    # the kernel completes the handshake, but no database ever greets the client
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        with pytest.raises(ConnectionCheckError, match="timed out"):
            await SqlSource.ping({"url": f"{scheme}://u:pw@127.0.0.1:{port}/db"}, 1)
