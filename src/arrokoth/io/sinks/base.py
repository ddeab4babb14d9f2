"""What every sink shares: the sink protocol and the node that feeds a sink.

A `SinkNode` receives the result rows of one trigger (`collect`, called synchronously
from the rule) and turns them into messages the way eKuiper's sink pipeline does:
`omitIfEmpty`, batching (`batchSize`, `lingerInterval`), `sendSingle`, `dataTemplate`,
`dataField`, `fields`, then the `format` encoder. A plain `Sink` gets each message at
once from `collect`. An `AsyncSink` (a sink with a remote end) is fed from a bounded
buffer by worker tasks, with retries, reconnection and the sink cache (`_delivery.py`,
`cache.py`), so a slow or dead destination never blocks the rule.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arrokoth.functions import jsonvalue
from arrokoth.io.props import bool_prop
from arrokoth.io.props import prop as _prop
from arrokoth.runtime.clock import Clock, RealClock, Timer

log = logging.getLogger("arrokoth.sink")

# connection_status in rule metrics
CONNECTED = 1
CONNECTING = 0
DISCONNECTED = -1


class SinkConfigError(Exception):
    """A sink property is wrong; the message names the property."""


class SinkSendError(Exception):
    """A recoverable failure (network down, broker unavailable, ...).

    The SinkNode retries it (`retryCount`) and, with `enableCache`, keeps the message
    until the sink recovers. Any other exception from a send is not recoverable: the
    message is dropped and counted.
    """


class Sink:
    """A destination. `send(payload, data)` gets the encoded bytes and the shaped data."""

    #: sinks that take the row objects rather than bytes (memory) set this
    wants_rows = False
    #: AsyncSink sets this: the node sends from tasks of its own
    is_async = False

    def __init__(self, props: dict[str, Any]):
        self.props = props

    def open(self) -> None:
        pass

    def send(self, payload: bytes | None, data: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class AsyncSink(Sink):
    """A sink with a remote end (MQTT, REST, files on a share, ...).

    The protocol the SinkNode drives:

    * `await connect()` — called by the node before the first send and again, with
      backoff, whenever the sink reports itself disconnected. Raise anything on failure:
      the rule keeps running, the node retries and (with `enableCache`) caches.
    * `await send_async(payload, data)` — deliver one message; raise `SinkSendError` for a
      recoverable failure. Up to `concurrency` sends may run at once.
    * `await resend_async(payload, data)` — a message from the cache with
      `resendAlterQueue`; override it to honour `resendDestination`.
    * `await aclose()` — when the rule stops.

    Report the connection with `mark_connected()` / `mark_disconnected(message)` (for
    instance when a send finds the peer gone, or from a client library's callbacks).
    A sink whose client reconnects by itself sets `reconnects_itself`; the node then calls
    `connect()` once and waits for `mark_connected()` after a loss.
    """

    is_async = True
    reconnects_itself = False

    # connection_status in rule metrics: 1 connected, 0 connecting, -1 disconnected
    status = CONNECTING
    last_connected = 0
    last_disconnected = 0
    last_disconnected_message = ""
    last_try = 0

    #: set by the SinkNode: called after each status change, and the node's clock
    _status_listener: Callable[[AsyncSink], None] | None = None
    _now: Callable[[], int] = staticmethod(_wall_ms)

    async def connect(self) -> None:
        pass

    async def send_async(self, payload: bytes | None, data: Any) -> None:
        raise NotImplementedError

    async def resend_async(self, payload: bytes | None, data: Any) -> None:
        await self.send_async(payload, data)

    async def aclose(self) -> None:
        pass

    def send(self, payload: bytes | None, data: Any) -> None:
        raise TypeError("an AsyncSink is sent to through send_async")

    def mark_connected(self) -> None:
        self.status = CONNECTED
        self.last_connected = self._now()
        if self._status_listener is not None:
            self._status_listener(self)

    def on_status(self, status: int, message: str = "") -> None:
        """A client's status callback (1 connected, 0 redialling, -1 down): redialling is
        only recorded, so the node learns of it from `status` without an exception per try."""
        if status == CONNECTED:
            self.mark_connected()
        elif status == DISCONNECTED:
            self.mark_disconnected(message)
        else:
            self.status = CONNECTING
            self.last_try = self._now()
            if message:
                self.last_disconnected_message = message

    def mark_disconnected(self, message: str = "") -> None:
        was = self.status
        self.status = DISCONNECTED
        self.last_disconnected = self._now()
        self.last_disconnected_message = message
        if self._status_listener is not None and was != DISCONNECTED:
            self._status_listener(self)


# --- properties --------------------------------------------------------------------


def _bool_prop(props: dict, name: str, default: bool = False) -> bool:
    return bool_prop(props, name, default, error=SinkConfigError, expected="a bool")


_INT = re.compile(r"[+-]?\d+")


def _int_prop(props: dict, name: str, default: int, *, minimum: int | None = None) -> int:
    # rule JSON may carry 10, 10.0 or "10" (eKuiper decodes weakly)
    v = _prop(props, name, default)
    if v is None or v == "":
        n = default
    elif isinstance(v, bool):
        raise SinkConfigError(f"{name}: expected an int but got {v!r}")
    elif isinstance(v, int):
        n = v
    elif (isinstance(v, float) and v.is_integer()) or (isinstance(v, str) and _INT.fullmatch(v.strip())):
        n = int(v)
    else:
        raise SinkConfigError(f"{name}: expected an int but got {v!r}")
    if minimum is not None and n < minimum:
        raise SinkConfigError(f"{name}: must be at least {minimum} but got {n}")
    return n


def _duration_prop(props: dict, name: str, default: int) -> int:
    """Milliseconds: an int, or a Go duration string such as "500ms" or "1s"."""
    from arrokoth.plan.options import OptionError, parse_duration_ms

    v = _prop(props, name, default)
    if v is None or v == "":
        return default
    if isinstance(v, float) and not v.is_integer():
        raise SinkConfigError(f"{name}: expected milliseconds but got {v!r}")
    try:
        ms = parse_duration_ms(v, name)
    except OptionError as e:
        raise SinkConfigError(f"{name}: {e}") from None
    if ms < 0:
        raise SinkConfigError(f"{name}: must not be negative but got {v!r}")
    return ms


def _str_prop(props: dict, name: str, default: str = "") -> str:
    v = _prop(props, name, default)
    if v is None:
        return default
    if not isinstance(v, str):
        raise SinkConfigError(f"{name}: expected a string but got {v!r}")
    return v


# --- formats -----------------------------------------------------------------------


class Encoder:
    """How a SinkNode encodes a message for the wire. A `text` format takes a data
    template's output as the payload unchanged; the others decode that output as JSON and
    encode the value."""

    __slots__ = ("encode", "text")

    def __init__(self, encode: Callable[[Any], bytes], *, text: bool):
        self.encode = encode
        self.text = text


# formats whose payload is text: a data template renders it directly
_TEXT_FORMATS = {"json", "delimited"}
_JSON = Encoder(jsonvalue.encode, text=True)


def encoder_for(fmt: Any, props: dict) -> Encoder:
    """The encoder of the sink property `format` (json when unset), from the format
    registry (`arrokoth.io.formats.registry`, where formats register)."""
    if fmt is None or fmt == "":
        fmt = "json"
    if not isinstance(fmt, str):
        raise SinkConfigError(f"format: expected a string but got {fmt!r}")
    name = fmt.lower()
    if name == "json":
        return _JSON  # the hot path: one call, no wrapper
    from arrokoth.io.formats.registry import FormatError
    from arrokoth.io.formats.registry import encoder_for as format_encoder

    try:
        enc = format_encoder(name, props)
    except FormatError as e:
        raise SinkConfigError(f"format: {e}") from None
    return Encoder(enc.encode, text=getattr(enc, "text", name in _TEXT_FORMATS))


# --- the node ----------------------------------------------------------------------

#: the global sink defaults of eKuiper's kuiper.yaml (`sink:` section)
SINK_DEFAULTS: dict[str, Any] = {
    "enableCache": False,
    "memoryCacheThreshold": 1024,
    "maxDiskCache": 1024000,
    "bufferPageSize": 256,
    "resendInterval": 0,
    "cleanCacheAtStop": False,
    "resendAlterQueue": False,
    "resendPriority": 0,
    "resendIndicatorField": "",
}


@dataclass(frozen=True)
class CacheOptions:
    enabled: bool
    memory_threshold: int
    max_disk: int
    page_size: int
    resend_interval: int  # ms
    clean_at_stop: bool
    alter_queue: bool
    priority: int
    indicator: str

    @classmethod
    def from_props(cls, props: dict, defaults: dict) -> CacheOptions:
        d = {**SINK_DEFAULTS, **defaults}
        mem = _int_prop(props, "memoryCacheThreshold", d["memoryCacheThreshold"])
        disk = _int_prop(props, "maxDiskCache", d["maxDiskCache"])
        page = _int_prop(props, "bufferPageSize", d["bufferPageSize"])
        priority = _int_prop(props, "resendPriority", d["resendPriority"])
        # eKuiper's SinkConf.Validate, with its messages
        if mem < 0:
            raise SinkConfigError("memoryCacheThreshold:memoryCacheThreshold must be positive")
        if disk < 0:
            raise SinkConfigError("maxDiskCache:maxDiskCache must be positive")
        if page <= 0:
            raise SinkConfigError("bufferPageSize:bufferPageSize must be positive")
        if page > mem:
            raise SinkConfigError(
                "memoryCacheThresholdTooSmall:memoryCacheThreshold must be greater than or equal to bufferPageSize"
            )
        if mem % page:
            raise SinkConfigError("memoryCacheThresholdNotMultiple:memoryCacheThreshold must be a multiple of bufferPageSize")
        if page > disk:
            raise SinkConfigError("maxDiskCacheTooSmall:maxDiskCache must be greater than bufferPageSize")
        if disk % page:
            raise SinkConfigError("maxDiskCacheNotMultiple:maxDiskCache must be a multiple of bufferPageSize")
        if priority not in (-1, 0, 1):
            raise SinkConfigError("resendPriority:resendPriority must be -1, 0 or 1")
        try:
            resend_interval = _duration_prop(props, "resendInterval", d["resendInterval"])
        except SinkConfigError:
            raise SinkConfigError("resendInterval:resendInterval must be positive") from None
        return cls(
            enabled=_bool_prop(props, "enableCache", d["enableCache"]),
            memory_threshold=mem,
            max_disk=disk,
            page_size=page,
            resend_interval=resend_interval,
            clean_at_stop=_bool_prop(props, "cleanCacheAtStop", d["cleanCacheAtStop"]),
            alter_queue=_bool_prop(props, "resendAlterQueue", d["resendAlterQueue"]),
            priority=priority,
            indicator=_str_prop(props, "resendIndicatorField", d["resendIndicatorField"]),
        )


_SKIP = object()


class SinkNode:
    """Applies the common sink properties and hands messages to one sink.

    `collect(rows)` is called synchronously by the rule. For an `AsyncSink`, call
    `await start()` before and `await stop()` after the run; for a plain `Sink` they
    call `open()` / `close()` and flush a pending batch, and `collect` works without them.
    """

    def __init__(
        self,
        sink: Sink,
        props: dict[str, Any],
        *,
        clock: Clock | None = None,
        data_dir: str | Path | None = None,
        rule_id: str = "",
        sink_type: str = "",
        index: int = 0,
        defaults: dict[str, Any] | None = None,
    ):
        self.sink = sink
        self.props = props
        self.clock = clock or RealClock()
        if getattr(sink, "clock", ...) is None:
            sink.clock = self.clock  # a sink with timers of its own (file rolling) uses the rule's clock
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.rule_id = rule_id
        if getattr(sink, "rule_id", ...) is None:
            sink.rule_id = rule_id  # a sink that names things after its rule (edgex's sourceName)
        self.sink_type = sink_type or type(sink).__name__.lower()
        self.index = index

        self.send_single = _bool_prop(props, "sendSingle")
        self.omit_if_empty = _bool_prop(props, "omitIfEmpty")
        fields = _prop(props, "fields")
        if fields is not None and not (isinstance(fields, list) and all(isinstance(f, str) for f in fields)):
            raise SinkConfigError("fields: expected a list of strings")
        # eKuiper selects only when len(fields) > 0; `fields: []` must not empty every row
        self.fields = fields or None
        data_field = _prop(props, "dataField")
        if data_field is not None and not isinstance(data_field, str):
            raise SinkConfigError("dataField: expected a string")
        self.data_field = data_field or None
        self.encoder = encoder_for(_prop(props, "format", "json"), props)
        self._encode = self.encoder.encode
        self.template = self._compile_template(_str_prop(props, "dataTemplate"))

        self.batch_size = _int_prop(props, "batchSize", 0, minimum=0)
        self.linger_ms = _duration_prop(props, "lingerInterval", 0)
        self.buffer_length = _int_prop(props, "bufferLength", 1024, minimum=0)
        concurrency = _int_prop(props, "concurrency", 1)
        if concurrency <= 0:
            log.warning("sink %s: concurrency must be positive, got %d; using 1", self.sink_type, concurrency)
            concurrency = 1
        self.concurrency = concurrency
        self.retry_count = _int_prop(props, "retryCount", 0, minimum=0)
        self.retry_interval = _duration_prop(props, "retryInterval", 1000)
        self.cache_options = CacheOptions.from_props(props, defaults or {})

        # metrics
        self.records_in = 0
        self.count = 0  # messages delivered (records_out)
        self.exceptions = 0
        self.last_exception = ""
        self.last_exception_time = 0
        self.dropped = 0

        self._batch: list[dict] = []
        self._linger: Timer | None = None
        self._batching = self.batch_size > 0 or self.linger_ms > 0
        self._sink_send = sink.send
        self._delivery = None
        if sink.is_async:
            from arrokoth.io.sinks._delivery import AsyncDelivery

            self._delivery = AsyncDelivery(self)
        plain = (
            self._delivery is None and self.template is None and not self._batching and not self.send_single
            and not self.omit_if_empty and self.data_field is None and self.fields is None and not sink.wants_rows
        )
        # the rule's hot path: a nop/log sink with no properties costs one call and an encode
        self.collect = self._collect_plain if plain else self._collect  # type: ignore[method-assign]

    @staticmethod
    def _compile_template(text: str):
        if not text:
            return None
        try:
            from arrokoth.io.templates import TemplateError, compile_template
        except ImportError:
            raise SinkConfigError("dataTemplate: data templates are not available") from None
        try:
            return compile_template(text)
        except TemplateError as e:
            raise SinkConfigError(f"dataTemplate: {e}") from None

    # --- metrics -----------------------------------------------------------------

    @property
    def records_out(self) -> int:
        return self.count

    @property
    def buffer_length_now(self) -> int:
        """Messages waiting: the batch, the send buffer and the cache."""
        n = len(self._batch)
        if self._delivery is not None:
            n += self._delivery.pending
        return n

    @property
    def connection(self) -> AsyncSink | None:
        """The sink whose connection the metrics report (None: always connected)."""
        return self.sink if isinstance(self.sink, AsyncSink) else None

    def record_exception(self, e: BaseException | str) -> None:
        self.exceptions += 1
        self.last_exception = e if isinstance(e, str) else (str(e) or type(e).__name__)
        self.last_exception_time = self.clock.now_ms()

    def record_drop(self, n: int, reason: str, *, exception: bool = True) -> None:
        """Messages lost: counted, as exceptions too (as eKuiper does), and logged."""
        before = self.dropped
        self.dropped += n
        if exception:
            self.exceptions += n
            self.last_exception = reason
            self.last_exception_time = self.clock.now_ms()
        # one line when dropping starts, then one per thousand, not one per message
        if before == 0 or before // 1000 != self.dropped // 1000:
            log.warning("sink %s_%d of rule %s: %s; %d messages dropped so far",
                        self.sink_type, self.index, self.rule_id, reason, self.dropped)

    # --- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Open the sink. An AsyncSink that cannot connect does not fail the start: the
        node keeps reconnecting with backoff while it buffers and caches."""
        if self._delivery is not None:
            await self._delivery.start()
        else:
            self.sink.open()

    async def stop(self) -> None:
        """Send a pending batch, then close the sink (the cache is kept on disk)."""
        self.flush_batch()
        if self._delivery is not None:
            await self._delivery.stop()
        else:
            self.sink.close()

    # --- collect -----------------------------------------------------------------

    def _collect_plain(self, rows: list[dict]) -> None:
        self.records_in += 1
        try:
            self._sink_send(self._encode(rows), rows)
        except Exception as e:  # noqa: BLE001 - a failing sink must not stop the rule
            self.record_exception(e)
            return
        self.count += 1

    def _collect(self, rows: list[dict]) -> None:
        self.records_in += 1
        if self.omit_if_empty and (not rows or rows == [{}]):
            return
        if self._batching:
            self._add_to_batch(rows)
        else:
            self._emit_rows(rows)

    def _emit_rows(self, rows: list[dict]) -> None:
        if self.send_single:
            for row in rows:
                if self.omit_if_empty and not row:
                    continue
                self._emit(row)
        else:
            self._emit(rows)

    def _emit(self, item: Any) -> None:
        """Turn one message's rows into a payload and hand it on."""
        try:
            out = self._transform(item)
        except Exception as e:  # noqa: BLE001 - a bad row or template fails one message
            self.record_exception(e)
            return
        if out is _SKIP:
            return
        payload, data = out
        if self._delivery is not None:
            self._delivery.put(payload, data, item)
            return
        try:
            self._sink_send(payload, data)
        except Exception as e:  # noqa: BLE001
            self.record_exception(e)
            return
        self.count += 1

    def _transform(self, item: Any) -> Any:
        """(payload, data) of one message, or _SKIP. eKuiper's order: the data template
        renders the rows; dataField and fields then select from its (JSON) output."""
        select = self.data_field is not None or self.fields is not None
        if self.template is not None:
            text = self.template.render(item)
            if not text and self.omit_if_empty:
                return _SKIP
            if not select and self.encoder.text and not self.sink.wants_rows:
                return text.encode(), text
            try:
                item = jsonvalue.loads(text)
            except jsonvalue.DecodeError:
                raise ValueError(f"fail to decode data {text} after applying dataTemplate") from None
        data = self._shape(item) if select else item
        if self.sink.wants_rows:
            return None, data
        return self._encode(data), data

    def _shape(self, item: Any) -> Any:
        if self.data_field:
            # eKuiper's TransItem takes dataField from the first row of a list
            if type(item) is list:
                item = item[0] if item else None
            item = item.get(self.data_field) if type(item) is dict else None
        if self.fields is not None:
            # eKuiper's selectMap sets every listed field (`output[f] = it[f]`), so a
            # missing one is sent as null rather than left out
            if type(item) is dict:
                item = {f: item.get(f) for f in self.fields}
            elif type(item) is list:
                item = [{f: r.get(f) for f in self.fields} for r in item if type(r) is dict]
        return item

    def retransform(self, raw: Any, indicator: str) -> Any:
        """A cached message rendered again with `indicator: true` on its rows."""
        if type(raw) is dict:
            raw = {**raw, indicator: True}
        elif type(raw) is list:
            raw = [{**r, indicator: True} if type(r) is dict else r for r in raw]
        return self._transform(raw)

    # --- batching ----------------------------------------------------------------

    def _add_to_batch(self, rows: list[dict]) -> None:
        self._batch.extend(rows)
        size = self.batch_size
        if size and len(self._batch) >= size:
            if self._linger is not None:
                self._linger.cancel()
                self._linger = None
            while len(self._batch) >= size:
                chunk, self._batch = self._batch[:size], self._batch[size:]
                self._emit_rows(chunk)
        if self._batch and self.linger_ms and self._linger is None:
            self._linger = self.clock.call_later(self.linger_ms, self._on_linger)

    def _on_linger(self) -> None:
        self._linger = None
        self.flush_batch()

    def flush_batch(self) -> None:
        """Send what the batch holds now."""
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        if self._batch:
            rows, self._batch = self._batch, []
            self._emit_rows(rows)
