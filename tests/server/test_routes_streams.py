"""Streams and tables (spec section 2), through the real app in-process."""

from __future__ import annotations

import pytest

from arrokoth.functions import jsonvalue

pytestmark = pytest.mark.anyio

TEXT = "text/plain; charset=utf-8"
DEMO = ('CREATE STREAM demo (id bigint, name string) WITH (DATASOURCE="t", TYPE="memory", FORMAT="json", '
        'CONF_KEY="c1", SHARED="true")')
SCHEMALESS = 'CREATE STREAM s1 () WITH (DATASOURCE="t1", TYPE="memory")'
INVALID_CHARS = "contains invalid characters: only alphanumeric, hyphens and underscores are allowed"


def assert_error(resp, message: str, code: int = 1000, status: int = 400) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == TEXT
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.content == jsonvalue.encode({"error": code, "message": message}) + b"\n"


def assert_text(resp, body: str, status: int = 200) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == TEXT
    assert resp.text == body


async def alive(api) -> None:
    resp = await api.get("/ping")
    assert resp.status_code == 200


async def create(api, sql: str, kind: str = "streams") -> None:
    resp = await api.post(f"/{kind}", json={"sql": sql})
    assert resp.status_code == 201, resp.text


async def add_rule(api, rule_id: str, sql: str, triggered: bool = False) -> None:
    resp = await api.post("/rules", json={"id": rule_id, "sql": sql, "actions": [{"nop": {}}], "triggered": triggered})
    assert resp.status_code == 201, resp.text


# --- POST /streams, /tables ---------------------------------------------------------------


async def test_create_stream(api, engine):
    resp = await api.post("/streams", json={"sql": DEMO})
    assert_text(resp, "Stream demo is created.", 201)
    assert engine.store.get("streams", "demo") == DEMO


async def test_create_table(api):
    resp = await api.post("/tables", json={"sql": 'CREATE TABLE tb (id bigint) WITH (DATASOURCE="t", TYPE="memory")'})
    assert_text(resp, "Table tb is created.", 201)
    assert (await api.get("/tables")).json() == ["tb"]
    assert (await api.get("/streams")).json() == []


async def test_create_duplicate_stream(api):
    await create(api, DEMO)
    resp = await api.post("/streams", json={"sql": DEMO})
    assert_error(resp, "Stream command error: Create stream fails: Item demo already exists.", 3000)
    await alive(api)


async def test_post_tables_with_create_stream_creates_a_stream(api):
    resp = await api.post("/tables", json={"sql": SCHEMALESS})
    assert_text(resp, "Stream s1 is created.", 201)
    assert (await api.get("/streams")).json() == ["s1"]
    assert (await api.get("/tables")).json() == []


async def test_post_runs_show_streams(api):
    assert_text(await api.post("/streams", json={"sql": "SHOW STREAMS"}), "No stream definitions are found.", 201)
    await create(api, DEMO)
    await create(api, SCHEMALESS)
    assert_text(await api.post("/streams", json={"sql": "SHOW STREAMS"}), "demo\ns1", 201)
    assert_text(await api.post("/tables", json={"sql": "SHOW TABLES"}), "No table definitions are found.", 201)


async def test_post_runs_describe_explain_and_drop(api):
    await create(api, DEMO)
    resp = await api.post("/streams", json={"sql": "DESCRIBE STREAM demo"})
    assert resp.status_code == 201
    assert "demo" in resp.text and "bigint" in resp.text
    resp = await api.post("/streams", json={"sql": "EXPLAIN STREAM demo"})
    assert resp.status_code == 201
    assert_text(await api.post("/streams", json={"sql": "DROP STREAM demo"}), "Stream demo is dropped.", 201)
    assert (await api.get("/streams")).json() == []


async def test_post_describe_missing_stream(api):
    resp = await api.post("/streams", json={"sql": "DESCRIBE STREAM nope"})
    assert_error(resp, "describe stream error: Describe stream fails, nope is not found.", 3000)


async def test_post_parse_error_is_code_3000(api):
    resp = await api.post("/streams", json={"sql": "CREATE STREAM"})
    assert resp.status_code == 400
    body = jsonvalue.loads(resp.content)
    assert body["error"] == 3000
    assert body["message"].startswith("Stream command error: ")
    await alive(api)


async def test_post_rejects_a_select(api):
    resp = await api.post("/streams", json={"sql": "SELECT * FROM demo"})
    assert resp.status_code == 400
    assert jsonvalue.loads(resp.content)["error"] == 3000


async def test_create_stream_of_uninstalled_type_succeeds(api):
    resp = await api.post("/streams", json={"sql": 'CREATE STREAM m () WITH (DATASOURCE="x", TYPE="mqtt")'})
    assert_text(resp, "Stream m is created.", 201)


