"""Windows, event time and stream-table joins (spec §5, §6).

`build_window_pipeline` returns the object a rule feeds its rows into when the rule
has a window or a join. Processing-time windows fire from the rule's clock; event-time
windows fire when the watermark passes their end. Either way a firing hands the rows to
the `Emitter`, which does the join, WHERE, GROUP BY and the rest.
"""

from __future__ import annotations

import datetime as _dt
import heapq
import time as _time
from collections import deque
from typing import TYPE_CHECKING, Any

from arrokoth.plan.logical import TIME_UNITS_MS, WindowSpec
from arrokoth.plan.rows import Group, Row
from arrokoth.runtime.clock import Timer
from arrokoth.runtime.emission import _ERRORS, Emitter, hashable

if TYPE_CHECKING:
    from arrokoth.runtime.rule import RuleRuntime


def align(t_ms: int, n: int, unit: str) -> int:
    """The first window end after `t_ms`, aligned in the next larger wall-clock unit.

    eKuiper's quirk is kept: when the field equals n exactly, the result is the
    boundary itself (which may equal t).
    """
    if unit == "MS":
        base = t_ms - t_ms % 1000
        field = t_ms % 1000
        return base + (n * (field // n + 1) if field > n else n)
    local = _dt.datetime.fromtimestamp(t_ms / 1000).astimezone()
    if unit == "SS":
        start = local.replace(second=0, microsecond=0)
        field = local.second
        step = 1000
    elif unit == "MI":
        start = local.replace(minute=0, second=0, microsecond=0)
        field = local.minute
        step = 60_000
    elif unit == "HH":
        # the day's real midnight, then absolute hours, as Go's time.Date(...).Add does;
        # replace() would keep t's UTC offset, an hour off on a daylight-saving day
        base = _local_midnight_ms(local.date())
        field = local.hour
        return base + (n * (field // n + 1) if field > n else n) * 3_600_000
    else:  # DD: local midnight n calendar days after t's day (not n * 24 h across DST)
        return _local_midnight_ms(local.date() + _dt.timedelta(days=n))
    base = int(start.timestamp() * 1000)
    return base + (n * (field // n + 1) if field > n else n) * step


def _local_midnight_ms(day: _dt.date) -> int:
    """Epoch ms of 00:00 local time on `day`, with the zone's offset on that day."""
    return int(_time.mktime((day.year, day.month, day.day, 0, 0, 0, 0, 0, -1))) * 1000


class WindowPipeline:
    """Buffers rows, decides when windows fire, and fires them through the Emitter."""

    def __init__(self, rt: RuleRuntime):
        self.rt = rt
        self.plan = rt.plan
        self.clock = rt.clock
        self.spec: WindowSpec | None = self.plan.window
        self.emitter = Emitter(rt)
        self.event_time = self.plan.options.is_event_time
        self.pushdown = self.plan.where_pushed_down
        self.timers: list[Timer] = []
        # scan tables: the latest RETAIN_SIZE rows of each table source
        self.tables: dict[int, deque] = {}
        self.stream_indexes: list[int] = []
        for i, (src, d) in enumerate(zip(self.plan.sources, self.plan.streams)):
            if src.is_table and i in rt.lookups:
                if callable(rt.lookups[i]):
                    self.emitter.table_rows[i] = rt.lookups[i]
                else:
                    self.emitter.keyed[i] = rt.lookups[i]
            elif src.is_table:
                self.tables[i] = deque(maxlen=max(1, d.retain_size))
                self.emitter.table_rows[i] = (lambda q=self.tables[i]: list(q))
            else:
                self.stream_indexes.append(i)
        self.rows: list[Row] = []  # the window buffer, in arrival (or event-time) order
        # incremental aggregation keeps, per group, the first row and its accumulators
        self.accumulators = self.plan.accumulators
        self.groups: dict[Any, Group] = {}
        self._adders: dict[Any, list] = {}
        self._post_where = self.plan.where is not None and not self.pushdown
        self._add = self._accumulate if self.accumulators is not None else self._append
        self._group_error: str | None = None  # incremental: a group key failed in this window
        self.started = 0
        self.prev_end = 0
        self.next_end = 0
        self.count_seen = 0
        # event time
        self.max_ts: dict[int, int] = {}
        self.watermark = -(2**62)
        self.pending: list[tuple[int, int, Row]] = []  # a heap by (ts, arrival)
        self.late_tolerance = self.plan.options.late_tolerance
        self._tumbling_fast = (
            self.spec is not None and self.spec.kind == "TUMBLINGWINDOW" and self.spec.filter is None
        )
        self._seq = 0
        self.session_start: int | None = None
        self.session_last = 0
        self.session_timer: Timer | None = None
        self.delayed: list[tuple[int, int]] = []  # sliding: (emit at, trigger ts)
        self.state_status: dict[Any, _StateStatus] = {}  # state windows, by partition key

    # --- lifecycle ---------------------------------------------------------------

    def start(self, start_ms: int) -> None:
        self.started = start_ms
        self.prev_end = start_ms
        spec = self.spec
        if spec is None or self.event_time:
            return
        if spec.kind in ("TUMBLINGWINDOW", "HOPPINGWINDOW"):
            n = spec.n if spec.kind == "TUMBLINGWINDOW" else spec.hop_n
            self.next_end = align(start_ms, n, spec.unit)
            self._arm(self.next_end, self._tick)
        elif spec.kind == "SESSIONWINDOW":
            self.next_end = align(start_ms, spec.n, spec.unit)
            self._arm(self.next_end, self._session_tick)

    def stop(self) -> None:
        for t in self.timers:
            t.cancel()
        self.timers.clear()
        if self.session_timer is not None:
            self.session_timer.cancel()

    def _arm(self, deadline: int, callback) -> Timer:
        timer = self.clock.call_at(deadline, callback)
        self.timers.append(timer)
        if len(self.timers) > 64:
            self.timers = [t for t in self.timers if not t.cancelled and t.deadline >= self.clock.now_ms()]
        return timer

    # --- input -------------------------------------------------------------------

    def ingest(self, index: int, row: Row) -> None:
        """A row from source `index`; `entry_point` names the shortest path to use."""
        if index in self.tables:
            self.tables[index].append(row)
            return
        if self.event_time:
            self._event_ingest(index, row)
            return
        self._admit(row)

    @property
    def entry_point(self):
        """What the rule should call per row: event time without tables skips a dispatch."""
        if self.event_time and not self.tables:
            return self._event_ingest
        return self.ingest

    def _passes(self, row: Row) -> bool:
        """The window FILTER and, where it is pushed down, WHERE."""
        spec = self.spec
        if spec.filter is not None:
            try:
                if spec.filter(row) is not True:
                    return False
            except _ERRORS as e:
                self.rt.error(f"run Window Filter error: {e}")
                return False
        return not (self.pushdown and not self.rt.check_where(row))

    def _admit(self, row: Row) -> None:
        """A row reaches the window (in ts order for event time)."""
        spec = self.spec
        if spec is None:
            if self.plan.joins:
                # a join with tables and no window: each row triggers on its own
                self.emitter.fire([row], 0, 0, by_source={self._index_of(row): [row]})
            else:
                self.rt.process_row(row)
            return
        if not self._passes(row):
            return
        kind = spec.kind
        if kind == "COUNTWINDOW":
            self._count(row)
        elif kind == "SLIDINGWINDOW":
            self._sliding(row)
        elif kind == "SESSIONWINDOW" and not self.event_time:
            self._session_row(row)
        elif kind == "STATEWINDOW":
            self._state(row)
        else:
            self._add(row)

    def _accumulate(self, row: Row) -> None:
        """Fold a row into its group's accumulators instead of keeping it.

        Errors must come out as the row buffer gives them when the window fires: a
        failing group key fails the whole window with `run Group By error`, and a
        failing aggregate makes SELECT (or HAVING, ORDER BY) fail when it reads it.
        """
        plan = self.plan
        if self._post_where and not self.rt.check_where(row):
            return
        if self._group_error is not None:
            return
        try:
            key = tuple(hashable(d(row)) for d in plan.dimensions) if plan.dimensions else None
        except _ERRORS as e:
            self._group_error = f"run Group By error: {e}"
            return
        adders = self._adders.get(key)
        if adders is None:
            group = self.groups[key] = Group([row], key)
            group.cache = [acc.cls() for acc in self.accumulators]
            adders = self._adders[key] = [
                (state.add, acc.args) for acc, state in zip(self.accumulators, group.cache)
            ]
        i = 0
        try:
            for add, args in adders:
                add([f(row) for f in args])
                i += 1
        except _ERRORS as e:
            self._fail_accumulator(key, adders, i, e)
            for j in range(i + 1, len(adders)):  # the rest still take the row
                add, args = adders[j]
                try:
                    add([f(row) for f in args])
                except _ERRORS as e2:
                    self._fail_accumulator(key, adders, j, e2)

    def _fail_accumulator(self, key: Any, adders: list, i: int, error: Exception) -> None:
        """An aggregate failed on a row: it fails when SELECT reads it, as in the row buffer."""
        self.groups[key].cache[i] = _FailedAccumulator(error)
        adders[i] = (_FailedAccumulator.add, adders[i][1])

    def _append(self, row: Row) -> None:
        self.rows.append(row)

    def _take(self, end: int) -> list[Row]:
        """The buffered rows before `end`; the rest stay for the next window."""
        rows = self.rows
        if not rows or rows[-1].ts < end:
            self.rows = []
            return rows
        self.rows = [r for r in rows if r.ts >= end]
        return [r for r in rows if r.ts < end]

    def _fire_tumbling(self, start: int, end: int) -> None:
        if self.accumulators is not None:
            groups = list(self.groups.values())
            self.groups = {}
            self._adders = {}
            error, self._group_error = self._group_error, None
            if error is not None:
                self.emitter.state.window_start = start
                self.emitter.state.window_end = end
                self.rt.error(error)
                return
            self.emitter.fire_groups(groups, start, end)
        else:
            self.emitter.fire(self._take(end), start, end)

    def _index_of(self, row: Row) -> int:
        for i, s in enumerate(self.plan.sources):
            if s.name == row.emitter:
                return i
        return 0

    # --- processing-time tumbling / hopping ---------------------------------------

    def _tick(self) -> None:
        spec = self.spec
        end = self.next_end
        if spec.kind == "TUMBLINGWINDOW":
            start = self.prev_end
            self.prev_end = end
            self.next_end = end + spec.length
            self._arm(self.next_end, self._tick)
            self._fire_tumbling(start, end)
            return
        lo = end - spec.length
        rows = [r for r in self.rows if lo <= r.ts < end]
        keep_from = end + spec.interval - spec.length
        self.rows = [r for r in self.rows if r.ts >= keep_from]
        report_start = self.prev_end - spec.interval
        self.prev_end = end
        self.next_end = end + spec.interval
        self._arm(self.next_end, self._tick)
        self.emitter.fire(rows, report_start, end)

    # --- count -------------------------------------------------------------------

    def _count(self, row: Row) -> None:
        spec = self.spec
        self.rows.append(row)
        n = spec.length
        m = spec.interval or n
        if len(self.rows) > n:
            del self.rows[: len(self.rows) - n]
        self.count_seen += 1
        if self.count_seen % m == 0 and len(self.rows) >= n:
            now = row.ts
            self.emitter.fire(list(self.rows), now, now)
            if m == n:
                self.rows.clear()

    # --- sliding -----------------------------------------------------------------

    def _sliding(self, row: Row) -> None:
        self.rows.append(row)
        self._sliding_trigger(row)

    def _sliding_trigger(self, row: Row) -> None:
        spec = self.spec
        t = row.ts
        horizon = t - spec.length - spec.interval
        if self.rows and self.rows[0].ts < horizon:
            self.rows = [r for r in self.rows if r.ts >= horizon]
        if spec.trigger is not None:
            if not _holds(spec.trigger, row):
                return
            shared = self.rt.plan.state.fctx.shared
            shared["last_hit_count"] = shared.get("last_hit_count", 0) + 1
            shared["last_hit_time"] = t
        if spec.interval:
            if self.event_time:
                self.delayed.append((t + spec.interval, t))
            else:
                self._arm(t + spec.interval, lambda t=t: self._sliding_fire(t, t + spec.interval))
            return
        rows = [r for r in self.rows if t - spec.length <= r.ts <= t]
        self.emitter.fire(rows, t - spec.length, t)

    def _sliding_fire(self, t: int, end: int) -> None:
        spec = self.spec
        rows = [r for r in self.rows if t - spec.length <= r.ts < end]
        self.emitter.fire(rows, t - spec.length, end)

    # --- session -----------------------------------------------------------------

    def _session_row(self, row: Row) -> None:
        spec = self.spec
        # a session opens when no timeout is pending (eKuiper: timeoutTicker == nil), not
        # whenever the buffer is empty: after a maxDuration tick took every row, the
        # session goes on and keeps the tick as its start
        if self.session_start is None:
            self.session_start = row.ts
        self.rows.append(row)
        if self.session_timer is not None:
            self.session_timer.cancel()
        self.session_timer = self.clock.call_at(row.ts + spec.interval, self._session_timeout)

    def _session_timeout(self) -> None:
        if not self.rows:
            return
        now = self.clock.now_ms()
        rows, self.rows = self.rows, []
        start = self.session_start if self.session_start is not None else rows[0].ts
        self.session_start = None
        self.emitter.fire(rows, start, now)

    def _session_tick(self) -> None:
        spec = self.spec
        tick = self.next_end
        self.next_end = tick + spec.length
        self._arm(self.next_end, self._session_tick)
        if self.rows and tick - self.rows[0].ts >= spec.length:
            rows = [r for r in self.rows if r.ts < tick]
            self.rows = [r for r in self.rows if r.ts >= tick]
            start = self.session_start if self.session_start is not None else rows[0].ts
            self.session_start = tick
            self.emitter.fire(rows, start, tick)

    # --- state -------------------------------------------------------------------

    def _state(self, row: Row) -> None:
        spec = self.spec
        # OVER (PARTITION BY ...): one state machine per key (eKuiper's calPartition,
        # which leaves out a partition expression that fails to evaluate)
        key = None
        if spec.partition:
            parts = []
            for p in spec.partition:
                try:
                    parts.append(hashable(p(row)))
                except _ERRORS:
                    continue
            key = tuple(parts)
        status = self.state_status.get(key)
        if status is None:
            status = self.state_status[key] = _StateStatus()
        if spec.state_begin is None:
            hit = _holds(spec.state_emit, row)
            if not status.open:
                if hit:
                    status.open = True
                    status.rows = [row]
                return
            if hit:
                rows, status.rows = status.rows, [row]
                self.emitter.fire(rows, rows[0].ts, row.ts)
            else:
                status.rows.append(row)
            return
        if not status.open:
            if _holds(spec.state_begin, row):
                status.open = True
                status.rows = [row]
            return
        status.rows.append(row)
        if _holds(spec.state_emit, row):
            rows, status.rows = status.rows, []
            status.open = False
            self.emitter.fire(rows, rows[0].ts, row.ts)

    # --- event time --------------------------------------------------------------

    def _event_ingest(self, index: int, row: Row) -> None:
        ts = row.ts
        if ts < self.watermark:
            return  # late
        max_ts = self.max_ts
        prev = max_ts.get(index)
        if prev is None or ts > prev:
            max_ts[index] = ts
        self._seq += 1
        pending = self.pending
        heapq.heappush(pending, (ts, self._seq, row))
        n_streams = len(self.stream_indexes)
        if len(max_ts) < n_streams:
            return
        wm = (min(max_ts.values()) if n_streams > 1 else max_ts[index]) - self.late_tolerance
        if wm <= self.watermark:
            return
        self.watermark = wm
        released = []
        while pending and pending[0][0] <= wm:
            released.append(heapq.heappop(pending))
        if self._tumbling_fast:
            # the common case, kept short: add rows, closing the windows they pass
            add = self._add
            for ts, _, r in released:
                if not self.next_end:
                    self._event_admit(r)
                    continue
                if ts >= self.next_end:
                    self._event_fire_until(ts, inclusive=False)
                add(r)
            if self.next_end and self.next_end <= wm:
                self._event_fire_until(wm, inclusive=True)
            return
        if self.spec is not None and self.spec.kind == "SLIDINGWINDOW":
            # the whole released batch is in the window before its rows trigger
            admitted = [r for _, _, r in released if self._passes(r)]
            self.rows.extend(admitted)
            for r in admitted:
                self._event_fire_until(r.ts, inclusive=False)
                self._sliding_trigger(r)
            self._event_fire_until(wm, inclusive=True)
            return
        for ts, _, r in released:
            self._event_fire_until(ts, inclusive=False)
            self._event_admit(r)
        self._event_fire_until(wm, inclusive=True)

    def _event_admit(self, row: Row) -> None:
        spec = self.spec
        if spec is None:
            self._admit(row)
            return
        if spec.kind in ("TUMBLINGWINDOW", "HOPPINGWINDOW") and not self.next_end:
            n = spec.n if spec.kind == "TUMBLINGWINDOW" else spec.hop_n
            self.next_end = align(row.ts, n, spec.unit)
            self.prev_end = row.ts
            self.first_event_ts = row.ts
        if spec.kind == "SESSIONWINDOW":
            self._event_session(row)
            return
        self._admit(row)

    def _event_fire_until(self, t: int, *, inclusive: bool) -> None:
        spec = self.spec
        if spec is None:
            return
        if spec.kind in ("TUMBLINGWINDOW", "HOPPINGWINDOW"):
            while self.next_end and (self.next_end < t or (inclusive and self.next_end <= t)):
                self._event_window_end()
        elif spec.kind == "SLIDINGWINDOW" and self.delayed:
            while self.delayed and (self.delayed[0][0] < t or (inclusive and self.delayed[0][0] <= t)):
                end, trig = self.delayed.pop(0)
                self._sliding_fire(trig, end)
        elif spec.kind == "SESSIONWINDOW" and self.rows:
            close = self.session_last + spec.interval
            if close < t or (inclusive and close <= t):
                self._event_session_close(close)

    def _event_window_end(self) -> None:
        spec = self.spec
        end = self.next_end
        if spec.kind == "TUMBLINGWINDOW":
            start = self.prev_end
            self.prev_end = end
            self.next_end = end + spec.length
            self._fire_tumbling(start, end)
            return
        lo = end - spec.length
        rows = [r for r in self.rows if lo <= r.ts < end]
        self.rows = [r for r in self.rows if r.ts >= end + spec.interval - spec.length]
        report_start = self.prev_end - spec.interval
        self.prev_end = end
        self.next_end = end + spec.interval
        self.emitter.fire(rows, report_start, end)

    def _event_session(self, row: Row) -> None:
        spec = self.spec
        if spec.filter is not None:
            try:
                if spec.filter(row) is not True:
                    return
            except _ERRORS as e:
                self.rt.error(f"run Window Filter error: {e}")
                return
        if not self.rows:
            self.session_start = row.ts
            if not self.next_end:
                self.next_end = align(row.ts, spec.n, spec.unit)
        else:
            while self.next_end and self.next_end <= row.ts:
                tick = self.next_end
                self.next_end += spec.length
                if self.rows and tick - self.rows[0].ts >= spec.length:
                    rows = [r for r in self.rows if r.ts < tick]
                    self.rows = [r for r in self.rows if r.ts >= tick]
                    self.emitter.fire(rows, self.session_start, tick)
                    self.session_start = tick
        self.rows.append(row)
        self.session_last = row.ts

    def _event_session_close(self, end: int) -> None:
        rows, self.rows = self.rows, []
        start = self.session_start if self.session_start is not None else rows[0].ts
        self.session_start = None
        self.emitter.fire(rows, start, end)


def _holds(condition, row: Row) -> bool:
    """A sliding-window trigger or state-window condition: true, or not.

    eKuiper's isMatchCondition logs an evaluation error and treats it as false; no
    error reaches the sink.
    """
    try:
        return condition(row) is True
    except _ERRORS:
        return False


class _FailedAccumulator:
    """An aggregate whose input failed: reading it raises the error, as the batch form would."""

    __slots__ = ("error",)

    def __init__(self, error: Exception):
        self.error = error

    @staticmethod
    def add(values: list) -> None:
        pass

    def result(self):
        raise self.error


class _StateStatus:
    """One state window: whether it is open, and the rows collected since it opened."""

    __slots__ = ("open", "rows")

    def __init__(self) -> None:
        self.open = False
        self.rows: list[Row] = []


def build_window_pipeline(rt: RuleRuntime) -> WindowPipeline:
    return WindowPipeline(rt)


__all__ = ["align", "WindowPipeline", "build_window_pipeline", "TIME_UNITS_MS", "Any"]
