"""What happens when a window (or a join trigger) fires: join, WHERE, GROUP BY,
HAVING, ORDER BY, projection and LIMIT over the collected rows (spec §12, steps 5-9).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from arrokoth.plan.projection import SrfError
from arrokoth.plan.rows import Group, JoinedRow, Row

if TYPE_CHECKING:
    from arrokoth.runtime.rule import RuleRuntime

# a row that fails for any reason becomes an error emission; the rule keeps running
_ERRORS = (Exception,)


class OrderError(Exception):
    pass


def _sort_type(v: Any) -> str:
    t = type(v)
    if t is int:
        return "int"
    if t is float:
        return "float"
    if t is str:
        return "string"
    if t is bool:
        return "bool"
    return t.__name__


def _compare_values(a: Any, b: Any) -> int:
    if a is None or b is None:
        if a is None and b is None:
            return 0
        return -1 if a is None else 1
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        return (a > b) - (a < b)
    if ta is tb and ta in (str, bool):
        return (a > b) - (a < b)
    if ta is tb:
        try:
            return (a > b) - (a < b)
        except TypeError:
            pass
    # Python's sort compares (later, earlier); eKuiper names the earlier value first
    raise OrderError(f"incompatible types for comparison: {_sort_type(b)} and {_sort_type(a)}")


def hashable(v: Any) -> Any:
    t = type(v)
    if t is dict:
        return ("\x00map", tuple(sorted((k, hashable(x)) for k, x in v.items())))
    if t is list:
        return ("\x00list", tuple(hashable(x) for x in v))
    if t is float and v.is_integer():
        return int(v)
    return v


class Emitter:
    """Runs steps 5-9 of the pipeline for one trigger of a rule."""

    def __init__(self, rt: RuleRuntime):
        self.rt = rt
        plan = rt.plan
        self.plan = plan
        self.state = plan.state
        self.joins = plan.joins
        self.post_where = plan.where if (plan.where is not None and not plan.where_pushed_down) else None
        self.dimensions = plan.dimensions
        self.aggregate = plan.aggregate
        self.having = plan.having
        self.order_by = plan.order_by
        self.projection = plan.projection
        self.limit = plan.limit
        self.table_rows: dict[int, Callable[[], list[Row]]] = {}
        # lookup tables queried by key per row: objects with rows(keys, values)
        self.keyed: dict[int, Any] = {}

    # --- join --------------------------------------------------------------------

    def _join(self, by_source: dict[int, list[Row]]) -> list[JoinedRow]:
        n = len(self.plan.sources)

        def rows_of(i: int) -> list[Row]:
            if i in self.table_rows:
                return self.table_rows[i]()
            return by_source.get(i, [])

        combos: list[list[Row | None]] = []
        for r in rows_of(0):
            parts: list[Row | None] = [None] * n
            parts[0] = r
            combos.append(parts)
        for spec in self.joins:
            if spec.index in self.keyed:
                combos = self._lookup_join(combos, spec, self.keyed[spec.index])
                continue
            right = rows_of(spec.index)
            on = spec.on
            out: list[list[Row | None]] = []
            if spec.kind == "RIGHT":
                # eKuiper's evalSetWithRightJoin walks the right rows outermost: each right
                # row is followed by its matches, or stands alone, in right-row order
                for r in right:
                    matched = False
                    for parts in combos:
                        cand = list(parts)
                        cand[spec.index] = r
                        if on is None or on(_joined(cand)) is True:
                            out.append(cand)
                            matched = True
                    if not matched:
                        parts = [None] * n
                        parts[spec.index] = r
                        out.append(parts)
                combos = out
                continue
            matched_right: set[int] = set()
            for parts in combos:
                matched = False
                for j, r in enumerate(right):
                    cand = list(parts)
                    cand[spec.index] = r
                    if on is None or on(_joined(cand)) is True:
                        out.append(cand)
                        matched = True
                        matched_right.add(j)
                if not matched and spec.kind in ("LEFT", "FULL"):
                    out.append(list(parts))
            if spec.kind == "FULL":
                for j, r in enumerate(right):
                    if j not in matched_right:
                        parts = [None] * n
                        parts[spec.index] = r
                        out.append(parts)
            combos = out
        return [_joined(p) for p in combos]

    @staticmethod
    def _lookup_join(combos: list[list[Row | None]], spec: Any, table: Any) -> list[list[Row | None]]:
        """Each combination joined with the table's rows for the key values it carries."""
        names = [name for name, _ in spec.keys]
        fns = [fn for _, fn in spec.keys]
        # as eKuiper's lookup node: the key equalities are not evaluated again on the rows
        # found (a Redis value need not hold its key), and a nil key value finds nothing
        rest = spec.rest
        out: list[list[Row | None]] = []
        for parts in combos:
            joined = _joined(parts)
            matched = False
            values = [fn(joined) for fn in fns]
            for r in [] if None in values else table.rows(names, values):
                cand = list(parts)
                cand[spec.index] = r
                if not rest or all(fn(_joined(cand)) is True for fn in rest):
                    out.append(cand)
                    matched = True
            if not matched and spec.kind == "LEFT":
                out.append(list(parts))
        return out

    # --- the trigger -------------------------------------------------------------

    def fire(self, rows: list[Any], start: int, end: int, *, by_source: dict[int, list[Row]] | None = None) -> None:
        rt = self.rt
        state = self.state
        state.window_start = start
        state.window_end = end
        suppress_empty = False
        if self.joins:
            try:
                rows = self._join(by_source if by_source is not None else _split(rows, self.plan))
            except _ERRORS as e:
                rt.error(f"run Join error: {e}")
                return
            suppress_empty = True
        if self.post_where is not None:
            where = rt.check_where
            kept = []
            for r in rows:
                if where(r):
                    kept.append(r)
            rows = kept
            suppress_empty = True
        if not rows:
            if not suppress_empty and self._empty_window_emits():
                rt.emit([])
            return
        items: list[Any]
        if self.aggregate:
            items = self._groups(rows)
            if items is None:
                return
            self._finish_groups(items, end)
            return
        if self.having is not None:
            try:
                ok = self.having(Group(rows))
            except _ERRORS as e:
                rt.error(f"run Having error: {e}")
                return
            if ok is not True:
                return
        self._finish(rows, end)

    def fire_groups(self, groups: list[Group], start: int, end: int) -> None:
        """A window kept incrementally fires: its groups are already aggregated."""
        state = self.state
        state.window_start = start
        state.window_end = end
        if not groups:
            if self.post_where is None and self._empty_window_emits():
                self.rt.emit([])
            return
        self._finish_groups(groups, end)

    def _empty_window_emits(self) -> bool:
        """Whether an empty window still emits `[]`.

        Not with LIMIT 0, which emits nothing at all. Not past a HAVING that fails:
        eKuiper evaluates HAVING once over an ungrouped window, even an empty one, and
        not at all when GROUP BY keys leave no group, so `HAVING count(*) > 0` (or any
        HAVING with keys) removes the empty window.
        """
        if self.limit == 0:
            return False
        if self.having is None:
            return True
        if self.dimensions:
            return False
        empty = Group([])
        if self.plan.accumulators is not None:
            empty.cache = [acc.cls() for acc in self.plan.accumulators]
        try:
            return self.having(empty) is True
        except _ERRORS:
            return False

    def _finish_groups(self, items: list[Group], end: int) -> None:
        if self.having is not None:
            kept = []
            for g in items:
                try:
                    ok = self.having(g)
                except _ERRORS as e:
                    self.rt.error(f"run Having error: {e}")
                    return
                if ok is True:
                    kept.append(g)
            if not kept:
                return
            items = kept
        self._finish(items, end)

    def _finish(self, items: list[Any], end: int) -> None:
        """ORDER BY, projection, LIMIT and the emission itself."""
        rt = self.rt
        state = self.state
        # row_number() numbers the rows before ORDER BY (eKuiper plans its WindowFuncOp
        # between HAVING and ORDER BY), so a sorted emission keeps the window's numbers
        numbered = list(enumerate(items, start=1))
        if self.order_by:
            try:
                numbered = self._sort(numbered)
            except (OrderError, *_ERRORS) as e:
                rt.error(f"run Order By error: {e}")
                return
        if self.limit is not None:
            numbered = numbered[: self.limit]
            if not numbered:
                return
        out: list[dict] = []
        project_all = self.projection.project_all
        try:
            for i, item in numbered:
                state.row_number = i
                out.extend(project_all(item))
        except SrfError as e:
            rt.error(str(e))
            return
        except _ERRORS as e:
            rt.error(f"run Select error: {e}")
            return
        if self.limit is not None:
            out = out[: self.limit]
        if self.aggregate or self.having is not None:
            # SELECT reads the values of the previous hit; this trigger counts from now on
            shared = state.fctx.shared
            shared["last_agg_hit_count"] = shared.get("last_agg_hit_count", 0) + 1
            shared["last_agg_hit_time"] = end
        rt.emit(out)

    def _groups(self, rows: list[Any]) -> list[Group] | None:
        if not self.dimensions:
            return [Group(rows)]
        groups: dict[Any, Group] = {}
        dims = self.dimensions
        try:
            for r in rows:
                key = tuple(hashable(d(r)) for d in dims)
                g = groups.get(key)
                if g is None:
                    groups[key] = Group([r], key)
                else:
                    g.rows.append(r)
        except _ERRORS as e:
            self.rt.error(f"run Group By error: {e}")
            return None
        return list(groups.values())

    def _sort(self, numbered: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
        """Sort (row number, item) pairs by the ORDER BY keys of the items."""
        state = self.state
        keys = []
        for n, x in numbered:
            state.row_number = n
            keys.append(([f(x) for f, _ in self.order_by], (n, x)))
        desc = [d for _, d in self.order_by]

        def cmp(a: tuple, b: tuple) -> int:
            for va, vb, d in zip(a[0], b[0], desc):
                c = _compare_values(va, vb)
                if c:
                    return -c if d else c
            return 0

        keys.sort(key=functools.cmp_to_key(cmp))
        return [x for _, x in keys]


def _joined(parts: list[Row | None]) -> JoinedRow:
    ts = next((p.ts for p in parts if p is not None), 0)
    return JoinedRow(parts, ts)


def _split(rows: list[Row], plan: Any) -> dict[int, list[Row]]:
    index = {s.name: i for i, s in enumerate(plan.sources)}
    out: dict[int, list[Row]] = {}
    for r in rows:
        out.setdefault(index.get(r.emitter, 0), []).append(r)
    return out
