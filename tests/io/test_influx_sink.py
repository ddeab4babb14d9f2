"""The influx sink (arrokoth.io.sinks.influx) against a real InfluxDB 1.x.

The fixtures start `influxd` (the Debian package `influxdb`) on free loopback ports with a
config of their own in a temporary directory, and read back what was written with
`SELECT * FROM ...`. The sink is driven through its AsyncSink protocol and inside rules.
"""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrokoth.engine import Engine, EngineError
from arrokoth.io._line_protocol import encode_line
from arrokoth.io.connectivity import ConnectionCheckError
from arrokoth.io.memory_bus import bus
from arrokoth.io.props import redact_url
from arrokoth.io.sinks.base import CONNECTED, DISCONNECTED, SinkConfigError, SinkSendError
from arrokoth.io.sinks.influx import InfluxDataError, InfluxSink, InfluxWriteError
from arrokoth.io.sinks.registry import sink_class

pytestmark = pytest.mark.anyio

START_TIMEOUT = 20.0
ADMIN = ("admin", "s3cret-pw")


def influxd_binary() -> str:
    binary = shutil.which("influxd") or next((p for p in ("/usr/bin/influxd",) if Path(p).exists()), None)
    if binary is None:
        pytest.fail("influxd is not installed: apt-get install -y influxdb (the Debian package of InfluxDB 1.x)")
    return binary


