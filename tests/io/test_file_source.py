"""The file source on real files in a temporary directory."""

from __future__ import annotations

import asyncio
import gzip
import json
import time

import pytest

from arrokoth.io.sources.base import SourceConfigError
from arrokoth.io.sources.file import FileSource, _zstd
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.clock import RealClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse

pytestmark = pytest.mark.anyio


class Collector:
    def __init__(self):
        self.rows = []
        self.meta = []
        self.times = []
        self.errors = []
        self.batches = 0

    def ingest(self, index, row):
        self.rows.append(row.msg)
        self.meta.append(row.meta)
        self.times.append(time.monotonic())


def source(tmp_path, datasource: str = "data.json", *, kind: str = "STREAM", schema: str = "", options: str = "",
           **props) -> tuple[FileSource, Collector]:
    ddl = (f'CREATE {kind} s ({schema}) WITH (DATASOURCE="{datasource}", TYPE="file"{options})')
    d = StreamDef.from_ast(parse(ddl), ddl)
    feed = StreamFeed(d, RealClock())
    got = Collector()
    feed.subscribe(got.ingest, 0, got.errors.append)
    return FileSource(d, {"path": str(tmp_path), **props}, feed), got


async def test_json_array_file(tmp_path):
    (tmp_path / "data.json").write_text('[{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]')
    src, got = source(tmp_path)
    await src.load()
    assert got.rows == [{"id": 1.0, "name": "a"}, {"id": 2.0, "name": "b"}]
    assert got.meta == [{"file": str(tmp_path / "data.json")}] * 2
    assert src.records_in == 2 and got.errors == []


async def test_json_object_file_and_typed_schema(tmp_path):
    (tmp_path / "one.json").write_text('{"id": 1, "name": "a", "extra": true}')
    src, got = source(tmp_path, "one.json", schema="id BIGINT, name STRING")
    await src.load()
    assert got.rows == [{"id": 1, "name": "a"}]


async def test_lines_decode_each_line_with_the_format(tmp_path):
    (tmp_path / "data.lines").write_text('{"a": 1}\n\n{"a": 2}\nnot json\n{"a": 3}\n')
    src, got = source(tmp_path, "data.lines", fileType="lines")
    await src.load()
    assert got.rows == [{"a": 1.0}, {"a": 2.0}, {"a": 3.0}]
    assert len(got.errors) == 1 and "data.lines" in got.errors[0] and "invalid character" in got.errors[0]
    assert src.exceptions == 1


async def test_lines_with_delimited_format_and_a_header_per_file(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "1.txt").write_text("a|b\n1|2\n")
    (tmp_path / "d" / "2.txt").write_text("b|a\n3|4\n")
    src, got = source(tmp_path, "d", fileType="lines", hasHeader=True,
                      options=', FORMAT="delimited", DELIMITER="|"')
    await src.load()
    assert got.rows == [{"a": "1", "b": "2"}, {"b": "3", "a": "4"}]


async def test_csv_with_header_and_the_stream_delimiter(tmp_path):
    (tmp_path / "abc.csv").write_text("id name age\n1 John 56\n2 Jane 34\n")
    src, got = source(tmp_path, "abc.csv", fileType="csv", hasHeader=True,
                      options=', FORMAT="DELIMITED", DELIMITER=" "')
    await src.load()
    assert got.rows == [{"id": "1", "name": "John", "age": "56"}, {"id": "2", "name": "Jane", "age": "34"}]


async def test_csv_columns_quotes_and_schema_types(tmp_path):
    (tmp_path / "a.csv").write_text('1, "x, y",2.5\n2,z,-1\n')
    src, got = source(tmp_path, "a.csv", fileType="csv", columns=["id", "name", "v"])
    await src.load()
    assert got.rows == [{"id": "1", "name": "x, y", "v": "2.5"}, {"id": "2", "name": "z", "v": "-1"}]
    src, got = source(tmp_path, "a.csv", fileType="csv", schema="id BIGINT, name STRING, v FLOAT")
    await src.load()
    assert got.rows == [{"id": 1, "name": "x, y", "v": 2.5}, {"id": 2, "name": "z", "v": -1.0}]
    src, got = source(tmp_path, "a.csv", fileType="csv")
    await src.load()
    assert got.rows[1] == {"col0": "2", "col1": "z", "col2": "-1"}


