"""The sql lookup table (arrokoth.io.lookup.sql) against SQLite files and live PostgreSQL and
MariaDB servers, alone and joined in a rule through the engine (with its lookup cache)."""

from __future__ import annotations

import json

import pytest

from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.lookup.base import LookupConfigError, LookupFailed
from arrokoth.io.lookup.sql import SqlLookupTable
from arrokoth.plan.streams import StreamDef
from arrokoth.sql import parse


def table_def(datasource: str) -> StreamDef:
    sql = f'CREATE TABLE lk () WITH (DATASOURCE="{datasource}", TYPE="sql", KIND="lookup")'
    return StreamDef.from_ast(parse(sql), sql)


@pytest.fixture
def lookup_table():
    made: list[SqlLookupTable] = []

    def make(datasource: str, props: dict) -> SqlLookupTable:
        t = SqlLookupTable(table_def(datasource), props)
        made.append(t)
        return t

    yield make
    for t in made:
        t.close()


def test_lookup_by_key(db, lookup_table):
    t = db.table()
    db.execute(f"CREATE TABLE {t} (id INTEGER, name VARCHAR(20), region VARCHAR(10), rate DECIMAL(5,2))",
               f"INSERT INTO {t} VALUES (1, 'one', 'north', 1.5), (2, 'two', 'south', NULL), (3, 'three', 'south', 3)")
    lk = lookup_table(t, {"url": db.url})
    assert lk.lookup(["id"], [2]) == [{"id": 2, "name": "two", "region": "south", "rate": None}]
    assert lk.lookup(["id"], [9]) == []
    assert sorted(r["id"] for r in lk.lookup(["region"], ["south"])) == [2, 3]
    assert lk.lookup(["region", "id"], ["south", 3]) == [{"id": 3, "name": "three", "region": "south", "rate": 3.0}]
    # a key value of another type is fitted to the column by the database
    assert [r["id"] for r in lk.lookup(["id"], ["1"])] == [1]
    assert lk.lookup(["id"], [None]) == []


def test_values_are_bound_never_pasted(db, lookup_table):
    t = db.table()
    db.execute(f"CREATE TABLE {t} (id INTEGER, name VARCHAR(40))", f"INSERT INTO {t} VALUES (1, 'it''s')")
    lk = lookup_table(t, {"url": db.url})
    assert lk.lookup(["name"], ["it's"]) == [{"id": 1, "name": "it's"}]
    assert lk.lookup(["name"], ["x' OR '1'='1"]) == []


def test_odd_column_names_are_quoted(db, lookup_table):
    t = db.table()
    q = '`' if db.kind == "mariadb" else '"'
    db.execute(f"CREATE TABLE {t} ({q}user{q} VARCHAR(10), {q}device-id{q} INTEGER)",
               f"INSERT INTO {t} VALUES ('ann', 7)")
    lk = lookup_table(t, {"url": db.url})
    assert lk.lookup(["device-id"], [7]) == [{"user": "ann", "device-id": 7}]
    assert lk.lookup(["user"], ["ann"]) == [{"user": "ann", "device-id": 7}]


def test_a_missing_table_fails_the_lookup(db, lookup_table):
    lk = lookup_table("no_such_table", {"url": db.url})
    with pytest.raises(LookupFailed, match="no_such_table"):
        lk.lookup(["id"], [1])


def test_a_template_statement(sqlite_db, lookup_table):
    t = sqlite_db.table()
    sqlite_db.execute(f"CREATE TABLE {t} (id INTEGER, name VARCHAR(20))", f"INSERT INTO {t} VALUES (1, 'a'), (2, 'b')")
    lk = lookup_table("", {"url": sqlite_db.url, "templateSqlQueryCfg": {
        "templateSql": f"select name from {t} where id = {{{{.id}}}} or id = {{{{.id}}}} + 1 order by id"}})
    assert lk.lookup(["id"], [1]) == [{"name": "a"}, {"name": "b"}]


@pytest.mark.parametrize("kind", ["postgres", "mariadb"])
def test_a_dropped_connection_is_replaced(kind, request, lookup_table):
    server = request.getfixturevalue("postgres_server" if kind == "postgres" else "mariadb_server")
    import sqlalchemy as sa

    t = f"drop_{kind}"
    with server.engine().begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {t}"))
        conn.execute(sa.text(f"CREATE TABLE {t} (id INTEGER)"))
        conn.execute(sa.text(f"INSERT INTO {t} VALUES (1)"))
    lk = lookup_table(t, {"url": server.url()})
    assert lk.lookup(["id"], [1]) == [{"id": 1}]
    # the server drops every other connection (as a restart would)
    with server.engine().connect() as conn:
        if kind == "postgres":
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE pid <> pg_backend_pid() AND datname = current_database()"))
        else:
            me = conn.execute(sa.text("SELECT CONNECTION_ID()")).scalar()
            for (pid,) in conn.execute(sa.text("SELECT id FROM information_schema.processlist "
                                               "WHERE user = 'arrokoth' AND id <> :me"), {"me": me}):
                conn.execute(sa.text(f"KILL {pid}"))
    assert lk.lookup(["id"], [1]) == [{"id": 1}]