async def test_temp_stream_is_not_persisted(api, engine):
    await create(api, 'CREATE STREAM tmp () WITH (DATASOURCE="x", TYPE="memory", TEMP="true")')
    assert (await api.get("/streams")).json() == ["tmp"]
    assert engine.store.get("streams", "tmp") is None


# --- GET lists and details -------------------------------------------------------------


async def test_list_streams(api):
    resp = await api.get("/streams")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.content == b"[]"
    await create(api, SCHEMALESS)
    await create(api, DEMO)
    assert (await api.get("/streams")).content == b'["demo","s1"]'


@pytest.mark.parametrize(("query", "names"), [
    ("", ["lk", "nokind", "sc"]),
    ("?kind=scan", ["nokind", "sc"]),
    ("?kind=lookup", ["lk"]),
    ("?kind=other", ["lk", "nokind", "sc"]),
])
async def test_list_tables_by_kind(api, query, names):
    await create(api, 'CREATE TABLE sc () WITH (DATASOURCE="a", TYPE="memory", KIND="scan")', "tables")
    await create(api, 'CREATE TABLE nokind () WITH (DATASOURCE="b", TYPE="memory")', "tables")
    await create(api, 'CREATE TABLE lk () WITH (DATASOURCE="c", TYPE="memory", KIND="lookup", KEY="id")', "tables")
    resp = await api.get(f"/tables{query}")
    assert resp.status_code == 200
    assert resp.json() == names


async def test_streamdetails(api):
    await create(api, DEMO)
    await create(api, 'CREATE STREAM up () WITH (DATASOURCE="x", TYPE="MQTT", FORMAT="JSON")')
    await create(api, 'CREATE STREAM dflt () WITH (DATASOURCE="x")')
    resp = await api.get("/streamdetails")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.content == (b'[{"name":"demo","type":"memory","format":"json"},'
                            b'{"name":"dflt","type":"mqtt","format":"json"},'
                            b'{"name":"up","type":"mqtt","format":"json"}]')


async def test_tabledetails_with_kind(api):
    await create(api, 'CREATE TABLE sc () WITH (DATASOURCE="a", TYPE="memory")', "tables")
    await create(api, 'CREATE TABLE lk () WITH (DATASOURCE="c", TYPE="memory", KIND="lookup", KEY="id")', "tables")
    assert (await api.get("/tabledetails")).json() == [
        {"name": "lk", "type": "memory", "format": "json"}, {"name": "sc", "type": "memory", "format": "json"},
    ]
    assert (await api.get("/tabledetails?kind=lookup")).json() == [{"name": "lk", "type": "memory", "format": "json"}]
    assert (await api.get("/tabledetails?kind=scan")).json() == [{"name": "sc", "type": "memory", "format": "json"}]
    assert (await api.get("/streamdetails")).json() == []


# --- GET /streams/{name} --------------------------------------------------------------


async def test_describe_stream_body(api):
    await create(api, 'CREATE STREAM demo (id bigint, tags array(string), pos struct(x float)) '
                      'WITH (SHARED="true", TYPE="memory", CONF_KEY="c1", FORMAT="JSON", DATASOURCE="t")')
    resp = await api.get("/streams/demo")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    # Options in Go's field declaration order, whatever the SQL order; values keep their case
    assert resp.content == (
        b'{"Name":"demo","StreamFields":[{"FieldType":"bigint","Name":"id"},'
        b'{"FieldType":{"Type":"array","ElementType":"string"},"Name":"tags"},'
        b'{"FieldType":{"Type":"struct","Fields":[{"FieldType":"float","Name":"x"}]},"Name":"pos"}],'
        b'"Options":{"datasource":"t","format":"JSON","confKey":"c1","type":"memory","shared":true},'
        b'"StreamType":0,"Statement":null}'
    )


async def test_describe_schemaless_stream_and_table(api):
    await create(api, SCHEMALESS)
    body = (await api.get("/streams/s1")).json()
    assert body["StreamFields"] is None
    assert body["StreamType"] == 0
    assert body["Options"] == {"datasource": "t1", "type": "memory"}
    await create(api, 'CREATE TABLE tb () WITH (DATASOURCE="t", TYPE="memory", KIND="lookup", KEY="id", '
                      'RETAIN_SIZE="3", STRICT_VALIDATION="false")', "tables")
    body = (await api.get("/tables/tb")).json()
    assert body["StreamType"] == 1
    # false booleans are omitted; the integer keeps its type
    assert body["Options"] == {"datasource": "t", "key": "id", "type": "memory", "retainSize": 3, "kind": "lookup"}