async def test_ignore_start_and_end_lines(tmp_path):
    (tmp_path / "r.csv").write_text("report of today\n\nid,v\n1,a\n2,b\n--\ntotal 2\n")
    src, got = source(tmp_path, "r.csv", fileType="csv", hasHeader=True, ignoreStartLines=2, ignoreEndLines=2)
    await src.load()
    assert got.rows == [{"id": "1", "v": "a"}, {"id": "2", "v": "b"}]


async def test_a_directory_is_read_in_name_order(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "b.json").write_text('[{"f": "b"}]')
    (d / "a.json").write_text('{"f": "a"}')
    (d / "sub").mkdir()
    src, got = source(tmp_path, "in")
    await src.load()
    assert got.rows == [{"f": "a"}, {"f": "b"}]
    assert [m["file"] for m in got.meta] == [str(d / "a.json"), str(d / "b.json")]
    # an empty DATASOURCE reads the path directory itself
    src, got = source(d, "")
    await src.load()
    assert [r["f"] for r in got.rows] == ["a", "b"]
    # an empty directory is no error
    src, got = source(d, "sub")
    await src.load()
    assert got.rows == [] and got.errors == []


async def test_action_after_read_delete_and_move(tmp_path):
    (tmp_path / "data.json").write_text('[{"a": 1}]')
    src, got = source(tmp_path, actionAfterRead=1)
    await src.load()
    assert got.rows == [{"a": 1.0}] and not (tmp_path / "data.json").exists()

    (tmp_path / "data.json").write_text('[{"a": 2}]')
    moved = tmp_path / "done"
    src, got = source(tmp_path, actionAfterRead=2, moveTo=str(moved))
    await src.start()
    await _until(lambda: (moved / "data.json").exists())
    await src.stop()
    assert got.rows == [{"a": 2.0}] and not (tmp_path / "data.json").exists()


async def test_a_file_that_fails_to_decode_is_kept(tmp_path):
    (tmp_path / "data.json").write_text("[{")
    src, got = source(tmp_path, actionAfterRead=1)
    await src.load()
    assert got.rows == [] and len(got.errors) == 1 and (tmp_path / "data.json").exists()


async def test_gzip_decompression(tmp_path):
    (tmp_path / "data.json.gz").write_bytes(gzip.compress(b'[{"a": 1}]'))
    (tmp_path / "bad.gz").write_bytes(b"not gzip")
    src, got = source(tmp_path, "data.json.gz", decompression="gzip")
    await src.load()
    assert got.rows == [{"a": 1.0}]
    src, got = source(tmp_path, "bad.gz", decompression="gzip")
    await src.load()
    assert got.rows == [] and "decompress file" in got.errors[0]


async def test_zstd_decompression_or_a_clear_error(tmp_path):
    zstd = _zstd()
    if zstd is None:
        with pytest.raises(SourceConfigError, match="zstd needs the zstandard package"):
            source(tmp_path, "x.zst", decompression="zstd")
        return
    data = zstd.ZstdCompressor().compress(b'{"a": 1}\n{"a": 2}') if hasattr(zstd, "ZstdCompressor") \
        else zstd.compress(b'{"a": 1}\n{"a": 2}')
    (tmp_path / "x.zst").write_bytes(data)
    src, got = source(tmp_path, "x.zst", decompression="zstd", fileType="lines")
    await src.load()
    assert got.rows == [{"a": 1.0}, {"a": 2.0}]


