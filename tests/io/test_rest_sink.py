"""The rest sink (arrokoth.io.sinks.rest) against a real local HTTP server: alone through
the AsyncSink protocol, and in rules where the SinkNode retries."""

from __future__ import annotations

import json
import logging
import socket
from urllib.parse import parse_qs

import pytest

from arrokoth.engine import EngineError
from arrokoth.io.memory_bus import bus
from arrokoth.io.sinks.base import CONNECTED, DISCONNECTED, SinkConfigError, SinkSendError
from arrokoth.io.sinks.rest import RestRequestError, RestSink, form_body

pytestmark = pytest.mark.anyio


def needs_templates():
    pytest.importorskip("arrokoth.io.templates", reason="needs the data template engine (arrokoth.io.templates)")


@pytest.fixture
async def rest():
    """`rest(props)`: a connected sink, closed at the end."""
    made: list[RestSink] = []

    async def make(props: dict) -> RestSink:
        sink = RestSink(props)
        made.append(sink)
        await sink.connect()
        return sink

    yield make
    for sink in made:
        await sink.aclose()


async def test_post_json_with_headers(http_endpoint, rest):
    sink = await rest({"url": http_endpoint.url + "/api", "method": "POST",
                       "headers": {"X-Device": "d1", "Authorization": "Basic abc"}})
    assert sink.status == CONNECTED
    await sink.send_async(b'{"a":1}', {"a": 1})
    [req] = http_endpoint.requests
    assert (req.method, req.path, req.body) == ("POST", "/api", b'{"a":1}')
    assert req.headers["content-type"] == "application/json"
    assert req.headers["x-device"] == "d1"
    assert req.headers["authorization"] == "Basic abc"


async def test_the_default_is_get_without_a_body(http_endpoint, rest):
    sink = await rest({"url": http_endpoint.url})
    await sink.send_async(b'[{"a":1}]', [{"a": 1}])
    [req] = http_endpoint.requests
    assert (req.method, req.body) == ("GET", b"")
    assert "content-type" not in req.headers


@pytest.mark.parametrize(("method", "body_type", "content_type"), [
    ("put", "text", "text/plain"),
    ("patch", "html", "text/html"),
    ("delete", "xml", "application/xml"),
    ("post", "javascript", "application/javascript"),
    ("post", "binary", "application/octet-stream"),
])
async def test_methods_and_body_types(http_endpoint, rest, method, body_type, content_type):
    sink = await rest({"url": http_endpoint.url, "method": method, "bodyType": body_type})
    await sink.send_async(b"payload", "payload")
    [req] = http_endpoint.requests
    assert req.method == method.upper()
    assert req.headers["content-type"] == content_type
    assert req.body == b"payload"


async def test_a_content_type_header_wins(http_endpoint, rest):
    sink = await rest({"url": http_endpoint.url, "method": "post", "headers": {"content-type": "application/cbor"}})
    await sink.send_async(b"{}", {})
    assert http_endpoint.requests[0].headers["content-type"] == "application/cbor"


async def test_form_bodies(http_endpoint, rest):
    sink = await rest({"url": http_endpoint.url, "method": "post", "bodyType": "form", "sendSingle": True})
    await sink.send_async(b'{"b": 1.5, "a": "x y", "o": {"k": [1]}, "t": true}', None)
    req = http_endpoint.requests[0]
    assert req.headers["content-type"] == "application/x-www-form-urlencoded;param=value"
    assert req.body == b"a=x+y&b=1.5&o=%7B%22k%22%3A%5B1%5D%7D&t=true"
    assert parse_qs(req.body.decode()) == {"a": ["x y"], "b": ["1.5"], "o": ['{"k":[1]}'], "t": ["true"]}
    # with sendSingle a payload that is not an object cannot be a form: not retried
    with pytest.raises(RestRequestError, match="invalid content"):
        await sink.send_async(b'[{"a": 1}]', None)
    assert len(http_endpoint.requests) == 1


def test_a_list_without_send_single_is_sent_as_the_result_field():
    assert parse_qs(form_body(b'[{"a":1},{"a":2}]', False)) == {"result": ['[{"a":1},{"a":2}]']}
    assert form_body(b"not json", False) == "result=not+json"
    with pytest.raises(RestRequestError, match="fail to decode content"):
        form_body(b"not json", True)


async def test_a_5xx_answer_raises_send_error_and_a_retry_sends_again(http_endpoint, rest):
    http_endpoint.answer(503, body="busy", content_type="text/plain")
    sink = await rest({"url": http_endpoint.url + "/x", "method": "post"})
    with pytest.raises(SinkSendError) as e:
        await sink.send_async(b'{"n":1}', {"n": 1})
    assert str(e.value) == ('parse response error: response code error: 503. | method=POST path="'
                            + http_endpoint.url + '/x" status=503 response_body="busy"')
    assert sink.status == CONNECTED  # the server answered
    http_endpoint.answer(200)
    await sink.send_async(b'{"n":1}', {"n": 1})
    assert [r.body for r in http_endpoint.requests] == [b'{"n":1}', b'{"n":1}']


