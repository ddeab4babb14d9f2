"""The file sink on real files: file types, rolling by count, size and time, compression,
and round trips through the file source."""

from __future__ import annotations

import gzip
import json

import pytest

from arrokoth.io.sinks.base import SinkConfigError
from arrokoth.io.sinks.file import FileSink, _zstd
from arrokoth.io.sources.file import FileSource
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.clock import VirtualClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse

pytestmark = pytest.mark.anyio
START = 1_700_000_000_000


def sink(tmp_path, name: str = "out.txt", *, clock=None, **props) -> FileSink:
    s = FileSink({"path": str(tmp_path / name), **props}, clock=clock or VirtualClock(START))
    s.open()
    return s


async def read_back(path, *, file_type="lines", fmt="json", **props) -> list[dict]:
    ddl = f'CREATE STREAM back () WITH (DATASOURCE="{path.name}", TYPE="file", FORMAT="{fmt}")'
    d = StreamDef.from_ast(parse(ddl), ddl)
    feed = StreamFeed(d, VirtualClock(START))
    rows: list[dict] = []
    feed.subscribe(lambda i, row: rows.append(row.msg), 0, lambda e: rows.append({"error": e}))
    await FileSource(d, {"path": str(path.parent), "fileType": file_type, **props}, feed).load()
    return rows


ROWS = [{"id": 1, "name": "a"}, {"id": 2, "name": "b, c"}, {"id": 3, "name": "d"}]


async def test_lines_round_trip(tmp_path):
    s = sink(tmp_path)
    for row in ROWS:
        s.send(None, row)
    s.close()
    path = tmp_path / "out.txt"
    assert path.read_text() == '{"id":1,"name":"a"}\n{"id":2,"name":"b, c"}\n{"id":3,"name":"d"}'
    assert await read_back(path) == [{"id": 1.0, "name": "a"}, {"id": 2.0, "name": "b, c"}, {"id": 3.0, "name": "d"}]


async def test_a_list_payload_is_one_line(tmp_path):
    s = sink(tmp_path)
    s.send(None, ROWS[:2])
    s.close()
    assert json.loads((tmp_path / "out.txt").read_text()) == ROWS[:2]


async def test_json_file_is_one_array(tmp_path):
    s = sink(tmp_path, "out.json", fileType="json")
    s.send(None, ROWS[:2])  # the rows of a list are elements of the array
    s.send(None, ROWS[2])
    s.close()
    assert json.loads((tmp_path / "out.json").read_text()) == ROWS
    assert len(await read_back(tmp_path / "out.json", file_type="json")) == 3


async def test_an_unused_sink_writes_no_file(tmp_path):
    s = sink(tmp_path, "out.json", fileType="json")
    s.close()
    assert not (tmp_path / "out.json").exists()


async def test_csv_with_header_rolls_by_count(tmp_path):
    s = sink(tmp_path, "out.csv", fileType="csv", format="delimited", hasHeader=True, delimiter=";",
             rollingCount=2, rollingNamePattern="suffix")
    for row in ROWS:
        s.send(None, row)
    s.close()
    assert [p.name for p in s.files] == [f"out-{START}.csv", f"out-{START}.1.csv"]
    first, second = (p.read_text() for p in s.files)
    assert first == "id;name\n1;a\n2;b, c"
    assert second == "id;name\n3;d"
    rows = await read_back(s.files[0], file_type="csv", hasHeader=True, delimiter=";")
    assert rows == [{"id": "1", "name": "a"}, {"id": "2", "name": "b, c"}]


async def test_csv_fields_give_the_columns(tmp_path):
    s = sink(tmp_path, "out.csv", fileType="csv", format="delimited", hasHeader=True, fields=["name", "id"])
    s.send(None, ROWS[1:])
    s.close()
    assert (tmp_path / "out.csv").read_text() == 'name,id\n"b, c",2\nd,3'
    rows = await read_back(tmp_path / "out.csv", file_type="csv", hasHeader=True)
    assert rows == [{"name": "b, c", "id": "2"}, {"name": "d", "id": "3"}]