async def test_describe_default_clause(api):
    await create(api, 'CREATE STREAM d (a bigint DEFAULT 5) WITH (DATASOURCE="x", TYPE="memory")')
    body = (await api.get("/streams/d")).json()
    assert body["StreamFields"] == [{"FieldType": "bigint", "Name": "a", "DefaultClause": "5"}]


async def test_describe_missing_stream_is_400(api):
    resp = await api.get("/streams/nope")
    assert_error(resp, "describe stream error: Describe stream fails, nope is not found.", 3000)


async def test_describe_table_on_stream_path_fails(api):
    await create(api, 'CREATE TABLE tb () WITH (DATASOURCE="t", TYPE="memory")', "tables")
    assert_error(await api.get("/streams/tb"), "describe stream error: Describe stream fails, tb is not found.", 3000)
    assert (await api.get("/tables/tb")).status_code == 200


# --- schema ------------------------------------------------------------------------------


async def test_stream_schema(api):
    await create(api, 'CREATE STREAM demo (id bigint, tags array(string), pos struct(x float)) '
                      'WITH (DATASOURCE="t", TYPE="memory")')
    resp = await api.get("/streams/demo/schema")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.content == (
        b'{"id":{"type":"bigint","index":0},"tags":{"type":"array","items":{"type":"string"},"index":0},'
        b'"pos":{"type":"struct","properties":{"x":{"type":"float"}},"index":0}}'
    )


async def test_schemaless_stream_schema_follows_the_rules(api):
    await create(api, SCHEMALESS)
    assert (await api.get("/streams/s1/schema")).json() in ({}, None)
    await add_rule(api, "r1", "SELECT id, name FROM s1")
    assert (await api.get("/streams/s1/schema")).json() == {"id": None, "name": None}


async def test_schema_of_missing_stream(api):
    resp = await api.get("/streams/nope/schema")
    assert resp.status_code == 400
    assert jsonvalue.loads(resp.content)["error"] == 3000


# --- PUT /streams/{name} ---------------------------------------------------------------


async def test_put_creates_then_replaces(api, engine):
    sql = 'CREATE STREAM s1 () WITH (DATASOURCE="a", TYPE="memory")'
    assert_text(await api.put("/streams/s1", json={"sql": sql}), "Stream s1 is replaced.")
    sql2 = 'CREATE STREAM s1 (x bigint) WITH (DATASOURCE="b", TYPE="memory")'
    assert_text(await api.put("/streams/s1", json={"sql": sql2}), "Stream s1 is replaced.")
    assert (await api.get("/streams/s1")).json()["Options"]["datasource"] == "b"
    assert engine.store.get("streams", "s1") == sql2


async def test_put_table(api):
    sql = 'CREATE TABLE tb () WITH (DATASOURCE="a", TYPE="memory")'
    assert_text(await api.put("/tables/tb", json={"sql": sql}), "Table tb is replaced.")
    assert (await api.get("/tables")).json() == ["tb"]


async def test_put_name_mismatch(api):
    await create(api, SCHEMALESS)
    resp = await api.put("/streams/s1", json={"sql": 'CREATE STREAM other () WITH (DATASOURCE="a", TYPE="memory")'})
    assert_error(resp, "Replace s1 fails: the sql statement must update the s1 source.", 3000)


async def test_put_table_sql_on_stream_path_is_404(api):
    resp = await api.put("/streams/tb", json={"sql": 'CREATE TABLE tb () WITH (DATASOURCE="a", TYPE="memory")'})
    assert resp.status_code == 404
    assert jsonvalue.loads(resp.content)["error"] == 1002
    assert (await api.get("/tables")).json() == []


async def test_put_cannot_change_shared(api):
    await create(api, SCHEMALESS)
    sql = 'CREATE STREAM s1 () WITH (DATASOURCE="t1", TYPE="memory", SHARED="true")'
    resp = await api.put("/streams/s1", json={"sql": sql})
    assert resp.status_code == 400
    assert "SHARED" in jsonvalue.loads(resp.content)["message"]


async def test_put_rejects_temp(api):
    await create(api, SCHEMALESS)
    resp = await api.put("/streams/s1", json={"sql": 'CREATE STREAM s1 () WITH (DATASOURCE="t1", TYPE="memory", TEMP="true")'})
    assert resp.status_code == 400


async def test_put_rejects_a_lower_version(api):
    sql = 'CREATE STREAM s1 () WITH (DATASOURCE="a", TYPE="memory", VERSION="2")'
    assert (await api.put("/streams/s1", json={"sql": sql})).status_code == 200
    resp = await api.put("/streams/s1", json={"sql": sql.replace('VERSION="2"', 'VERSION="1"')})
    assert resp.status_code == 400
    assert (await api.get("/streams/s1")).json()["Options"]["version"] == "2"
    resp = await api.put("/streams/s1", json={"sql": sql.replace('VERSION="2"', 'VERSION="3"')})
    assert resp.status_code == 200


