"""Analytic (stateful) functions, evaluated on every input row before WHERE.

Calling convention (see `registry`): ``impl(state, values, valid)``. ``state`` is a
dict owned by one call site and one ``PARTITION BY`` key, empty at first; ``values``
are the evaluated arguments of this row (``*`` arrives as the row object); ``valid``
is whether ``OVER (WHEN ...)`` holds. State holds only plain data, so a checkpoint
can store it as it is.

``changed_cols`` yields several columns, so the planner calls `changed_cols_apply`
directly with the arguments already named (and ``*`` expanded). ``row_number`` and the
``last_hit_*`` readers are registered here because they, too, are values the planner
maintains rather than computes from arguments.
"""

from __future__ import annotations

from typing import Any

from arrokoth.functions.aggregate import (
    check_len,
    is_bool_arg,
    is_field_arg,
    is_float_arg,
    is_numeric_arg,
    is_string_arg,
    is_time_arg,
    literal,
    type_error,
)
from arrokoth.functions.registry import FuncKind, FunctionDef, FunctionError, registry
from arrokoth.functions.values import format_value, go_type
from arrokoth.sql import ast

_MAX_INT64_F = float(2**63 - 1)  # Go's float64(math.MaxInt64)
_MIN_INT64_F = float(-(2**63))


def go_equal(a: Any, b: Any) -> bool:
    """reflect.DeepEqual on runtime values: types must match (1 is not 1.0, nor true)."""
    ta = type(a)
    if ta is not type(b):
        return False
    if ta is dict:
        return a.keys() == b.keys() and all(go_equal(v, b[k]) for k, v in a.items())
    if ta is list:
        return len(a) == len(b) and all(go_equal(x, y) for x, y in zip(a, b))
    return a == b


def _require_bool(v: Any, what: str) -> bool:
    if type(v) is not bool:
        raise FunctionError(f"{what} is not a bool but got {format_value(v)}")
    return v


# --- lag, latest ----------------------------------------------------------------------


def _lag_offset(v: Any) -> int:
    t = type(v)
    if t is float and v.is_integer():
        v = int(v)
    elif t is not int:
        raise FunctionError(
            f"error converting second arg {format_value(v)} to int: "
            f"cannot convert {go_type(v)}({format_value(v)}) to int"
        )
    if v < 0:
        raise FunctionError("the index should not be a nagtive integer")
    return v


def lag(state: dict, values: list, valid: bool) -> Any:
    """The value ``offset`` qualifying rows back; a FIFO pre-filled with the default."""
    queue = state.get("queue")
    if queue is None:
        offset = _lag_offset(values[1]) if len(values) >= 2 else 1
        default = values[2] if len(values) >= 3 else None
        queue = state["queue"] = [default] * offset
        state["offset"] = offset
    ignore_null = True
    if len(values) >= 4 and type(values[3]) is not bool:
        # eKuiper prints the first argument here
        raise FunctionError(f"The fourth arg is not a bool but got {format_value(values[0])}")
    if len(values) >= 4:
        ignore_null = values[3]
    v = values[0]
    if valid and (v is not None or not ignore_null):
        out = queue.pop(0) if queue else None
        if len(queue) < state["offset"]:
            queue.append(v)
        return out
    return queue[0] if queue else None


def latest(state: dict, values: list, valid: bool) -> Any:
    v = values[0]
    if valid and v is not None:
        state["value"] = v
        return v
    last = state.get("value")
    if last is None:
        return values[1] if len(values) >= 2 else None
    return last


# --- change detection -----------------------------------------------------------------


def changed_col(state: dict, values: list, valid: bool) -> Any:
    ignore_null = _require_bool(values[0], "first arg")
    v = values[1]
    if (ignore_null and v is None) or not valid:
        return None
    # a missing state reads as null, so a first null is not a change
    if go_equal(v, state.get("value")):
        return None
    state["value"] = v
    return v


