"""The logical plan of a rule: what runs, in which order, compiled once.

`plan_rule` checks the statement against the stream definitions and the function
registry and compiles every expression. The runtime turns the result into a chain of
plain calls (see `arrokoth.runtime.rule`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arrokoth.functions.registry import FuncKind, Registry
from arrokoth.plan.compiler import (
    Accumulator,
    AnalyticCall,
    Compiler,
    Fn,
    NotIncremental,
    PlanError,
    RuleState,
    SourceInfo,
)
from arrokoth.plan.options import RuleOptions
from arrokoth.plan.projection import Projection, aliases_of
from arrokoth.plan.streams import StreamDef
from arrokoth.sql import ast

TIME_UNITS_MS = {"DD": 86_400_000, "HH": 3_600_000, "MI": 60_000, "SS": 1000, "MS": 1}


@dataclass
class WindowSpec:
    kind: str  # TUMBLINGWINDOW ...
    unit: str = ""
    length: int = 0  # ms for time windows, rows for count windows
    interval: int = 0  # hop (hopping), timeout (session), delay (sliding), m (count)
    n: int = 0  # the window length in units (alignment uses it)
    hop_n: int = 0
    filter: Fn | None = None
    trigger: Fn | None = None  # sliding OVER (WHEN ..)
    state_begin: Fn | None = None
    state_emit: Fn | None = None
    partition: list[Fn] = field(default_factory=list)


@dataclass
class JoinSpec:
    kind: str
    index: int  # index of the joined source in RulePlan.sources
    on: Fn | None
    #: a lookup table's join: (table column, the other side compiled) per `col = expr` of ON
    keys: list[tuple[str, Fn]] = field(default_factory=list)
    #: and the other conjuncts of its ON: as in eKuiper's lookup node, every row the table
    #: returns for the keys is joined, and only these filter it
    rest: list[Fn] = field(default_factory=list)


@dataclass
class RulePlan:
    select: ast.Select
    sources: list[SourceInfo]
    streams: list[StreamDef]
    options: RuleOptions
    state: RuleState
    compiler: Compiler
    analytics: list[AnalyticCall]
    where: Fn | None
    window: WindowSpec | None
    joins: list[JoinSpec]
    dimensions: list[Fn]
    aggregate: bool
    having: Fn | None
    order_by: list[tuple[Fn, bool]]
    projection: Projection
    limit: int | None
    accumulators: list[Accumulator] | None = None  # incremental window aggregation
    uses_last_hit: bool = False

    @property
    def is_join(self) -> bool:
        return bool(self.joins)

    @property
    def where_pushed_down(self) -> bool:
        """Processing-time tumbling/hopping/session windows filter before the window."""
        return (
            self.where is not None
            and self.window is not None
            and not self.options.is_event_time
            and self.window.kind in ("TUMBLINGWINDOW", "HOPPINGWINDOW", "SESSIONWINDOW")
            and not self.is_join
        )

    def explain(self) -> str:
        lines = []
        steps = [f"source: {', '.join(s.ref for s in self.sources)}"]
        if self.analytics:
            steps.append(f"analytic: {len(self.analytics)} call(s)")
        if self.window:
            steps.append(f"window: {self.window.kind}")
        if self.joins:
            steps.append("join: " + ", ".join(f"{j.kind} {self.sources[j.index].ref}" for j in self.joins))
        if self.where is not None:
            steps.append("filter" + (" (pushed below the window)" if self.where_pushed_down else ""))
        if self.dimensions or self.aggregate:
            steps.append(f"aggregate: {len(self.dimensions)} key(s)")
        if self.having is not None:
            steps.append("having")
        if self.order_by:
            steps.append("order")
        steps.append("project" + (f" limit {self.limit}" if self.limit is not None else ""))
        for i, s in enumerate(steps):
            lines.append("  " * i + s)
        return "\n".join(lines)


def _int_arg(node: ast.Expr, what: str) -> int:
    if isinstance(node, ast.IntegerLiteral):
        return node.value
    raise PlanError(f"{what} must be an integer")


def _lookup_keys(on: ast.Expr, table: SourceInfo) -> tuple[list[tuple[str, ast.Expr]], list[ast.Expr]]:
    """The `table.col = expr` conjuncts of a lookup join's ON, as (col, expr): the keys a
    lookup table is queried by (eKuiper's lookup join takes only such equalities); and
    the other conjuncts."""
    refs = {table.name, table.alias} - {None}

    def of_table(e: ast.Expr) -> bool:
        return isinstance(e, ast.FieldRef) and e.stream in refs

    def mentions_table(e: ast.Expr) -> bool:
        return any(isinstance(n, ast.FieldRef | ast.Wildcard) and n.stream in refs for n in ast.walk(e))

    out: list[tuple[str, ast.Expr]] = []
    rest: list[ast.Expr] = []
    stack = [on]
    while stack:
        e = stack.pop()
        while isinstance(e, ast.Paren):
            e = e.expr
        if isinstance(e, ast.BinaryExpr) and e.op.upper() == "AND":
            stack += [e.rhs, e.lhs]
        elif isinstance(e, ast.BinaryExpr) and e.op == "=" and of_table(e.lhs) and not mentions_table(e.rhs):
            out.append((e.lhs.name, e.rhs))
        elif isinstance(e, ast.BinaryExpr) and e.op == "=" and of_table(e.rhs) and not mentions_table(e.lhs):
            out.append((e.rhs.name, e.lhs))
        else:
            rest.append(e)
    return out, rest


def _window_spec(w: ast.Window, compiler: Compiler) -> WindowSpec:
    kind = w.kind
    args = w.args
    spec = WindowSpec(kind)
    if kind in ("TUMBLINGWINDOW", "HOPPINGWINDOW", "SLIDINGWINDOW", "SESSIONWINDOW"):
        if not args or not isinstance(args[0], ast.TimeUnit):
            raise PlanError(f"the first argument of {kind.lower()} must be a time unit")
        spec.unit = args[0].unit
        unit_ms = TIME_UNITS_MS[spec.unit]
        nums = [_int_arg(a, f"the arguments of {kind.lower()}") for a in args[1:]]
        want = {"TUMBLINGWINDOW": (1, 1), "HOPPINGWINDOW": (2, 2), "SLIDINGWINDOW": (1, 2), "SESSIONWINDOW": (2, 2)}[kind]
        if not want[0] <= len(nums) <= want[1]:
            raise PlanError(f"Invalid parameter count for {kind.lower()}")
        # a hopping window with hop 0 would never advance (the runtime loops forever)
        if any(n <= 0 for n in nums[:1]) or any(n < 0 for n in nums[1:]) or (kind == "HOPPINGWINDOW" and nums[1] == 0):
            raise PlanError(f"Invalid parameter value for {kind.lower()}")
        spec.n = nums[0]
        spec.length = nums[0] * unit_ms
        if len(nums) > 1:
            spec.hop_n = nums[1]
            spec.interval = nums[1] * unit_ms
    elif kind == "COUNTWINDOW":
        nums = [_int_arg(a, "the arguments of countwindow") for a in args]
        if not 1 <= len(nums) <= 2 or nums[0] <= 0:
            raise PlanError("Invalid parameter count for countwindow")
        spec.length = nums[0]
        spec.interval = nums[1] if len(nums) > 1 else 0
        if spec.interval > spec.length:
            raise PlanError(
                f"The second parameter value {spec.interval} should be less than the first parameter {spec.length}."
            )
    elif kind == "STATEWINDOW":
        if len(args) == 1:
            spec.state_emit = compiler.compile_source_row(args[0])
        elif len(args) == 2:
            spec.state_begin = compiler.compile_source_row(args[0])
            spec.state_emit = compiler.compile_source_row(args[1])
        else:
            raise PlanError("Invalid parameter count for statewindow")
    else:
        raise PlanError(f"unknown window {kind}")
    # the window sees source rows, before any join
    if w.filter is not None:
        spec.filter = compiler.compile_source_row(w.filter)
    if w.over is not None:
        if w.over.when is not None:
            if kind != "SLIDINGWINDOW":
                raise PlanError("only sliding windows support OVER (WHEN ...)")
            compiler.in_where = True  # last_hit_* in the trigger read and update live state
            try:
                spec.trigger = compiler.compile_source_row(w.over.when)
            finally:
                compiler.in_where = False
        spec.partition = [compiler.compile_source_row(p) for p in w.over.partition_by]
    return spec


def _check_functions(select: ast.Select, compiler: Compiler, registry: Registry) -> None:
    """Nesting and placement rules that eKuiper checks when a rule is created."""
    for node in ast.walk(select):
        if not isinstance(node, ast.Call):
            continue
        fdef = registry.get(node.name)
        if fdef is None:
            continue
        if fdef.kind is FuncKind.AGGREGATE:
            for arg in node.args:
                for inner in ast.walk(arg):
                    if isinstance(inner, ast.Call):
                        idef = registry.get(inner.name)
                        if idef is not None and idef.kind is FuncKind.AGGREGATE:
                            raise PlanError(f"invalid argument for func {node.name.lower()}: aggregate argument is not allowed")
    if select.where is not None and compiler.is_aggregate(select.where):
        raise PlanError("Not allowed to call aggregate functions in WHERE clause.")
    for dim in select.dimensions:
        if compiler.is_aggregate(dim):
            raise PlanError("Not allowed to call aggregate functions in GROUP BY clause.")


def plan_rule(
    select: ast.Select,
    streams: dict[str, StreamDef],
    options: RuleOptions,
    registry: Registry,
    state: RuleState | None = None,
) -> RulePlan:
    state = state or RuleState()
    refs = [select.source] + [j.source for j in select.joins]
    sources: list[SourceInfo] = []
    defs: list[StreamDef] = []
    for ref in refs:
        d = streams.get(ref.name)
        if d is None:
            raise PlanError(f"stream {ref.name} not found")
        sources.append(SourceInfo(ref.name, ref.alias, d.columns, d.kind == "table"))
        defs.append(d)
    if all(s.is_table for s in sources):
        raise PlanError("a rule cannot select from tables only")
    window_node = select.window
    if sum(isinstance(g, ast.Window) for g in select.group_by) > 1:
        raise PlanError("Only one window function is allowed in GROUP BY")
    streams_only = [s for s in sources if not s.is_table]
    if len(streams_only) > 1 and window_node is None:
        raise PlanError("a stream-to-stream join needs a window")
    if window_node is None and select.dimensions:
        raise PlanError("GROUP BY needs a window")
    if options.send_meta_to_sink and (window_node is not None or select.joins):
        raise PlanError("option sendMetaToSink cannot be used with a window or a join")
    # a tumbling window that only aggregates keeps accumulators, not rows: the results
    # are the same and the memory no longer grows with the window's rows
    if window_node is not None and window_node.kind == "TUMBLINGWINDOW" and not select.joins:
        try:
            return _compile(select, sources, defs, options, registry, state, incremental=True)
        except NotIncremental:
            pass
    return _compile(select, sources, defs, options, registry, state, incremental=False)


def _compile(
    select: ast.Select,
    sources: list[SourceInfo],
    defs: list[StreamDef],
    options: RuleOptions,
    registry: Registry,
    state: RuleState,
    *,
    incremental: bool,
) -> RulePlan:
    window_node = select.window
    compiler = Compiler(registry, sources, state, aliases=aliases_of(select.fields))
    compiler.incremental = incremental
    _check_functions(select, compiler, registry)
    state.has_window = window_node is not None
    window = _window_spec(window_node, compiler) if window_node is not None else None

    # HAVING alone does not group the output: without keys or aggregates in SELECT it
    # keeps or drops the whole window, and rows are projected one by one
    aggregate = bool(select.dimensions) or any(compiler.is_aggregate(f.expr) for f in select.fields)
    if incremental and not aggregate:
        raise NotIncremental("the rule does not aggregate")
    # eKuiper's aggFuncChecker: GROUP BY (a window alone included) or a join makes an
    # "aggregate statement"; aggregate calls alone do not
    if select.group_by or select.joins:
        for node in ast.walk(select):
            if isinstance(node, ast.Call):
                fdef = registry.get(node.name)
                if fdef is not None and fdef.extra.get("no_agg") and not _inside_window_over(select, node):
                    raise PlanError(f"function {node.name.lower()} is not allowed in an aggregate query")

    joins = []
    for i, j in enumerate(select.joins, start=1):
        if j.kind == "CROSS" and j.on is not None:
            raise PlanError("cross join should have no ON condition")
        spec = JoinSpec(j.kind, i, compiler.compile(j.on) if j.on is not None else None)
        if defs[i].kind == "table" and defs[i].lookup and j.on is not None:
            keys, rest = _lookup_keys(j.on, sources[i])
            spec.keys = [(col, compiler.compile(other)) for col, other in keys]
            spec.rest = [compiler.compile(e) for e in rest]
        joins.append(spec)

    where = None
    if select.where is not None:
        compiler.in_where = True
        try:
            where = compiler.compile(select.where)
        finally:
            compiler.in_where = False
    dimensions = [compiler.compile(d) for d in select.dimensions]
    group_mode = aggregate
    having = None
    if select.having is not None:
        having = compiler.compile(select.having, group=True)
    order_by = [(compiler.compile(s.expr, group=group_mode), s.descending) for s in select.order_by]
    projection = Projection(compiler, select.fields, group=group_mode, send_nil=options.send_nil_field)
    if select.limit is not None and select.limit < 0:
        raise PlanError("LIMIT must not be negative")
    return RulePlan(
        select=select,
        sources=sources,
        streams=defs,
        options=options,
        state=state,
        compiler=compiler,
        analytics=compiler.analytics,
        where=where,
        window=window,
        joins=joins,
        dimensions=dimensions,
        aggregate=aggregate,
        having=having,
        order_by=order_by,
        projection=projection,
        limit=select.limit,
        accumulators=compiler.accumulators if incremental else None,
        uses_last_hit=any(
            isinstance(n, ast.Call) and n.name.lower() in ("last_hit_count", "last_hit_time")
            for n in ast.walk(select)
        ),
    )


def _inside_window_over(select: ast.Select, call: ast.Call) -> bool:
    w = select.window
    if w is None or w.over is None or w.over.when is None:
        return False
    return any(n is call for n in ast.walk(w.over.when))


def explain_text(plan: RulePlan) -> str:
    return plan.explain()


__all__ = ["RulePlan", "WindowSpec", "JoinSpec", "plan_rule", "PlanError", "Any"]
