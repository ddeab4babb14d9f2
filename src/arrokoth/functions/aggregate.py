"""Aggregate functions: one value computed over the rows of a group.

Calling convention (see `registry`): ``impl(columns)`` where ``columns[i]`` holds the
i-th argument's value for every row of the group, in window order. A constant
argument is such a list too; its first non-null element is used, as eKuiper does.

``deduplicate`` needs the rows themselves: eKuiper's parser silently prepends ``*`` to
its arguments, so the def carries ``extra['prepend_rows'] = True`` and the planner
passes the row objects as ``columns[0]``, followed by the two written arguments.

Aggregates marked ``incremental`` carry in ``extra['incremental']`` a class whose
instances take one row at a time (``add(values)``) and whose ``result()`` equals the
batch function over the same rows; ``snapshot()``/``restore()`` give plain data for
checkpoints.

Numbers follow eKuiper: the first non-null value decides int or float arithmetic,
ints are Go int64 (sums wrap), a float in int arithmetic is truncated.
"""

from __future__ import annotations

import math
from typing import Any

from arrokoth.functions.registry import FuncKind, FunctionDef, FunctionError, registry
from arrokoth.functions.values import format_value, typed
from arrokoth.sql import ast

_I64_MIN = -(2**63)
_U64_MASK = 2**64 - 1

# --- argument classification at rule creation (eKuiper's ast.Is*Arg) -------------------


def literal(arg: Any) -> Any:
    """The node with parentheses removed and ``-literal`` folded into a literal."""
    while isinstance(arg, ast.Paren):
        arg = arg.expr
    if isinstance(arg, ast.UnaryExpr) and arg.op == "-":
        inner = literal(arg.expr)
        if isinstance(inner, ast.IntegerLiteral):
            return ast.IntegerLiteral(-inner.value)
        if isinstance(inner, ast.NumberLiteral):
            return ast.NumberLiteral(-inner.value)
    return arg


def is_numeric_arg(arg: Any) -> bool:
    return isinstance(literal(arg), (ast.IntegerLiteral, ast.NumberLiteral))


def is_float_arg(arg: Any) -> bool:
    return isinstance(literal(arg), ast.NumberLiteral)


def is_string_arg(arg: Any) -> bool:
    return isinstance(literal(arg), ast.StringLiteral)


def is_time_arg(arg: Any) -> bool:
    return isinstance(literal(arg), ast.TimeUnit)


def is_field_arg(arg: Any) -> bool:
    return isinstance(literal(arg), ast.FieldRef)


_BOOL_OPS = frozenset({"AND", "OR", "=", "!=", "<", "<=", ">", ">="})


def is_bool_arg(arg: Any) -> bool:
    arg = literal(arg)
    if isinstance(arg, (ast.BooleanLiteral, ast.Between, ast.In, ast.Like)):
        return True
    return isinstance(arg, ast.BinaryExpr) and arg.op.upper() in _BOOL_OPS


def type_error(index: int, expect: str) -> FunctionError:
    """eKuiper's ProduceErrInfo; ``index`` counts from 0."""
    return FunctionError(f"Expect {expect} type for parameter {index + 1}")


def check_len(want: int, args: list) -> None:
    if len(args) != want:
        raise FunctionError(f"Expect {want} arguments but found {len(args)}.")


def _validate_one_arg(args: list) -> None:
    check_len(1, args)


def _validate_no_arg(args: list) -> None:
    check_len(0, args)


def _not_number(arg: Any) -> bool:
    return is_string_arg(arg) or is_time_arg(arg) or is_bool_arg(arg)


def _validate_one_number(args: list) -> None:
    check_len(1, args)
    if _not_number(args[0]):
        raise type_error(0, "number - float or int")


def _validate_percentile(args: list) -> None:
    check_len(2, args)
    for i in (0, 1):
        if _not_number(args[i]):
            raise type_error(i, "number - float or int")
    # eKuiper only checks the type here and fails on every window later; a literal
    # outside [0, 1] can never work, so it is rejected when the rule is created
    p = literal(args[1])
    if isinstance(p, (ast.IntegerLiteral, ast.NumberLiteral)) and not 0 <= p.value <= 1:
        raise FunctionError("the percentile must be a number between 0 and 1")


def _validate_bool_second(args: list) -> None:
    check_len(2, args)
    if not is_bool_arg(args[1]):
        raise type_error(1, "bool")


# --- helpers over a column ------------------------------------------------------------


