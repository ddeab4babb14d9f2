"""AST → Python closures, compiled once when a rule is created.

An expression compiles to ``f(x)`` where x is a `Row` or `JoinedRow` (row mode) or a
`Group` (group mode). Which one is decided at plan time, so closures never test it per
event. Analytic functions are computed per row before WHERE by the `AnalyticStep`; an
expression that uses one reads the row's cached value. SELECT aliases are inlined where
they are referenced (except inside their own expression), so WHERE, HAVING, ORDER BY
and ON see them as eKuiper does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from arrokoth.functions.registry import FuncKind, FunctionContext, FunctionDef, FunctionError, Registry
from arrokoth.functions.values import EvalError, format_value
from arrokoth.plan import operators as ops
from arrokoth.plan.rows import JoinedRow, Row
from arrokoth.sql import ast

Fn = Callable[[Any], Any]


class PlanError(Exception):
    """The rule cannot be planned: unknown stream, function, bad arguments..."""


@dataclass
class SourceInfo:
    """A stream or table as the rule sees it."""

    name: str
    alias: str | None = None
    columns: dict[str, ast.DataType] | None = None  # None: schemaless
    is_table: bool = False

    @property
    def ref(self) -> str:
        return self.alias or self.name


@dataclass
class RuleState:
    """Values a rule's compiled expressions read that are not part of a row."""

    window_start: int = 0
    window_end: int = 0
    row_number: int = 0
    has_window: bool = False
    fctx: FunctionContext = field(default_factory=FunctionContext)


class NotIncremental(Exception):
    """An aggregate of the rule cannot be computed incrementally."""


@dataclass
class Accumulator:
    """An incremental aggregate: a class with add(values)/result() and its argument functions."""

    cls: type
    args: list[Fn]


@dataclass
class AnalyticCall:
    fdef: FunctionDef
    args: list[Fn]
    partition: list[Fn]
    when: Fn | None
    slot: int
    states: dict = field(default_factory=dict)


def _lit_value(node: ast.Expr) -> Any:
    if isinstance(node, (ast.IntegerLiteral, ast.NumberLiteral, ast.StringLiteral, ast.BooleanLiteral)):
        return node.value
    raise TypeError


def go_string(node: ast.Node, sources: list[SourceInfo] | None = None) -> str:
    """eKuiper's String() of an expression, used inside Select error messages."""
    default_stream = sources[0].ref if sources and len(sources) == 1 else None
    if isinstance(node, ast.FieldRef):
        stream = node.stream or default_stream
        return f"{stream}.{node.name}" if stream else node.name
    if isinstance(node, ast.BinaryExpr):
        return f"binaryExpr:{{ {go_string(node.lhs, sources)} {node.op} {go_string(node.rhs, sources)} }}"
    if isinstance(node, ast.Paren):
        return go_string(node.expr, sources)
    if isinstance(node, ast.Call):
        args = ", ".join(go_string(a, sources) for a in node.args)
        return f"Call:{{ name:{node.name.lower()}, args:[{args}] }}"
    if isinstance(node, (ast.IntegerLiteral, ast.NumberLiteral, ast.BooleanLiteral)):
        return format_value(node.value)
    if isinstance(node, ast.StringLiteral):
        return node.value
    if isinstance(node, ast.Wildcard):
        return "*"
    from arrokoth.sql import to_sql

    return to_sql(node)


def _call_errors(fn: Fn) -> Fn:
    return fn


