"""Rule trial runs, uploads and runtime configuration (spec section 8)."""

from __future__ import annotations

import logging
from pathlib import Path

import anyio
import httpx
import pytest

from arrokoth.functions import jsonvalue, timefmt

pytestmark = pytest.mark.anyio

TEXT = "text/plain; charset=utf-8"
INVALID_CHARS = "contains invalid characters: only alphanumeric, hyphens and underscores are allowed"


def assert_error(resp, message: str, code: int = 1000, status: int = 400) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == TEXT
    assert resp.content == jsonvalue.encode({"error": code, "message": message}) + b"\n"


def assert_client_error(resp) -> dict:
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.headers["content-type"] == TEXT
    assert resp.content.endswith(b"}\n")
    err = jsonvalue.loads(resp.content)
    assert list(err) == ["error", "message"]
    assert isinstance(err["error"], int) and err["message"]
    return err


def assert_text(resp, body: str, status: int = 200) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == TEXT
    assert resp.text == body


async def alive(api) -> None:
    assert (await api.get("/ping")).status_code == 200


# --- /ruletest ----------------------------------------------------------------------------


def trial(trial_id: str = "t1", sql: str = "SELECT a, unnest(b) FROM demo", **extra) -> dict:
    return {
        "id": trial_id,
        "sql": sql,
        "mockSource": {"demo": {"data": [{"a": 1, "b": [7, 8]}], "interval": 10, "loop": True}},
        "sinkProps": {"sendSingle": True},
        **extra,
    }


@pytest.fixture
async def demo(api):
    resp = await api.post("/streams", json={"sql": 'CREATE STREAM demo () WITH (DATASOURCE="rt", TYPE="memory")'})
    assert resp.status_code == 201


async def first_event(port: int, trial_id: str) -> str:
    """The first `data:` line of the trial's SSE stream, read by a real HTTP client."""
    with anyio.fail_after(10):
        async with httpx.AsyncClient(timeout=10) as client, client.stream(
            "GET", f"http://127.0.0.1:{port}/test/{trial_id}", headers={"Accept": "text/event-stream"}
        ) as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            async for line in resp.aiter_lines():
                if line.startswith("data:"):
                    return line[len("data:"):].strip()
    raise AssertionError("the stream ended without a data line")


async def test_ruletest_lifecycle(api, demo):
    resp = await api.post("/ruletest", json=trial())
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    body = jsonvalue.loads(resp.content)
    assert list(body) == ["id", "port"]
    assert body["id"] == "t1"
    port = body["port"]
    assert isinstance(port, int) and port > 0
    assert_text(await api.post("/ruletest/t1/start"), "Test rule t1 was started")
    event = jsonvalue.loads(await first_event(port, "t1"))
    # the projected field is kept alongside unnest's output
    assert event["a"] == 1
    assert len(event) == 2
    assert_text(await api.delete("/ruletest/t1"), "Test rule t1 was stopped.")
    assert_error(await api.delete("/ruletest/t1"), "rule test t1 is not found", 1002, 404)


async def test_ruletest_stream_ends_when_deleted(api, demo, engine):
    port = (await api.post("/ruletest", json=trial(sql="SELECT a FROM demo"))).json()["port"]
    assert (await api.post("/ruletest/t1/start")).status_code == 200
    with anyio.fail_after(10):
        async with httpx.AsyncClient(timeout=10) as client, client.stream(
            "GET", f"http://127.0.0.1:{port}/test/t1"
        ) as resp:
            lines = resp.aiter_lines()
            async for line in lines:
                if line.startswith("data:"):
                    assert jsonvalue.loads(line[5:]) == {"a": 1}
                    break
            assert (await api.delete("/ruletest/t1")).status_code == 200
            async for _ in lines:
                pass  # the server closes the stream
    assert engine.rule_tests.trials == {}


async def test_ruletest_unknown_sse_id(api, demo):
    port = (await api.post("/ruletest", json=trial())).json()["port"]
    with anyio.fail_after(10):
        async with httpx.AsyncClient(timeout=10) as client:
            resp = await client.get(f"http://127.0.0.1:{port}/test/nope")
    assert resp.status_code == 404


async def test_ruletest_start_missing(api):
    assert_error(await api.post("/ruletest/nope/start"), "rule test nope is not found", 1002, 404)


async def test_ruletest_duplicate(api, demo):
    assert (await api.post("/ruletest", json=trial())).status_code == 200
    assert_error(await api.post("/ruletest", json=trial()), "rule test t1 already exists")


@pytest.mark.parametrize("body", [
    trial("bad id"),
    trial("a/b"),
    trial(sql="SELECT * FROM nope"),
    trial(sql=""),
    trial(sql=5),
    trial(sql="SELEKT a FROM demo"),
    {"id": "t1", "sql": "SELECT * FROM demo"},  # no mock data for demo
    trial(mockSource=[1]),
    trial(sinkProps="x"),
    trial(mockSource={"demo": {"data": "x"}}),
])
async def test_ruletest_bad_requests(api, demo, engine, body):
    assert_client_error(await api.post("/ruletest", json=body))
    assert engine.rule_tests.trials == {}
    await alive(api)


@pytest.mark.parametrize("raw", [b"{", b"", b"[]", b"null"])
async def test_ruletest_malformed_json(api, raw):
    assert_client_error(await api.post("/ruletest", content=raw))
    await alive(api)