async def test_a_4xx_answer_raises_send_error(http_endpoint, rest):
    http_endpoint.answer(404, body="no")
    sink = await rest({"url": http_endpoint.url, "method": "post"})
    with pytest.raises(SinkSendError, match="response code error: 404"):
        await sink.send_async(b"{}", {})


async def test_an_unreachable_server_disconnects(rest):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = await rest({"url": f"http://127.0.0.1:{port}/x", "method": "post"})
    with pytest.raises(SinkSendError, match=f'rest sink fails to send out the data: err=.* method=POST path="http://127.0.0.1:{port}/x"'):
        await sink.send_async(b"{}", {})
    assert sink.status == DISCONNECTED
    assert sink.last_disconnected_message
    await sink.connect()  # what the node does before it sends again
    assert sink.status == CONNECTED


async def test_timeout(http_endpoint, rest):
    http_endpoint.respond = http_endpoint.slow(5)
    sink = await rest({"url": http_endpoint.url, "method": "post", "timeout": 100})
    with pytest.raises(SinkSendError, match="rest sink fails to send out the data"):
        await sink.send_async(b"{}", {})
    assert sink.status == DISCONNECTED


async def test_response_type_body(http_endpoint, rest, caplog):
    sink = await rest({"url": http_endpoint.url, "method": "post", "responseType": "body"})
    http_endpoint.answer(200, body='{"code": 400, "message": "bad"}')
    with pytest.raises(SinkSendError, match="response code error: 400"):
        await sink.send_async(b"{}", {})
    http_endpoint.answer(200, body='{"code": 200}')
    await sink.send_async(b"{}", {})
    # an answer that is not JSON is only logged, as in eKuiper
    http_endpoint.answer(200, body="<html>", content_type="text/html")
    with caplog.at_level(logging.WARNING, logger="arrokoth.sink.rest"):
        await sink.send_async(b"{}", {})
    assert "rest sink response body error" in caplog.text


async def test_debug_resp_logs_the_answer(http_endpoint, rest, caplog):
    http_endpoint.answer(200, body="accepted", content_type="text/plain")
    sink = await rest({"url": http_endpoint.url, "method": "post", "debugResp": True})
    with caplog.at_level(logging.INFO, logger="arrokoth.sink.rest"):
        await sink.send_async(b"{}", {})
    assert "Response raw content: accepted" in caplog.text


async def test_tls_verification(https_endpoint, rest):
    strict = await rest({"url": https_endpoint.url, "method": "post"})
    with pytest.raises(SinkSendError, match="CERTIFICATE_VERIFY_FAILED"):
        await strict.send_async(b"{}", {})
    relaxed = await rest({"url": https_endpoint.url, "method": "post", "insecureSkipVerify": True})
    await relaxed.send_async(b'{"s":1}', {"s": 1})
    assert https_endpoint.requests[-1].body == b'{"s":1}'


# --- templates and oAuth -------------------------------------------------------------------


async def test_url_method_and_headers_are_templates_over_the_data(http_endpoint, rest):
    needs_templates()
    sink = await rest({"url": http_endpoint.url + "/devices/{{.id}}", "method": "{{.verb}}",
                       "headers": {"X-Kind": "{{.kind}}", "X-Fixed": "f"}, "bodyType": "json"})
    await sink.send_async(b'{"id": 7}', {"id": 7, "verb": "put", "kind": "meter"})
    [req] = http_endpoint.requests
    assert (req.method, req.path) == ("PUT", "/devices/7")
    assert req.headers["x-kind"] == "meter"
    assert req.headers["x-fixed"] == "f"
    with pytest.raises(RestRequestError, match="unsupported HTTP method"):
        await sink.send_async(b"{}", {"id": 1, "verb": "fetch"})


def oauth_answers(server):
    def respond(req):
        if req.path == "/token":
            return 200, {}, b'{"access_token": "t1", "expires_in": 3600}'
        return 200, {}, json.dumps({"auth": req.headers.get("authorization")}).encode()

    server.respond = respond


async def test_oauth_tokens_in_the_headers(http_endpoint, rest):
    needs_templates()
    oauth_answers(http_endpoint)
    sink = await rest({"url": http_endpoint.url + "/follows", "method": "post", "sendSingle": True,
                       "headers": {"Authorization": "Bearer {{.access_token}}"},
                       "oAuth": {"access": {"url": http_endpoint.url + "/token", "body": '{"grant_type": "password"}',
                                            "expire": "{{.expires_in}}"}}})
    assert len(http_endpoint.to("/token")) == 1
    await sink.send_async(b'{"follower": 1}', {"follower": 1})
    assert http_endpoint.to("/follows")[0].headers["authorization"] == "Bearer t1"


async def test_oauth_failure_fails_the_connect(http_endpoint):
    http_endpoint.answer(401)
    sink = RestSink({"url": http_endpoint.url, "oAuth": {"access": {"url": http_endpoint.url + "/token"}}})
    try:
        with pytest.raises(SinkSendError, match="fail to authorize by oAuth: response code error: 401"):
            await sink.connect()
    finally:
        await sink.aclose()