class Compiler:
    """Compiles the expressions of one rule; shares alias and analytic bookkeeping."""

    def __init__(
        self,
        registry: Registry,
        sources: list[SourceInfo],
        state: RuleState,
        *,
        aliases: dict[str, ast.Expr] | None = None,
    ) -> None:
        self.registry = registry
        self.sources = sources
        self.join = len(sources) > 1
        self.state = state
        self.aliases = aliases or {}
        self.analytics: list[AnalyticCall] = []
        self._analytic_slots: dict[int, int] = {}
        self._alias_stack: list[str] = []
        self.uses_last_hit = False
        self.in_where = False
        # incremental window aggregation: aggregates read accumulators kept per group
        self.incremental = False
        self.accumulators: list[Accumulator] = []

    # --- helpers ---------------------------------------------------------------

    def function(self, name: str) -> FunctionDef:
        fdef = self.registry.get(name)
        if fdef is None:
            raise PlanError(f"function {name} not found")
        return fdef

    def is_aggregate(self, node: ast.Node) -> bool:
        """Does the expression contain an aggregate call (through aliases too)?"""
        return self._contains(node, False, set())

    def needs_group(self, node: ast.Node) -> bool:
        """Must the expression see the whole group (aggregates, event_time())?"""
        return self._contains(node, True, set())

    def _contains(self, node: ast.Node, event_time: bool, seen: set[str]) -> bool:
        for n in ast.walk(node):
            if isinstance(n, ast.Call):
                if event_time and n.name.lower() == "event_time":
                    return True
                fdef = self.registry.get(n.name)
                if fdef is not None and fdef.kind is FuncKind.AGGREGATE:
                    return True
            elif isinstance(n, ast.FieldRef) and n.stream is None and n.name in self.aliases:
                if n.name in seen or (self._alias_stack and self._alias_stack[-1] == n.name):
                    continue
                if self._contains(self.aliases[n.name], event_time, seen | {n.name}):
                    return True
        return False

    def source_index(self, stream: str) -> int:
        for i, s in enumerate(self.sources):
            if s.ref == stream or s.name == stream:
                return i
        raise PlanError(f"stream {stream} not found")

    # --- entry point -----------------------------------------------------------

    def compile_field(self, f: ast.Field, *, group: bool = False) -> Fn:
        """A SELECT field: inside its own expression its alias means the column."""
        if f.alias is None:
            return self.compile(f.expr, group=group)
        self._alias_stack.append(f.alias)
        try:
            return self.compile(f.expr, group=group)
        finally:
            self._alias_stack.pop()

    def compile(self, node: ast.Expr, *, group: bool = False) -> Fn:
        if group and not self.needs_group(node):
            inner = self.compile(node)

            def first_row(g: Any, inner: Fn = inner) -> Any:
                rows = g.rows
                return inner(rows[0]) if rows else None

            return first_row
        method = getattr(self, "_c_" + type(node).__name__, None)
        if method is None:
            raise PlanError(f"unsupported expression {type(node).__name__}")
        return method(node, group)

    def compile_source_row(self, node: ast.Expr) -> Fn:
        """An expression run on each source row before any join (analytic arguments,
        window FILTER, OVER and state conditions).

        In a join rule compiled closures expect a `JoinedRow`, but these see the plain
        `Row` of one source: place it in its source's slot (the first, like the
        runtime, when its emitter is unknown) so that column references resolve.
        """
        fn = self.compile(node)
        if not self.join:
            return fn
        names = [s.name for s in self.sources]

        def on_source_row(r: Any) -> Any:
            if type(r) is not Row:
                return fn(r)
            parts: list[Row | None] = [r if n == r.emitter else None for n in names]
            if r.emitter not in names:
                parts[0] = r
            return fn(JoinedRow(parts, r.ts))

        return on_source_row

    # --- literals and references ----------------------------------------------

    def _const(self, value: Any) -> Fn:
        return lambda r: value

    def _c_IntegerLiteral(self, node: ast.IntegerLiteral, group: bool) -> Fn:
        return self._const(node.value)

    _c_NumberLiteral = _c_IntegerLiteral
    _c_StringLiteral = _c_IntegerLiteral
    _c_BooleanLiteral = _c_IntegerLiteral

    def _c_TimeUnit(self, node: ast.TimeUnit, group: bool) -> Fn:
        return self._const(node.unit)

    def _c_Paren(self, node: ast.Paren, group: bool) -> Fn:
        return self.compile(node.expr, group=group)

    def _c_FieldRef(self, node: ast.FieldRef, group: bool) -> Fn:
        name = node.name
        if node.stream is None and name in self.aliases and name not in self._alias_stack[-1:]:
            if name in self._alias_stack:
                raise PlanError(f"alias {name} is referenced in a cycle")
            self._alias_stack.append(name)
            try:
                return self.compile(self.aliases[name], group=group)
            finally:
                self._alias_stack.pop()
        if not self.join:
            if node.stream is not None:
                self.source_index(node.stream)
            self._check_column(self.sources[0], name)

            def column(r: Any) -> Any:
                return r.msg.get(name)

            return column
        if node.stream is not None:
            idx = self.source_index(node.stream)
            self._check_column(self.sources[idx], name)

            def qualified(r: Any) -> Any:
                p = r.parts[idx]
                return None if p is None else p.msg.get(name)

            return qualified
        candidates = [i for i, s in enumerate(self.sources) if s.columns is None or name in s.columns]
        if not candidates:
            raise PlanError(f"unknown field {name}")

        def unqualified(r: Any) -> Any:
            for i in candidates:
                p = r.parts[i]
                if p is not None:
                    v = p.msg.get(name)
                    if v is not None or name in p.msg:
                        return v
            return None

        return unqualified

    def _check_column(self, source: SourceInfo, name: str) -> None:
        if source.columns is not None and name not in source.columns:
            raise PlanError(f"unknown field {name}")

    def _c_Wildcard(self, node: ast.Wildcard, group: bool) -> Fn:
        if not self.join:
            return lambda r: r.msg
        if node.stream is not None:
            idx = self.source_index(node.stream)

            def part(r: Any) -> Any:
                p = r.parts[idx]
                return None if p is None else p.msg

            return part
        return lambda r: r.merged()

    def _c_MetaRef(self, node: ast.MetaRef, group: bool) -> Fn:
        path = node.path
        if node.stream is not None and self.join:
            idx = self.source_index(node.stream)

            def meta_of(r: Any) -> Any:
                p = r.parts[idx]
                return None if p is None else p.meta
        else:
            def meta_of(r: Any) -> Any:
                return r.meta

        if path == ["*"]:
            return meta_of
        key, rest = path[0], path[1:]

        lkey = key.lower()

        def meta(r: Any) -> Any:
            m = meta_of(r)
            if not m:
                return None
            v = m.get(key)
            if v is None and key not in m:
                # eKuiper's sources spell some keys differently across versions
                # (messageid / messageId): fall back to a case-insensitive match
                v = next((x for k, x in m.items() if k.lower() == lkey), None)
            for k in rest:
                v = ops.arrow(v, k)
            return v

        return meta

    # --- operators -------------------------------------------------------------

    def _c_UnaryExpr(self, node: ast.UnaryExpr, group: bool) -> Fn:
        inner = self.compile(node.expr, group=group)
        if node.op == "-":
            return lambda r: ops.negate(inner(r))
        return lambda r: ops.not_(inner(r))

    def _c_BinaryExpr(self, node: ast.BinaryExpr, group: bool) -> Fn:
        op = node.op.upper()
        lf = self.compile(node.lhs, group=group)
        rf = self.compile(node.rhs, group=group)
        if op == "AND":

            def and_(r: Any) -> Any:
                a = lf(r)
                if a is False:
                    return False
                b = rf(r)
                # a null operand makes AND/OR false (eKuiper checks nil before types)
                if a is None or b is None:
                    return False
                return ops.logical_operand(a, "AND", b, True) and ops.logical_operand(b, "AND", a, False)

            return and_
        if op == "OR":

            def or_(r: Any) -> Any:
                a = lf(r)
                if a is True:
                    return True
                b = rf(r)
                # `null OR true` is false too: only a true left side short-circuits
                if a is None or b is None:
                    return False
                return ops.logical_operand(a, "OR", b, True) or ops.logical_operand(b, "OR", a, False)

            return or_
        if op in ops._COMPARE:
            return self._comparison(op, node, lf, rf)
        arith = ops.arithmetic
        return lambda r: arith(op, lf(r), rf(r))

    def _comparison(self, op: str, node: ast.BinaryExpr, lf: Fn, rf: Fn) -> Fn:
        pyop = ops._COMPARE[op]
        compare = ops.compare
        rhs = node.rhs
        if (
            isinstance(rhs, (ast.IntegerLiteral, ast.NumberLiteral))
            and isinstance(node.lhs, ast.FieldRef)
            and not self.join
            and node.lhs.stream is None
            and node.lhs.name not in self.aliases
        ):
            # the hottest filter shape, `column <op> number`, with the operator inlined
            self._check_column(self.sources[0], node.lhs.name)
            return _COLUMN_CONST_FACTORIES[op](node.lhs.name, rhs.value, compare)
        if isinstance(rhs, (ast.IntegerLiteral, ast.NumberLiteral)):
            # the hot filter shape: column <op> number
            c = rhs.value

            def cmp_const(r: Any) -> bool:
                a = lf(r)
                t = type(a)
                if t is float or t is int:
                    return pyop(a, c)
                return compare(op, a, c)

            return cmp_const

        def cmp(r: Any) -> bool:
            a = lf(r)
            b = rf(r)
            ta, tb = type(a), type(b)
            if (ta is float or ta is int) and (tb is float or tb is int):
                return pyop(a, b)
            return compare(op, a, b)

        return cmp

    def _c_Arrow(self, node: ast.Arrow, group: bool) -> Fn:
        inner = self.compile(node.expr, group=group)
        key = node.key
        return lambda r: ops.arrow(inner(r), key)

    def _c_Index(self, node: ast.Index, group: bool) -> Fn:
        inner = self.compile(node.expr, group=group)
        idx = self.compile(node.index, group=group)
        return lambda r: ops.index(inner(r), idx(r))

    def _c_Slice(self, node: ast.Slice, group: bool) -> Fn:
        inner = self.compile(node.expr, group=group)
        start = self.compile(node.start, group=group) if node.start is not None else None
        end = self.compile(node.end, group=group) if node.end is not None else None

        def slice_(r: Any) -> Any:
            return ops.slice_(
                inner(r), None if start is None else start(r), None if end is None else end(r)
            )

        return slice_

    def _c_Between(self, node: ast.Between, group: bool) -> Fn:
        v = self.compile(node.expr, group=group)
        lo = self.compile(node.low, group=group)
        hi = self.compile(node.high, group=group)
        negated = node.negated
        compare = ops.compare

        def between(r: Any) -> bool:
            x, a, b = v(r), lo(r), hi(r)
            if x is None or a is None or b is None:
                return False
            inside = compare(">=", x, a) and compare("<=", x, b)
            return not inside if negated else inside

        return between

    def _c_In(self, node: ast.In, group: bool) -> Fn:
        v = self.compile(node.expr, group=group)
        negated = node.negated
        if isinstance(node.values, list):
            items = [self.compile(x, group=group) for x in node.values]

            def values(r: Any) -> list:
                return [f(r) for f in items]
        else:
            arr = self.compile(node.values, group=group)

            def values(r: Any) -> list:
                a = arr(r)
                if a is None:
                    return []
                if type(a) is not list:
                    raise EvalError(f"the right side of IN should be an array but got {a!r}")
                return a

        def in_(r: Any) -> bool:
            x = v(r)
            if x is None:
                return False
            found = ops.in_list(x, values(r))
            return not found if negated else found

        return in_

    def _c_Like(self, node: ast.Like, group: bool) -> Fn:
        v = self.compile(node.expr, group=group)
        negated = node.negated
        if isinstance(node.pattern, ast.StringLiteral):
            rx = ops.like_regex(node.pattern.value)

            def like_const(r: Any) -> bool:
                x = v(r)
                if type(x) is not str:
                    ops.like(x, "")
                m = rx.fullmatch(x) is not None
                return not m if negated else m

            return like_const
        p = self.compile(node.pattern, group=group)

        def like(r: Any) -> bool:
            m = ops.like(v(r), p(r))
            return not m if negated else m

        return like

    def _c_Case(self, node: ast.Case, group: bool) -> Fn:
        whens = [(self.compile(w.cond, group=group), self.compile(w.result, group=group)) for w in node.whens]
        else_ = self.compile(node.else_, group=group) if node.else_ is not None else None
        if node.value is not None:
            value = self.compile(node.value, group=group)
            compare = ops.compare

            # CASE v WHEN c compares with `=`, so string vs int is an error (eKuiper
            # TestCase), and a failing WHEN is reported with eKuiper's prefix
            def simple_case(r: Any) -> Any:
                v = value(r)
                for cond, result in whens:
                    try:
                        hit = compare("=", v, cond(r))
                    except EvalError as e:
                        raise EvalError(f"evaluate case expression error: {e}") from None
                    if hit:
                        return result(r)
                return None if else_ is None else else_(r)

            return simple_case

        def searched_case(r: Any) -> Any:
            for cond, result in whens:
                try:
                    hit = cond(r) is True
                except EvalError as e:
                    raise EvalError(f"evaluate case expression error: {e}") from None
                if hit:
                    return result(r)
            return None if else_ is None else else_(r)

        return searched_case

    def _c_Window(self, node: ast.Window, group: bool) -> Fn:
        raise PlanError("window functions are only allowed in GROUP BY")

    # --- calls -----------------------------------------------------------------

    def _c_Call(self, node: ast.Call, group: bool) -> Fn:
        name = node.name.lower()
        special = _SPECIAL_CALLS.get(name)
        if special is not None:
            return special(self, node, group)
        fdef = self.function(node.name)
        try:
            # validators check the count themselves, in eKuiper's per-function wording
            if fdef.validate is not None:
                fdef.validate(node.args)
            fdef.check_arity(len(node.args))
        except FunctionError as e:
            raise PlanError(f"{name}: {e}" if not str(e).startswith(name) else str(e)) from None
        if fdef.kind is FuncKind.AGGREGATE:
            return self._aggregate(fdef, node, group)
        if fdef.kind is FuncKind.ANALYTIC:
            return self._analytic(fdef, node, group)
        if fdef.kind in (FuncKind.SRF, FuncKind.MULTI):
            raise PlanError(f"function {name} is only allowed as a SELECT field")
        if fdef.kind is FuncKind.WINDOW:
            state = self.state
            return lambda r: state.row_number
        return self._scalar(fdef, node, group)

    def _scalar(self, fdef: FunctionDef, node: ast.Call, group: bool) -> Fn:
        if fdef.extra.get("no_agg") and not self.in_where:
            return self._precomputed(node, fdef)
        args = [self.compile(a, group=group) for a in node.args]
        impl = fdef.impl
        ctx = self.state.fctx
        if fdef.needs_context:
            if fdef.null_in_null_out:

                def scalar_ctx_nn(r: Any) -> Any:
                    vals = [f(r) for f in args]
                    if None in vals:
                        return None
                    return impl(ctx, *vals)

                return scalar_ctx_nn
            return lambda r: impl(ctx, *[f(r) for f in args])
        if fdef.null_in_null_out:
            if len(args) == 1:
                a0 = args[0]

                def scalar1(r: Any) -> Any:
                    v = a0(r)
                    return None if v is None else impl(v)

                return scalar1

            def scalar_nn(r: Any) -> Any:
                vals = [f(r) for f in args]
                for v in vals:
                    if v is None:
                        return None
                return impl(*vals)

            return scalar_nn
        if len(args) == 1:
            a0 = args[0]
            return lambda r: impl(a0(r))
        return lambda r: impl(*[f(r) for f in args])

    def _aggregate(self, fdef: FunctionDef, node: ast.Call, group: bool) -> Fn:
        if self.incremental and group:
            return self._accumulated(fdef, node)
        args = [self.compile(a) for a in node.args]  # row mode, evaluated per row
        impl = fdef.impl
        ctx = self.state.fctx
        filt = self.compile(node.filter) if node.filter is not None else None
        if fdef.extra.get("prepend_rows"):
            # eKuiper passes the rows themselves as a hidden first argument
            args.insert(0, self.compile(ast.Wildcard()))

        def columns(rows: list) -> list[list]:
            if filt is not None:
                rows = [x for x in rows if filt(x) is True]
            if not args:
                return [[x for x in rows]]
            return [[f(x) for x in rows] for f in args]

        if group:
            if fdef.needs_context:
                return lambda g: impl(ctx, columns(g.rows))
            return lambda g: impl(columns(g.rows))
        # an aggregate without a group: the current row is the group
        if fdef.needs_context:
            return lambda r: impl(ctx, columns([r]))
        return lambda r: impl(columns([r]))

    def _accumulated(self, fdef: FunctionDef, node: ast.Call) -> Fn:
        inc = fdef.extra.get("incremental")
        if inc is None or node.filter is not None or fdef.needs_context:
            raise NotIncremental(node.name)
        slot = len(self.accumulators)
        self.accumulators.append(Accumulator(inc, [self.compile(a) for a in node.args]))
        return lambda g: g.cache[slot].result()

    def _analytic(self, fdef: FunctionDef, node: ast.Call, group: bool) -> Fn:
        slot = self._analytic_slots.get(id(node))
        if slot is None:
            # evaluated per source row before WHERE and any join
            args = [self.compile_source_row(a) for a in node.args]
            partition: list[Fn] = []
            when = None
            if node.over is not None:
                partition = [self.compile_source_row(p) for p in node.over.partition_by]
                when = self.compile_source_row(node.over.when) if node.over.when is not None else None
            slot = len(self.analytics)
            self.analytics.append(AnalyticCall(fdef, args, partition, when, slot))
            self._analytic_slots[id(node)] = slot
        return self._cached(slot, group)

    def _precomputed(self, node: ast.Call, fdef: FunctionDef) -> Fn:
        """A no-agg state function outside WHERE: read before WHERE updates it."""
        slot = self._analytic_slots.get(id(node))
        if slot is None:
            ctx = self.state.fctx
            impl = fdef.impl

            def read_state(_state: dict, _values: list, _valid: bool) -> Any:
                return impl(ctx)

            pseudo = FunctionDef(fdef.name, FuncKind.ANALYTIC, read_state)
            slot = len(self.analytics)
            self.analytics.append(AnalyticCall(pseudo, [], [], None, slot))
            self._analytic_slots[id(node)] = slot
        self.uses_last_hit = True
        return self._cached(slot, False)

    def _cached(self, slot: int, group: bool) -> Fn:
        if group:

            def first_cached(g: Any) -> Any:
                return g.rows[0].cache[slot] if g.rows else None

            return first_cached
        if self.join:
            # the analytic values live on the source rows; the leftmost one that has
            # them wins, as eKuiper's JoinTuple.Value looks through its tuples in order
            def joined_cached(r: Any) -> Any:
                if r.cache is not None:
                    return r.cache[slot]
                for p in r.parts:
                    if p is not None and p.cache is not None:
                        return p.cache[slot]
                return None

            return joined_cached
        return lambda r: r.cache[slot]


