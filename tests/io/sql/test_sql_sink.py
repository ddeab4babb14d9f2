"""The sql sink (arrokoth.io.sinks.sql) against SQLite files and live PostgreSQL and MariaDB
servers: alone through the AsyncSink protocol, and in rules where the SinkNode retries."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.sinks.base import CONNECTED, DISCONNECTED, SinkConfigError, SinkSendError
from arrokoth.io.sinks.sql import SqlSink, SqlWriteError

pytestmark = pytest.mark.anyio


@pytest.fixture
async def sql_sink():
    """`await sql_sink(props)`: a connected sink, closed at the end."""
    made: list[SqlSink] = []

    async def make(props: dict, connect: bool = True) -> SqlSink:
        sink = SqlSink(props)
        made.append(sink)
        if connect:
            await sink.connect()
        return sink

    yield make
    for sink in made:
        await sink.aclose()


def make_table(db, stem: str = "out") -> str:
    t = db.table(stem)
    text = "TEXT" if db.kind != "mariadb" else "VARCHAR(200)"
    db.execute(f"CREATE TABLE {t} (id INTEGER PRIMARY KEY, name VARCHAR(20), temperature REAL, "
               f"ts {db.datetime_type} NULL, meta {text})")
    return t


def content(db, t: str) -> list[tuple]:
    return db.rows(f"SELECT id, name, temperature FROM {t} ORDER BY id")


async def test_inserts_a_row_and_a_batch(db, sql_sink):
    t = make_table(db)
    sink = await sql_sink({"url": db.url, "table": t})
    assert sink.status == CONNECTED
    await sink.send_async(None, {"id": 1, "name": "a", "temperature": 20.5})
    # without sendSingle the rule sends a list: one insert of all its rows
    await sink.send_async(None, [{"id": 2, "name": "b", "temperature": 21}, {"id": 3, "name": "c"},
                                 {"id": 4, "name": "d", "temperature": None}])
    assert content(db, t) == [(1, "a", 20.5), (2, "b", 21.0), (3, "c", None), (4, "d", None)]


async def test_values_of_every_kind(db, sql_sink):
    t = make_table(db)
    sink = await sql_sink({"url": db.url, "table": t})
    when = dt.datetime(2024, 5, 6, 7, 8, 9)
    await sink.send_async(None, {"id": 1, "name": "it's", "ts": when, "meta": {"tags": ["x", "y"], "n": 1}})
    [(name, ts, meta)] = db.rows(f"SELECT name, ts, meta FROM {t}")
    assert name == "it's"
    assert json.loads(meta) == {"tags": ["x", "y"], "n": 1}
    assert (ts if isinstance(ts, dt.datetime) else dt.datetime.fromisoformat(ts)) == when


async def test_fields_choose_the_columns(db, sql_sink):
    t = make_table(db)
    sink = await sql_sink({"url": db.url, "table": t, "fields": ["id", "name"]})
    await sink.send_async(None, [{"id": 1, "name": "a", "extra": "not a column"}, {"id": 2}])
    assert content(db, t) == [(1, "a", None), (2, None, None)]


async def test_table_data_field_writes_the_nested_rows(sqlite_db, sql_sink):
    t = make_table(sqlite_db)
    sink = await sql_sink({"url": sqlite_db.url, "table": t, "tableDataField": "telemetry",
                           "fields": ["id", "temperature"]})
    await sink.send_async(None, {"telemetry": [{"id": 1, "temperature": 32.5, "humidity": 80},
                                               {"id": 2, "temperature": 34.5}]})
    await sink.send_async(None, [{"telemetry": {"id": 3, "temperature": 1.5}}, {"other": 1}])
    assert content(sqlite_db, t) == [(1, None, 32.5), (2, None, 34.5), (3, None, 1.5)]


async def test_row_kinds_insert_update_delete_upsert(db, sql_sink):
    t = make_table(db)
    sink = await sql_sink({"url": db.url, "table": t, "rowkindField": "action", "keyField": "id"})
    await sink.send_async(None, [{"action": "insert", "id": 1, "name": "a"}, {"id": 2, "name": "b"},
                                 {"action": "INSERT", "id": 3, "name": "c"}])
    assert content(db, t) == [(1, "a", None), (2, "b", None), (3, "c", None)]
    await sink.send_async(None, {"action": "update", "id": 1, "name": "A", "temperature": 5})
    await sink.send_async(None, {"action": "delete", "id": 2})
    await sink.send_async(None, {"action": "upsert", "id": 3, "name": "C"})
    await sink.send_async(None, {"action": "upsert", "id": 4, "name": "d"})
    # an update of a key that is not there changes nothing
    await sink.send_async(None, {"action": "update", "id": 9, "name": "z"})
    assert content(db, t) == [(1, "A", 5.0), (3, "C", None), (4, "d", None)]


async def test_a_constraint_violation_is_not_retried(db, sql_sink):
    t = make_table(db)
    sink = await sql_sink({"url": db.url, "table": t})
    await sink.send_async(None, {"id": 1, "name": "a"})
    with pytest.raises(SqlWriteError, match=f"cannot write to {t}"):
        await sink.send_async(None, {"id": 1, "name": "again"})
    # a batch is one transaction: none of it is written
    with pytest.raises(SqlWriteError):
        await sink.send_async(None, [{"id": 2, "name": "b"}, {"id": 1, "name": "dup"}])
    assert content(db, t) == [(1, "a", None)]
    with pytest.raises(SqlWriteError):
        await sink.send_async(None, {"id": 5, "no_such_column": 1})
    assert sink.status == CONNECTED
    await sink.send_async(None, {"id": 2, "name": "b"})
    assert content(db, t) == [(1, "a", None), (2, "b", None)]


async def test_a_bad_row_among_row_kinds_spares_the_others(db, sql_sink):
    t = make_table(db)
    sink = await sql_sink({"url": db.url, "table": t, "rowkindField": "action", "keyField": "id"})
    with pytest.raises(SqlWriteError, match=r"3 of 5 rows failed") as info:
        await sink.send_async(None, [{"id": 1, "name": "a"}, {"id": 1, "name": "dup"}, {"action": "merge", "id": 7},
                                     {"action": "delete", "name": "no key"}, {"id": 2, "name": "b"}])
    # the first failure is named
    assert "dup" in str(info.value) or "duplicate" in str(info.value).lower() or "unique" in str(info.value).lower()
    assert content(db, t) == [(1, "a", None), (2, "b", None)]
    with pytest.raises(SqlWriteError, match="rowkind field action is not a string"):
        await sink.send_async(None, {"action": 1, "id": 3})


async def test_an_unreachable_database_is_a_recoverable_failure(postgres_server, sql_sink, closed_port):
    props = {"url": postgres_server.url(port=closed_port), "table": "t"}
    sink = await sql_sink(props, connect=False)
    with pytest.raises(SinkSendError, match="refused"):
        await sink.connect()
    with pytest.raises(SinkSendError, match="refused") as info:
        await sink.send_async(None, {"id": 1})
    assert sink.status == DISCONNECTED
    assert "s3cret" not in str(info.value)


async def test_a_lost_connection_is_recoverable(postgres_server, sql_sink):
    import sqlalchemy as sa

    t = f"lost_{id(sql_sink) % 100000}"
    with postgres_server.engine().begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {t} (id INTEGER)"))
    sink = await sql_sink({"url": postgres_server.url(), "table": t})
    await sink.send_async(None, {"id": 1})
    # the pool checks its connection before use, so a dropped one is replaced unnoticed
    with postgres_server.engine().connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE pid <> pg_backend_pid() AND datname = current_database()"))
    await sink.send_async(None, {"id": 2})
    assert postgres_server.engine().connect().execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() == 2


@pytest.mark.parametrize(("props", "message"), [
    ({"table": "t"}, "dburl: the database url is required"),
    ({"url": "sqlite:/x.db"}, "table: property table is required"),
    ({"url": "sqlite:/x.db", "table": "t", "rowkindField": "action"}, "keyField: keyField is required"),
    ({"url": "sqlite:/x.db", "table": "t", "fields": "id"}, "fields: expected a list of strings"),
    ({"url": "ora://u:p@h/x", "table": "t"}, "pip install oracledb"),
])
def test_bad_properties(props, message):
    with pytest.raises(SinkConfigError, match=message):
        SqlSink(props)


async def test_ping(postgres_server, closed_port):
    await SqlSink.ping({"url": postgres_server.url()}, 5)
    with pytest.raises(ConnectionCheckError, match="bad credentials"):
        await SqlSink.ping({"url": postgres_server.url(password="nope")}, 5)
    with pytest.raises(ConnectionCheckError, match="connection refused"):
        await SqlSink.ping({"url": postgres_server.url(port=closed_port)}, 5)


# --- in rules ----------------------------------------------------------------------------------


@pytest.fixture
def engine(engine):
    """The conftest's engine with a memory stream `readings` (topic sql/sink/in)."""
    engine.create_stream('CREATE STREAM readings () WITH (DATASOURCE="sql/sink/in", TYPE="memory")')
    return engine