def had_changed(state: dict, values: list, valid: bool) -> bool:
    if len(values) <= 1:
        raise FunctionError(f"expect more than one arg but got {len(values) + 2}")
    if not valid:
        return False
    ignore_null = _require_bool(values[0], "first arg")
    changed = False
    for i in range(1, len(values)):
        v = values[i]
        if ignore_null and v is None:
            continue
        key = str(i)
        if not go_equal(v, state.get(key)):
            changed = True
            state[key] = v
    return changed


def changed_cols_apply(
    state: dict, prefix: str, ignore_null: bool, named_values: list[tuple[str, Any]]
) -> dict:
    """The columns of ``named_values`` that changed, keys prefixed; remembers them.

    State is keyed by the column name without the prefix, as in eKuiper.
    """
    if type(prefix) is not str:
        raise FunctionError(f"first arg is not a string but got {format_value(prefix)}")
    if type(ignore_null) is not bool:
        raise FunctionError(f"second arg is not a bool but got {format_value(ignore_null)}")
    out: dict = {}
    for name, v in named_values:
        if ignore_null and v is None:
            continue
        if not go_equal(v, state.get(name)):
            out[prefix + name] = v
            state[name] = v
    return out


# --- acc_* ----------------------------------------------------------------------------
# state: {"value": <accumulator>, "begun": bool}. The conditional form
# acc_xxx(expr, startCond, resetCond) follows eKuiper's four steps: an accumulator that
# has not begun is reset; startCond begins it; a begun accumulator takes the row;
# resetCond ends it after the row, so the next row starts from empty again.


def _number(v: Any) -> float:
    t = type(v)
    if t is int or t is float:
        return float(v)
    raise FunctionError("the value should be number")


def _sum_step(acc: Any, v: Any) -> Any:
    return acc if v is None else acc + _number(v)


def _count_step(acc: Any, v: Any) -> Any:
    return acc if v is None else acc + 1


def _min_step(acc: Any, v: Any) -> Any:
    # eKuiper fails on null here (unlike acc_sum and acc_count)
    x = _number(v)
    cur = _MAX_INT64_F if acc is None else acc
    return cur if cur < x else x


def _max_step(acc: Any, v: Any) -> Any:
    x = _number(v)
    cur = _MIN_INT64_F if acc is None else acc
    return cur if cur > x else x


def _avg_step(acc: Any, v: Any) -> Any:
    x = _number(v)
    total, count = (0.0, 0) if acc is None else (acc[0], acc[1])
    total += x
    count += 1
    return [total, count, total / count]


def _avg_result(acc: Any) -> float:
    return 0.0 if acc is None else acc[2]


def _or_zero(acc: Any) -> float:
    return 0.0 if acc is None else acc


def _acc(initial: Any, step: Any, result: Any = None) -> Any:
    def impl(state: dict, values: list, valid: bool) -> Any:
        if "value" not in state:
            state["value"] = initial
            state["begun"] = False
        if len(values) == 3:
            start, reset = values[1], values[2]
            if type(start) is not bool:
                raise FunctionError("onBegin should be boolean")
            if type(reset) is not bool:
                raise FunctionError("onReset should be boolean")
            if not state["begun"]:
                state["value"] = initial
            if start:
                state["begun"] = True
            if state["begun"] and valid:
                state["value"] = step(state["value"], values[0])
            if reset:
                state["begun"] = False
        elif len(values) == 1:
            if valid:
                state["value"] = step(state["value"], values[0])
        else:
            raise FunctionError("wrong args length")
        acc = state["value"]
        return acc if result is None else result(acc)

    return impl


def _validate_acc(args: list) -> None:
    if len(args) not in (1, 3):
        raise FunctionError(f"Expect 1/3 arguments but found {len(args)}.")


# --- validation -----------------------------------------------------------------------


def _validate_lag(args: list) -> None:
    n = len(args)
    if not 1 <= n <= 4:
        raise FunctionError(f"expect one two or three args but got {n}")
    if n >= 2:
        off = args[1]
        if (
            is_float_arg(off)
            or is_time_arg(off)
            or is_bool_arg(off)
            or is_string_arg(off)
            or is_field_arg(off)
        ):
            raise type_error(1, "int")
        off = literal(off)
        if isinstance(off, ast.IntegerLiteral) and off.value < 0:
            raise FunctionError("the index should not be a nagtive integer")
    if n == 4 and _not_bool(args[3]):
        raise type_error(3, "bool")