class Influxd:
    """An influxd of its own: data in `workdir`, HTTP and the backup service on free ports.

    `stop()` kills it and `start()` brings it back on the same ports with the same data.
    """

    def __init__(self, workdir: Path, free_port: Callable[[], int], *, auth: bool = False,
                 tls: tuple[Path, Path] | None = None):
        self.binary = influxd_binary()
        self.workdir = workdir
        self.port = free_port()
        self.auth = auth
        self.scheme = "https" if tls else "http"
        self.conf_path = workdir / "influxdb.conf"
        self.log_path = workdir / "influxd.log"
        https = [f'  https-enabled = true\n  https-certificate = "{tls[0]}"\n  https-private-key = "{tls[1]}"\n'] if tls else []
        self.conf_path.write_text(
            "reporting-disabled = true\n"
            f'bind-address = "127.0.0.1:{free_port()}"\n'
            f'[meta]\n  dir = "{workdir / "meta"}"\n'
            f'[data]\n  dir = "{workdir / "data"}"\n  wal-dir = "{workdir / "wal"}"\n  query-log-enabled = false\n'
            f'[http]\n  enabled = true\n  bind-address = "127.0.0.1:{self.port}"\n'
            f"  auth-enabled = {'true' if auth else 'false'}\n  log-enabled = false\n" + "".join(https)
            + "[monitor]\n  store-enabled = false\n"
            "[continuous_queries]\n  enabled = false\n"
            '[logging]\n  level = "warn"\n  suppress-logo = true\n'
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def _client(self) -> httpx.Client:
        return httpx.Client(verify=False, timeout=5, trust_env=False, auth=ADMIN if self.auth else None)

    def _pings(self) -> bool:
        try:
            with self._client() as c:
                return c.get(self.url + "/ping").status_code == 204
        except httpx.HTTPError:
            return False

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([self.binary, "-config", str(self.conf_path)], stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while not self._pings():
            try:
                code = self.proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"influxd did not answer /ping on port {self.port} within {START_TIMEOUT}s")
                continue
            pytest.fail(f"influxd exited with {code}:\n{self.log_path.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def query(self, q: str, db: str | None = None, *, auth: tuple[str, str] | None = None) -> dict:
        params = {"q": q, "epoch": "ms"}
        if db:
            params["db"] = db
        with self._client() as c:
            resp = c.post(self.url + "/query", params=params, auth=auth or (ADMIN if self.auth else None))
        body = resp.json()
        assert resp.status_code == 200, body
        return body

    def create_database(self, name: str) -> str:
        self.query(f'CREATE DATABASE "{name}"')
        return name

    def points(self, db: str, measurement: str) -> list[dict]:
        """Every point of a measurement, oldest first, as column -> value."""
        series = self.query(f'SELECT * FROM "{measurement}"', db)["results"][0].get("series") or []
        return [dict(zip(s["columns"], v, strict=True)) for s in series for v in s["values"]]

    def field_types(self, db: str, measurement: str) -> dict[str, str]:
        series = self.query(f'SHOW FIELD KEYS FROM "{measurement}"', db)["results"][0].get("series") or []
        return {k: t for s in series for k, t in s["values"]}


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory, free_port: Callable[[], int]) -> Iterator[Influxd]:
    """A shared influxd without authentication; tests use databases of their own."""
    server = Influxd(tmp_path_factory.mktemp("influxd"), free_port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def influxd_auth(tmp_path_factory: pytest.TempPathFactory, free_port: Callable[[], int]) -> Iterator[Influxd]:
    """An influxd with auth-enabled and an admin user made through the API (no user exists yet,
    so InfluxDB takes that one statement without credentials)."""
    server = Influxd(tmp_path_factory.mktemp("influxd-auth"), free_port, auth=True)
    server.start()
    try:
        with httpx.Client(trust_env=False) as c:
            resp = c.post(server.url + "/query",
                          params={"q": f"CREATE USER {ADMIN[0]} WITH PASSWORD '{ADMIN[1]}' WITH ALL PRIVILEGES"})
        assert resp.status_code == 200, resp.text
        server.create_database("secured")
        yield server
    finally:
        server.stop()


_dbs = itertools.count()


@pytest.fixture
def db(influxd) -> str:
    return influxd.create_database(f"db{next(_dbs)}")


@pytest.fixture
async def influx():
    """`influx(props)`: a connected sink, closed at the end."""
    made: list[InfluxSink] = []

    async def make(props: dict) -> InfluxSink:
        sink = InfluxSink(props)
        made.append(sink)
        await sink.connect()
        return sink

    yield make
    for sink in made:
        await sink.aclose()


def props(server: Influxd, db: str, **more: Any) -> dict:
    return {"addr": server.url, "database": db, "measurement": "m", **more}


# --- writing -----------------------------------------------------------------------------------


async def test_rows_become_points_with_typed_fields(influxd, db, influx):
    sink = await influx(props(influxd, db, tsFieldName="ts"))
    assert sink.status == CONNECTED
    await sink.send_async(None, [
        {"ts": 1000, "t": 20.5, "n": 3, "ok": True, "s": 'say "hi"\\', "obj": {"a": 1}, "none": None},
        {"ts": 2000, "t": 21.0, "n": -4, "ok": False, "s": "", "obj": {"a": 2}, "none": None},
    ])
    assert influxd.points(db, "m") == [
        {"time": 1000, "t": 20.5, "n": 3, "ok": True, "s": 'say "hi"\\', "obj": "map[a:1]", "ts": 1000},
        {"time": 2000, "t": 21, "n": -4, "ok": False, "s": "", "obj": "map[a:2]", "ts": 2000},
    ]
    assert influxd.field_types(db, "m") == {"t": "float", "n": "integer", "ok": "boolean", "s": "string",
                                            "obj": "string", "ts": "integer"}


async def test_tags_may_be_data_templates(influxd, db, influx):
    sink = await influx(props(influxd, db, tsFieldName="ts",
                              tags={"device": "dev-{{.id}}", "site": "plant 1, hall=2", "missing": "{{.nope}}"}))
    await sink.send_async(None, [{"id": 7, "v": 1.5, "ts": 1}, {"id": 8, "v": 2.5, "ts": 2}])
    rows = influxd.points(db, "m")
    assert [(r["device"], r["site"], r["v"]) for r in rows] == [("dev-7", "plant 1, hall=2", 1.5),
                                                                ("dev-8", "plant 1, hall=2", 2.5)]
    # as in Go's templates, a missing key prints <no value>
    assert {r["missing"] for r in rows} == {"<no value>"}
    tag_keys = influxd.query('SHOW TAG KEYS FROM "m"', db)["results"][0]["series"][0]["values"]
    assert sorted(k for k, in tag_keys) == ["device", "missing", "site"]


async def test_tags_given_as_a_json_string_as_ekuipers_example(influxd, db, influx):
    sink = await influx(props(influxd, db, tags='{"tag1": "value1"}'))
    await sink.send_async(None, {"v": 1})
    assert influxd.points(db, "m")[0]["tag1"] == "value1"


async def test_fields_selects_what_is_written(influxd, db, influx):
    sink = await influx(props(influxd, db, fields=["a", "c", "absent"], tags={"id": "{{.id}}"}))
    await sink.send_async(None, {"id": "x", "a": 1.5, "b": 2.5, "c": "three"})
    (row,) = influxd.points(db, "m")
    assert row.keys() == {"time", "id", "a", "c"}
    assert (row["id"], row["a"], row["c"]) == ("x", 1.5, "three")


@pytest.mark.parametrize(("precision", "ts", "epoch_ms"), [
    ("s", 1_700_000_000, 1_700_000_000_000),
    ("ms", 1_700_000_000_123, 1_700_000_000_123),
    ("us", 1_700_000_000_123_000, 1_700_000_000_123),
    ("ns", 1_700_000_000_123_000_000, 1_700_000_000_123),
])
async def test_ts_field_in_the_precision_unit(influxd, db, influx, precision, ts, epoch_ms):
    sink = await influx(props(influxd, db, precision=precision, tsFieldName="at"))
    await sink.send_async(None, {"at": ts, "v": 1})
    assert [r["time"] for r in influxd.points(db, "m")] == [epoch_ms]


async def test_a_float_ts_field_is_truncated(influxd, db, influx):
    sink = await influx(props(influxd, db, tsFieldName="at"))
    await sink.send_async(None, {"at": 1_700_000_000_123.9, "v": 1})
    assert [r["time"] for r in influxd.points(db, "m")] == [1_700_000_000_123]


@pytest.mark.parametrize("precision", ["s", "ms", "us", "ns"])
async def test_without_ts_field_the_current_time_is_used(influxd, db, influx, precision):
    sink = await influx(props(influxd, db, precision=precision))
    before = time.time_ns() // 1_000_000
    await sink.send_async(None, {"v": 1})
    after = time.time_ns() // 1_000_000
    (row,) = influxd.points(db, "m")
    assert before - 1000 < row["time"] <= after


async def test_a_list_is_one_write_of_many_lines(influxd, db, influx):
    sink = await influx(props(influxd, db, tsFieldName="ts"))
    requests: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        requests.append(request)

    sink._client.event_hooks["request"].append(record)
    await sink.send_async(None, [{"ts": i, "v": float(i)} for i in range(1, 101)])
    assert len(requests) == 1
    assert requests[0].content.count(b"\n") == 99
    assert [r["v"] for r in influxd.points(db, "m")] == list(range(1, 101))
    await sink.send_async(None, [])  # nothing to write
    assert len(requests) == 1


async def test_measurement_names_are_escaped(influxd, db, influx):
    sink = await influx(props(influxd, db, measurement="room temp,c"))
    await sink.send_async(None, {"v": 1})
    names = influxd.query("SHOW MEASUREMENTS", db)["results"][0]["series"][0]["values"]
    assert names == [["room temp,c"]]


async def test_a_measurement_template_is_rendered_per_row(influxd, db, influx):
    sink = await influx(props(influxd, db, measurement="{{.kind}}_readings", tsFieldName="ts"))
    await sink.send_async(None, [{"kind": "temp", "v": 1, "ts": 1}, {"kind": "hum", "v": 2, "ts": 2}])
    assert [r["v"] for r in influxd.points(db, "temp_readings")] == [1]
    assert [r["v"] for r in influxd.points(db, "hum_readings")] == [2]
    with pytest.raises(InfluxDataError, match="^measurement #_readings: a name starting with #"):
        await sink.send_async(None, {"kind": "#", "v": 1, "ts": 3})


async def test_rows_are_stamped_with_a_virtual_clock(influxd, db, influx):
    from arrokoth.runtime.clock import VirtualClock

    sink = await influx(props(influxd, db))
    sink.clock = VirtualClock(1_234_567)
    await sink.send_async(None, {"v": 1})
    assert [r["time"] for r in influxd.points(db, "m")] == [1_234_567]


# --- failures ----------------------------------------------------------------------------------


async def test_an_unknown_database_is_a_clear_error_that_is_not_retried(influxd, influx):
    sink = await influx(props(influxd, "nope"))
    with pytest.raises(InfluxWriteError) as e:
        await sink.send_async(None, {"v": 1})
    assert str(e.value) == 'influx write failed: 404 database not found: "nope"'
    assert not isinstance(e.value, SinkSendError)


async def test_data_influxdb_rejects_is_reported_with_its_message(influxd, db, influx):
    sink = await influx(props(influxd, db))
    await sink.send_async(None, {"v": 1.5})
    with pytest.raises(InfluxWriteError) as e:
        await sink.send_async(None, {"v": "text"})
    assert "400" in str(e.value)
    assert "field type conflict" in str(e.value)


@pytest.mark.parametrize(("data", "message"), [
    ({"v": 1}, "time field ts not found"),
    ({"v": 1, "ts": "2024-01-01"}, "time field ts can not convert to timestamp(int64) : 2024-01-01"),
    ({"v": 1, "ts": True}, "time field ts can not convert to timestamp(int64) : true"),
    ("a string", "sink needs map or []map, but receive unsupported data a string"),
    ([{"ts": 1, "v": 1}, 5], "sink needs map or []map, but receive unsupported data [map[ts:1 v:1] 5]"),
])
async def test_rows_that_make_no_point(influxd, db, data, message):
    sink = InfluxSink(props(influxd, db, tsFieldName="ts"))
    try:
        with pytest.raises(InfluxDataError) as e:
            await sink.send_async(None, data)
        assert str(e.value) == message
    finally:
        await sink.aclose()


async def test_a_message_without_any_writable_field(influxd, db, influx):
    sink = await influx(props(influxd, db, fields=["v", "w"]))
    with pytest.raises(InfluxDataError, match="^no field to write"):
        await sink.send_async(None, [{"v": None, "w": float("nan"), "x": 1}])
    # a row without fields is left out of a batch with other rows
    await sink.send_async(None, [{"v": None}, {"v": 2}])
    assert [r["v"] for r in influxd.points(db, "m")] == [2]


async def test_a_stopped_server_is_a_recoverable_error(tmp_path, free_port):
    server = Influxd(tmp_path, free_port)  # never started: nothing listens on its port
    sink = InfluxSink(props(server, "db"))
    with pytest.raises(SinkSendError) as e:
        await sink.connect()
    assert str(e.value) == f"error pinging influx server {server.url}: connection refused"
    with pytest.raises(SinkSendError) as e:
        await sink.send_async(None, {"v": 1})
    assert "connection refused" in str(e.value)
    assert sink.status == DISCONNECTED
    await sink.aclose()


# --- authentication ----------------------------------------------------------------------------


async def test_credentials_are_sent_with_basic_auth(influxd_auth, influx):
    sink = await influx(props(influxd_auth, "secured", username=ADMIN[0], password=ADMIN[1]))
    await sink.send_async(None, {"v": 1})
    assert [r["v"] for r in influxd_auth.points("secured", "m")] == [1]


@pytest.mark.parametrize(("credentials", "message"), [
    ({"username": ADMIN[0], "password": "wrong"}, "401 authorization failed (check username and password)"),
    ({}, "401 unable to parse authentication credentials (check username and password)"),
])
async def test_bad_credentials_are_a_clear_error(influxd_auth, influx, credentials, message):
    # /ping needs no credentials, so the sink connects; the write is refused
    sink = await influx(props(influxd_auth, "secured", **credentials))
    with pytest.raises(InfluxWriteError) as e:
        await sink.send_async(None, {"v": 1})
    assert str(e.value) == f"influx write failed: {message}"
    assert "wrong" not in str(e.value)


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def influxd_tls(tmp_path_factory, tls_certs, free_port) -> Iterator[Influxd]:
    server = Influxd(tmp_path_factory.mktemp("influxd-tls"), free_port,
                     tls=(tls_certs.server_cert, tls_certs.server_key))
    server.start()
    try:
        server.create_database("tls")
        yield server
    finally:
        server.stop()


async def test_https_with_a_root_ca(influxd_tls, tls_certs, influx):
    sink = await influx(props(influxd_tls, "tls", rootCaPath=str(tls_certs.ca)))
    await sink.send_async(None, {"v": 1})
    assert len(influxd_tls.points("tls", "m")) == 1
    untrusted = InfluxSink(props(influxd_tls, "tls"))
    with pytest.raises(SinkSendError, match="CERTIFICATE_VERIFY_FAILED"):
        await untrusted.connect()
    await untrusted.aclose()
    await influx(props(influxd_tls, "tls", insecureSkipVerify=True))


# --- connectivity check ------------------------------------------------------------------------


async def test_ping_a_live_server(influxd, db):
    await InfluxSink.ping(props(influxd, db), 5)


async def test_ping_a_closed_port(free_port):
    addr = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ConnectionCheckError) as e:
        await InfluxSink.ping({"addr": addr, "database": "d", "measurement": "m"}, 5)
    assert str(e.value) == f"influx server {addr}: connection refused"


async def test_ping_an_unknown_database(influxd):
    with pytest.raises(ConnectionCheckError) as e:
        await InfluxSink.ping(props(influxd, "nope"), 5)
    assert str(e.value) == f"influx server {influxd.url}: database nope does not exist"


async def test_ping_checks_the_credentials(influxd_auth):
    await InfluxSink.ping(props(influxd_auth, "secured", username=ADMIN[0], password=ADMIN[1]), 5)
    with pytest.raises(ConnectionCheckError) as e:
        await InfluxSink.ping(props(influxd_auth, "secured", username=ADMIN[0], password="wrong"), 5)
    assert str(e.value) == f"influx server {influxd_auth.url}: bad credentials for user admin: authorization failed"
    with pytest.raises(ConnectionCheckError, match="requires authentication, set username and password"):
        await InfluxSink.ping(props(influxd_auth, "secured"), 5)


async def test_ping_times_out():
    # a listening socket that never answers
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        addr = f"http://127.0.0.1:{s.getsockname()[1]}"
        with pytest.raises(ConnectionCheckError) as e:
            await InfluxSink.ping({"addr": addr, "database": "d", "measurement": "m"}, 0.3)
    assert str(e.value) == f"influx server {addr}: timed out after 0.3s"


async def test_ping_with_bad_properties_names_the_property():
    with pytest.raises(SinkConfigError, match="^measurement: measurement is required$"):
        await InfluxSink.ping({"database": "d"}, 1)


# --- properties --------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "message"), [
    ({"measurement": "m"}, "database: database is required"),
    ({"database": "d"}, "measurement: measurement is required"),
    ({"database": "d", "measurement": "m", "precision": "h"}, "precision: precision h is not supported"),
    ({"database": "d", "measurement": "m", "addr": "tcp://h:8086"}, "addr: 'tcp://h:8086' is not an http or https URL"),
    ({"database": "d", "measurement": "m", "tags": ["a"]}, "tags: expected an object"),
    ({"database": "d", "measurement": "m", "tags": "{not json"}, "tags: expected an object"),
    ({"database": "d", "measurement": "m", "tags": {"a": {"b": 1}}}, "tags: the value of tag a must be a string"),
    ({"database": "d", "measurement": "m", "tags": {"a": "{{.x"}}, "tags.a: invalid template"),
    ({"database": "d", "measurement": "{{if}}"}, "measurement: invalid template"),
    ({"database": "d", "measurement": "#m"}, "measurement: a name starting with # would make each line a comment"),
    ({"database": "d", "measurement": "m", "fields": [1]}, "fields: expected a list of strings"),
    ({"database": "d", "measurement": "m", "fields": "a,b"}, "fields: expected a list of strings"),
    ({"database": "d", "measurement": "m", "username": {"u": 1}}, "username: expected a string"),
])
def test_bad_properties_name_the_property(given, message):
    with pytest.raises(SinkConfigError) as e:
        InfluxSink(given)
    assert str(e.value).startswith(message)