async def test_a_rule_writes_its_results(db, engine, eventually):
    from arrokoth.io.memory_bus import bus

    t = make_table(db)
    await engine.create_rule({"id": "r1", "sql": "SELECT id, name, temperature FROM readings WHERE temperature > 0",
                              "actions": [{"sql": {"url": db.url, "table": t}}]})
    bus.publish("sql/sink/in", [{"id": 1, "name": "a", "temperature": 1.5}, {"id": 2, "name": "b", "temperature": -1}])
    bus.publish("sql/sink/in", [{"id": 3, "name": "c", "temperature": 3.5}])
    # a duplicate key: dropped and counted, the rule goes on
    bus.publish("sql/sink/in", [{"id": 1, "name": "dup", "temperature": 9}])
    bus.publish("sql/sink/in", [{"id": 4, "name": "d", "temperature": 4.5}])
    await eventually(lambda: len(content(db, t)) == 3 and engine.rule_status("r1")[1]["sink_sql_0_0_exceptions_total"] >= 1)
    assert content(db, t) == [(1, "a", 1.5), (3, "c", 3.5), (4, "d", 4.5)]
    await eventually(lambda: engine.rule_status("r1")[1]["sink_sql_0_0_records_out_total"] == 3)
    _, metrics = engine.rule_status("r1")
    assert metrics["sink_sql_0_0_connection_status"] == 1
    assert "cannot write to" in metrics["sink_sql_0_0_last_exception"]


