"""The file source: rows read from a local file, or from every file of a directory.

`DATASOURCE` is the file name under the `path` property (a directory; relative paths are
taken from the server's working directory); an empty DATASOURCE, or one naming a
directory, reads every regular file there in name order. `fileType` says how a file
splits into payloads:

* `json`: the whole file is one payload of the stream's FORMAT (a JSON array or object);
* `lines`: each non-empty line is one payload of the stream's FORMAT;
* `csv` (alias `delimited`): a CSV file read with `delimiter` (or the stream's DELIMITER,
  default `,`), column names from a header line (`hasHeader`), the schema, or `columns`.

A stream emits the rows one by one, `sendInterval` ms apart; a table (scan) gets each
file's rows at once. `interval` (ms) re-reads the files that often; 0 reads them once.
`ignoreStartLines` / `ignoreEndLines` drop lines around the content (every line counts,
blank ones too, as eKuiper's reader does), `decompression` is `gzip` or `zstd` (with the
zstandard package), `actionAfterRead` is 0 keep, 1 delete, 2 move into `moveTo`.
`meta(file)` is the path of the file a row came from. Files are read in a worker thread,
so a large file does not hold up the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import shutil
from pathlib import Path

from arrokoth.io.formats.delimited import DelimitedDecoder
from arrokoth.io.formats.json import FormatError
from arrokoth.io.formats.registry import decoder_for
from arrokoth.io.sources.base import Source, SourceConfigError, prop

FILE_TYPES = ("json", "lines", "csv")
# a stream without sendInterval is published in slices this big, yielding to the loop between them
_SLICE = 1000


def _zstd():
    """The zstd module in use: the standard library's (3.14+) or the zstandard package."""
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


def decompress(data: bytes, method: str) -> bytes:
    if method == "gzip":
        return gzip.decompress(data)
    if method == "zstd":
        zstd = _zstd()
        if zstd is None:
            raise SourceConfigError("decompression: zstd needs the zstandard package (pip install zstandard)")
        if zstd.__name__ == "zstandard":
            # a frame written as a stream does not record its size, which zstandard.decompress needs
            return zstd.ZstdDecompressor().decompressobj().decompress(data)
        return zstd.decompress(data)
    return data


def _ms(props: dict, name: str, default: float = 0) -> float:
    v = prop(props, name, default)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
        raise SourceConfigError(f"{name}: expected a non-negative number of milliseconds but got {v!r}")
    return float(v)


def _int(props: dict, name: str) -> int:
    v = prop(props, name, 0)
    if v is None:
        return 0
    if isinstance(v, bool) or not isinstance(v, int | float) or v != int(v):
        raise SourceConfigError(f"{name}: expected an integer but got {v!r}")
    return max(0, int(v))


def _bool(props: dict, name: str) -> bool:
    from arrokoth.io.formats.registry import bool_prop

    try:
        return bool_prop(props, name)
    except FormatError as e:
        raise SourceConfigError(str(e)) from None


def strip_lines(data: bytes, start: int, end: int) -> bytes:
    """Drop `start` lines from the top and `end` from the bottom."""
    if not start and not end:
        return data
    lines = data.splitlines()
    lines = lines[start: len(lines) - end if end else None]
    return b"\n".join(lines) + (b"\n" if lines else b"")


