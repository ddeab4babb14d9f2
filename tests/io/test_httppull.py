"""The httppull source (arrokoth.io.sources.httppull) against a real local HTTP server,
on a real asyncio loop: every wait has a deadline, no assertion rests on a sleep."""

from __future__ import annotations

import itertools
import json
import socket
from urllib.parse import parse_qs, urlsplit

import pytest

from arrokoth.io.sources.base import CONNECTED, CONNECTING, DISCONNECTED, SourceConfigError
from arrokoth.io.sources.httppull import HttpPullSource
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.clock import RealClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse

pytestmark = pytest.mark.anyio


def needs_templates():
    pytest.importorskip("arrokoth.io.templates", reason="needs the data template engine (arrokoth.io.templates)")


class Pulled:
    def __init__(self, source: HttpPullSource):
        self.source = source
        self.rows: list[dict] = []
        self.errors: list[str] = []
        source.feed.subscribe(lambda index, row: self.rows.append(row.msg), 0, self.errors.append)


@pytest.fixture
async def pull():
    """`pull(props, datasource="")` builds a source on a stream of its own; all are stopped at the end."""
    made: list[HttpPullSource] = []

    def make(props: dict, datasource: str = "", columns: str = "") -> Pulled:
        sql = f'CREATE STREAM p ({columns}) WITH (DATASOURCE="{datasource}", TYPE="httppull")'
        d = StreamDef.from_ast(parse(sql), sql)
        source = HttpPullSource(d, props, StreamFeed(d, RealClock()))
        made.append(source)
        return Pulled(source)

    yield make
    for source in made:
        await source.stop()


def counter_answers(server) -> None:
    server.respond = lambda req: (200, {"Content-Type": "application/json"},
                                  json.dumps({"n": len(server.requests)}).encode())


async def test_pulls_at_start_then_every_interval(http_endpoint, pull, eventually):
    counter_answers(http_endpoint)
    p = pull({"url": http_endpoint.url, "interval": 50}, datasource="/data")
    assert p.source.status == CONNECTING
    await p.source.start()
    await eventually(lambda: len(p.rows) >= 3, what="three pulls")
    assert p.rows[:3] == [{"n": 1}, {"n": 2}, {"n": 3}]
    first = http_endpoint.requests[0]
    # eKuiper's code defaults: GET with no body; the url is url + DATASOURCE
    assert (first.method, first.path, first.body) == ("GET", "/data", b"")
    assert "content-type" not in first.headers
    assert p.source.status == CONNECTED
    assert p.source.records_in >= 3
    assert p.errors == []


async def test_interval_takes_a_duration(http_endpoint, pull, eventually):
    counter_answers(http_endpoint)
    p = pull({"url": http_endpoint.url, "interval": "40ms"})
    assert p.source.interval_ms == 40
    await p.source.start()
    await eventually(lambda: len(p.rows) >= 2)


async def test_method_headers_and_body(http_endpoint, pull, eventually):
    p = pull({"url": http_endpoint.url, "method": "post", "interval": 1000, "body": '{"q": 1}',
              "headers": {"X-Token": "secret", "Accept": "application/json"}})
    await p.source.start()
    await eventually(lambda: http_endpoint.requests)
    req = http_endpoint.requests[0]
    assert req.method == "POST"
    assert req.body == b'{"q": 1}'
    assert req.headers["content-type"] == "application/json"
    assert req.headers["x-token"] == "secret"
    assert req.headers["accept"] == "application/json"


@pytest.mark.parametrize(("props", "content_type"), [
    ({"bodyType": "text"}, "text/plain"),
    ({"bodyType": "TEXT", "headers": {"content-type": "text/csv"}}, "text/csv"),
    ({"bodyType": "form"}, "application/x-www-form-urlencoded;param=value"),
])
async def test_body_type_sets_the_content_type(http_endpoint, pull, eventually, props, content_type):
    p = pull({"url": http_endpoint.url, "method": "put", "body": "a=1", **props})
    await p.source.start()
    await eventually(lambda: http_endpoint.requests)
    assert http_endpoint.requests[0].headers["content-type"] == content_type
    assert http_endpoint.requests[0].body == b"a=1"


async def test_an_array_answer_gives_one_row_per_object(http_endpoint, pull, eventually):
    http_endpoint.answer(body='[{"id": 1}, {"id": 2}]')
    p = pull({"url": http_endpoint.url, "interval": 1000}, columns="id BIGINT")
    await p.source.start()
    await eventually(lambda: len(p.rows) == 2)
    assert p.rows == [{"id": 1}, {"id": 2}]


