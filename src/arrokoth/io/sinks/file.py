"""The file sink: results written to a local file, rolled over by count, size or age.

Properties (eKuiper's, plus `rollingSize`):

* `path` — the file to write; its directory is created. Relative paths are taken from the
  server's working directory.
* `fileType` — `lines` (default: one payload per line), `json` (one JSON array of every
  row) or `csv` (needs `format: delimited`; `hasHeader` writes a header line at the top of
  each file, `delimiter` separates the values).
* `format` — the payload format (json by default; delimited, binary, protobuf…).
* `rollingCount` (default 1000000), `rollingSize` (bytes, before compression),
  `rollingInterval` (ms, checked every `checkInterval` ms on the engine's Clock): when one
  is reached the file is closed and the next row opens a new one. At least one must be set.
* `rollingNamePattern` — `prefix` or `suffix` puts the opening time (ms) into the file
  name (`1700000000000-out.txt`, `out-1700000000000.txt`); empty or `none` reuses `path`,
  which a roll truncates, as eKuiper does.
* `compression` — `gzip`, or `zstd` with the zstandard package.

Rows are encoded and buffered on the event loop; the file writes, compression and closes
run in one worker thread per sink, in order, so a slow disk never blocks the loop. The
buffer goes to the thread when it reaches 64 KiB and at every `checkInterval`.
"""

from __future__ import annotations

import gzip
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from arrokoth.functions import jsonvalue
from arrokoth.io.formats.delimited import DelimitedEncoder
from arrokoth.io.formats.json import FormatError
from arrokoth.io.formats.registry import bool_prop, encoder_for
from arrokoth.io.sinks.base import Sink, SinkConfigError, _prop
from arrokoth.runtime.clock import Clock, RealClock, Timer

log = logging.getLogger("arrokoth.sink.file")

FILE_TYPES = ("lines", "json", "csv")
NAME_PATTERNS = ("", "prefix", "suffix", "none")
BUFFER_LIMIT = 64 * 1024


def _zstd():
    try:
        from compression import zstd  # type: ignore[import-not-found]

        return zstd
    except ImportError:
        pass
    try:
        import zstandard  # type: ignore[import-not-found]

        return zstandard
    except ImportError:
        return None


def _number(props: dict, name: str, default: int) -> int:
    v = _prop(props, name, default)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, int | float) or v != int(v):
        raise SinkConfigError(f"{name}: expected an integer but got {v!r}")
    if v < 0:
        raise SinkConfigError(f"{name} must be positive")
    return int(v)


class _Writer:
    """One output file. Used only from the sink's worker thread."""

    def __init__(self, path: Path, compression: str, header: bytes, footer: bytes):
        self.path = path
        self.compression = compression
        self.header = header
        self.footer = footer
        self._raw: IO[bytes] | None = None
        self._out: Any = None

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._raw = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        if self.compression == "gzip":
            self._out = gzip.GzipFile(fileobj=self._raw, mode="wb")
        elif self.compression == "zstd":
            zstd = _zstd()
            if zstd.__name__ == "zstandard":
                self._out = zstd.ZstdCompressor().stream_writer(self._raw, closefd=False)
            else:
                self._out = zstd.ZstdFile(self._raw, "wb")
        else:
            self._out = self._raw
        if self.header:
            self._out.write(self.header)

    def write(self, data: bytes) -> None:
        if self._out is None:
            self._open()
        self._out.write(data)

    def flush(self) -> None:
        if self._out is not None:
            self._out.flush()
            if self._out is not self._raw:
                self._raw.flush()

    def close(self) -> None:
        if self._out is None:
            return
        try:
            if self.footer:
                self._out.write(self.footer)
            if self._out is not self._raw:
                self._out.close()
            self._raw.flush()
        finally:
            self._raw.close()
            self._out = self._raw = None


class _OpenFile:
    """What the event loop knows of the file being written."""

    __slots__ = ("writer", "start", "count", "size", "written")

    def __init__(self, writer: _Writer, start: int):
        self.writer = writer
        self.start = start
        self.count = 0
        self.size = 0
        self.written = False