def test_properties_read_as_ekuiper_does():
    sink = sink_class("influx")({"database": "d", "measurement": "m"})
    assert isinstance(sink, InfluxSink)
    assert (sink.addr, sink.precision, sink.tags, sink.fields, sink.ts_field) == (
        "http://127.0.0.1:8086", "ms", {}, [], "")
    # names match case-insensitively
    sink = InfluxSink({"Addr": "http://h:1/", "DATABASE": "d", "measurement": "m", "TsFieldName": "ts",
                       "tags": {"n": 5}})
    assert (sink.addr, sink.database, sink.ts_field, sink.tags) == ("http://h:1", "d", "ts", {"n": "5"})


def test_the_older_plugins_property_names():
    sink = InfluxSink({"databasename": "old", "measurement": "m", "tagkey": "site", "tagvalue": "a"})
    assert (sink.database, sink.tags) == ("old", {"site": "a"})
    # `tags` wins over the single tag
    assert InfluxSink({"database": "d", "measurement": "m", "tags": {"x": "1"}, "tagKey": "k"}).tags == {"x": "1"}


def test_passwords_are_masked_in_addresses():
    assert redact_url("http://u:secret@h:8086/x") == "http://u:******@h:8086/x"
    assert redact_url("http://h:8086") == "http://h:8086"