# --- generated fast paths -----------------------------------------------------------

_COLUMN_CONST_TEMPLATE = """
def factory(name, c, compare):
    def column_{label}_const(r):
        a = r.msg.get(name)
        t = type(a)
        if t is float or t is int:
            return a {pyop} c
        return compare({op!r}, a, c)
    return column_{label}_const
"""


def _column_const_factory(op: str, pyop: str, label: str) -> Callable[..., Fn]:
    namespace: dict[str, Any] = {}
    exec(_COLUMN_CONST_TEMPLATE.format(op=op, pyop=pyop, label=label), namespace)  # noqa: S102 - fixed template
    return namespace["factory"]


_COLUMN_CONST_FACTORIES = {
    op: _column_const_factory(op, pyop, label)
    for op, pyop, label in (
        ("=", "==", "eq"), ("!=", "!=", "ne"), ("<", "<", "lt"),
        ("<=", "<=", "le"), (">", ">", "gt"), (">=", ">=", "ge"),
    )
}


# --- calls with planner semantics ------------------------------------------------


def _window_bound(attr: str) -> Callable[[Compiler, ast.Call, bool], Fn]:
    def build(c: Compiler, node: ast.Call, group: bool) -> Fn:
        if node.args:
            raise PlanError(f"Expect 0 arguments but found {len(node.args)}.")
        state = c.state
        return lambda r: getattr(state, attr) if state.has_window else 0

    return build


def _event_time(c: Compiler, node: ast.Call, group: bool) -> Fn:
    state = c.state
    if group:
        return lambda g: state.window_end if state.has_window else (g.rows[0].ts if g.rows else None)
    return lambda r: r.ts


def _meta_call(c: Compiler, node: ast.Call, group: bool) -> Fn:
    # the parser produces MetaRef; a Call named meta only appears with odd arguments
    if len(node.args) != 1:
        raise PlanError(f"Expect 1 arguments but found {len(node.args)}.")
    arg = node.args[0]
    if isinstance(arg, ast.FieldRef):
        return c.compile(ast.MetaRef([arg.name], arg.stream), group=group)
    if isinstance(arg, ast.Wildcard):
        return c.compile(ast.MetaRef(["*"]), group=group)
    raise PlanError("meta() expects a key")


_SPECIAL_CALLS: dict[str, Callable[[Compiler, ast.Call, bool], Fn]] = {
    "window_start": _window_bound("window_start"),
    "window_end": _window_bound("window_end"),
    "event_time": _event_time,
    "meta": _meta_call,
    "mqtt": _meta_call,
}


def literal_value(node: ast.Expr) -> Any:
    """The value of a literal node; TypeError for anything else."""
    return _lit_value(node)
