"""Date/time functions (spec 10.9), called through the registry as the engine does."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from arrokoth.functions import builtins, timefmt
from arrokoth.functions.datetime import parse_duration
from arrokoth.functions.registry import FunctionContext, FunctionError, registry
from arrokoth.sql import ast

builtins.load()

UTC = dt.UTC
# 2019-09-19 00:55:15.123 UTC, a Thursday
NOW_MS = 1568854515123


class FakeClock:
    def now_ms(self) -> int:
        return NOW_MS


@pytest.fixture(autouse=True)
def utc_default():
    timefmt.set_default_timezone("UTC")
    yield
    timefmt.set_default_timezone(None)


def ctx(tz=None) -> FunctionContext:
    return FunctionContext(clock=FakeClock(), timezone=tz)


def call(name: str, *args):
    fdef = registry.get(name)
    if fdef.null_in_null_out and any(a is None for a in args):
        return None  # the planner short-circuits
    return fdef.impl(*args)


def call_ctx(name: str, *args, tz=None):
    fdef = registry.get(name)
    assert fdef.needs_context
    return fdef.impl(ctx(tz), *args)


def validate(name: str, *nodes) -> None:
    fdef = registry.get(name)
    fdef.check_arity(len(nodes))
    if fdef.validate:
        fdef.validate(list(nodes))


@pytest.mark.parametrize("name", ["now", "current_timestamp", "local_time", "local_timestamp"])
def test_now_and_synonyms(name):
    assert call_ctx(name) == "2019-09-19 00:55:15"
    assert call_ctx(name, 3) == "2019-09-19 00:55:15.123"
    assert call_ctx(name, 6) == "2019-09-19 00:55:15.123000"


def test_now_uses_the_context_zone():
    assert call_ctx("now", tz=zoneinfo.ZoneInfo("Asia/Shanghai")) == "2019-09-19 08:55:15"


def test_now_validation():
    with pytest.raises(FunctionError, match="too many arguments"):
        registry.get("now").validate([ast.IntegerLiteral(1), ast.IntegerLiteral(2)])
    with pytest.raises(FunctionError, match="Expect int type for parameter 1"):
        validate("now", ast.StringLiteral("1"))


def test_cur_date_and_time():
    assert call_ctx("cur_date") == "2019-09-19"
    assert call_ctx("current_date") == "2019-09-19"
    assert call_ctx("cur_time") == "00:55:15"
    assert call_ctx("current_time", 1) == "00:55:15.1"
    with pytest.raises(FunctionError, match="Expect 0 arguments but found 1."):
        validate("cur_date", ast.IntegerLiteral(1))


def test_format_time():
    d = dt.datetime(2019, 9, 19, 0, 55, 15, tzinfo=UTC)
    assert call("format_time", d, "yyyy-MM-dd T HH:mm:ss") == "2019-09-19 T 00:55:15"
    assert call("format_time", NOW_MS, "yyyy-MM-dd HH:mm:ssSSS") == "2019-09-19 00:55:15.123"
    assert call("format_time", "2019-09-19 00:55:15", "dd/MM/yyyy") == "19/09/2019"
    assert call("format_time", None, "yyyy") is None
    with pytest.raises(FunctionError, match="invalid time format YYY for Y/y"):
        call("format_time", d, "YYY")
    with pytest.raises(FunctionError, match="Expect datetime type for parameter 1"):
        validate("format_time", ast.IntegerLiteral(1), ast.StringLiteral("yyyy-MM-dd"))
    with pytest.raises(FunctionError, match="Expect 2 arguments but found 1."):
        validate("format_time", ast.FieldRef("a"))


def test_date_calc():
    assert call("date_calc", "2019-01-01 00:00:00", "24h") == dt.datetime(2019, 1, 2, tzinfo=UTC)
    assert call("date_calc", "2019-01-01 00:00:00", "-24h") == dt.datetime(2018, 12, 31, tzinfo=UTC)
    assert call("date_calc", 0, "1h30m10s100ms") == dt.datetime(1970, 1, 1, 1, 30, 10, 100000, tzinfo=UTC)
    with pytest.raises(FunctionError, match='time: unknown unit "d" in duration "1d"'):
        call("date_calc", 0, "1d")
    with pytest.raises(FunctionError, match="Expect datetime type for parameter 1"):
        validate("date_calc", ast.IntegerLiteral(1), ast.StringLiteral("24h"))


def test_date_calc_adds_absolute_time_across_dst():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    before = dt.datetime(2024, 3, 31, 1, 30, tzinfo=berlin)
    after = call("date_calc", before, "1h")
    assert after.hour == 3
    assert after.astimezone(UTC) - before.astimezone(UTC) == dt.timedelta(hours=1)


def test_date_diff_in_days():
    assert call("date_diff", "2019-01-01 00:00:00", "2019-01-02 00:00:00") == 1
    assert call("date_diff", "2019-01-03 00:00:00", "2019-01-01 12:00:00") == -1
    assert call("date_diff", 0, 86_400_000 * 10) == 10


def test_fields():
    s = "2019-01-01 00:00:00"
    assert call("day_name", s) == "Tuesday"
    assert call("day_of_month", s) == 1
    assert call("day", "2019-01-31 00:00:00") == 31
    assert call("day_of_week", s) == 3  # Sunday is 1
    assert call("day_of_week", "2019-01-06 00:00:00") == 1
    assert call("day_of_year", "2019-02-01 00:00:00") == 32
    d = dt.datetime(2019, 9, 19, 7, 55, 15, 123456, tzinfo=UTC)
    assert (call("hour", d), call("minute", d), call("second", d), call("microsecond", d)) == (
        7,
        55,
        15,
        123456,
    )
    assert call("month", d) == 9
    assert call("month_name", d) == "September"
    assert call("last_day", "2020-02-10 00:00:00") == "2020-02-29"
    assert call("last_day", d) == "2019-09-30"


def test_fields_are_nil_in_nil_out_and_validated():
    for name in (
        "day_name",
        "day_of_month",
        "day",
        "day_of_week",
        "day_of_year",
        "hour",
        "minute",
        "second",
        "microsecond",
        "month",
        "month_name",
        "last_day",
    ):
        assert call(name, None) is None
        with pytest.raises(FunctionError, match="Expect datetime type for parameter 1"):
            validate(name, ast.IntegerLiteral(1))
        with pytest.raises(FunctionError, match="unsupported type to convert to timestamp true"):
            registry.get(name).impl(True)


def test_from_days_and_unix_time():
    assert call("from_days", 100) == "1970-04-10"
    assert call("from_days", 0) is None
    assert call("from_unix_time", 1) == "1970-01-01 00:00:01"
    assert call("from_unix_time", 0) is None
    timefmt.set_default_timezone("Asia/Shanghai")
    assert call("from_unix_time", 1) == "1970-01-01 08:00:01"
    with pytest.raises(FunctionError, match="Expect int type for parameter 1"):
        validate("from_unix_time", ast.NumberLiteral(0.1))
    with pytest.raises(FunctionError, match=r"cannot convert float64\(1.5\) to int"):
        call("from_days", 1.5)


def test_parse_duration():
    assert parse_duration("1h30m") == 5_400_000_000_000
    assert parse_duration("1.5s") == 1_500_000_000
    assert parse_duration("200us") == parse_duration("200µs") == 200_000
    assert parse_duration("0") == 0
    assert parse_duration("-1m") == -60_000_000_000
    for bad, msg in (("", "invalid duration"), ("1", "missing unit"), ("abc", "invalid duration")):
        with pytest.raises(ValueError, match=msg):
            parse_duration(bad)