async def test_stream_sends_rows_send_interval_apart(tmp_path):
    (tmp_path / "data.json").write_text(json.dumps([{"i": i} for i in range(4)]))
    src, got = source(tmp_path, sendInterval=30)
    await src.start()
    await _until(lambda: len(got.rows) == 4)
    await src.stop()
    gaps = [b - a for a, b in zip(got.times, got.times[1:])]
    assert all(g >= 0.025 for g in gaps), gaps


async def test_table_gets_the_file_at_once_and_rereads_every_interval(tmp_path):
    (tmp_path / "data.json").write_text('[{"k": 1}, {"k": 2}]')
    src, got = source(tmp_path, kind="TABLE", sendInterval=1000, interval=40)
    batches = []
    src.feed.publish_many = lambda rows, meta=None: batches.append(list(rows))  # type: ignore[method-assign]
    await src.start()
    await _until(lambda: len(batches) >= 2)
    await src.stop()
    assert batches[0] == [{"k": 1.0}, {"k": 2.0}] and batches[1] == batches[0]


async def test_a_large_stream_file_is_published_in_slices(tmp_path):
    (tmp_path / "big.lines").write_text("\n".join(json.dumps({"i": i}) for i in range(2500)))
    src, got = source(tmp_path, "big.lines", fileType="lines")
    sizes = []
    publish = src.feed.publish_many
    src.feed.publish_many = lambda rows, meta=None: (sizes.append(len(rows)), publish(rows, meta))  # type: ignore
    await src.load()
    assert sizes == [1000, 1000, 500] and got.rows[-1] == {"i": 2499.0}


async def test_missing_file(tmp_path):
    src, got = source(tmp_path, "nope.json")
    with pytest.raises(SourceConfigError, match="nope.json not exist"):
        await src.start()
    await src.load()
    assert "not exist" in got.errors[0]


@pytest.mark.parametrize(("props", "message"), [
    ({"fileType": "xml"}, "fileType: must be one of json, lines, csv"),
    ({"path": ""}, "path: the file source needs the directory"),
    ({"actionAfterRead": 3}, "actionAfterRead: must be 0"),
    ({"actionAfterRead": 2}, "moveTo: needed when actionAfterRead is 2"),
    ({"decompression": "lz4"}, "decompression: must be gzip or zstd"),
    ({"interval": -1}, "interval: expected a non-negative number"),
    ({"ignoreStartLines": "x"}, "ignoreStartLines: expected an integer"),
    ({"hasHeader": "maybe"}, "hasHeader: expected a bool"),
    ({"fileType": "csv", "columns": 5}, "columns: expected a list"),
])
def test_property_errors(tmp_path, props, message):
    with pytest.raises(SourceConfigError, match=message):
        source(tmp_path, **props)


async def test_through_the_engine(tmp_path):
    from arrokoth.config import Config
    from arrokoth.engine import Engine
    from arrokoth.io.memory_bus import bus
    from arrokoth.store import open_store

    (tmp_path / "readings.lines").write_text('{"t": 20}\n{"t": 60}\n{"t": 70}\n')
    engine = Engine(Config(data_dir=tmp_path), open_store("sqlite::memory:"))
    await engine.open()
    got = []
    token = bus.subscribe("file-test/out", lambda topic, rows: got.extend(rows))
    try:
        engine.create_stream(
            'CREATE STREAM readings () WITH (DATASOURCE="readings.lines", TYPE="file", '
            f'EXTRA="{{\\"path\\": \\"{tmp_path}\\", \\"fileType\\": \\"lines\\"}}")'
        )
        await engine.create_rule(json.dumps({
            "id": "r1", "sql": "SELECT t, meta(file) AS f FROM readings WHERE t > 50",
            "actions": [{"memory": {"topic": "file-test/out", "sendSingle": True}}],
        }))
        await _until(lambda: len(got) == 2)
    finally:
        bus.unsubscribe(token)
        await engine.close()
    assert got == [{"t": 60.0, "f": str(tmp_path / "readings.lines")}, {"t": 70.0, "f": str(tmp_path / "readings.lines")}]


async def _until(cond, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.005)
