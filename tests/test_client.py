"""`arrokoth.client` against a real HTTP server on loopback that records requests and answers like eKuiper."""

from __future__ import annotations

import inspect
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from arrokoth.client import ENDPOINTS, AsyncClient, Client, ConnectionFailed, EKuiperError

TEXT_PLAIN = "text/plain; charset=utf-8"


@dataclass
class Recorded:
    method: str
    path: str  # raw, still percent-encoded
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeEKuiper:
    """A stdlib HTTP server in a background thread; answers from `replies`, 200 with an empty body by default.

    `GET /slow` waits on `release`, which only the teardown sets: the timeout test's handler.
    """

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: dict[tuple[str, str], Reply] = {}
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append(
                    Recorded(
                        self.command,
                        parts.path,
                        parse_qs(parts.query, keep_blank_values=True),
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                )
                if parts.path == "/slow":
                    fake.release.wait(30)
                    self.close_connection = True
                    return
                reply = fake.replies.get((self.command, parts.path), Reply())
                self.send_response(reply.status)
                if reply.content_type is not None:
                    self.send_header("Content-Type", reply.content_type)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.send_header("Connection", "close")  # as eKuiper does
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_one

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out has gone; nothing to report

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def reply(
        self, method: str, path: str, status: int = 200, body: str | bytes = b"", content_type=None, **kw
    ):
        data = body.encode() if isinstance(body, str) else body
        self.replies[(method, path)] = Reply(status, data, content_type, **kw)

    def error(self, method: str, path: str, status: int, code: int, message: str) -> None:
        body = json.dumps({"error": code, "message": message}, separators=(",", ":")) + "\n"
        self.reply(method, path, status, body, TEXT_PLAIN)

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def shared_server():
    fake = FakeEKuiper()
    yield fake
    fake.close()


@pytest.fixture
def server(shared_server):
    """The module's server, with no recorded request and no canned reply; a slow handler is let go after."""
    shared_server.requests.clear()
    shared_server.replies.clear()
    shared_server.release = threading.Event()
    yield shared_server
    shared_server.release.set()


# --- the request each method sends ---------------------------------------------------------------------

NO_BODY = object()
MULTIPART = object()
RULE = {"id": "r1", "sql": "SELECT * FROM demo", "actions": [{"log": {}}]}
DOC = {"streams": {"demo": 'CREATE STREAM demo () WITH (DATASOURCE="t")'}, "rules": {}}


def case(name, args, method, path, query=None, body=NO_BODY, **kwargs):
    return pytest.param(name, args, kwargs, method, path, query or {}, body, id=f"{name}:{method} {path}")


CASES = [
    # server basics
    case("info", (), "GET", "/"),
    case("ping", (), "GET", "/ping"),
    case("stop_server", (), "POST", "/stop"),
    case(
        "batch",
        (
            [
                {"method": "POST", "path": "/streams", "body": {"sql": "x"}},
                {"method": "GET", "path": "/rules"},
            ],
        ),
        "POST",
        "/batch/req",
        body=[
            {"method": "POST", "path": "/streams", "body": '{"sql":"x"}'},
            {"method": "GET", "path": "/rules"},
        ],
    ),
    case("metrics", (), "GET", "/metrics"),
    case("metrics_dump_check", (), "GET", "/metrics/dump/check"),
    case("metrics_dump", (1, 2), "GET", "/metrics/dump", {"startTime": ["1"], "endTime": ["2"]}),
    case(
        "patch_configs",
        (),
        "PATCH",
        "/configs",
        body={"logLevel": "debug", "consoleLog": True, "timezone": "UTC"},
        log_level="debug",
        consoleLog=True,
        timezone="UTC",
    ),
    # streams and tables
    case(
        "create_stream",
        ("CREATE STREAM s () WITH ()",),
        "POST",
        "/streams",
        body={"sql": "CREATE STREAM s () WITH ()"},
    ),
    case(
        "create_table",
        ("CREATE TABLE t () WITH ()",),
        "POST",
        "/tables",
        body={"sql": "CREATE TABLE t () WITH ()"},
    ),
    case("list_streams", (), "GET", "/streams"),
    case("list_tables", (), "GET", "/tables"),
    case("list_tables", ("lookup",), "GET", "/tables", {"kind": ["lookup"]}),
    case("stream_details", (), "GET", "/streamdetails"),
    case("table_details", ("scan",), "GET", "/tabledetails", {"kind": ["scan"]}),
    case("describe_stream", ("demo",), "GET", "/streams/demo"),
    case("describe_table", ("t1",), "GET", "/tables/t1"),
    case(
        "replace_stream",
        ("demo", "CREATE STREAM demo ()"),
        "PUT",
        "/streams/demo",
        body={"sql": "CREATE STREAM demo ()"},
    ),
    case(
        "replace_table", ("t1", "CREATE TABLE t1 ()"), "PUT", "/tables/t1", body={"sql": "CREATE TABLE t1 ()"}
    ),
    case("drop_stream", ("demo",), "DELETE", "/streams/demo"),
    case("drop_stream", ("demo",), "DELETE", "/streams/demo", {"force": ["true"]}, force=True),
    case("drop_table", ("t1", True), "DELETE", "/tables/t1", {"force": ["true"]}),
    case("stream_schema", ("demo",), "GET", "/streams/demo/schema"),
    case("table_schema", ("t1",), "GET", "/tables/t1/schema"),
    case("scan_tables", ("r1",), "GET", "/rules/r1/scantables"),
    # rules
    case("create_rule", (RULE,), "POST", "/rules", body=RULE),
    case("list_rules", (), "GET", "/rules"),
    case("get_rule", ("r1",), "GET", "/rules/r1"),
    case("update_rule", ("r1", RULE), "PUT", "/rules/r1", body=RULE),
    case("delete_rule", ("r1",), "DELETE", "/rules/r1"),
    case("start_rule", ("r1",), "POST", "/rules/r1/start"),
    case("stop_rule", ("r1",), "POST", "/rules/r1/stop"),
    case("restart_rule", ("r1",), "POST", "/rules/r1/restart"),
    case("rule_status", ("r1",), "GET", "/rules/r1/status"),
    case("rule_status_v2", ("r1",), "GET", "/v2/rules/r1/status"),
    case("all_rule_status", (), "GET", "/rules/status/all"),
    case("rule_topo", ("r1",), "GET", "/rules/r1/topo"),
    case("explain_rule", ("r1",), "GET", "/rules/r1/explain"),
    case("rule_schema", ("r1",), "GET", "/rules/r1/schema"),
    case("validate_rule", (RULE,), "POST", "/rules/validate", body=RULE),
    case(
        "reset_rule_state",
        ("r1", {"type": 1, "params": {"streamName": "demo", "input": {"offset": 3}}}),
        "PUT",
        "/rules/r1/reset_state",
        body={"type": 1, "params": {"streamName": "demo", "input": {"offset": 3}}},
    ),
    case("set_rule_tags", ("r1", ["t1", "t2"]), "PUT", "/rules/r1/tags", body={"tags": ["t1", "t2"]}),
    case("add_rule_tags", ("r1", "t3"), "PATCH", "/rules/r1/tags", body={"tags": ["t3"]}),
    case("remove_rule_tags", ("r1", ["t1"]), "DELETE", "/rules/r1/tags", body={"tags": ["t1"]}),
    case("match_rule_tags", (["t1", "t2"],), "GET", "/rules/tags/match", body={"tags": ["t1", "t2"]}),
    case("bulk_start", (["t1"],), "POST", "/rules/bulkstart", body={"tags": ["t1"]}),
    case("bulk_stop", (["t1"],), "POST", "/rules/bulkstop", body={"tags": ["t1"]}),
    case("rule_cpu_usage", (), "GET", "/rules/usage/cpu"),
    case("start_rule_trace", ("r1",), "POST", "/rules/r1/trace/start", body={"strategy": "always"}),
    case("start_rule_trace", ("r1", "head"), "POST", "/rules/r1/trace/start", body={"strategy": "head"}),
    case("stop_rule_trace", ("r1",), "POST", "/rules/r1/trace/stop"),
    case("rule_traces", ("r1",), "GET", "/trace/rule/r1"),
    case("rule_traces", ("r1", 5), "GET", "/trace/rule/r1", {"limit": ["5"]}),
    case("get_trace", ("abc123",), "GET", "/trace/abc123"),
    case(
        "start_tracer",
        ("ekuiper", "http://jaeger:4318"),
        "POST",
        "/tracer",
        body={"action": "start", "service_name": "ekuiper", "collector_url": "http://jaeger:4318"},
    ),
    case("stop_tracer", (), "POST", "/tracer", body={"action": "stop"}),
    # rule trial run
    case(
        "ruletest_create",
        ({"id": "t1", "sql": "select 1"},),
        "POST",
        "/ruletest",
        body={"id": "t1", "sql": "select 1"},
    ),
    case("ruletest_start", ("t1",), "POST", "/ruletest/t1/start"),
    case("ruletest_delete", ("t1",), "DELETE", "/ruletest/t1"),
    # connections
    case(
        "create_connection",
        ("conn1", "mqtt", {"server": "tcp://127.0.0.1:1883"}),
        "POST",
        "/connections",
        body={"id": "conn1", "typ": "mqtt", "props": {"server": "tcp://127.0.0.1:1883"}},
    ),
    case("list_connections", (), "GET", "/connections"),
    case("list_connections", (), "GET", "/connections", {"forceAll": ["true"]}, force_all=True),
    case("get_connection", ("conn1",), "GET", "/connections/conn1"),
    case(
        "update_connection",
        ("conn1", "mqtt", {"server": "tcp://b:1883"}),
        "PUT",
        "/connections/conn1",
        body={"typ": "mqtt", "props": {"server": "tcp://b:1883"}},
    ),
    case("delete_connection", ("conn1",), "DELETE", "/connections/conn1"),
    case(
        "check_source_connection",
        ("mqtt", {"server": "tcp://x:1883"}),
        "POST",
        "/metadata/sources/connection/mqtt",
        body={"server": "tcp://x:1883"},
    ),
    case(
        "check_sink_connection",
        ("kafka", {"brokers": "h:9092"}),
        "POST",
        "/metadata/sinks/connection/kafka",
        body={"brokers": "h:9092"},
    ),
    case(
        "check_lookup_connection",
        ("sql", {"dburl": "x"}),
        "POST",
        "/metadata/lookups/connection/sql",
        body={"dburl": "x"},
    ),
    # metadata and confKeys
    case("list_sources", (), "GET", "/metadata/sources"),
    case("list_sources", ("lookup",), "GET", "/metadata/sources", {"kind": ["lookup"]}),
    case("describe_source", ("mqtt",), "GET", "/metadata/sources/mqtt"),
    case("list_sinks", (), "GET", "/metadata/sinks"),
    case("describe_sink", ("log",), "GET", "/metadata/sinks/log"),
    case("list_connection_types", (), "GET", "/metadata/connections"),
    case("describe_connection_type", ("mqtt",), "GET", "/metadata/connections/mqtt"),
    case("source_confkeys", ("mqtt",), "GET", "/metadata/sources/yaml/mqtt"),
    case("sink_confkeys", ("mqtt",), "GET", "/metadata/sinks/yaml/mqtt"),
    case("connection_confkeys", ("mqtt",), "GET", "/metadata/connections/yaml/mqtt"),
    case(
        "put_source_confkey",
        ("mqtt", "k1", {"qos": 1}),
        "PUT",
        "/metadata/sources/mqtt/confKeys/k1",
        body={"qos": 1},
    ),
    case("delete_source_confkey", ("mqtt", "k1"), "DELETE", "/metadata/sources/mqtt/confKeys/k1"),
    case(
        "put_sink_confkey",
        ("mqtt", "k1", {"qos": 1}),
        "PUT",
        "/metadata/sinks/mqtt/confKeys/k1",
        body={"qos": 1},
    ),
    case("delete_sink_confkey", ("mqtt", "k1"), "DELETE", "/metadata/sinks/mqtt/confKeys/k1"),
    case(
        "put_connection_confkey",
        ("mqtt", "c1", {"server": "s"}),
        "PUT",
        "/metadata/connections/mqtt/confKeys/c1",
        body={"server": "s"},
    ),
    case("delete_connection_confkey", ("mqtt", "c1"), "DELETE", "/metadata/connections/mqtt/confKeys/c1"),
    case("resources", (), "GET", "/metadata/resources"),
    case("resource", (), "GET", "/metadata/resource"),
    case("resource", ("stream",), "GET", "/metadata/resource", {"sourceType": ["stream"]}),
    case("functions_metadata", (), "GET", "/metadata/functions"),
    case("operators_metadata", (), "GET", "/metadata/operators"),
    # plugins
    case(
        "create_plugin",
        ("sources", "random", "file:///tmp/random.zip"),
        "POST",
        "/plugins/sources",
        body={"name": "random", "file": "file:///tmp/random.zip", "shellParas": ["a"]},
        shell_paras=["a"],
    ),
    case(
        "create_plugin",
        ("function", "myfuncs", "http://h/f.zip"),
        "POST",
        "/plugins/functions",
        body={"name": "myfuncs", "file": "http://h/f.zip", "functions": ["f1", "f2"]},
        functions=["f1", "f2"],
    ),
    case("list_plugins", ("sinks",), "GET", "/plugins/sinks"),
    case("describe_plugin", ("sinks", "zmq"), "GET", "/plugins/sinks/zmq"),
    case(
        "update_plugin",
        ("sinks", "zmq", "file:///z.zip"),
        "PUT",
        "/plugins/sinks/zmq",
        body={"name": "zmq", "file": "file:///z.zip"},
    ),
    case("delete_plugin", ("sinks", "zmq"), "DELETE", "/plugins/sinks/zmq"),
    case("delete_plugin", ("sinks", "zmq"), "DELETE", "/plugins/sinks/zmq", {"stop": ["1"]}, stop=True),
    case(
        "register_plugin_functions",
        ("myfuncs", ["f1"]),
        "POST",
        "/plugins/functions/myfuncs/register",
        body={"functions": ["f1"]},
    ),
    case("prebuilt_plugins", ("sources",), "GET", "/plugins/sources/prebuild"),
    case("list_udfs", (), "GET", "/plugins/udfs"),
    case("describe_udf", ("f1",), "GET", "/plugins/udfs/f1"),
    case(
        "create_portable",
        ("pysam", "file:///p.zip"),
        "POST",
        "/plugins/portables",
        body={"name": "pysam", "file": "file:///p.zip"},
    ),
    case("list_portables", (), "GET", "/plugins/portables"),
    case("describe_portable", ("pysam",), "GET", "/plugins/portables/pysam"),
    case("portable_status", ("pysam",), "GET", "/plugins/portables/pysam/status"),
    case(
        "update_portable",
        ("pysam", "file:///p.zip"),
        "PUT",
        "/plugins/portables/pysam",
        body={"name": "pysam", "file": "file:///p.zip"},
    ),
    case("delete_portable", ("pysam",), "DELETE", "/plugins/portables/pysam"),
    # data import / export
    case("export_data", (), "GET", "/data/export"),
    case("export_data", (["r1", "r2"],), "POST", "/data/export", body=["r1", "r2"]),
    case(
        "import_data",
        (DOC,),
        "POST",
        "/data/import",
        body={"content": json.dumps(DOC, separators=(",", ":"))},
    ),
    case(
        "import_data",
        (),
        "POST",
        "/data/import",
        {"partial": ["1"]},
        body={"file": "file:///tmp/a.json"},
        file="file:///tmp/a.json",
        partial=True,
    ),
    case(
        "import_data",
        ("{}",),
        "POST",
        "/data/import",
        {"partial": ["1"], "stop": ["1"]},
        body={"content": "{}"},
        partial=True,
        stop=True,
    ),
    case("import_status", (), "GET", "/data/import/status"),
    case(
        "async_import",
        ("{}",),
        "POST",
        "/async/data/import",
        {"partial": ["1"]},
        body={"content": "{}"},
        partial=True,
    ),
    case("async_task", ("dataImport-1712345678",), "GET", "/async/task/dataImport-1712345678"),
    case("cancel_async_task", ("dataImport-1",), "POST", "/async/task/dataImport-1/cancel"),
    case("export_data_v2", (), "GET", "/v2/data/export"),
    case("import_data_v2", ("streams: {}\n",), "POST", "/v2/data/import", body={"content": "streams: {}\n"}),
    case("export_ruleset", (), "POST", "/ruleset/export"),
    case(
        "import_ruleset",
        (),
        "POST",
        "/ruleset/import",
        body={"file": "file:///r.json"},
        file="file:///r.json",
    ),
    # services
    case(
        "create_service",
        ("svc", "file:///s.zip"),
        "POST",
        "/services",
        body={"name": "svc", "file": "file:///s.zip"},
    ),
    case("list_services", (), "GET", "/services"),
    case("describe_service", ("svc",), "GET", "/services/svc"),
    case(
        "update_service",
        ("svc", "file:///s.zip"),
        "PUT",
        "/services/svc",
        body={"name": "svc", "file": "file:///s.zip"},
    ),
    case("delete_service", ("svc",), "DELETE", "/services/svc"),
    case("list_service_functions", (), "GET", "/services/functions"),
    case("describe_service_function", ("f",), "GET", "/services/functions/f"),
    # schemas
    case(
        "create_schema",
        ("protobuf", "s1"),
        "POST",
        "/schemas/protobuf",
        body={"name": "s1", "content": "message X {}"},
        content="message X {}",
    ),
    case("list_schemas", ("protobuf",), "GET", "/schemas/protobuf"),
    case("describe_schema", ("protobuf", "s1"), "GET", "/schemas/protobuf/s1"),
    case(
        "update_schema",
        ("protobuf", "s1"),
        "PUT",
        "/schemas/protobuf/s1",
        body={
            "type": "protobuf",
            "name": "s1",
            "file": "file:///s1.proto",
            "soFile": "file:///s1.so",
            "version": "2",
        },
        file="file:///s1.proto",
        so_file="file:///s1.so",
        version="2",
    ),
    case("delete_schema", ("protobuf", "s1"), "DELETE", "/schemas/protobuf/s1"),
    case(
        "upload_schema_file",
        ("protobuf", "s1", b"syntax"),
        "PUT",
        "/schemas/protobuf/s1/upload",
        body=MULTIPART,
        filename="s1.proto",
    ),
    # JavaScript UDFs
    case(
        "create_javascript_udf",
        ("area", "function area(x){return x}"),
        "POST",
        "/udf/javascript",
        body={"id": "area", "description": "", "script": "function area(x){return x}", "isAgg": False},
    ),
    case("list_javascript_udfs", (), "GET", "/udf/javascript"),
    case("describe_javascript_udf", ("area",), "GET", "/udf/javascript/area"),
    case(
        "update_javascript_udf",
        ("area", "s", "d", True),
        "PUT",
        "/udf/javascript/area",
        body={"id": "area", "description": "d", "script": "s", "isAgg": True},
    ),
    case("delete_javascript_udf", ("area",), "DELETE", "/udf/javascript/area"),
    # uploads
    case(
        "create_upload",
        ("dir/my.json", "{}"),
        "POST",
        "/config/uploads",
        body={"name": "dir/my.json", "content": "{}"},
    ),
    case("upload_file", (b"hello",), "POST", "/config/uploads", body=MULTIPART, filename="my.txt"),
    case("list_uploads", (), "GET", "/config/uploads"),
    case("delete_upload", ("my.json",), "DELETE", "/config/uploads/my.json"),
]


def check_request(req: Recorded, method: str, path: str, query: dict, body: Any) -> None:
    assert (req.method, req.path, req.query) == (method, path, query)
    if body is NO_BODY:
        assert req.body == b""
    elif body is MULTIPART:
        assert req.headers["content-type"].startswith("multipart/form-data; boundary=")
    else:
        assert req.headers["content-type"] == "application/json"
        assert req.json == body


def test_every_endpoint_method_is_checked():
    assert {p.values[0] for p in CASES} == set(ENDPOINTS)


@pytest.mark.parametrize(("name", "args", "kwargs", "method", "path", "query", "body"), CASES)
def test_request_sync(server, name, args, kwargs, method, path, query, body):
    with Client(server.url) as client:
        getattr(client, name)(*args, **kwargs)
    check_request(server.last, method, path, query, body)


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "args", "kwargs", "method", "path", "query", "body"), CASES)
async def test_request_async(server, name, args, kwargs, method, path, query, body):
    async with AsyncClient(server.url) as client:
        await getattr(client, name)(*args, **kwargs)
    check_request(server.last, method, path, query, body)


