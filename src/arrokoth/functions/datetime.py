"""Date and time functions (spec section 10.9).

Arguments may be datetime values, epoch-millisecond numbers or date strings (parsed as
`timefmt.to_datetime` does). Wall-clock functions read the time from the rule's clock
(``ctx.now_ms()``) so replays are deterministic, and the zone from ``ctx.timezone``
(falling back to the configured `basic.timezone`).
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
import time

from arrokoth.functions import timefmt
from arrokoth.functions.registry import FunctionContext, FunctionError, registry
from arrokoth.functions.values import (
    arg_type_error,
    is_bool_arg,
    is_float_arg,
    is_numeric_arg,
    is_string_arg,
    to_int_strict,
    to_string_always,
)


def _zone(ctx: FunctionContext | None) -> _dt.tzinfo:
    if ctx is not None and ctx.timezone is not None:
        return ctx.timezone
    return timefmt.default_timezone()


def now(ctx: FunctionContext | None) -> _dt.datetime:
    """The current time of the rule's clock in the configured zone."""
    ms = ctx.now_ms() if ctx is not None else int(time.time() * 1000)
    return timefmt.from_unix_milli(ms, _zone(ctx))


def _dt_arg(v) -> _dt.datetime:
    try:
        return timefmt.to_datetime(v)
    except ValueError as e:
        raise FunctionError(str(e)) from None


def datetime_args(*indexes: int):
    """eKuiper rejects number, string and boolean literals where a datetime belongs."""

    def validate(args: list) -> None:
        for i in indexes:
            if i < len(args) and (is_numeric_arg(args[i]) or is_string_arg(args[i]) or is_bool_arg(args[i])):
                raise arg_type_error(i, "datetime")

    return validate


def _validate_fsp(args: list) -> None:
    if len(args) > 1:
        raise FunctionError("too many arguments")
    if args and (is_float_arg(args[0]) or is_string_arg(args[0]) or is_bool_arg(args[0])):
        raise arg_type_error(0, "int")


def _current(ctx: FunctionContext | None, fsp, time_only: bool) -> str:
    try:
        digits = to_int_strict(fsp)
    except ValueError as e:
        raise FunctionError(str(e)) from None
    # the S letters carry their own period: "ss" + "SSS" prints "05.000"
    pattern = "yyyy-MM-dd HH:mm:ss" + ("S" * digits if 1 <= digits <= 6 else "")
    text = timefmt.format_time(now(ctx), pattern)
    return text.split(" ", 1)[1] if time_only else text


@registry.function(
    "now",
    args=(0, 1),
    needs_context=True,
    validate=_validate_fsp,
    aliases=("current_timestamp", "local_time", "local_timestamp"),
)
def fn_now(ctx, fsp=0):
    """now([fsp]) → "YYYY-MM-DD HH:mm:ss[.ffffff]" with fsp (0..6) fraction digits."""
    return _current(ctx, fsp, False)


@registry.function("cur_date", args=0, needs_context=True, aliases=("current_date",))
def fn_cur_date(ctx):
    return timefmt.format_time(now(ctx), "yyyy-MM-dd")


@registry.function(
    "cur_time", args=(0, 1), needs_context=True, validate=_validate_fsp, aliases=("current_time",)
)
def fn_cur_time(ctx, fsp=0):
    return _current(ctx, fsp, True)


def _validate_format_time(args: list) -> None:
    datetime_args(0)(args)
    if len(args) > 1 and (is_numeric_arg(args[1]) or is_bool_arg(args[1])):
        raise arg_type_error(1, "string")


@registry.function("format_time", args=2, null_in_null_out=True, validate=_validate_format_time)
def fn_format_time(t, pattern):
    """format_time(t, "yyyy-MM-dd T HH:mm:ss") → "2019-09-19 T 00:55:15"."""
    try:
        return timefmt.format_time(_dt_arg(t), to_string_always(pattern))
    except ValueError as e:
        raise FunctionError(str(e)) from None


# --- durations (Go time.ParseDuration) -----------------------------------------------------

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")