class FileSink(Sink):
    """The node's payload is written as it is (so a data template's text works), except for
    csv, whose lines the sink encodes itself from the rows: its header belongs to each file."""

    def __init__(self, props: dict, *, clock: Clock | None = None):
        super().__init__(props)
        path = _prop(props, "path")
        if not isinstance(path, str) or not path:
            raise SinkConfigError("path must be set")
        self.path = Path(path)
        file_type = str(_prop(props, "fileType", "lines") or "lines").lower()
        if file_type not in FILE_TYPES:
            raise SinkConfigError("fileType must be one of json, csv or lines")
        self.file_type = file_type
        fmt = str(_prop(props, "format", "json") or "json").lower()
        if file_type == "csv" and fmt != "delimited":
            raise SinkConfigError("format must be delimited when fileType is csv")
        self.format = fmt
        self.rolling_interval = _number(props, "rollingInterval", 0)
        self.rolling_count = _number(props, "rollingCount", 1_000_000)
        self.rolling_size = _number(props, "rollingSize", 0)
        interval = _prop(props, "checkInterval")
        if interval is None:
            interval = _prop(props, "interval", 300_000)  # `interval` is the deprecated name
        self.check_interval = _number({"checkInterval": interval}, "checkInterval", 300_000)
        if not (self.rolling_interval or self.rolling_count or self.rolling_size):
            raise SinkConfigError("one of rollingInterval, rollingCount and rollingSize must be set")
        pattern = str(_prop(props, "rollingNamePattern", "") or "")
        if pattern not in NAME_PATTERNS:
            raise SinkConfigError("rollingNamePattern must be one of prefix, suffix or none")
        self.name_pattern = pattern
        compression = str(_prop(props, "compression", "") or "").lower()
        if compression not in ("", "gzip", "zstd"):
            raise SinkConfigError("compression must be one of gzip, zstd")
        if compression == "zstd" and _zstd() is None:
            raise SinkConfigError("compression: zstd needs the zstandard package (pip install zstandard)")
        self.compression = compression
        try:
            self.has_header = bool_prop(props, "hasHeader")
            if file_type == "csv":
                # the header is the sink's (one per file), not the encoder's (one per rule run)
                self.encoder: Any = DelimitedEncoder.from_props({**props, "hasHeader": False})
            else:
                self.encoder = encoder_for(fmt, props)
        except FormatError as e:
            raise SinkConfigError(str(e)) from None
        self.clock = clock
        self._current: _OpenFile | None = None
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._timer: Timer | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []
        self._error: str | None = None
        self._error_lock = threading.Lock()
        self._names: set[Path] = set()
        self._last_name: tuple[int, int] = (0, 0)
        self.files: list[Path] = []  # every file opened, in order

    # --- lifecycle ---------------------------------------------------------------------

    def open(self) -> None:
        if self.clock is None:
            self.clock = RealClock()
        if self.check_interval > 0:
            self._arm()

    def _arm(self) -> None:
        self._timer = self.clock.call_later(self.check_interval, self._tick)

    def _tick(self) -> None:
        self._timer = None
        now = self.clock.now_ms()
        cur = self._current
        if cur is not None and self.rolling_interval and now - cur.start >= self.rolling_interval:
            self._roll()
        else:
            self._flush(sync=True)
        self._arm()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._current is not None:
            self._roll()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self._pending.clear()

    def sync(self) -> None:
        """Hand the buffer to the worker and wait until every write so far is done (tests, shutdown)."""
        self._flush(sync=True)
        for fut in list(self._pending):
            fut.result()
        self._pending.clear()

    # --- sending ------------------------------------------------------------------------

    def send(self, payload: bytes | None, data: Any) -> None:
        with self._error_lock:
            error, self._error = self._error, None
        if error is not None:
            raise OSError(error)
        items = self._encode(payload, data)
        for item in items:
            cur = self._current
            if cur is None:
                cur = self._current = self._new_file(data)
            sep = self._separator() if cur.written else b""
            chunk = sep + item
            cur.written = True
            self._buffer.append(chunk)
            self._buffered += len(chunk)
            cur.size += len(chunk)
        cur = self._current
        if cur is None:
            return
        cur.count += 1
        if self._buffered >= BUFFER_LIMIT:
            self._flush()
        if (self.rolling_count and cur.count >= self.rolling_count) or (
            self.rolling_size and cur.size >= self.rolling_size
        ):
            self._roll()

    def _encode(self, payload: bytes | None, data: Any) -> list[bytes]:
        rows = type(data) is dict or (type(data) is list and all(type(r) is dict for r in data))
        if self.file_type == "json" and self.format == "json" and type(data) is list and rows:
            # every row one element of the file's array (eKuiper would nest the list)
            return [jsonvalue.encode(row) for row in data]
        if payload is not None and not (self.file_type == "csv" and rows):
            return [payload]
        try:
            return [self.encoder.encode(data)]
        except FormatError as e:
            raise SinkConfigError(str(e)) from None

    def _separator(self) -> bytes:
        return b"," if self.file_type == "json" else b"\n"

    def _new_file(self, data: Any) -> _OpenFile:
        now = self.clock.now_ms() if self.clock is not None else 0
        header, footer = b"", b""
        if self.file_type == "json":
            header, footer = b"[", b"]"
        elif self.file_type == "csv" and self.has_header:
            first = data[0] if type(data) is list and data else data
            if type(first) is dict:
                self.encoder.columns_for(first)
            if self.encoder.fields:
                header = self.encoder.header() + b"\n"
        path = self._file_name(now)
        self.files.append(path)
        return _OpenFile(_Writer(path, self.compression, header, footer), now)

    def _file_name(self, now: int) -> Path:
        pattern = self.name_pattern
        if pattern in ("", "none"):
            return self.path
        stamp = str(now)
        seq = self._last_name[1] + 1 if self._last_name[0] == now else 0
        self._last_name = (now, seq)
        if seq:
            stamp = f"{now}.{seq}"  # two files opened in the same millisecond
        name = self.path.name
        if pattern == "prefix":
            name = f"{stamp}-{name}"
        else:
            stem, dot, ext = name.rpartition(".")
            name = f"{stem}-{stamp}.{ext}" if dot and stem else f"{name}-{stamp}"
        return self.path.with_name(name)

    # --- the worker thread ----------------------------------------------------------------

    def _submit(self, fn, *args) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="file-sink")
        fut = self._executor.submit(self._guarded, fn, *args)
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(fut)

    def _guarded(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - reported on the next send
            log.error("file sink: %s", e)
            with self._error_lock:
                self._error = f"file sink: {e}"

    def _flush(self, *, sync: bool = False) -> None:
        cur = self._current
        if cur is None:
            return
        if self._buffer:
            data = b"".join(self._buffer)
            self._buffer.clear()
            self._buffered = 0
            self._submit(cur.writer.write, data)
        if sync:
            self._submit(cur.writer.flush)

    def _roll(self) -> None:
        cur = self._current
        if cur is None:
            return
        self._flush()
        self._submit(cur.writer.close)
        self._current = None