# --- the surface ---------------------------------------------------------------------------------------


def test_both_clients_have_the_same_constructor_and_methods():
    assert inspect.signature(Client.__init__) == inspect.signature(AsyncClient.__init__)
    for name in ENDPOINTS:
        sync, async_ = getattr(Client, name), getattr(AsyncClient, name)
        assert not inspect.iscoroutinefunction(sync)
        assert inspect.iscoroutinefunction(async_)
        assert inspect.signature(sync) == inspect.signature(async_)
        assert sync.__qualname__ == f"Client.{name}"


@pytest.mark.parametrize("name", ENDPOINTS)
def test_every_method_docstring_names_its_endpoint(name):
    first = getattr(Client, name).__doc__.splitlines()[0]
    assert re.match(r"`(GET|POST|PUT|PATCH|DELETE) /", first), first


def test_the_client_module_imports_nothing_of_ours():
    import arrokoth.client as module

    source = inspect.getsource(module)
    assert not re.search(r"^\s*(from|import) (arrokoth|\.)", source, re.MULTILINE)


def test_unknown_plugin_type_is_refused_before_sending(server):
    with Client(server.url) as client, pytest.raises(ValueError, match="sources, sinks or functions"):
        client.list_plugins("portables")
    assert server.requests == []


# --- what is sent: headers, quoting, bodies ------------------------------------------------------------