def first_valid(col: list) -> Any:
    for v in col:
        if v is not None:
            return v
    return None


def wrap_int64(x: int) -> int:
    return ((x - _I64_MIN) & _U64_MASK) + _I64_MIN


def float_to_int64(f: float) -> int:
    """Go's int64(f): truncation; out of range or NaN gives the minimum (amd64)."""
    if not math.isfinite(f) or not -(2.0**63) <= f < 2.0**63:
        return _I64_MIN
    return int(f)


def _go_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _mode_of(first: Any) -> str | None:
    t = type(first)
    if t is int:
        return "int"
    if t is float:
        return "float"
    if t is str:
        return "str"
    return None


def _as_int(v: Any, need: str) -> int:
    t = type(v)
    if t is int:
        return v
    if t is float:
        return float_to_int64(v)
    raise FunctionError(f"requires {need} but found {typed(v)}")


def _as_float(v: Any) -> float:
    # eKuiper rejects ints once the float arithmetic is chosen; JSON sources decode
    # every number as a float, so in practice this only matters for typed streams,
    # where mixing int and float columns is expected to work
    t = type(v)
    if t is float:
        return v
    if t is int:
        return float(v)
    raise FunctionError(f"requires float64 but found {typed(v)}")


def _as_str(v: Any) -> str:
    if type(v) is str:
        return v
    raise FunctionError(f"requires string but found {typed(v)}")


# --- sum, avg, count ------------------------------------------------------------------


class IncSum:
    """Running sum in the arithmetic the first non-null value chose."""

    fn = "sum"

    def __init__(self) -> None:
        self.mode: str | None = None
        self.total: Any = 0
        self.count = 0

    def add(self, values: list) -> None:
        self.push(values[0])

    def push(self, v: Any) -> None:
        if v is None:
            return
        if self.mode is None:
            mode = _mode_of(v)
            if mode not in ("int", "float"):
                raise FunctionError(f"run {self.fn} function error: found invalid arg {typed(v)}")
            self.mode = mode
            self.total = 0 if mode == "int" else 0.0
        if self.mode == "int":
            self.total += _as_int(v, "int")
        else:
            self.total += _as_float(v)
        self.count += 1

    def result(self) -> Any:
        if self.mode is None:
            return None
        return wrap_int64(self.total) if self.mode == "int" else self.total

    def snapshot(self) -> dict:
        return {"mode": self.mode, "total": self.total, "count": self.count}

    def restore(self, state: dict) -> None:
        self.mode, self.total, self.count = state["mode"], state["total"], state["count"]


class IncAvg(IncSum):
    fn = "avg"

    def result(self) -> Any:
        if self.mode is None:
            return None
        if self.mode == "int":
            return _go_div(wrap_int64(self.total), self.count)
        return self.total / self.count


class IncCount:
    def __init__(self) -> None:
        self.n = 0

    def add(self, values: list) -> None:
        if values[0] is not None:
            self.n += 1

    def result(self) -> int:
        return self.n

    def snapshot(self) -> int:
        return self.n

    def restore(self, state: int) -> None:
        self.n = state


def _batch(inc: type) -> Any:
    """The batch form of a one-argument incremental aggregate: feed the column in order."""

    def impl(columns: list) -> Any:
        acc = inc()
        push = acc.push
        for v in columns[0]:
            push(v)
        return acc.result()

    return impl


def agg_count(columns: list) -> int:
    return sum(1 for v in columns[0] if v is not None)


# --- min, max -------------------------------------------------------------------------


class IncMax:
    """max (or min) keeping the type of the first non-null value: int, float or string."""

    want_max = True

    def __init__(self) -> None:
        self.mode: str | None = None
        self.value: Any = None

    def add(self, values: list) -> None:
        self.push(values[0])

    def push(self, v: Any) -> None:
        if v is None:
            return
        if self.mode is None:
            mode = _mode_of(v)
            if mode is None:
                raise FunctionError(f"found invalid arg {typed(v)}")
            self.mode = mode
        if self.mode == "int":
            x: Any = _as_int(v, "int64")
        elif self.mode == "float":
            x = _as_float(v)
        else:
            x = _as_str(v)
        cur = self.value
        # written as Go's `max < v` so that NaN behaves the same
        if cur is None or (cur < x if self.want_max else x < cur):
            self.value = x

    def result(self) -> Any:
        return self.value

    def snapshot(self) -> dict:
        return {"mode": self.mode, "value": self.value}

    def restore(self, state: dict) -> None:
        self.mode, self.value = state["mode"], state["value"]


