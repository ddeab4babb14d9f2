"""Date/time patterns and automatic parsing (spec 10.9, eKuiper's pkg/cast time rules)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from arrokoth.functions import timefmt

UTC = dt.UTC
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
D = dt.datetime(2020, 1, 16, 2, 14, 24, 913000, tzinfo=UTC)


@pytest.fixture(autouse=True)
def utc_default():
    timefmt.set_default_timezone("UTC")
    yield
    timefmt.set_default_timezone(None)


@pytest.mark.parametrize(
    ("pattern", "want"),
    [
        ("YYYY-MM-dd HH:mm:ssSSS", "2020-01-16 02:14:24.913"),
        ("YYYY-MM-dd T HH:mm:ss", "2020-01-16 T 02:14:24"),
        ("yyyy-MM-dd", "2020-01-16"),
        ("yy/M/d h:m:s a", "20/1/16 2:14:24 AM"),
        ("MMM MMMM EEE EEEE E", "Jan January Thu Thursday Thu"),
        ("hh H G", "02 02 AD"),
        ("ssS ssSS ssSSSSSS", "24.9 24.91 24.913000"),
        ("z Z X XX XXX", "UTC +0000 +00 +0000 +00:00"),
        ("yyyy-MM-dd'T'HH:mm:ss", "2020-01-16T02:14:24"),
        ("'day 'yyyy", "day 2020"),
        ("yyyy''", "2020'"),
        ("yyyy-MM-ddTHH:mm:ssSS\\ZXX", "2020-01-16T02:14:24.91Z+0000"),
    ],
)
def test_format(pattern, want):
    assert timefmt.format_time(D, pattern) == want


def test_format_spec_example():
    d = dt.datetime(2019, 9, 19, 0, 55, 15, tzinfo=UTC)
    assert timefmt.format_time(d, "yyyy-MM-dd T HH:mm:ss") == "2019-09-19 T 00:55:15"


def test_format_zones():
    d = D.astimezone(SHANGHAI)
    assert timefmt.format_time(d, "HH:mm z Z XXX X") == "10:14 CST +0800 +08:00 +08"
    fixed = D.astimezone(dt.timezone(dt.timedelta(hours=-7)))
    assert timefmt.format_time(fixed, "z") == "-0700"
    assert timefmt.format_layout(D, timefmt.DEFAULT_LAYOUT) == "2020-01-16T02:14:24.913Z"


@pytest.mark.parametrize("pattern", ["YYY", "y", "\\", "yyyy'abc"])
def test_bad_patterns(pattern):
    with pytest.raises(ValueError):
        timefmt.format_time(D, pattern)


def test_parse_with_pattern():
    got = timefmt.parse_time("2020-01-16 02:14:24.913", "YYYY-MM-dd HH:mm:ssSSS", SHANGHAI)
    assert got == dt.datetime(2020, 1, 16, 2, 14, 24, 913000, tzinfo=SHANGHAI)
    got = timefmt.parse_time("2022-04-13 6:22:32.2", "YYYY-MM-dd h:m:sS", SHANGHAI)
    assert got == dt.datetime(2022, 4, 13, 6, 22, 32, 200000, tzinfo=SHANGHAI)
    got = timefmt.parse_time("2022-04-13 Wednesday 06:22:32.233", "YYYY-MM-dd EEEE HH:m:ssSSS", SHANGHAI)
    assert got == dt.datetime(2022, 4, 13, 6, 22, 32, 233000, tzinfo=SHANGHAI)
    got = timefmt.parse_time("2025-06-04T08:54:00.7530000Z", "YYYY-MM-ddTHH:mm:ssSSSSSSS\\Z")
    assert got == dt.datetime(2025, 6, 4, 8, 54, 0, 753000, tzinfo=UTC)
    with pytest.raises(ValueError):
        timefmt.parse_time("2020", "YYY")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("2020-01-16 02:14:24", dt.datetime(2020, 1, 16, 2, 14, 24, tzinfo=UTC)),
        ("2019-09-19T00:55:15.000Z", dt.datetime(2019, 9, 19, 0, 55, 15, tzinfo=UTC)),
        ("2025-06-04T08:54:00.7Z", dt.datetime(2025, 6, 4, 8, 54, 0, 700000, tzinfo=UTC)),
        ("2019-09-19T08:55:15+08:00", dt.datetime(2019, 9, 19, 0, 55, 15, tzinfo=UTC)),
        ("2019-09-19T00:55:15", dt.datetime(2019, 9, 19, 0, 55, 15, tzinfo=UTC)),
        ("2019-01-01", dt.datetime(2019, 1, 1, tzinfo=UTC)),
        ("2019-1-2 3:4:5", dt.datetime(2019, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2019/01/02", dt.datetime(2019, 1, 2, tzinfo=UTC)),
        ("20190102", dt.datetime(2019, 1, 2, tzinfo=UTC)),
        ("1/2/2006 15:4:5", dt.datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)),
        ("Mon, 02 Jan 2006 15:04:05 -0700", dt.datetime(2006, 1, 2, 22, 4, 5, tzinfo=UTC)),
        ("Mon Jan  2 15:04:05 2006", dt.datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)),
        ("2006", dt.datetime(2006, 1, 1, tzinfo=UTC)),
    ],
)
def test_automatic_parsing(text, want):
    assert timefmt.parse_time(text) == want


def test_automatic_parsing_keeps_the_offset():
    got = timefmt.parse_time("2019-09-19T08:55:15+08:00")
    assert got.utcoffset() == dt.timedelta(hours=8)


def test_time_only_takes_today():
    now = dt.datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
    assert timefmt.parse_time("15:04", now=now) == dt.datetime(2024, 5, 6, 15, 4, tzinfo=UTC)


def test_unparseable():
    with pytest.raises(ValueError, match="Can't parse string as time: hello"):
        timefmt.parse_time("hello")
    with pytest.raises(ValueError):
        timefmt.parse_time("2019-02-30")


def test_to_datetime():
    assert timefmt.to_datetime(1579140864913, tz=SHANGHAI) == dt.datetime(
        2020, 1, 16, 10, 14, 24, 913000, tzinfo=SHANGHAI
    )
    assert timefmt.to_datetime(4913.0) == dt.datetime(1970, 1, 1, 0, 0, 4, 913000, tzinfo=UTC)
    assert timefmt.to_datetime(-1579140864913, tz=SHANGHAI).year == 1919
    with pytest.raises(ValueError, match="unsupported type to convert to timestamp true"):
        timefmt.to_datetime(True)
    assert timefmt.value_to_unix_milli("2022-04-13 06:22:32.233") == 1649830952233


def test_millis_round_trip():
    for ms in (0, 1, -1, 1649802152233, -1579140864913):
        assert timefmt.to_unix_milli(timefmt.from_unix_milli(ms)) == ms


def test_default_zone_configuration():
    timefmt.set_default_timezone("Asia/Shanghai")
    assert timefmt.to_datetime(0).hour == 8
    with pytest.raises(ValueError, match="unknown time zone Nowhere/City"):
        timefmt.load_zone("Nowhere/City")
    assert timefmt.load_zone("Local") is timefmt.local_zone()