def parse_duration(s: str) -> int:
    """Go time.ParseDuration; returns nanoseconds, raises ValueError with Go's wording."""
    quoted = '"' + s + '"'
    orig = s
    neg = False
    if s[:1] in "+-" and s:
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"time: invalid duration {quoted}")
    total = 0
    while s:
        m = _DURATION_PART.match(s)
        whole, frac, unit = m.group(1), m.group(2), m.group(3)
        if not whole and not frac:
            raise ValueError(f"time: invalid duration {quoted}")
        if not unit:
            raise ValueError(f"time: missing unit in duration {quoted}")
        if unit not in _UNITS_NS:
            raise ValueError(f'time: unknown unit "{unit}" in duration {quoted}')
        scale = _UNITS_NS[unit]
        part = int(whole or 0) * scale
        if frac:
            part += int(frac) * scale // 10 ** len(frac)
        total += part
        s = s[m.end() :]
    if total > 2**63 - 1:
        raise ValueError(f'time: invalid duration "{orig}"')
    return -total if neg else total


def add_nanos(d: _dt.datetime, nanos: int) -> _dt.datetime:
    """Absolute-time addition (Go's Time.Add), then back in the value's own zone."""
    utc = d.astimezone(_dt.UTC) + _dt.timedelta(microseconds=int(nanos / 1000))
    return utc.astimezone(d.tzinfo)


def _validate_date_calc(args: list) -> None:
    datetime_args(0)(args)
    if len(args) > 1 and (is_numeric_arg(args[1]) or is_bool_arg(args[1])):
        raise arg_type_error(1, "string")


@registry.function("date_calc", args=2, null_in_null_out=True, validate=_validate_date_calc)
def fn_date_calc(date, duration):
    """date_calc(d, "1h30m") / date_calc(d, "-10s") → datetime."""
    d = _dt_arg(date)
    text = to_string_always(duration)
    sign = 1
    if text.startswith("-"):
        sign, text = -1, text[1:]
    try:
        nanos = parse_duration(text)
    except ValueError as e:
        raise FunctionError(str(e)) from None
    return add_nanos(d, sign * nanos)


@registry.function("date_diff", args=2, null_in_null_out=True, validate=datetime_args(0, 1))
def fn_date_diff(d1, d2):
    """Whole days from d1 to d2 (negative when d2 is earlier)."""
    ms = timefmt.to_unix_milli(_dt_arg(d2)) - timefmt.to_unix_milli(_dt_arg(d1))
    days = abs(ms) // 86_400_000
    return days if ms >= 0 else -days


def _field(name: str, getter, *, aliases: tuple[str, ...] = ()) -> None:
    def impl(d):
        return getter(_dt_arg(d))

    impl.__name__ = f"fn_{name}"
    registry.function(name, args=1, null_in_null_out=True, validate=datetime_args(0), aliases=aliases)(impl)


_field("day_name", lambda d: timefmt.WEEKDAYS[d.isoweekday() % 7])
_field("day_of_month", lambda d: d.day, aliases=("day",))
_field("day_of_week", lambda d: (d.weekday() + 1) % 7 + 1)  # Sunday is 1
_field("day_of_year", lambda d: d.timetuple().tm_yday)
_field("hour", lambda d: d.hour)
_field("minute", lambda d: d.minute)
_field("second", lambda d: d.second)
_field("microsecond", lambda d: d.microsecond)
_field("month", lambda d: d.month)
_field("month_name", lambda d: timefmt.MONTHS[d.month - 1])
_field("last_day", lambda d: f"{d.year:04d}-{d.month:02d}-{calendar.monthrange(d.year, d.month)[1]:02d}")


def _validate_int_arg(args: list) -> None:
    if args and (is_float_arg(args[0]) or is_string_arg(args[0]) or is_bool_arg(args[0])):
        raise arg_type_error(0, "int")


def _int(v) -> int:
    try:
        return to_int_strict(v)
    except ValueError as e:
        raise FunctionError(str(e)) from None


@registry.function("from_days", args=1, null_in_null_out=True, validate=_validate_int_arg)
def fn_from_days(n):
    """Day n counted from 1970-01-01 as day 1, as "yyyy-MM-dd"; 0 gives null."""
    days = _int(n)
    if days == 0:
        return None
    try:
        d = _dt.date(1970, 1, 1) + _dt.timedelta(days=days - 1)
    except OverflowError:
        raise FunctionError(f"day {days} is out of range") from None
    return d.isoformat()


@registry.function("from_unix_time", args=1, null_in_null_out=True, validate=_validate_int_arg)
def fn_from_unix_time(sec):
    """Epoch seconds as "yyyy-MM-dd HH:mm:ss" in the configured zone; 0 gives null."""
    seconds = _int(sec)
    if seconds == 0:
        return None
    try:
        d = timefmt.from_unix_milli(seconds * 1000)
    except OverflowError:
        raise FunctionError(f"unix time {seconds} is out of range") from None
    return timefmt.format_time(d, "yyyy-MM-dd HH:mm:ss")