def test_token_goes_raw_into_authorization(server):
    with Client(server.url, token="eyJhbGciOi.x.y", headers={"Content-Language": "zh-CN"}) as client:
        client.list_rules()
    assert server.last.headers["authorization"] == "eyJhbGciOi.x.y"
    assert server.last.headers["content-language"] == "zh-CN"


@pytest.mark.anyio
async def test_async_token_goes_raw_into_authorization(server):
    async with AsyncClient(server.url, token="tok") as client:
        await client.list_streams()
    assert server.last.headers["authorization"] == "tok"


def test_no_authorization_without_token(server):
    with Client(server.url) as client:
        client.ping()
    assert "authorization" not in server.last.headers


@pytest.mark.parametrize(
    ("rule_id", "raw"),
    [
        ("invalid name", "/rules/invalid%20name/status"),
        ("a/b", "/rules/a%2Fb/status"),
        ("..", "/rules/%2E%2E/status"),
        (".", "/rules/%2E/status"),
        ("r?x#y", "/rules/r%3Fx%23y/status"),
        ("100%", "/rules/100%25/status"),
        ("é", "/rules/%C3%A9/status"),
        ("a.b", "/rules/a.b/status"),
    ],
)
def test_path_parameters_are_quoted(server, rule_id, raw):
    with Client(server.url) as client:
        client.rule_status(rule_id)
    assert server.last.path == raw