async def test_a_rule_with_row_kinds_and_send_single(sqlite_db, engine, eventually):
    from arrokoth.io.memory_bus import bus

    t = make_table(sqlite_db)
    await engine.create_rule({"id": "r1", "sql": "SELECT * FROM readings", "actions": [{"sql": {
        "url": sqlite_db.url, "table": t, "rowkindField": "action", "keyField": "id", "sendSingle": True}}]})
    bus.publish("sql/sink/in", [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
    await eventually(lambda: len(content(sqlite_db, t)) == 2)
    bus.publish("sql/sink/in", [{"action": "update", "id": 1, "name": "A"}, {"action": "delete", "id": 2}])
    await eventually(lambda: content(sqlite_db, t) == [(1, "A", None)])


async def test_a_rule_caches_while_the_database_is_away(tmp_path, engine, eventually):
    """SQLite's file stands in for a server that comes back: a missing directory cannot be opened."""
    from arrokoth.io.memory_bus import bus

    folder = tmp_path / "later"
    url = f"sqlite:{folder / 'db.sqlite'}"
    await engine.create_rule({"id": "r1", "sql": "SELECT id FROM readings", "actions": [{"sql": {
        "url": url, "table": "t", "enableCache": True, "resendInterval": 10}}]})
    bus.publish("sql/sink/in", [{"id": 1}])
    bus.publish("sql/sink/in", [{"id": 2}])
    await eventually(lambda: engine.rule_status("r1")[1]["sink_sql_0_0_connection_status"] == -1)
    folder.mkdir()
    import sqlite3

    with sqlite3.connect(folder / "db.sqlite") as conn:
        conn.execute("CREATE TABLE t (id INTEGER)")
    conn.close()

    def rows() -> list:
        with sqlite3.connect(folder / "db.sqlite") as c:
            out = [r[0] for r in c.execute("SELECT id FROM t ORDER BY id")]
        c.close()
        return out

    await eventually(lambda: rows() == [1, 2], timeout=15, what="the cached rows written")
    assert engine.rule_status("r1")[1]["sink_sql_0_0_connection_status"] == 1


async def test_a_bad_property_fails_the_rule_creation(engine):
    from arrokoth.engine import EngineError

    with pytest.raises(EngineError) as e:
        await engine.create_rule({"id": "r1", "sql": "SELECT * FROM readings",
                                  "actions": [{"sql": {"url": "sqlite:/x.db"}}]})
    assert "table: property table is required" in e.value.message