# --- the encoding against InfluxDB's parser ----------------------------------------------------

_rt = itertools.count()
# a backslash before an escaped character, or at the end, has no spelling in 1.x's line
# protocol outside string fields; newlines there are not allowed at all
_name = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\\"), min_size=1, max_size=12)
_string = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tag_key=_name, tag_value=_name, field_key=_name, text=_string,
       n=st.integers(-(2**63), 2**63 - 1), x=st.floats(allow_nan=False, allow_infinity=False), b=st.booleans())
def test_what_is_written_reads_back_the_same(influxd, tag_key, tag_value, field_key, text, n, x, b):
    db = "roundtrip"
    if not hasattr(influxd, "_roundtrip"):
        influxd.create_database(db)
        influxd._roundtrip = True
    measurement = f"rt{next(_rt)}"
    fields = {"f" + field_key: text, "n": n, "x": x, "b": b}
    line = encode_line(measurement, {"t" + tag_key: tag_value}, fields, 1)
    with httpx.Client(trust_env=False) as c:
        resp = c.post(influxd.url + "/write", params={"db": db, "precision": "ms"}, content=line.encode())
    assert resp.status_code == 204, (line, resp.text)
    (row,) = influxd.points(db, measurement)
    # Go's JSON prints a float such as 5.4e16 in plain digits, which Python reads as an int
    assert float(row.pop("x")) == fields.pop("x")
    assert row == {"time": 1, "t" + tag_key: tag_value, **fields}