async def test_incremental_emits_only_changed_answers(http_endpoint, pull, eventually):
    bodies = ["A", "A", "B", "B", "B"]
    http_endpoint.respond = lambda req: (
        200, {}, json.dumps({"v": bodies[len(http_endpoint.requests) - 1]
                                   if len(http_endpoint.requests) <= len(bodies) else "A"}).encode())
    p = pull({"url": http_endpoint.url, "interval": 20, "incremental": True})
    await p.source.start()
    # pulls run one after another: the 9th request means the 8th answer was handled
    await eventually(lambda: len(http_endpoint.requests) >= 9)
    assert p.rows == [{"v": "A"}, {"v": "B"}, {"v": "A"}]


async def test_without_incremental_every_answer_is_emitted(http_endpoint, pull, eventually):
    http_endpoint.answer(body='{"v": "same"}')
    p = pull({"url": http_endpoint.url, "interval": 20})
    await p.source.start()
    await eventually(lambda: len(http_endpoint.requests) >= 4)
    assert p.rows[:3] == [{"v": "same"}] * 3


async def test_a_status_that_is_not_2xx_is_an_exception(http_endpoint, pull, eventually):
    http_endpoint.answer(503, body='{"v": 1}')
    p = pull({"url": http_endpoint.url, "interval": 20})
    await p.source.start()
    await eventually(lambda: len(p.errors) >= 2)
    assert p.errors[0] == "parse response error response code error: 503"
    assert p.rows == []
    assert p.source.exceptions >= 2
    assert p.source.status == CONNECTED  # the server answered
    http_endpoint.answer(200, body='{"v": 2}')
    await eventually(lambda: p.rows)
    assert p.rows[0] == {"v": 2}


async def test_response_type_body_checks_the_code_field(http_endpoint, pull, eventually):
    answers = itertools.cycle([b'{"code": 200, "v": 1}', b'{"code": 503, "v": 2}', b'[{"code": 201}, {"v": 3}]'])
    http_endpoint.respond = lambda req: (200, {}, next(answers))
    p = pull({"url": http_endpoint.url, "interval": 20, "responseType": "body"})
    await p.source.start()
    await eventually(lambda: len(p.errors) >= 3 and len(p.rows) >= 2)
    assert p.rows[0] == {"code": 200, "v": 1}
    # an object without a code has code 0, as in eKuiper
    assert set(p.errors) == {"parse response error response code error: 503",
                             "parse response error response code error: 0"}


async def test_an_answer_that_is_not_json_is_an_exception(http_endpoint, pull, eventually):
    http_endpoint.answer(body="<html>", content_type="text/html")
    p = pull({"url": http_endpoint.url, "interval": 1000})
    await p.source.start()
    await eventually(lambda: p.errors)
    assert p.rows == []
    assert p.source.exceptions == 1


async def test_an_unreachable_server_disconnects(pull, eventually):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    p = pull({"url": f"http://127.0.0.1:{port}", "interval": 20})
    await p.source.start()
    await eventually(lambda: len(p.errors) >= 2)
    assert p.source.status == DISCONNECTED
    assert p.source.last_disconnected > 0
    assert p.source.last_disconnected_message
    assert p.errors[0].startswith("send request error ")
    assert p.source.last_try > 0


async def test_timeout(http_endpoint, pull, eventually):
    http_endpoint.respond = http_endpoint.slow(5)
    p = pull({"url": http_endpoint.url, "interval": 50, "timeout": 100})
    await p.source.start()
    await eventually(lambda: p.errors, timeout=4)
    assert p.errors[0].startswith("send request error ")
    assert p.source.status == DISCONNECTED


async def test_tls_verification(https_endpoint, pull, eventually):
    https_endpoint.answer(body='{"secure": true}')
    strict = pull({"url": https_endpoint.url, "interval": 1000, "insecureSkipVerify": False})
    await strict.source.start()
    await eventually(lambda: strict.errors)
    assert "CERTIFICATE_VERIFY_FAILED" in strict.errors[0]
    assert strict.source.status == DISCONNECTED
    relaxed = pull({"url": https_endpoint.url, "interval": 1000, "insecureSkipVerify": "true"})
    await relaxed.source.start()
    await eventually(lambda: relaxed.rows)
    assert relaxed.rows == [{"secure": True}]


async def test_the_root_ca_verifies_the_server(https_endpoint, pull, eventually, tmp_path):
    https_endpoint.answer(body='{"secure": true}')
    # the test server's certificate is self-signed, so it is its own root
    p = pull({"url": https_endpoint.url.replace("127.0.0.1", "localhost"), "interval": 1000,
              "rootCaPath": str(tmp_path / "cert.pem"), "insecureSkipVerify": True})
    await p.source.start()
    await eventually(lambda: p.rows)