class FileSource(Source):
    _task: asyncio.Task | None = None

    def __init__(self, stream, props, feed):
        super().__init__(stream, props, feed)
        file_type = str(prop(props, "fileType", "json") or "json").lower()
        if file_type == "delimited":
            file_type = "csv"
        if file_type not in FILE_TYPES:
            raise SourceConfigError(f"fileType: must be one of json, lines, csv but got {file_type}")
        self.file_type = file_type
        path = prop(props, "path")
        if not isinstance(path, str) or not path:
            raise SourceConfigError("path: the file source needs the directory of its files")
        self.file = (Path(path) / stream.datasource).absolute() if stream.datasource else Path(path).absolute()
        self.interval = _ms(props, "interval") / 1000
        self.send_interval = _ms(props, "sendInterval") / 1000
        action = prop(props, "actionAfterRead", 0)
        if action not in (0, 1, 2) or isinstance(action, bool):
            raise SourceConfigError(f"actionAfterRead: must be 0 (keep), 1 (delete) or 2 (move) but got {action!r}")
        self.action = int(action)
        move_to = prop(props, "moveTo")
        if self.action == 2 and (not isinstance(move_to, str) or not move_to):
            raise SourceConfigError("moveTo: needed when actionAfterRead is 2")
        self.move_to = Path(move_to).absolute() if self.action == 2 else None
        self.ignore_start = _int(props, "ignoreStartLines")
        self.ignore_end = _int(props, "ignoreEndLines")
        method = str(prop(props, "decompression", "") or "").lower()
        if method not in ("", "gzip", "zstd"):
            raise SourceConfigError(f"decompression: must be gzip or zstd but got {method}")
        if method == "zstd" and _zstd() is None:
            raise SourceConfigError("decompression: zstd needs the zstandard package (pip install zstandard)")
        self.decompression = method
        self.has_header = _bool(props, "hasHeader")
        if file_type == "csv":
            self._csv_decoder()  # checks delimiter and columns now rather than at the first file

    def _csv_decoder(self) -> DelimitedDecoder:
        try:
            return DelimitedDecoder.from_props(self.stream, self.props, trim_leading_space=True)
        except FormatError as e:
            raise SourceConfigError(str(e)) from None

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        if not await asyncio.to_thread(self.file.exists):
            raise SourceConfigError(f"file {self.file} not exist")
        if self.move_to is not None:
            try:
                await asyncio.to_thread(self.move_to.mkdir, parents=True, exist_ok=True)
            except OSError as e:
                raise SourceConfigError(f"moveTo: cannot create {self.move_to}: {e.strerror}") from None
            if not self.move_to.is_dir():
                raise SourceConfigError(f"moveTo: {self.move_to} is not a directory")
        self.connected()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self.load()
            if self.interval <= 0:
                return
            await asyncio.sleep(self.interval)

    # --- reading ------------------------------------------------------------------------

    def files(self) -> list[Path] | None:
        """The files to read, in name order; None when the file or directory is missing."""
        if self.file.is_dir():
            return sorted(p for p in self.file.iterdir() if p.is_file())
        return [self.file] if self.file.exists() else None

    async def load(self) -> None:
        """Read every file once and publish its rows."""
        try:
            files = await asyncio.to_thread(self.files)
        except OSError as e:
            self.fail(f"read directory {self.file}: {e.strerror}")
            return
        if files is None:
            self.fail(f"file {self.file} not exist")
            return
        for path in files:
            rows, errors = await asyncio.to_thread(self._read, path)
            for message in errors:
                self.fail(message)
            if rows is None:
                continue
            await self._publish(rows, {"file": str(path)})
            if self.action:
                try:
                    await asyncio.to_thread(self._after_read, path)
                except OSError as e:
                    self.fail(f"{'remove' if self.action == 1 else 'move'} {path}: {e.strerror}")

    def _read(self, path: Path) -> tuple[list[dict] | None, list[str]]:
        """(rows, error messages) of one file; rows is None when the file could not be read."""
        try:
            data = path.read_bytes()
        except OSError as e:
            return None, [f"read file {path}: {e.strerror or e}"]
        try:
            data = decompress(data, self.decompression)
        except Exception as e:  # noqa: BLE001 - gzip's and zstd's own error types
            return None, [f"decompress file {path} with {self.decompression}: {e}"]
        data = strip_lines(data, self.ignore_start, self.ignore_end)
        errors: list[str] = []
        try:
            if self.file_type == "csv":
                return self._csv_decoder().decode(data), errors
            decoder = decoder_for(self.stream, self.props)  # fresh per file: a header belongs to its file
            if self.file_type == "json":
                return (decoder.decode(data) if data.strip() else []), errors
            rows: list[dict] = []
            for line in data.splitlines():
                if not line.strip():
                    continue
                try:
                    rows.extend(decoder.decode(line))
                except FormatError as e:
                    errors.append(f"{path}: {e}")
            return rows, errors
        except (FormatError, SourceConfigError) as e:
            return None, [f"{path}: {e}"]

    async def _publish(self, rows: list[dict], meta: dict) -> None:
        if self.stream.kind == "table":
            self.publish_rows(rows, meta)
            return
        if self.send_interval > 0:
            for i, row in enumerate(rows):
                if i:
                    await asyncio.sleep(self.send_interval)
                self.publish_rows([row], meta)
            return
        for i in range(0, len(rows), _SLICE):
            if i:
                await asyncio.sleep(0)
            self.publish_rows(rows[i:i + _SLICE], meta)

    def _after_read(self, path: Path) -> None:
        if self.action == 1:
            path.unlink()
        elif self.action == 2 and self.move_to is not None:
            target = self.move_to / path.name
            try:
                os.replace(path, target)
            except OSError:
                shutil.move(str(path), str(target))  # another file system