async def test_rolling_by_size(tmp_path):
    s = sink(tmp_path, "out.txt", rollingSize=40, rollingCount=0, rollingNamePattern="prefix")
    for i in range(10):
        s.send(None, {"i": i, "pad": "xxxxxxxxxx"})  # 24 bytes a row
    s.close()
    assert len(s.files) == 5
    assert all(p.name.startswith(f"{START}") and p.name.endswith("-out.txt") for p in s.files)
    got = []
    for p in s.files:
        assert p.stat().st_size <= 40 + 24
        got += [json.loads(line)["i"] for line in p.read_text().splitlines()]
    assert got == list(range(10))


async def test_rolling_by_time_on_the_clock(tmp_path):
    clock = VirtualClock(START)
    s = sink(tmp_path, "out.txt", clock=clock, rollingInterval=5000, checkInterval=1000, rollingCount=0,
             rollingNamePattern="prefix")
    s.send(None, {"n": 1})
    clock.advance_to(START + 3000)
    s.send(None, {"n": 2})
    clock.advance_to(START + 5000)  # the check at +5000 finds the file 5 s old
    s.send(None, {"n": 3})
    clock.advance_to(START + 9000)
    s.send(None, {"n": 4})
    s.close()
    assert [p.name for p in s.files] == [f"{START}-out.txt", f"{START + 5000}-out.txt"]
    assert s.files[0].read_text() == '{"n":1}\n{"n":2}'
    assert s.files[1].read_text() == '{"n":3}\n{"n":4}'


async def test_check_interval_flushes_the_buffer(tmp_path):
    clock = VirtualClock(START)
    s = sink(tmp_path, clock=clock, checkInterval=1000)
    s.send(None, {"n": 1})
    # the row waits in memory; nothing was written on the event loop
    assert not (tmp_path / "out.txt").exists()
    clock.advance_to(START + 1000)
    for fut in list(s._pending):
        fut.result()
    assert (tmp_path / "out.txt").read_text() == '{"n":1}'
    s.close()


async def test_a_big_buffer_goes_to_the_writer_thread(tmp_path):
    s = sink(tmp_path, checkInterval=0)
    row = {"pad": "x" * 1000}
    for _ in range(70):
        s.send(None, row)
    assert s._pending  # 64 KiB reached: handed to the worker without waiting for a check
    s.sync()
    assert len((tmp_path / "out.txt").read_text().splitlines()) == 70
    s.close()


async def test_without_a_pattern_a_roll_truncates_the_path(tmp_path):
    s = sink(tmp_path, rollingCount=2)
    for row in ROWS:
        s.send(None, row)
    s.close()
    assert s.files == [tmp_path / "out.txt"] * 2
    assert (tmp_path / "out.txt").read_text() == '{"id":3,"name":"d"}'


async def test_gzip_round_trip(tmp_path):
    s = sink(tmp_path, "out.gz", compression="gzip", checkInterval=1000)
    s.send(None, ROWS[0])
    s.clock.advance_to(START + 1000)  # a flush in the middle of the stream
    s.send(None, ROWS[1])
    s.close()
    assert gzip.decompress((tmp_path / "out.gz").read_bytes()).decode().splitlines()[1] == '{"id":2,"name":"b, c"}'
    rows = await read_back(tmp_path / "out.gz", decompression="gzip")
    assert rows == [{"id": 1.0, "name": "a"}, {"id": 2.0, "name": "b, c"}]


async def test_zstd_round_trip_or_a_clear_error(tmp_path):
    if _zstd() is None:
        with pytest.raises(SinkConfigError, match="zstd needs the zstandard package"):
            sink(tmp_path, "out.zst", compression="zstd")
        return
    s = sink(tmp_path, "out.zst", compression="zstd", fileType="json")
    for row in ROWS:
        s.send(None, row)
    s.close()
    assert len(await read_back(tmp_path / "out.zst", file_type="json", decompression="zstd")) == 3