def test_base_url_may_carry_a_path_prefix(server):
    with Client(server.url + "/ekuiper/") as client:
        client.describe_stream("demo")
    assert server.last.path == "/ekuiper/streams/demo"


def test_a_rule_given_as_a_string_is_sent_byte_for_byte(server):
    raw = '{"id":"r1",  "sql":"SELECT 1", "actions":[{"log":{}}]}'
    with Client(server.url) as client:
        client.update_rule("r1", raw)
    assert server.last.body == raw.encode()
    assert server.last.headers["content-type"] == "application/json"


def test_upload_file_is_multipart_with_field_upload_file(server, tmp_path):
    path = tmp_path / "my.txt"
    path.write_bytes(b"hello world")
    with Client(server.url) as client:
        client.upload_file(path)
    body = server.last.body
    assert b'name="uploadFile"; filename="my.txt"' in body
    assert b"hello world" in body


def test_upload_schema_file_sends_file_and_version(server):
    with Client(server.url) as client:
        client.upload_schema_file("protobuf", "s1", b"syntax = 1", filename="s1.proto", version="3")
    body = server.last.body
    assert b'name="file"; filename="s1.proto"' in body
    assert b'name="version"' in body and b"\r\n\r\n3\r\n" in body


@pytest.mark.anyio
async def test_async_upload_file(server):
    async with AsyncClient(server.url) as client:
        await client.upload_file(b"abc", "a.bin")
    assert b'name="uploadFile"; filename="a.bin"' in server.last.body


