"""A running rule: the operators of its plan chained as plain calls.

Sources call `RuleRuntime.ingest(source_index, row)` (or `ingest_batch`); everything
from there to the sinks runs synchronously in that call, with no queue or task hop
between operators. Windows fire from the rule's clock. Errors never escape: a failing
row becomes an `{"error": ...}` emission (with `sendError`) and an exception count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from arrokoth.functions.values import typed
from arrokoth.plan.logical import RulePlan
from arrokoth.plan.projection import SrfError
from arrokoth.plan.rows import Group, JoinedRow, Row
from arrokoth.runtime.clock import Clock
from arrokoth.runtime.metrics import RuleMetrics

Emit = Callable[[list[dict]], None]
# a row that fails for any reason becomes an error emission; the rule keeps running
_ERRORS = (Exception,)


class RuleRuntime:
    def __init__(
        self,
        rule_id: str,
        plan: RulePlan,
        emit: Emit,
        clock: Clock,
        *,
        lookups: dict[int, Callable[[], list[Row]]] | None = None,
    ):
        self.id = rule_id
        self.plan = plan
        self.clock = clock
        # lookup tables by source index: called for their current rows at each join
        self.lookups = lookups or {}
        self._emit = emit
        self.metrics = RuleMetrics()
        self.running = False
        state = plan.state
        state.fctx.clock = clock
        state.fctx.rule_id = rule_id
        self._shared = state.fctx.shared
        self._shared.setdefault("last_hit_count", 0)
        self._shared.setdefault("last_hit_time", 0)
        self._send_error = plan.options.send_error
        self._analytics = plan.analytics
        self._n_slots = len(plan.analytics)
        self.process_row = self._build_process()
        self.window = None
        if plan.window is not None or plan.is_join or plan.options.is_event_time:
            from arrokoth.runtime.windowing import build_window_pipeline

            self.window = build_window_pipeline(self)
        self.ingest = self._build_ingest()

    # --- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        self.running = True
        start = self.clock.now_ms()
        self.plan.state.fctx.rule_start = start
        self.metrics.start(start)
        if self.window is not None:
            self.window.start(start)

    def stop(self) -> None:
        self.running = False
        if self.window is not None:
            self.window.stop()

    # --- emission ----------------------------------------------------------------

    def emit(self, rows: list[dict]) -> None:
        self.metrics.records_out += 1
        self._emit(rows)

    def error(self, message: str) -> None:
        self.metrics.exception(message, self.clock.now_ms())
        if self._send_error:
            self._emit([{"error": message}])

    # --- the per-row path --------------------------------------------------------

    def run_analytics(self, row: Row) -> Row | None:
        """Evaluate every analytic call on the row before WHERE; None on error.

        The row is copied first: rules on one stream share the decoded event, but each
        keeps its own analytic values.
        """
        cache = [None] * self._n_slots
        row = Row(row.msg, row.ts, row.meta, row.emitter, cache)
        try:
            for call in self._analytics:
                values = [f(row) for f in call.args]
                valid = True if call.when is None else call.when(row) is True
                if call.partition:
                    key = tuple(_hashable(p(row)) for p in call.partition)
                    state = call.states.get(key)
                    if state is None:
                        state = call.states[key] = {}
                else:
                    state = call.states.get(None)
                    if state is None:
                        state = call.states[None] = {}
                cache[call.slot] = call.fdef.impl(state, values, valid)
        except _ERRORS as e:
            self.error(f"run Select error: {e}")
            return None
        return row

    def _where_only(self, row: Any) -> bool:
        """check_where for rules that never read last_hit_count()/last_hit_time()."""
        try:
            ok = self.plan.where(row)
        except _ERRORS as e:
            self.error(f"run Where error: {e}")
            return False
        if ok is True:
            return True
        if ok is False or ok is None:
            return False
        self.error(f"run Where error: invalid condition that returns non-bool value {typed(ok)}")
        return False

    def check_where(self, row: Any) -> bool:
        try:
            ok = self.plan.where(row)
        except _ERRORS as e:
            self.error(f"run Where error: {e}")
            return False
        if ok is True:
            shared = self._shared
            shared["last_hit_count"] += 1
            shared["last_hit_time"] = row.ts
            return True
        if ok is False or ok is None:
            return False
        self.error(f"run Where error: invalid condition that returns non-bool value {typed(ok)}")
        return False

    def _build_ingest(self) -> Callable[[int, Any], None]:
        metrics = self.metrics
        analytics = bool(self._analytics)
        run_analytics = self.run_analytics
        if self.window is not None:
            window_ingest = self.window.entry_point

            def ingest_windowed(index: int, row: Any) -> None:
                metrics.records_in += 1
                if analytics:
                    row = run_analytics(row)
                    if row is None:
                        return
                window_ingest(index, row)

            return ingest_windowed

        process = self.process_row
        plan = self.plan
        projection = plan.projection
        if (
            not analytics and not plan.aggregate and projection._srf is None and plan.limit is None
            and projection.only_wildcard and plan.where is not None and not plan.options.send_meta_to_sink
        ):
            # SELECT * FROM s WHERE cond: the hottest shape, kept lean
            check_where = self.check_where if plan.uses_last_hit else self._where_only
            send_nil = plan.options.send_nil_field
            emit = self.emit
            state = plan.state

            def ingest_filter_all(index: int, row: Any) -> None:
                metrics.records_in += 1
                if not check_where(row):
                    return
                msg = row.msg
                if not send_nil and None in msg.values():
                    msg = {k: v for k, v in msg.items() if v is not None}
                state.row_number = 1
                emit([msg])

            return ingest_filter_all

        if not analytics and not plan.aggregate and projection._srf is None and plan.limit is None:
            return self._build_simple_ingest()

        def ingest(index: int, row: Any) -> None:
            metrics.records_in += 1
            if analytics:
                row = run_analytics(row)
                if row is None:
                    return
            process(row)

        return ingest

    def _build_simple_ingest(self) -> Callable[[int, Any], None]:
        """Filter and project one row: the shape of most edge rules, with no detours."""
        plan = self.plan
        metrics = self.metrics
        where = plan.where
        check_where = self.check_where
        uses_last_hit = plan.uses_last_hit
        project = plan.projection.project
        error = self.error
        sink = self._emit
        state = plan.state
        send_meta = plan.options.send_meta_to_sink

        def ingest_simple(index: int, row: Any) -> None:
            metrics.records_in += 1
            if where is not None:
                if uses_last_hit:
                    if not check_where(row):
                        return
                else:
                    try:
                        ok = where(row)
                    except _ERRORS as e:
                        error(f"run Where error: {e}")
                        return
                    if ok is not True:
                        if ok is not False and ok is not None:
                            error(f"run Where error: invalid condition that returns non-bool value {typed(ok)}")
                        return
            state.row_number = 1
            try:
                out = project(row)
            except _ERRORS as e:
                error(f"run Select error: {e}")
                return
            if send_meta:
                out = with_meta(out, row)
            metrics.records_out += 1
            sink([out])

        return ingest_simple

    def _build_process(self) -> Callable[[Any], None]:
        """WHERE, projection and emission of one row of a rule without a window."""
        plan = self.plan
        where = plan.where
        check_where = self.check_where
        projection = plan.projection
        emit = self.emit
        error = self.error
        aggregate = plan.aggregate
        having = plan.having
        limit = plan.limit
        srf = projection._srf is not None
        project = projection.project
        project_all = projection.project_all
        state = plan.state
        send_meta = plan.options.send_meta_to_sink

        def process(row: Any) -> None:
            if where is not None and not check_where(row):
                return
            state.row_number = 1
            try:
                if aggregate:
                    group = Group([row])
                    if having is not None:
                        ok = having(group)
                        if ok is not True:
                            return
                    out = [project(group)]
                elif srf:
                    out = project_all(row)
                else:
                    out = [project(row)]
            except SrfError as e:
                error(str(e))
                return
            except _ERRORS as e:
                error(f"run Select error: {e}")
                return
            if limit is not None:
                out = out[:limit]
            if send_meta:
                out = [with_meta(o, row) for o in out]
            if srf:
                # a set-returning function in a non-window rule: one message per row
                for o in out:
                    emit([o])
            elif out:
                emit(out)

        return process

    def ingest_batch(self, index: int, rows: list[Any]) -> None:
        ingest = self.ingest
        for row in rows:
            ingest(index, row)


def with_meta(out: dict, row: Any) -> dict:
    """sendMetaToSink: the row's metadata travels under `__meta`."""
    if row.meta:
        out = dict(out)
        out["__meta"] = row.meta
    return out


def _hashable(v: Any) -> Any:
    if type(v) is dict:
        return tuple(sorted((k, _hashable(x)) for k, x in v.items()))
    if type(v) is list:
        return tuple(_hashable(x) for x in v)
    return v


__all__ = ["RuleRuntime", "Row", "JoinedRow", "Group"]
