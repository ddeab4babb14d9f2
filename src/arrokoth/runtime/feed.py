"""One stream's events on their way to the rules that read it.

A `StreamFeed` takes decoded messages, runs strict validation and event-time
extraction once, and hands the same `Row` to every subscribed rule by a direct call.
Rules never get a queue or a task per event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from arrokoth.plan.rows import Row
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.clock import Clock
from arrokoth.runtime.preprocess import PreprocessError, strict_validator, timestamp_extractor

Ingest = Callable[[int, Any], None]
ErrorSink = Callable[[str], None]


class StreamFeed:
    def __init__(self, stream: StreamDef, clock: Clock):
        self.stream = stream
        self.name = stream.name
        self.clock = clock
        self._validate = strict_validator(stream) if stream.strict else None
        self._timestamp = timestamp_extractor(stream) if stream.timestamp_field else None
        self._subscribers: list[tuple[Ingest, int, ErrorSink, bool]] = []
        self._needs_event_time = False
        self._only_event_time = False

    def subscribe(self, ingest: Ingest, index: int, on_error: ErrorSink, *, event_time: bool = False) -> None:
        self._subscribers.append((ingest, index, on_error, event_time))
        self._changed()

    def unsubscribe(self, ingest: Ingest) -> None:
        self._subscribers = [s for s in self._subscribers if s[0] != ingest]  # bound methods compare equal, not identical
        self._changed()

    def _changed(self) -> None:
        self._needs_event_time = self._timestamp is not None and any(s[3] for s in self._subscribers)
        self._only_event_time = self._needs_event_time and all(s[3] for s in self._subscribers)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, msg: dict, meta: dict | None = None, ts: int | None = None) -> None:
        """Hand one decoded message to every subscriber."""
        now = self.clock.now_ms() if ts is None else ts
        if self._validate is not None:
            try:
                msg = self._validate(msg)
            except PreprocessError as e:
                self._fail(str(e))
                return
        event_ts = now
        if self._needs_event_time:
            try:
                event_ts = self._timestamp(msg)
            except PreprocessError as e:
                self._fail(str(e))
                return
        if event_ts == now:
            row = Row(msg, now, meta, self.name)
            for ingest, index, _, _ in self._subscribers:
                ingest(index, row)
            return
        # processing-time rules see the arrival time, event-time rules the event's own
        rows = {}
        for ingest, index, _, event_time in self._subscribers:
            row = rows.get(event_time)
            if row is None:
                row = rows[event_time] = Row(msg, event_ts if event_time else now, meta, self.name)
            ingest(index, row)

    def publish_many(self, msgs: list[dict], meta: dict | None = None) -> None:
        now = self.clock.now_ms()
        if self._validate is None and not self._needs_event_time:
            subs = self._subscribers
            name = self.name
            for msg in msgs:
                row = Row(msg, now, meta, name)
                for ingest, index, _, _ in subs:
                    ingest(index, row)
            return
        if self._validate is None and self._only_event_time:
            # every rule reads event time: one row per message, stamped with its own time
            subs = self._subscribers
            name = self.name
            extract = self._timestamp
            for msg in msgs:
                try:
                    ts = extract(msg)
                except PreprocessError as e:
                    self._fail(str(e))
                    continue
                row = Row(msg, ts, meta, name)
                for ingest, index, _, _ in subs:
                    ingest(index, row)
            return
        for msg in msgs:
            self.publish(msg, meta, now)

    def _fail(self, message: str) -> None:
        for _, _, on_error, _ in self._subscribers:
            on_error(message)