class IncMin(IncMax):
    want_max = False


# --- collect, merge_agg, last_value, deduplicate --------------------------------------


def agg_collect(columns: list) -> list:
    return list(columns[0])


class IncCollect:
    def __init__(self) -> None:
        self.items: list = []

    def add(self, values: list) -> None:
        self.items.append(values[0])

    def result(self) -> list:
        return list(self.items)

    def snapshot(self) -> list:
        return list(self.items)

    def restore(self, state: list) -> None:
        self.items = list(state)


def agg_merge(columns: list) -> dict:
    out: dict = {}
    for v in columns[0]:
        if type(v) is dict:
            out.update(v)
    return out


class IncMergeAgg:
    def __init__(self) -> None:
        self.merged: dict = {}

    def add(self, values: list) -> None:
        if type(values[0]) is dict:
            self.merged.update(values[0])

    def result(self) -> dict:
        return dict(self.merged)

    def snapshot(self) -> dict:
        return dict(self.merged)

    def restore(self, state: dict) -> None:
        self.merged = dict(state)


def _ignore_flag(flag: Any) -> bool:
    if type(flag) is not bool:
        raise FunctionError(f"the second parameter requires bool but found {typed(flag)}")
    return flag


def agg_last_value(columns: list) -> Any:
    col = columns[0]
    if not col:
        return None
    if _ignore_flag(first_valid(columns[1])):
        for v in reversed(col):
            if v is not None:
                return v
    return col[-1]


class IncLastValue:
    def __init__(self) -> None:
        self.seen = False
        self.last: Any = None
        self.last_valid: Any = None
        self.flag: Any = None

    def add(self, values: list) -> None:
        v = values[0]
        self.seen = True
        self.last = v
        if v is not None:
            self.last_valid = v
        if self.flag is None:
            self.flag = values[1]

    def result(self) -> Any:
        if not self.seen:
            return None
        if _ignore_flag(self.flag) and self.last_valid is not None:
            return self.last_valid
        return self.last

    def snapshot(self) -> list:
        return [self.seen, self.last, self.last_valid, self.flag]

    def restore(self, state: list) -> None:
        self.seen, self.last, self.last_valid, self.flag = state


def agg_deduplicate(columns: list) -> Any:
    if len(columns) != 3:
        raise FunctionError("Invalid argument type found.")
    rows, keys, flags = columns
    if not rows:
        return None
    keep_all = first_valid(flags)
    if type(keep_all) is not bool:
        raise FunctionError("Invalid argument type found.")
    # eKuiper compares the `%v` spelling, so 1 and 1.0 are duplicates
    seen: set[str] = set()
    kept: list = []
    last = len(keys) - 1
    for i, k in enumerate(keys):
        key = format_value(k)
        if key in seen:
            continue
        seen.add(key)
        if keep_all or i == last:
            kept.append(rows[i])
    if keep_all:
        return kept
    return kept[0] if kept else None


# --- statistics -----------------------------------------------------------------------


def _floats(col: list) -> list[float]:
    out: list[float] = []
    for v in col:
        t = type(v)
        if t is float:
            out.append(v)
        elif t is int:
            out.append(float(v))
        elif v is not None:
            raise FunctionError(f"requires float64 slice but found {typed(col)}")
    return out


def _mean(xs: list[float]) -> float:
    total = 0.0
    for x in xs:
        total += x
    return total / len(xs)


def _variance(xs: list[float], sample: int) -> float:
    m = _mean(xs)
    acc = 0.0
    for x in xs:
        acc += (x - m) * (x - m)
    d = len(xs) - sample
    # Go divides 0.0 by 0 without complaint and gets NaN
    return acc / d if d else math.nan


def _stat(fn: Any) -> Any:
    def impl(columns: list) -> Any:
        xs = _floats(columns[0])
        return fn(xs) if xs else None

    return impl


