"""Other functions (spec section 10.12).

meta, mqtt, window_start, window_end, event_time, row_number, unnest, extract and
changed_cols are resolved by the planner and are not registered here.
"""

from __future__ import annotations

import time
import uuid

from arrokoth.functions import timefmt
from arrokoth.functions.conversion import cast_bigint, cast_boolean, cast_float
from arrokoth.functions.registry import FunctionError, registry
from arrokoth.functions.values import format_value, is_string_arg, to_int_samekind, to_string_all


@registry.function("isnull", args=1)
def fn_isnull(x):
    return x is None


def _validate_coalesce(args: list) -> None:
    if not args:
        raise FunctionError("The arguments should be at least one.")


@registry.function("coalesce", args=(1, None), validate=_validate_coalesce)
def fn_coalesce(*args):
    for a in args:
        if a is not None:
            return a
    return None


@registry.function("newuuid", args=0)
def fn_newuuid():
    return str(uuid.uuid4())


@registry.function("tstamp", args=0, needs_context=True)
def fn_tstamp(ctx):
    """Epoch milliseconds of the rule's clock."""
    return ctx.now_ms() if ctx is not None else int(time.time() * 1000)


@registry.function("rule_id", args=0, needs_context=True)
def fn_rule_id(ctx):
    return ctx.rule_id if ctx is not None else ""


@registry.function("rule_start", args=0, needs_context=True)
def fn_rule_start(ctx):
    """Epoch milliseconds at which the rule started."""
    return ctx.rule_start if ctx is not None else 0


@registry.function("props", args=1, null_in_null_out=True, needs_context=True)
def fn_props(ctx, name):
    """A rule property or a global property by name; null when it is not defined."""
    if type(name) is not str:
        raise FunctionError(f"invalid input {format_value(name)}: must be property name of string type")
    props = ctx.props if ctx is not None else {}
    return props.get(name)


STATE_TYPES = ("bigint", "float", "string", "boolean", "datetime")

_STATE_CASTS = {
    "bigint": cast_bigint,
    "float": cast_float,
    "string": to_string_all,
    "boolean": cast_boolean,
    "datetime": lambda v: timefmt.to_datetime(v),
}


def _validate_keyed_state(args: list) -> None:
    if len(args) != 3:
        raise FunctionError(f"Expect 3 arguments but found {len(args)}.")
    if is_string_arg(args[1]) and args[1].value not in STATE_TYPES:
        raise FunctionError(
            "expect one of following value for the 2nd parameter: bigint, float, string, boolean, datetime"
        )


@registry.function("get_keyed_state", args=3, needs_context=True, validate=_validate_keyed_state)
def fn_get_keyed_state(ctx, key, kind, default):
    """The value stored under key in the external state store, cast to kind; else default."""
    if kind not in _STATE_CASTS:
        raise FunctionError(
            "expect one of following value for the 2nd parameter: bigint, float, string, boolean, datetime"
        )
    store = ctx.state_store if ctx is not None else None
    if store is None or key is None:
        return default
    try:
        value = store.get(to_string_all(key))
    except ValueError as e:
        raise FunctionError(str(e)) from None
    if value is None:
        return default
    try:
        return _STATE_CASTS[kind](value)
    except ValueError as e:
        raise FunctionError(str(e)) from None


def _validate_delay(args: list) -> None:
    if args and is_string_arg(args[0]):
        raise FunctionError("Expect int type for parameter 1")


@registry.function("delay", args=2, null_in_null_out=True, needs_context=True, validate=_validate_delay)
def fn_delay(ctx, ms, value):
    """Sleeps ms milliseconds (on the rule's clock when it can sleep), then returns value."""
    try:
        millis = to_int_samekind(ms)
    except ValueError as e:
        raise FunctionError(str(e)) from None
    if millis > 0:
        clock = ctx.clock if ctx is not None else None
        sleep = getattr(clock, "sleep", None)
        if callable(sleep):
            sleep(millis / 1000)
        else:
            time.sleep(millis / 1000)
    return value


@registry.function("bypass", args=(0, None))
def fn_bypass(*args):
    """Returns its first argument unchanged (used internally by the planner)."""
    return args[0] if args else None