# --- what comes back -----------------------------------------------------------------------------------

INFO = '{"version":"2.0.0","os":"linux","arch":"amd64","upTimeSeconds":14,"memoryTotal":"1"}'
EXPLAIN = (
    '{"op":"ProjectPlan_0","info":"Fields:[ * ]"}\n\t{"op":"DataSourcePlan_1","info":"StreamName: demo"}\n'
)


def prime(server: FakeEKuiper) -> None:
    """Canned eKuiper answers for the decode tests."""
    server.reply("POST", "/rules", 201, "Rule r1 was created successfully.", TEXT_PLAIN)
    server.reply(
        "GET", "/rules", 200, '[{"id":"r1","name":"r1","status":"running","tags":null}]', "application/json"
    )
    server.reply("GET", "/", 200, INFO, TEXT_PLAIN)  # no explicit type: Go sniffs text/plain
    server.reply("GET", "/rules/r1/explain", 200, EXPLAIN, TEXT_PLAIN)
    server.reply("GET", "/rules/usage/cpu", 200, "cpu usage not enabled", TEXT_PLAIN)
    server.reply("GET", "/data/export", 200, json.dumps(DOC), "application/octet-stream")
    server.reply("GET", "/metrics/dump", 200, b"PK\x03\x04zip", "application/zip")
    server.reply("GET", "/rules/tags/match", 200, "{}", "application/json")
    server.error(
        "POST", "/streams", 400, 3000, "Stream command error: Create stream fails: Item demo already exists."
    )
    server.error("GET", "/rules/nope", 404, 1002, "Describe rule error: Rule nope is not found.")
    server.reply("POST", "/rules/validate", 422, "invalid rule json: Missing rule actions.", TEXT_PLAIN)
    server.reply("GET", "/streams", 401, "missing_token", TEXT_PLAIN)
    server.reply("GET", "/stream", 404, "404 page not found\n", TEXT_PLAIN)
    server.reply("PATCH", "/configs", 204)
    server.reply("GET", "/rules/r1/topo", 200, "not json", TEXT_PLAIN)