def _median(xs: list[float]) -> float:
    c = sorted(xs)
    n = len(c)
    if n % 2 == 0:
        return (c[n // 2 - 1] + c[n // 2]) / 2
    return c[n // 2]


def _percent(columns: list) -> float:
    pcol = columns[1]
    if not pcol:
        return 1.0
    p = first_valid(pcol)
    t = type(p)
    if t is not int and t is not float:
        raise FunctionError(f"the second parameter requires float64 but found {typed(pcol)}")
    return float(p) * 100


_OUT_OF_RANGE = "Input is outside of range."


def agg_percentile_cont(columns: list) -> Any:
    if len(columns) != 2:
        raise FunctionError(f"Expect 2 arguments but found {len(columns)}.")
    percent = _percent(columns)
    xs = _floats(columns[0])
    if not xs:
        return None
    if len(xs) == 1:
        return xs[0]
    # montanaflynn/stats Percentile, which eKuiper uses: not the textbook interpolation
    if percent <= 0 or percent > 100:
        raise FunctionError(f"percentile exec with error: {_OUT_OF_RANGE}")
    c = sorted(xs)
    index = (percent / 100) * len(c)
    if index == float(int(index)):
        return c[int(index) - 1]
    if index > 1:
        i = int(index)
        return (c[i - 1] + c[i]) / 2
    raise FunctionError(f"percentile exec with error: {_OUT_OF_RANGE}")


def agg_percentile_disc(columns: list) -> Any:
    if len(columns) != 2:
        raise FunctionError(f"Expect 2 arguments but found {len(columns)}.")
    percent = _percent(columns)
    xs = _floats(columns[0])
    if not xs:
        return None
    if percent < 0 or percent > 100:
        # the wording is eKuiper's, copied from its variance function
        raise FunctionError(f"PopulationVariance exec with error: {_OUT_OF_RANGE}")
    c = sorted(xs)
    if percent == 100.0:
        return c[-1]
    rank = math.ceil(len(c) * percent / 100)
    return c[0] if rank == 0 else c[rank - 1]


# --- planner-maintained hit counters --------------------------------------------------


def _shared_reader(key: str) -> Any:
    def impl(ctx: Any, columns: list | None = None) -> Any:
        return ctx.shared.get(key, 0)

    return impl


# --- registration ---------------------------------------------------------------------


def _add(
    name: str, impl: Any, lo: int, hi: int | None, validate: Any, inc: type | None = None, **kw: Any
) -> None:
    extra = kw.pop("extra", {})
    if inc is not None:
        extra["incremental"] = inc
    registry.add(
        FunctionDef(
            name=name,
            kind=FuncKind.AGGREGATE,
            impl=impl,
            min_args=lo,
            max_args=hi,
            validate=validate,
            incremental=inc is not None,
            extra=extra,
            **kw,
        )
    )


_add("avg", _batch(IncAvg), 1, 1, _validate_one_number, IncAvg, doc="Average; integer division for ints.")
_add("count", agg_count, 1, 1, _validate_one_arg, IncCount, doc="Rows (`*`) or non-null values.")
_add("max", _batch(IncMax), 1, 1, _validate_one_number, IncMax, doc="Largest int, float or string.")
_add("min", _batch(IncMin), 1, 1, _validate_one_number, IncMin, doc="Smallest int, float or string.")
_add(
    "sum", _batch(IncSum), 1, 1, _validate_one_number, IncSum, doc="Sum; int64 if the first value is an int."
)
_add("collect", agg_collect, 1, 1, _validate_one_arg, IncCollect, doc="Array of the values, nulls kept.")
_add("merge_agg", agg_merge, 1, 1, _validate_one_arg, IncMergeAgg, doc="Shallow merge of the objects.")
_add("last_value", agg_last_value, 2, 2, _validate_bool_second, IncLastValue, doc="Last (non-null) value.")
_add(
    "deduplicate",
    agg_deduplicate,
    2,
    2,
    _validate_bool_second,
    extra={"prepend_rows": True},
    doc="Rows with a new key: all of them, or the latest one (null if a duplicate).",
)
_add("median", _stat(_median), 1, 1, _validate_one_number, doc="Median.")
_add("stddev", _stat(lambda xs: math.sqrt(_variance(xs, 0))), 1, 1, _validate_one_number)
_add("stddevs", _stat(lambda xs: math.sqrt(_variance(xs, 1))), 1, 1, _validate_one_number)
_add("var", _stat(lambda xs: _variance(xs, 0)), 1, 1, _validate_one_number)
_add("vars", _stat(lambda xs: _variance(xs, 1)), 1, 1, _validate_one_number)
_add("percentile_cont", agg_percentile_cont, 2, 2, _validate_percentile)
_add("percentile_disc", agg_percentile_disc, 2, 2, _validate_percentile)
_add("last_agg_hit_count", _shared_reader("last_agg_hit_count"), 0, 0, _validate_no_arg, needs_context=True)
_add("last_agg_hit_time", _shared_reader("last_agg_hit_time"), 0, 0, _validate_no_arg, needs_context=True)