async def test_put_does_not_restart_running_rules(api, engine):
    await create(api, SCHEMALESS)
    await add_rule(api, "r1", "SELECT * FROM s1", triggered=True)
    runtime = engine.rules["r1"].runtime
    assert runtime is not None
    assert (await api.put("/streams/s1", json={"sql": SCHEMALESS.replace("t1", "t2")})).status_code == 200
    assert engine.rules["r1"].runtime is runtime


# --- DELETE /streams/{name} -------------------------------------------------------------


async def test_delete_stream(api, engine):
    await create(api, DEMO)
    assert_text(await api.delete("/streams/demo"), "Stream demo is dropped.")
    assert (await api.get("/streams")).json() == []
    assert engine.store.get("streams", "demo") is None


async def test_delete_missing_stream_is_404(api):
    assert_error(await api.delete("/streams/nope"), "delete stream error: stream nope is not found", 1002, 404)


@pytest.mark.parametrize("triggered", [True, False])
async def test_delete_referenced_stream(api, triggered):
    await create(api, SCHEMALESS)
    await add_rule(api, "r1", "SELECT * FROM s1", triggered=triggered)
    assert_error(await api.delete("/streams/s1"), "stream s1 has been referenced by other rules")
    assert (await api.get("/streams")).json() == ["s1"]
    assert_text(await api.delete("/streams/s1?force=true"), "Stream s1 is dropped.")
    assert (await api.get("/streams")).json() == []


async def test_delete_on_stream_path_drops_a_table(api):
    await create(api, 'CREATE TABLE tb () WITH (DATASOURCE="t", TYPE="memory")', "tables")
    assert_text(await api.delete("/streams/tb"), "Table tb is dropped.")
    assert (await api.get("/tables")).json() == []


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("kind", ["streams", "tables"])
async def test_invalid_names(api, method, kind):
    for raw, name in (("invalid%20name", "invalid name"), ("a.b", "a.b"), ("%2E%2E", "..")):
        resp = await api.request(method, f"/{kind}/{raw}", json={"sql": SCHEMALESS})
        assert_error(resp, f"id '{name}' {INVALID_CHARS}")
        await alive(api)


async def test_name_with_slash_is_not_routed(api):
    await create(api, SCHEMALESS)
    resp = await api.get("/streams/s1/x")
    assert resp.status_code == 404
    assert resp.text == "404 page not found\n"
    # the router matches the decoded path, as gorilla/mux does: an encoded slash is a slash
    resp = await api.get("/streams/a%2Fb")
    assert resp.status_code == 404
    await alive(api)


async def test_leading_space_name(api):
    resp = await api.get("/streams/%20s1")
    assert_error(resp, "id ' s1' contains leading or trailing whitespace")


async def test_invalid_name_in_sql(api):
    resp = await api.post("/streams", json={"sql": 'CREATE STREAM `a b` () WITH (DATASOURCE="x", TYPE="memory")'})
    assert resp.status_code == 400
    assert INVALID_CHARS in jsonvalue.loads(resp.content)["message"]
    assert (await api.get("/streams")).json() == []


@pytest.mark.parametrize("body", [b"{bad", b"", b"[]", b'"sql"', b'{"sql": 5}', b'{"sql": null}', b"{}"])
@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_malformed_bodies(api, body, method):
    path = "/streams" if method == "POST" else "/streams/s1"
    resp = await api.request(method, path, content=body)
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"] == TEXT
    err = jsonvalue.loads(resp.content)
    assert list(err) == ["error", "message"]
    assert isinstance(err["error"], int) and err["message"]
    assert resp.content.endswith(b"}\n")
    assert (await api.get("/streams")).json() == []
    await alive(api)


async def test_keys_are_case_insensitive_and_unknown_keys_ignored(api):
    resp = await api.post("/streams", json={"SQL": SCHEMALESS, "extra": [1, 2], "name": "ignored"})
    assert_text(resp, "Stream s1 is created.", 201)
    resp = await api.put("/streams/s1", json={"Sql": SCHEMALESS.replace("t1", "t9"), "x": None})
    assert_text(resp, "Stream s1 is replaced.")


async def test_one_megabyte_sql(api):
    resp = await api.post("/streams", json={"sql": "CREATE STREAM s1 (" + "a bigint, " * 100_000 + ")"})
    assert resp.status_code == 400
    assert jsonvalue.loads(resp.content)["error"] == 3000
    resp = await api.post("/streams", json={"sql": "x" * 1_000_000})
    assert resp.status_code == 400
    await alive(api)
    assert (await api.get("/streams")).json() == []