# --- in rules ----------------------------------------------------------------------------------


@pytest.fixture
def engine(engine):
    """The conftest's engine with a memory stream `readings` (topic influx/in)."""
    engine.create_stream('CREATE STREAM readings (id bigint, t float, ts bigint) WITH (DATASOURCE="influx/in", TYPE="memory")')
    return engine


def metric(engine: Engine, name: str) -> Any:
    return engine.rule_status("r1")[1][f"sink_influx_0_0_{name}"]


async def test_a_rule_writes_batches_with_templated_tags(engine, influxd, db, eventually):
    await engine.create_rule({"id": "r1", "sql": "SELECT id, t, ts FROM readings", "actions": [{"influx": {
        "addr": influxd.url, "database": db, "measurement": "readings", "tags": {"device": "d{{.id}}"},
        "fields": ["t", "ts", "id"], "tsFieldName": "ts", "batchSize": 3}}]})
    for i in range(6):
        bus.publish("influx/in", [{"id": i % 2, "t": 20.0 + i, "ts": 1000 + i}])
    await eventually(lambda: len(influxd.points(db, "readings")) == 6, what="6 points")
    rows = influxd.points(db, "readings")
    assert [(r["time"], r["device"], r["t"]) for r in rows] == [(1000 + i, f"d{i % 2}", 20.0 + i) for i in range(6)]
    await eventually(lambda: metric(engine, "records_out_total") == 2, what="two writes of three rows")
    assert metric(engine, "connection_status") == 1