# --- templates and oAuth -------------------------------------------------------------------


async def test_pull_times_in_the_url_and_body(http_endpoint, pull, eventually):
    needs_templates()
    p = pull({"url": http_endpoint.url + "/q?start={{.LastPullTime}}&end={{.PullTime}}", "interval": 30,
              "method": "post", "body": '{"from": {{.LastPullTime}}}'})
    await p.source.start()
    await eventually(lambda: len(http_endpoint.requests) >= 2)
    queries = [parse_qs(urlsplit(r.path).query) for r in http_endpoint.requests[:2]]
    start0, end0 = int(queries[0]["start"][0]), int(queries[0]["end"][0])
    assert end0 - start0 == 30
    # LastPullTime moves to the previous pull time after a success
    assert int(queries[1]["start"][0]) == end0
    assert json.loads(http_endpoint.requests[0].body) == {"from": start0}


def oauth_server(server, *, expire: str = "3600"):
    """/token gives a1; /refresh gives a2, a3, ... (and checks the refresh token); /data echoes the bearer."""
    refreshes = itertools.count(2)

    def respond(req):
        if req.path == "/token":
            body = {"access_token": "a1", "refresh_token": "r1", "expires_in": expire}
        elif req.path == "/refresh":
            if req.headers.get("x-refresh") != "r1":
                return 401, {}, b"{}"
            body = {"access_token": f"a{next(refreshes)}", "refresh_token": None}
        else:
            body = {"auth": req.headers.get("authorization")}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    server.respond = respond


async def test_oauth_access_then_refresh(http_endpoint, pull, eventually):
    needs_templates()
    oauth_server(http_endpoint)
    p = pull({
        "url": http_endpoint.url + "/data", "interval": 30,
        "headers": {"Authorization": "Bearer {{.access_token}}"},
        "oAuth": {
            "access": {"url": http_endpoint.url + "/token", "body": '{"user": "u", "password": "p"}',
                       "expire": "{{.expires_in}}"},
            "refresh": {"url": http_endpoint.url + "/refresh", "headers": {"X-Refresh": "{{.refresh_token}}"}},
        },
    })
    await p.source.start()
    token = http_endpoint.to("/token")
    assert len(token) == 1
    assert token[0].method == "POST"
    assert json.loads(token[0].body) == {"user": "u", "password": "p"}
    assert token[0].headers["content-type"] == "application/json"
    # eKuiper refreshes right after the access token when a refresh url is set
    assert len(http_endpoint.to("/refresh")) == 1
    await eventually(lambda: len(p.rows) >= 2)
    assert p.rows[0] == {"auth": "Bearer a2"}
    assert len(http_endpoint.to("/refresh")) == 1  # not expired yet


async def test_oauth_tokens_are_refreshed_on_expiry(http_endpoint, pull, eventually):
    needs_templates()
    oauth_server(http_endpoint, expire="1")
    p = pull({
        "url": http_endpoint.url + "/data", "interval": 50,
        "headers": {"Authorization": "Bearer {{.access_token}}"},
        "oAuth": {
            "access": {"url": http_endpoint.url + "/token", "expire": "{{.expires_in}}"},
            "refresh": {"url": http_endpoint.url + "/refresh", "headers": {"X-Refresh": "{{.refresh_token}}"}},
        },
    })
    await p.source.start()
    await eventually(lambda: {"auth": "Bearer a3"} in p.rows, timeout=5, what="a pull with the refreshed token")
    assert len(http_endpoint.to("/token")) == 1


async def test_oauth_without_refresh_asks_for_a_new_access_token(http_endpoint, pull, eventually):
    oauth_server(http_endpoint, expire="1")
    p = pull({"url": http_endpoint.url + "/data", "interval": 50,
              "oAuth": {"access": {"url": http_endpoint.url + "/token", "expire": "1"}}})
    await p.source.start()
    await eventually(lambda: len(http_endpoint.to("/token")) >= 2, timeout=5)
    assert http_endpoint.to("/refresh") == []


async def test_oauth_failure_fails_the_start(http_endpoint, pull):
    http_endpoint.answer(401, body='{"error": "denied"}')
    p = pull({"url": http_endpoint.url, "oAuth": {"access": {"url": http_endpoint.url + "/token", "expire": "60"}}})
    with pytest.raises(SourceConfigError, match="oAuth: fail to authorize by oAuth: response code error: 401"):
        await p.source.start()
    assert p.source.status == DISCONNECTED


async def test_oauth_without_access_url_is_ignored(http_endpoint, pull, eventually):
    p = pull({"url": http_endpoint.url, "oAuth": {"access": {"url": ""}}})
    assert p.source.settings.oauth is None