async def test_ruletest_bad_id_in_path(api):
    resp = await api.post("/ruletest/bad%20id/start")
    assert INVALID_CHARS in assert_client_error(resp)["message"]


# --- /config/uploads ----------------------------------------------------------------------


def uploads(engine) -> Path:
    return Path(engine.config.data_dir) / "uploads"


async def test_upload_json_content(api, engine):
    resp = await api.post("/config/uploads", json={"name": "level1/level2/level3/test.txt", "content": "hello"})
    target = uploads(engine) / "level1" / "level2" / "level3" / "test.txt"
    assert_text(resp, str(target.resolve()), 201)
    assert target.read_text() == "hello"


async def test_upload_json_file_url(api, engine, tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(b"\x00\x01data")
    resp = await api.post("/config/uploads", json={"name": "copy.bin", "file": f"file://{source}"})
    assert resp.status_code == 201
    assert (uploads(engine) / "copy.bin").read_bytes() == b"\x00\x01data"


async def test_upload_multipart(api, engine):
    resp = await api.post("/config/uploads", files={"uploadFile": ("my.json", b'{"a": 1}', "application/json")})
    assert_text(resp, str((uploads(engine) / "my.json").resolve()), 201)
    assert (uploads(engine) / "my.json").read_bytes() == b'{"a": 1}'


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/etc/passwd-copy", "..", "", "   "])
async def test_upload_escapes_are_rejected(api, engine, tmp_path, name):
    assert_client_error(await api.post("/config/uploads", json={"name": name, "content": "x"}))
    assert not (tmp_path / "x").exists()
    await alive(api)


async def test_upload_multipart_escape_is_rejected(api, tmp_path):
    resp = await api.post("/config/uploads", files={"uploadFile": ("../evil.txt", b"x", "text/plain")})
    assert_client_error(resp)
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize(("content", "headers"), [
    (b'{"name": "a.txt", "content": "x"}', {"content-type": "text/plain"}),  # not JSON: parsed as multipart
    (b"{", {"content-type": "application/json"}),
    (b'{"name": "a.txt"}', {"content-type": "application/json"}),
    (b'{"name": 5, "content": "x"}', {"content-type": "application/json"}),
    (b'{"name": "a.txt", "file": "ftp://example.com/x"}', {"content-type": "application/json"}),
])
async def test_upload_bad_requests(api, engine, content, headers):
    assert_client_error(await api.post("/config/uploads", content=content, headers=headers))
    assert not (uploads(engine) / "a.txt").exists()


async def test_upload_multipart_without_upload_file_field(api):
    resp = await api.post("/config/uploads", files={"other": ("a.txt", b"x", "text/plain")})
    assert_client_error(resp)


async def test_list_and_delete_uploads(api, engine):
    resp = await api.get("/config/uploads")
    assert resp.status_code == 200
    assert resp.json() == []
    for name in ("b.txt", "a.txt", "sub/c.txt"):
        assert (await api.post("/config/uploads", json={"name": name, "content": name})).status_code == 201
    resp = await api.get("/config/uploads")
    assert resp.headers["content-type"] == "application/json"
    base = uploads(engine).resolve()
    assert resp.json() == [str(base / "a.txt"), str(base / "b.txt")]  # top level only
    assert_text(await api.delete("/config/uploads/a.txt"), "ok")
    assert not (base / "a.txt").exists()
    assert (await api.get("/config/uploads")).json() == [str(base / "b.txt")]


async def test_delete_upload_escape_is_rejected(api, tmp_path):
    (tmp_path / "keep.txt").write_text("keep")
    assert_client_error(await api.delete("/config/uploads/..%2Fkeep.txt"))
    assert (tmp_path / "keep.txt").exists()


# --- PATCH /configs -----------------------------------------------------------------------


@pytest.fixture
def restore_runtime_settings():
    zone = timefmt._default_tz
    level = logging.getLogger("arrokoth").level
    yield
    timefmt.set_default_timezone(zone)
    logging.getLogger("arrokoth").setLevel(level)


async def test_patch_configs(api, engine, restore_runtime_settings):
    resp = await api.patch("/configs", json={"timezone": "Asia/Shanghai", "logLevel": "debug", "debug": True,
                                             "consoleLog": False, "fileLog": True,
                                             "metricsDumpConfig": {"enable": False}})
    assert resp.status_code == 204
    assert resp.content == b""
    assert engine.config.values["basic"]["timezone"] == "Asia/Shanghai"
    assert str(timefmt.default_timezone()) == "Asia/Shanghai"
    assert logging.getLogger("arrokoth").level == logging.DEBUG
    assert (await api.patch("/configs", json={"timezone": ""})).status_code == 204
    assert engine.config.values["basic"]["timezone"] == ""


async def test_patch_configs_empty_object(api, restore_runtime_settings):
    resp = await api.patch("/configs", json={})
    assert resp.status_code == 204


async def test_patch_configs_bad_timezone(api, engine, restore_runtime_settings):
    assert_client_error(await api.patch("/configs", json={"timezone": "Mars/Olympus"}))
    assert engine.config.values["basic"]["timezone"] == ""


@pytest.mark.parametrize("body", [b"{", b"", b"[]", b'{"timezone": 5}', b'{"debug": "yes"}'])
async def test_patch_configs_bad_body(api, restore_runtime_settings, body):
    assert_client_error(await api.patch("/configs", content=body))
    await alive(api)