def check_answers(call) -> None:
    """`call(name, *args)` runs one client method and returns its result."""
    assert call("create_rule", RULE) == "Rule r1 was created successfully."
    assert call("list_rules") == [{"id": "r1", "name": "r1", "status": "running", "tags": None}]
    assert call("info")["upTimeSeconds"] == 14
    assert call("explain_rule", "r1") == EXPLAIN
    assert call("rule_cpu_usage") == "cpu usage not enabled"
    assert call("export_data") == DOC
    assert call("metrics_dump") == b"PK\x03\x04zip"
    assert call("match_rule_tags", ["x"]) == {}
    assert call("ping") is None
    assert call("set_rule_tags", "r1", ["a"]) is None
    assert call("patch_configs", log_level="info") is None

    e = call("create_stream", "CREATE STREAM demo () WITH ()")
    assert (e.status, e.code) == (400, 3000)
    assert e.message == "Stream command error: Create stream fails: Item demo already exists."
    assert str(e) == "400 3000: Stream command error: Create stream fails: Item demo already exists."
    e = call("get_rule", "nope")
    assert (e.status, e.code, str(e)) == (404, 1002, "404 1002: Describe rule error: Rule nope is not found.")
    e = call("validate_rule", {"id": "r1", "sql": "SELECT 1"})
    assert (e.status, e.code, e.message) == (422, None, "invalid rule json: Missing rule actions.")
    e = call("list_streams")
    assert (e.status, e.code, e.message, str(e)) == (401, None, "missing_token", "401 None: missing_token")
    e = call("rule_topo", "r1")  # a JSON endpoint that answers something else
    assert (e.status, e.code) == (200, None) and "not json" in e.message