def _not_bool(arg: Any) -> bool:
    return is_numeric_arg(arg) or is_time_arg(arg) or is_string_arg(arg)


def _validate_latest(args: list) -> None:
    if len(args) not in (1, 2):
        raise FunctionError(f"expect one or two args but got {len(args)}")


def _validate_changed_col(args: list) -> None:
    check_len(2, args)
    if _not_bool(args[0]):
        raise type_error(0, "boolean")


def _validate_had_changed(args: list) -> None:
    if len(args) <= 1:
        raise FunctionError(f"expect more than one arg but got {len(args)}")
    if _not_bool(args[0]):
        raise type_error(0, "bool")


def _validate_changed_cols(args: list) -> None:
    if len(args) <= 2:
        raise FunctionError(f"expect more than two args but got {len(args)}")
    if is_numeric_arg(args[0]) or is_time_arg(args[0]) or is_bool_arg(args[0]):
        raise type_error(0, "string")
    if _not_bool(args[1]):
        raise type_error(1, "bool")


def _validate_no_arg(args: list) -> None:
    check_len(0, args)


# --- planner-maintained values --------------------------------------------------------


def _changed_cols_misplaced(*_: Any) -> Any:
    raise FunctionError("changed_cols can only be used in the SELECT clause")


def _row_number(*_: Any) -> None:
    # computed by the planner over each emission, as eKuiper's window-function operator does
    return None


def _shared_reader(key: str) -> Any:
    def impl(ctx: Any) -> Any:
        return ctx.shared.get(key, 0)

    return impl


# --- registration ---------------------------------------------------------------------


def _add(
    name: str,
    impl: Any,
    lo: int,
    hi: int | None,
    validate: Any,
    kind: FuncKind = FuncKind.ANALYTIC,
    **kw: Any,
):
    registry.add(
        FunctionDef(name=name, kind=kind, impl=impl, min_args=lo, max_args=hi, validate=validate, **kw)
    )


_add("lag", lag, 1, 4, _validate_lag, doc="lag(expr [, offset [, default [, ignoreNull]]])")
_add("latest", latest, 1, 2, _validate_latest, doc="Most recent non-null value, else the default.")
_add("changed_col", changed_col, 2, 2, _validate_changed_col, doc="expr if it changed, else null.")
_add("had_changed", had_changed, 2, None, _validate_had_changed, doc="Whether any argument changed.")
_add("acc_sum", _acc(0.0, _sum_step), 1, 3, _validate_acc, doc="Running float64 sum.")
_add("acc_count", _acc(0, _count_step), 1, 3, _validate_acc, doc="Running count of non-null values.")
_add("acc_min", _acc(None, _min_step, _or_zero), 1, 3, _validate_acc, doc="Running float64 minimum.")
_add("acc_max", _acc(None, _max_step, _or_zero), 1, 3, _validate_acc, doc="Running float64 maximum.")
_add("acc_avg", _acc(None, _avg_step, _avg_result), 1, 3, _validate_acc, doc="Running float64 average.")
_add(
    "changed_cols",
    _changed_cols_misplaced,
    3,
    None,
    _validate_changed_cols,
    kind=FuncKind.MULTI,
    doc="changed_cols(prefix, ignoreNull, expr|*, ...): the changed columns, prefixed.",
)
_add(
    "row_number",
    _row_number,
    0,
    0,
    _validate_no_arg,
    kind=FuncKind.WINDOW,
    doc="1-based row in the emission.",
)
_add(
    "last_hit_count",
    _shared_reader("last_hit_count"),
    0,
    0,
    _validate_no_arg,
    kind=FuncKind.SCALAR,
    needs_context=True,
    extra={"no_agg": True},
)
_add(
    "last_hit_time",
    _shared_reader("last_hit_time"),
    0,
    0,
    _validate_no_arg,
    kind=FuncKind.SCALAR,
    needs_context=True,
    extra={"no_agg": True},
)