# --- properties ------------------------------------------------------------------------------


@pytest.mark.parametrize(("props", "message"), [
    ({}, "url: the url is required"),
    ({"url": "localhost:8080/api"}, "url: 'localhost:8080/api' is not an http or https URL"),
    ({"url": "http://h", "method": "fetch"},
     "method: unsupported HTTP method fetch, expected one of get, post, put, patch, delete, head"),
    ({"url": "http://h", "bodyType": "protobuf"}, "bodyType: invalid body type protobuf"),
    ({"url": "http://h", "responseType": "json"}, "responseType: invalid response type json"),
    ({"url": "http://h", "timeout": "fast"}, "timeout: expected milliseconds or a duration"),
    ({"url": "http://h", "debugResp": "maybe"}, "debugResp: expected true or false but got 'maybe'"),
    ({"url": "http://h", "headers": ["a"]}, "headers: expected an object"),
    ({"url": "http://h", "oAuth": "token"}, "oAuth: expected an object with access and refresh"),
])
def test_bad_properties_name_the_property(props, message):
    with pytest.raises(SinkConfigError) as e:
        RestSink(props)
    assert str(e.value).startswith(message)


def test_properties_read_as_ekuiper_does():
    sink = RestSink({"URL": "http://h/api", "Method": "Post", "timeout": "1s", "debugresp": "true"})
    s = sink.settings
    assert (s.url.text, s.method.text, s.body_type, s.timeout_ms, s.response_type) == (
        "http://h/api", "POST", "json", 1000, "code")
    assert sink.debug_resp is True
    get = RestSink({"url": "http://h"}).settings
    assert (get.method.text, get.body_type, get.timeout_ms) == ("GET", "none", 5000)


# --- in rules ----------------------------------------------------------------------------------


@pytest.fixture
def engine(engine):
    """The conftest's engine with a memory stream `readings` (topic rest/in)."""
    engine.create_stream('CREATE STREAM readings () WITH (DATASOURCE="rest/in", TYPE="memory")')
    return engine


async def test_a_rule_posts_each_row(engine, http_endpoint, eventually):
    await engine.create_rule({"id": "r1", "sql": "SELECT id, t FROM readings", "actions": [{"rest": {
        "url": http_endpoint.url + "/ingest", "method": "post", "sendSingle": True,
        "headers": {"X-Rule": "r1"}}}]})
    bus.publish("rest/in", [{"id": 1, "t": 20.5}, {"id": 2, "t": 21}])
    await eventually(lambda: len(http_endpoint.requests) == 2)
    assert sorted(json.loads(r.body)["id"] for r in http_endpoint.requests) == [1, 2]
    assert all(r.headers["x-rule"] == "r1" for r in http_endpoint.requests)
    _, metrics = engine.rule_status("r1")
    await eventually(lambda: engine.rule_status("r1")[1]["sink_rest_0_0_records_out_total"] == 2)
    assert metrics["sink_rest_0_0_connection_status"] == 1


async def test_a_rule_retries_on_5xx(engine, http_endpoint, eventually):
    answers = iter([503, 502])
    http_endpoint.respond = lambda req: (next(answers, 200), {}, b"{}")
    await engine.create_rule({"id": "r1", "sql": "SELECT * FROM readings", "actions": [{"rest": {
        "url": http_endpoint.url, "method": "post", "retryCount": 3, "retryInterval": 10}}]})
    bus.publish("rest/in", [{"n": 1}])
    await eventually(lambda: engine.rule_status("r1")[1]["sink_rest_0_0_records_out_total"] == 1)
    assert [json.loads(r.body) for r in http_endpoint.requests] == [[{"n": 1}]] * 3
    _, metrics = engine.rule_status("r1")
    assert metrics["sink_rest_0_0_exceptions_total"] == 2
    assert "response code error: 502" in metrics["sink_rest_0_0_last_exception"]


async def test_a_rule_with_templates_and_send_single(engine, http_endpoint, eventually):
    needs_templates()
    await engine.create_rule({"id": "r1", "sql": "SELECT id, room FROM readings", "actions": [{"rest": {
        "url": http_endpoint.url + "/rooms/{{.room}}", "method": "put", "sendSingle": True}}]})
    bus.publish("rest/in", [{"id": 1, "room": "a"}, {"id": 2, "room": "b"}])
    await eventually(lambda: len(http_endpoint.requests) == 2)
    assert sorted(r.path for r in http_endpoint.requests) == ["/rooms/a", "/rooms/b"]


async def test_a_bad_property_fails_the_rule_creation(engine):
    with pytest.raises(EngineError) as e:
        await engine.create_rule({"id": "r1", "sql": "SELECT * FROM readings",
                                  "actions": [{"rest": {"url": "http://h", "method": "fetch"}}]})
    assert e.value.message.startswith("fail to create sink rest: method: unsupported HTTP method fetch")