def test_an_unreachable_database_fails_within_the_timeout(postgres_server, lookup_table, closed_port):
    lk = lookup_table("t", {"url": postgres_server.url(port=closed_port)})
    with pytest.raises(LookupFailed, match="refused") as info:
        lk.lookup(["id"], [1])
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize(("datasource", "props", "message"), [
    ("", {"url": "sqlite:/x.db"}, "DATASOURCE: the sql lookup table needs the table name"),
    ("t", {}, "dburl: the database url is required"),
    ("t", {"url": "sqlserver://u:p@h/d"}, "pip install pymssql"),
    ("", {"url": "sqlite:/x.db", "templateSqlQueryCfg": {"templateSql": "{{.id"}}, "templateSqlQueryCfg.templateSql"),
])
def test_bad_properties(datasource, props, message):
    with pytest.raises(LookupConfigError, match=message):
        SqlLookupTable(table_def(datasource), props)


@pytest.mark.anyio
async def test_ping(mariadb_server, closed_port):
    await SqlLookupTable.ping({"url": mariadb_server.url()}, 5)
    with pytest.raises(ConnectionCheckError, match="connection refused"):
        await SqlLookupTable.ping({"url": mariadb_server.url(port=closed_port)}, 5)


# --- in the engine -----------------------------------------------------------------------------------


def extra(props: dict) -> str:
    return json.dumps(props).replace('"', '\\"')


@pytest.mark.anyio
@pytest.mark.parametrize("cache", [True, False])
async def test_a_join_in_a_rule_with_the_lookup_cache(db, engine, eventually, cache):
    from arrokoth.io.memory_bus import bus

    t = db.table("devices")
    db.execute(f"CREATE TABLE {t} (id INTEGER, name VARCHAR(20))", f"INSERT INTO {t} VALUES (1, 'pump'), (2, 'fan')")
    topic_in, topic_out = f"sql/lk/{t}/in", f"sql/lk/{t}/out"
    got: list[dict] = []
    token = bus.subscribe(topic_out, lambda topic, rows: got.extend(rows))
    try:
        engine.create_stream(f'CREATE STREAM readings () WITH (DATASOURCE="{topic_in}", TYPE="memory")')
        # the shipped defaults turn the cache on (cacheTtl 600 s)
        props = {"url": db.url} if cache else {"url": db.url, "lookup": {"cache": False}}
        engine.create_stream(f'CREATE TABLE devices () WITH (DATASOURCE="{t}", TYPE="sql", KIND="lookup", '
                             f'EXTRA="{extra(props)}")')
        await engine.create_rule({
            "id": "join", "sql": "SELECT readings.id AS id, devices.name AS name, readings.v AS v "
                                 "FROM readings INNER JOIN devices ON readings.id = devices.id",
            "actions": [{"memory": {"topic": topic_out}}]})
        bus.publish(topic_in, [{"id": 1, "v": 10}, {"id": 3, "v": 30}, {"id": 2, "v": 20}])
        await eventually(lambda: len(got) >= 2)
        assert got == [{"id": 1, "name": "pump", "v": 10}, {"id": 2, "name": "fan", "v": 20}]
        db.execute(f"UPDATE {t} SET name = 'big pump' WHERE id = 1", f"INSERT INTO {t} VALUES (3, 'valve')")
        bus.publish(topic_in, [{"id": 1, "v": 11}, {"id": 3, "v": 31}])
        await eventually(lambda: len(got) >= 3 + (not cache))
        if cache:
            # the cached row, and the missing key cached as missing
            assert got[2:] == [{"id": 1, "name": "pump", "v": 11}]
        else:
            assert got[2:] == [{"id": 1, "name": "big pump", "v": 11}, {"id": 3, "name": "valve", "v": 31}]
        _, metrics = engine.rule_status("join")
        assert not any(v for k, v in metrics.items() if k.endswith("_exceptions_total"))
        await engine.stop_rule("join")
    finally:
        bus.unsubscribe(token)


@pytest.mark.anyio
async def test_a_failing_lookup_is_an_error_of_the_rule_which_goes_on(postgres_server, engine, eventually,
                                                                        closed_port):
    from arrokoth.io.memory_bus import bus

    engine.create_stream('CREATE STREAM readings () WITH (DATASOURCE="sql/lk/down/in", TYPE="memory")')
    props = {"url": postgres_server.url(port=closed_port), "lookup": {"cache": False}}
    engine.create_stream(f'CREATE TABLE devices () WITH (DATASOURCE="devices", TYPE="sql", KIND="lookup", '
                         f'EXTRA="{extra(props)}")')
    await engine.create_rule({
        "id": "join", "sql": "SELECT readings.id FROM readings INNER JOIN devices ON readings.id = devices.id",
        "actions": [{"nop": {}}]})

    metrics = engine.rules["join"].runtime.metrics
    bus.publish("sql/lk/down/in", [{"id": 1}])
    await eventually(lambda: metrics.exceptions >= 1, what="the lookup failure reported")
    assert metrics.last_exception.startswith("run Join error: sql lookup on devices of postgres://arrokoth:***@")
    assert "refused" in metrics.last_exception and "s3cret" not in metrics.last_exception
    bus.publish("sql/lk/down/in", [{"id": 2}])
    await eventually(lambda: metrics.exceptions >= 2, what="the next row tried again")
    status, _ = engine.rule_status("join")
    assert status["status"] == "running"