# --- properties ------------------------------------------------------------------------------


@pytest.mark.parametrize(("props", "message"), [
    ({"url": "ftp://example.com"}, "url: 'ftp://example.com' is not an http or https URL"),
    ({"url": "http://"}, "url: the host of 'http://' is missing"),
    ({"url": ""}, "url: the url is required"),
    ({"method": "patch"}, "method: unsupported HTTP method patch, expected one of get, post, put, delete"),
    ({"bodyType": "yaml"}, "bodyType: invalid body type yaml"),
    ({"responseType": "status"}, "responseType: invalid response type status, expected code or body"),
    ({"interval": "soon"}, "interval: expected milliseconds or a duration such as 5s but got 'soon'"),
    ({"interval": 0}, "interval: must be greater than 0"),
    ({"timeout": -1}, "timeout: must be greater than or equal to 0"),
    ({"incremental": "yes"}, "incremental: expected true or false but got 'yes'"),
    ({"insecureSkipVerify": 2}, "insecureSkipVerify: expected true or false but got 2"),
    ({"headers": "Accept: json"}, "headers: expected an object of header names and values"),
    ({"headers": {"X": {"a": 1}}}, "headers: the value of header X must be a string"),
    ({"oAuth": {"refresh": {"url": "http://x"}}}, "oAuth: if setting oAuth, `access` property is required"),
    ({"oAuth": {"access": {"url": "token"}}}, "oAuth.access.url: 'token' is not an http or https URL"),
    ({"oAuth": {"access": {"url": "http://a"}, "refresh": {"url": "b"}}}, "oAuth.refresh.url: 'b' is not an http"),
    ({"certificationPath": "/nonexistent/cert.pem"}, "certificationPath: cannot load /nonexistent/cert.pem"),
])
def test_bad_properties_name_the_property(props, message):
    sql = 'CREATE STREAM p () WITH (TYPE="httppull")'
    d = StreamDef.from_ast(parse(sql), sql)
    with pytest.raises(SourceConfigError) as e:
        HttpPullSource(d, {"url": "http://127.0.0.1:1", **props}, StreamFeed(d, RealClock()))
    assert str(e.value).startswith(message)


def test_properties_are_case_insensitive_and_method_defaults_by_body_type():
    sql = 'CREATE STREAM p () WITH (DATASOURCE="/x", TYPE="httppull")'
    d = StreamDef.from_ast(parse(sql), sql)
    s = HttpPullSource(d, {"URL": "http://h:1/api", "Method": "Post", "TIMEOUT": "2s"}, StreamFeed(d, RealClock()))
    assert s.settings.url.text == "http://h:1/api/x"
    assert s.settings.method.text == "POST"
    assert s.settings.body_type == "json"  # not get/head
    assert s.settings.timeout_ms == 2000
    get = HttpPullSource(d, {"url": "http://h:1"}, StreamFeed(d, RealClock()))
    assert (get.settings.method.text, get.settings.body_type, get.interval_ms) == ("GET", "none", 10_000)


# --- in the engine -------------------------------------------------------------------------


async def test_a_stream_in_the_engine_reads_the_shipped_defaults(http_endpoint, eventually, tmp_path):
    from arrokoth.config import Config
    from arrokoth.engine import Engine
    from arrokoth.store import open_store

    counter_answers(http_endpoint)
    engine = Engine(Config({"basic": {"httpServerIp": "127.0.0.1", "httpServerPort": 0}}, data_dir=tmp_path),
                    open_store("sqlite::memory:"))
    await engine.open()
    try:
        extra = json.dumps({"url": http_endpoint.url, "interval": 30}).replace('"', '\\"')
        engine.create_stream(f'CREATE STREAM p () WITH (DATASOURCE="/in", TYPE="httppull", EXTRA="{extra}")')
        await engine.create_rule({"id": "r1", "sql": "SELECT n FROM p WHERE n > 1", "actions": [{"nop": {}}]})
        await eventually(lambda: engine.rules["r1"].runtime.metrics.records_out >= 2)
        _, metrics = engine.rule_status("r1")
        assert metrics["source_p_0_connection_status"] == 1
        assert metrics["source_p_0_connection_last_connected_time"] > 0
        req = http_endpoint.requests[0]
        # the shipped default section: post, json, Accept: application/json
        assert (req.method, req.path) == ("POST", "/in")
        assert req.headers["accept"] == "application/json"
        assert req.headers["content-type"] == "application/json"
        source = engine.sources["p"]
        await engine.stop_rule("r1")
        assert "p" not in engine.sources
        assert source._task is None and source._client is None
    finally:
        await engine.close()