def test_answers_sync(server):
    prime(server)
    with Client(server.url) as client:

        def call(name, *args, **kwargs):
            try:
                return getattr(client, name)(*args, **kwargs)
            except EKuiperError as e:
                assert type(e) is EKuiperError
                return e

        check_answers(call)


@pytest.mark.anyio
async def test_answers_async(server):
    prime(server)
    async with AsyncClient(server.url) as client:
        results = {}

        async def run(name, *args, **kwargs):
            try:
                return await getattr(client, name)(*args, **kwargs)
            except EKuiperError as e:
                assert type(e) is EKuiperError
                return e

        # run every call first (asynchronously), then check the results through the same assertions
        calls = [
            ("create_rule", (RULE,), {}),
            ("list_rules", (), {}),
            ("info", (), {}),
            ("explain_rule", ("r1",), {}),
            ("rule_cpu_usage", (), {}),
            ("export_data", (), {}),
            ("metrics_dump", (), {}),
            ("match_rule_tags", (["x"],), {}),
            ("ping", (), {}),
            ("set_rule_tags", ("r1", ["a"]), {}),
            ("patch_configs", (), {"log_level": "info"}),
            ("create_stream", ("CREATE STREAM demo () WITH ()",), {}),
            ("get_rule", ("nope",), {}),
            ("validate_rule", ({"id": "r1", "sql": "SELECT 1"},), {}),
            ("list_streams", (), {}),
            ("rule_topo", ("r1",), {}),
        ]
        for name, args, kwargs in calls:
            results[(name, repr(args), repr(kwargs))] = await run(name, *args, **kwargs)

    check_answers(lambda name, *args, **kwargs: results[(name, repr(args), repr(kwargs))])