async def test_other_formats(tmp_path):
    s = sink(tmp_path, "out.bin", format="binary", fileType="lines")
    s.send(None, {"self": b"abc"})
    s.send(None, {"self": b"def"})
    s.close()
    assert (tmp_path / "out.bin").read_bytes() == b"abc\ndef"
    s = sink(tmp_path, "raw.txt")
    s.send(b"already encoded", None)  # a payload from the node is written as it is
    s.close()
    assert (tmp_path / "raw.txt").read_bytes() == b"already encoded"


async def test_encode_errors_fail_the_message(tmp_path):
    s = sink(tmp_path, format="binary")
    with pytest.raises(SinkConfigError, match="binary format encodes a row with exactly one field"):
        s.send(None, {"a": b"1", "b": b"2"})
    s.close()


async def test_a_write_error_is_reported_on_the_next_send(tmp_path):
    (tmp_path / "dir.txt").mkdir()
    s = sink(tmp_path, "dir.txt")
    s.send(None, {"a": 1})
    s.sync()
    with pytest.raises(OSError, match="file sink: .*dir.txt"):
        s.send(None, {"a": 2})
    s.close()


@pytest.mark.parametrize(("props", "message"), [
    ({"path": ""}, "path must be set"),
    ({"fileType": "xml"}, "fileType must be one of json, csv or lines"),
    ({"fileType": "csv"}, "format must be delimited when fileType is csv"),
    ({"rollingInterval": -1}, "rollingInterval must be positive"),
    ({"rollingCount": 0}, "one of rollingInterval, rollingCount and rollingSize must be set"),
    ({"rollingNamePattern": "middle"}, "rollingNamePattern must be one of prefix, suffix or none"),
    ({"compression": "lz4"}, "compression must be one of gzip, zstd"),
    ({"checkInterval": "soon"}, "checkInterval: expected an integer"),
    ({"format": "xml"}, "unsupported format xml"),
    ({"hasHeader": "perhaps"}, "hasHeader: expected a bool"),
])
def test_property_errors(tmp_path, props, message):
    with pytest.raises(SinkConfigError, match=message):
        FileSink({"path": str(tmp_path / "x"), **props})


def test_registered_as_file():
    from arrokoth.io.sinks.registry import sink_class
    from arrokoth.io.sources.registry import source_class

    assert sink_class("file") is FileSink and source_class("file") is FileSource


async def test_csv_lines_come_from_the_rows_not_the_node_payload(tmp_path):
    s = sink(tmp_path, "out.csv", fileType="csv", format="delimited", hasHeader=True, rollingCount=1,
             rollingNamePattern="prefix")
    # a node's delimited encoder with hasHeader puts a header into its first payload only;
    # the sink writes one header per file itself
    s.send(b"id,name\n1,a", ROWS[0])
    s.send(b"3,d", ROWS[2])
    s.close()
    assert [p.read_text() for p in s.files] == ["id,name\n1,a", "id,name\n3,d"]


async def test_through_the_engine(tmp_path):
    import asyncio
    import time

    from arrokoth.config import Config
    from arrokoth.engine import Engine
    from arrokoth.store import open_store

    (tmp_path / "in.json").write_text(json.dumps([{"t": 20}, {"t": 60}, {"t": 70}]))
    out = tmp_path / "out" / "result.txt"
    engine = Engine(Config(data_dir=tmp_path), open_store("sqlite::memory:"))
    await engine.open()
    try:
        engine.create_stream(
            f'CREATE STREAM readings () WITH (DATASOURCE="in.json", TYPE="file", EXTRA="{{\\"path\\": \\"{tmp_path}\\"}}")'
        )
        await engine.create_rule(json.dumps({
            "id": "r1", "sql": "SELECT t FROM readings WHERE t > 50",
            "actions": [{"file": {"path": str(out), "sendSingle": True}}],
        }))
        deadline = time.monotonic() + 5
        while engine.rules["r1"].sinks[0].count < 2:
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.005)
    finally:
        await engine.close()  # stopping the rule closes the file
    assert out.read_text() == '{"t":60}\n{"t":70}'