async def test_a_rule_counts_an_unknown_database(engine, influxd, eventually):
    await engine.create_rule({"id": "r1", "sql": "SELECT * FROM readings", "actions": [{"influx": {
        "addr": influxd.url, "database": "missing", "measurement": "m", "retryCount": 3}}]})
    bus.publish("influx/in", [{"id": 1, "t": 1.0}])
    await eventually(lambda: metric(engine, "exceptions_total") == 1, what="one exception")
    assert metric(engine, "last_exception") == 'influx write failed: 404 database not found: "missing"'
    assert metric(engine, "records_out_total") == 0


async def test_a_rule_caches_while_the_server_is_down(engine, tmp_path, eventually, free_port):
    (tmp_path / "down").mkdir()
    server = Influxd(tmp_path / "down", free_port)
    server.start()
    try:
        server.create_database("later")
        server.stop()
        await engine.create_rule({"id": "r1", "sql": "SELECT id, t, ts FROM readings", "actions": [{"influx": {
            "addr": server.url, "database": "later", "measurement": "m", "tsFieldName": "ts",
            "enableCache": True, "resendInterval": 10}}]})
        for i in range(5):
            bus.publish("influx/in", [{"id": i, "t": float(i), "ts": 1000 + i}])
        await eventually(lambda: metric(engine, "connection_status") == -1, what="disconnected")
        assert "connection refused" in metric(engine, "last_exception")
        server.start()
        await eventually(lambda: len(server.points("later", "m")) == 5, what="the cached rows")
        assert [r["id"] for r in server.points("later", "m")] == [0, 1, 2, 3, 4]
        await eventually(lambda: metric(engine, "connection_status") == 1, what="connected")
    finally:
        server.stop()


async def test_a_bad_property_fails_the_rule_creation(engine):
    with pytest.raises(EngineError) as e:
        await engine.create_rule({"id": "r1", "sql": "SELECT * FROM readings",
                                  "actions": [{"influx": {"addr": "http://h", "measurement": "m"}}]})
    assert e.value.message == "fail to create sink influx: database: database is required"