def test_json_error_body_keeps_its_code_and_raw_body(server):
    server.error("GET", "/connections/x", 400, 1000, "connection x not existed")
    with Client(server.url) as client, pytest.raises(EKuiperError) as info:
        client.get_connection("x")
    assert (info.value.status, info.value.code, info.value.message) == (400, 1000, "connection x not existed")
    assert info.value.body == '{"error":1000,"message":"connection x not existed"}\n'


def test_router_miss_and_wrong_method(server):
    server.reply("GET", "/rules/r1/status", 404, "404 page not found\n", TEXT_PLAIN)
    server.reply("DELETE", "/rules/r1/start", 405)
    with Client(server.url) as client:
        with pytest.raises(EKuiperError) as info:
            client.rule_status("r1")
        assert (info.value.status, info.value.code, info.value.message) == (404, None, "404 page not found")
        with pytest.raises(EKuiperError) as info:
            client._send(_call("DELETE", "/rules/r1/start"))
        assert (info.value.status, info.value.message) == (405, "Method Not Allowed")


def _call(method: str, path: str):
    from arrokoth.client import _Call

    return _Call(method, path)


def test_json_served_without_json_content_type_is_parsed_on_auto_endpoints(server):
    server.reply("GET", "/rules/usage/cpu", 200, '{"r1":220}', TEXT_PLAIN)
    with Client(server.url) as client:
        assert client.rule_cpu_usage() == {"r1": 220}


# --- failures to reach the server ----------------------------------------------------------------------


def test_timeout_is_connection_failed(server):
    with Client(server.url, timeout=0.2) as client, pytest.raises(ConnectionFailed) as info:
        client._send(_call("GET", "/slow"))
    e = info.value
    assert isinstance(e, EKuiperError)
    assert e.status is None and e.code is None
    assert "Timeout" in e.message
    assert server.url in str(e)


@pytest.mark.anyio
async def test_async_timeout_is_connection_failed(server):
    async with AsyncClient(server.url, timeout=0.2) as client:
        with pytest.raises(ConnectionFailed, match="Timeout"):
            await client._send(_call("GET", "/slow"))


def test_connection_refused_is_connection_failed(free_port):
    url = f"http://127.0.0.1:{free_port()}"
    with Client(url, timeout=2) as client, pytest.raises(ConnectionFailed) as info:
        client.ping()
    assert "ConnectError" in info.value.message
    assert isinstance(info.value.__cause__, Exception)


@pytest.mark.anyio
async def test_async_connection_refused_is_connection_failed(free_port):
    async with AsyncClient(f"http://127.0.0.1:{free_port()}", timeout=2) as client:
        with pytest.raises(ConnectionFailed, match="ConnectError"):
            await client.list_rules()


def test_close_and_aclose():
    client = Client()
    client.close()
    assert client._http.is_closed
    assert repr(client) == "Client('http://127.0.0.1:9081')"


@pytest.mark.anyio
async def test_aclose():
    client = AsyncClient("http://127.0.0.1:9081/")
    await client.aclose()
    assert client._http.is_closed
    assert client.base_url == "http://127.0.0.1:9081"


def test_a_transport_can_be_handed_to_httpx():
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=["demo"])

    with Client(transport=httpx.MockTransport(handler)) as client:
        assert client.list_streams() == ["demo"]


def test_errors_pickle():
    import pickle

    e = pickle.loads(pickle.dumps(EKuiperError(400, 1000, "x", body="b")))
    assert str(e) == "400 1000: x"
    c = pickle.loads(pickle.dumps(ConnectionFailed("http://h", OSError("refused"))))
    assert str(c) == "cannot reach http://h: OSError: refused"
