"""Date/time formatting and parsing the way eKuiper does it.

eKuiper converts its Java-like patterns (``yyyy-MM-dd HH:mm:ss``) into Go layouts and then
uses Go's ``time.Format`` / ``time.Parse``. Strings without a pattern are parsed by trying
the layouts of jinzhu/now plus eKuiper's two ISO layouts, in order. This module keeps that
model: both pattern kinds become one token list (Go's "std chunks"), which is then used to
format or to parse.

The zone used for values that carry none (epoch numbers, strings without offset) is the
configured ``basic.timezone``; `set_default_timezone` sets it, None meaning the local zone.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import functools
import re
import zoneinfo
from typing import Any

from arrokoth.functions.values import format_value, is_number

# --- zones ------------------------------------------------------------------------

_default_tz: _dt.tzinfo | None = None


def load_zone(name: str) -> _dt.tzinfo:
    """time.LoadLocation: "" and "UTC" are UTC, "Local" the local zone, else IANA names."""
    if name in ("", "UTC"):
        return _dt.UTC
    if name == "Local":
        return local_zone()
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name}") from None


@functools.lru_cache(maxsize=1)
def local_zone() -> _dt.tzinfo:
    from dateutil import tz

    return tz.tzlocal()


def set_default_timezone(zone: str | _dt.tzinfo | None) -> None:
    """Set the configured zone (`basic.timezone`); None means the machine's local zone."""
    global _default_tz
    _default_tz = load_zone(zone) if isinstance(zone, str) else zone


def default_timezone() -> _dt.tzinfo:
    return _default_tz if _default_tz is not None else local_zone()


# --- tokens (Go layout "std chunks") ---------------------------------------------------

# fmt: off
(LONG_MONTH, MONTH, NUM_MONTH, ZERO_MONTH, LONG_WEEKDAY, WEEKDAY, DAY, UNDER_DAY, ZERO_DAY, HOUR,
 HOUR12, ZERO_HOUR12, MINUTE, ZERO_MINUTE, SECOND, ZERO_SECOND, LONG_YEAR, YEAR, PM, LOWER_PM, TZ,
 ISO_TZ, ISO_SECONDS_TZ, ISO_SHORT_TZ, ISO_COLON_TZ, ISO_COLON_SECONDS_TZ, NUM_TZ, NUM_SECONDS_TZ,
 NUM_SHORT_TZ, NUM_COLON_TZ, NUM_COLON_SECONDS_TZ) = range(31)
# fmt: on
FRAC0 = "frac0"  # token ("frac0", n): a period and exactly n digits
FRAC9 = "frac9"  # token ("frac9", n): a period and up to n digits, trailing zeros dropped

# fmt: off
_ZONE_PREFIXES = (
    ("Z070000", ISO_SECONDS_TZ), ("Z07:00:00", ISO_COLON_SECONDS_TZ), ("Z0700", ISO_TZ),
    ("Z07:00", ISO_COLON_TZ), ("Z07", ISO_SHORT_TZ), ("-070000", NUM_SECONDS_TZ),
    ("-07:00:00", NUM_COLON_SECONDS_TZ), ("-0700", NUM_TZ), ("-07:00", NUM_COLON_TZ),
    ("-07", NUM_SHORT_TZ),
)
# fmt: on
_ZERO_STD = {"1": ZERO_MONTH, "2": ZERO_DAY, "3": ZERO_HOUR12, "4": ZERO_MINUTE, "5": ZERO_SECOND, "6": YEAR}


def _append(tokens: list, tok: Any) -> None:
    if type(tok) is str and tokens and type(tokens[-1]) is str:
        tokens[-1] += tok
    else:
        tokens.append(tok)


@functools.lru_cache(maxsize=256)
def go_layout(layout: str) -> tuple:
    """Split a Go layout ("2006-01-02 15:04:05") into tokens."""
    out: list = []
    i, n = 0, len(layout)
    while i < n:
        rest = layout[i:]
        c = rest[0]
        tok: Any = None
        width = 0
        if rest.startswith("January"):
            tok, width = LONG_MONTH, 7
        elif rest.startswith("Jan"):
            tok, width = MONTH, 3
        elif rest.startswith("Monday"):
            tok, width = LONG_WEEKDAY, 6
        elif rest.startswith("Mon"):
            tok, width = WEEKDAY, 3
        elif rest.startswith("MST"):
            tok, width = TZ, 3
        elif c == "0" and len(rest) > 1 and rest[1] in _ZERO_STD:
            tok, width = _ZERO_STD[rest[1]], 2
        elif rest.startswith("15"):
            tok, width = HOUR, 2
        elif c == "1":
            tok, width = NUM_MONTH, 1
        elif rest.startswith("2006"):
            tok, width = LONG_YEAR, 4
        elif c == "2":
            tok, width = DAY, 1
        elif rest.startswith("_2") and not rest.startswith("_2006"):
            tok, width = UNDER_DAY, 2
        elif c in "345":
            tok, width = {"3": HOUR12, "4": MINUTE, "5": SECOND}[c], 1
        elif rest.startswith("PM"):
            tok, width = PM, 2
        elif rest.startswith("pm"):
            tok, width = LOWER_PM, 2
        elif c in "-Z":
            for prefix, std in _ZONE_PREFIXES:
                if rest.startswith(prefix):
                    tok, width = std, len(prefix)
                    break
        elif c in ".," and len(rest) > 1 and rest[1] in "09":
            j = 1
            while j < len(rest) and rest[j] == rest[1]:
                j += 1
            if not (j < len(rest) and rest[j].isdigit()):
                tok, width = (FRAC0 if rest[1] == "0" else FRAC9, j - 1), j
        if tok is None:
            _append(out, c)
            i += 1
        else:
            out.append(tok)
            i += width
    return tuple(out)


def _run(pattern: str, i: int, ch: str, limit: int) -> int:
    """Length of the run of ``ch`` at ``i``, counting at most ``limit``."""
    j = 1
    while i + j < len(pattern) and j < limit and pattern[i + j] == ch:
        j += 1
    return j


# letter: (longest run, token for each run length). eKuiper rejects E, EE and H, but the
# spec lists E as the short weekday and H as the hour
_LETTERS = {
    "M": (4, (NUM_MONTH, ZERO_MONTH, MONTH, LONG_MONTH)),
    "d": (2, (DAY, ZERO_DAY)),
    "E": (4, (WEEKDAY, WEEKDAY, WEEKDAY, LONG_WEEKDAY)),
    "H": (2, (HOUR, HOUR)),
    "h": (2, (HOUR12, ZERO_HOUR12)),
    "m": (2, (MINUTE, ZERO_MINUTE)),
    "s": (2, (SECOND, ZERO_SECOND)),
    "X": (3, (NUM_SHORT_TZ, NUM_TZ, NUM_COLON_TZ)),
    "a": (1, (PM,)),
    "z": (1, (TZ,)),
    "Z": (1, (NUM_TZ,)),
}


@functools.lru_cache(maxsize=256)
def java_pattern(pattern: str) -> tuple:
    """Tokens of an eKuiper format pattern (section 10.9); raises ValueError like eKuiper."""
    out: list = []
    i, n = 0, len(pattern)
    quoted = False
    while i < n:
        c = pattern[i]
        if c == "'":
            j = i
            while j < n and pattern[j] == "'":
                j += 1
            count = j - i
            if count // 2:
                _append(out, "'" * (count // 2))  # '' is a literal quote
            if count % 2:
                quoted = not quoted
            i = j
            continue
        if quoted:
            j = pattern.find("'", i)
            j = n if j < 0 else j
            _append(out, pattern[i:j])
            i = j
            continue
        if c == "\\":
            if i + 1 >= n:
                raise ValueError(f"{pattern} is invalid")
            _append(out, pattern[i + 1])
            i += 2
            continue
        if c in "Yy":
            j = _run(pattern, i, c, 5)
            if j not in (2, 4):
                raise ValueError(f"invalid time format {pattern} for Y/y")
            out.append(LONG_YEAR if j == 4 else YEAR)
        elif c == "G":
            j = 1
            _append(out, "AD")
        elif c == "S":
            # the fraction includes its period: "ssSSS" is "05.000"
            j = _run(pattern, i, c, n)
            out.append((FRAC0, j))
        elif c in _LETTERS:
            longest, by_run = _LETTERS[c]
            j = _run(pattern, i, c, longest)
            out.append(by_run[j - 1])
        else:
            j = 1
            _append(out, c)
        i += j
    if quoted:
        raise ValueError(f'invalid time format "{pattern}": unterminated quote')
    return tuple(out)


# --- formatting -------------------------------------------------------------------------

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def _offset_seconds(d: _dt.datetime) -> int:
    off = d.utcoffset()
    return int(off.total_seconds()) if off is not None else 0


def _format_zone(std: int, off: int) -> str:
    if std in (ISO_TZ, ISO_SECONDS_TZ, ISO_SHORT_TZ, ISO_COLON_TZ, ISO_COLON_SECONDS_TZ) and off == 0:
        return "Z"
    sign = "-" if off < 0 else "+"
    off = abs(off)
    hh, mm, ss = off // 3600, (off % 3600) // 60, off % 60
    if std in (ISO_SHORT_TZ, NUM_SHORT_TZ):
        return f"{sign}{hh:02d}"
    if std in (ISO_TZ, NUM_TZ):
        return f"{sign}{hh:02d}{mm:02d}"
    if std in (ISO_COLON_TZ, NUM_COLON_TZ):
        return f"{sign}{hh:02d}:{mm:02d}"
    if std in (ISO_SECONDS_TZ, NUM_SECONDS_TZ):
        return f"{sign}{hh:02d}{mm:02d}{ss:02d}"
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}"


def _zone_name(d: _dt.datetime) -> str:
    name = d.tzname() or ""
    # Python names unnamed fixed offsets "UTC+08:00"; Go prints those as -0700
    if name and not name.startswith(("UTC+", "UTC-")):
        return name
    return _format_zone(NUM_TZ, _offset_seconds(d))


def _weekday(d: _dt.datetime) -> str:
    return WEEKDAYS[(d.weekday() + 1) % 7]


# fmt: off
_FORMATTERS = {
    LONG_YEAR: lambda d: f"{d.year:04d}", YEAR: lambda d: f"{d.year % 100:02d}",
    LONG_MONTH: lambda d: MONTHS[d.month - 1], MONTH: lambda d: MONTHS[d.month - 1][:3],
    NUM_MONTH: lambda d: str(d.month), ZERO_MONTH: lambda d: f"{d.month:02d}",
    LONG_WEEKDAY: _weekday, WEEKDAY: lambda d: _weekday(d)[:3],
    DAY: lambda d: str(d.day), UNDER_DAY: lambda d: f"{d.day:2d}", ZERO_DAY: lambda d: f"{d.day:02d}",
    HOUR: lambda d: f"{d.hour:02d}", HOUR12: lambda d: str(d.hour % 12 or 12),
    ZERO_HOUR12: lambda d: f"{d.hour % 12 or 12:02d}",
    MINUTE: lambda d: str(d.minute), ZERO_MINUTE: lambda d: f"{d.minute:02d}",
    SECOND: lambda d: str(d.second), ZERO_SECOND: lambda d: f"{d.second:02d}",
    PM: lambda d: "PM" if d.hour >= 12 else "AM", LOWER_PM: lambda d: "pm" if d.hour >= 12 else "am",
    TZ: _zone_name,
}
# fmt: on


def format_tokens(d: _dt.datetime, tokens: tuple) -> str:
    if d.tzinfo is None:
        d = d.replace(tzinfo=default_timezone())
    parts: list[str] = []
    for tok in tokens:
        if type(tok) is str:
            parts.append(tok)
        elif type(tok) is tuple:
            digits = f"{d.microsecond * 1000:09d}"
            if tok[0] == FRAC0:
                parts.append("." + digits[: tok[1]].ljust(tok[1], "0"))
            elif digits[: tok[1]].rstrip("0"):
                parts.append("." + digits[: tok[1]].rstrip("0"))
        elif tok in _FORMATTERS:
            parts.append(_FORMATTERS[tok](d))
        else:
            parts.append(_format_zone(tok, _offset_seconds(d)))
    return "".join(parts)


def format_time(d: _dt.datetime, pattern: str) -> str:
    """format_time(): an eKuiper pattern applied to a datetime; ValueError on a bad pattern."""
    return format_tokens(d, java_pattern(pattern))


def format_layout(d: _dt.datetime, layout: str) -> str:
    """Go's time.Format with a Go layout."""
    return format_tokens(d, go_layout(layout))


# --- parsing ------------------------------------------------------------------------------


class _Fail(Exception):
    pass


def _skip_literal(value: str, lit: str) -> str:
    # Go treats a run of spaces in the layout as matching one or more spaces
    i = 0
    while i < len(lit):
        c = lit[i]
        if c == " ":
            if not value.startswith(" "):
                raise _Fail
            while i < len(lit) and lit[i] == " ":
                i += 1
            value = value.lstrip(" ")
            continue
        if not value.startswith(c):
            raise _Fail
        value = value[1:]
        i += 1
    return value


def _getnum(value: str, fixed: bool) -> tuple[int, str]:
    if not value[:1].isdigit():
        raise _Fail
    if not value[1:2].isdigit():
        if fixed:
            raise _Fail
        return int(value[0]), value[1:]
    return int(value[:2]), value[2:]


def _lookup(value: str, names: tuple[str, ...]) -> tuple[int, str]:
    for idx, name in enumerate(names):
        if value[: len(name)].lower() == name.lower():
            return idx, value[len(name) :]
    raise _Fail


def _nanos(digits: str) -> int:
    return int((digits + "000000000")[:9])


_ZONE_ABBR = re.compile(r"[A-Z]{3,5}")


def _parse_offset(std: int, value: str) -> tuple[int, str]:
    if std in (ISO_TZ, ISO_SECONDS_TZ, ISO_SHORT_TZ, ISO_COLON_TZ, ISO_COLON_SECONDS_TZ) and value.startswith(
        "Z"
    ):
        return 0, value[1:]
    shapes = {
        ISO_TZ: r"[+-]\d\d\d\d",
        NUM_TZ: r"[+-]\d\d\d\d",
        ISO_SHORT_TZ: r"[+-]\d\d",
        NUM_SHORT_TZ: r"[+-]\d\d",
        ISO_COLON_TZ: r"[+-]\d\d:\d\d",
        NUM_COLON_TZ: r"[+-]\d\d:\d\d",
        ISO_SECONDS_TZ: r"[+-]\d{6}",
        NUM_SECONDS_TZ: r"[+-]\d{6}",
        ISO_COLON_SECONDS_TZ: r"[+-]\d\d:\d\d:\d\d",
        NUM_COLON_SECONDS_TZ: r"[+-]\d\d:\d\d:\d\d",
    }
    m = re.match(shapes[std], value)
    if not m:
        raise _Fail
    text = m.group(0)
    digits = text[1:].replace(":", "")
    hh, mm, ss = int(digits[0:2]), int(digits[2:4] or 0), int(digits[4:6] or 0)
    off = hh * 3600 + mm * 60 + ss
    return (-off if text[0] == "-" else off), value[len(text) :]


def parse_tokens(value: str, tokens: tuple, tz: _dt.tzinfo | None = None) -> dict:
    """Go time.Parse; returns the parsed fields (year may be 0) or raises _Fail."""
    f = {
        "year": 0,
        "month": 1,
        "day": 1,
        "hour": 0,
        "minute": 0,
        "second": 0,
        "nanos": 0,
        "pm": None,
        "offset": None,
        "zone": None,
        "utc": False,
    }
    for idx, tok in enumerate(tokens):
        if type(tok) is str:
            value = _skip_literal(value, tok)
            continue
        if type(tok) is tuple:
            kind, width = tok
            if kind == FRAC0:
                if len(value) < width + 1 or value[0] not in ".," or not value[1 : width + 1].isdigit():
                    raise _Fail
                f["nanos"] = _nanos(value[1 : width + 1])
                value = value[width + 1 :]
            else:
                if len(value) < 2 or value[0] not in ".," or not value[1].isdigit():
                    continue
                m = re.match(r"[.,](\d+)", value)
                f["nanos"] = _nanos(m.group(1))
                value = value[m.end() :]
            continue
        if tok == LONG_YEAR:
            if len(value) < 4 or not value[:4].isdigit():
                raise _Fail
            f["year"], value = int(value[:4]), value[4:]
        elif tok == YEAR:
            if len(value) < 2 or not value[:2].isdigit():
                raise _Fail
            y = int(value[:2])
            f["year"], value = (y + 1900 if y >= 69 else y + 2000), value[2:]
        elif tok in (LONG_MONTH, MONTH):
            names = MONTHS if tok == LONG_MONTH else tuple(m[:3] for m in MONTHS)
            m_idx, value = _lookup(value, names)
            f["month"] = m_idx + 1
        elif tok in (NUM_MONTH, ZERO_MONTH):
            f["month"], value = _getnum(value, tok == ZERO_MONTH)
            if not 1 <= f["month"] <= 12:
                raise _Fail
        elif tok in (LONG_WEEKDAY, WEEKDAY):
            names = WEEKDAYS if tok == LONG_WEEKDAY else tuple(w[:3] for w in WEEKDAYS)
            _, value = _lookup(value, names)
        elif tok in (DAY, UNDER_DAY, ZERO_DAY):
            if tok == UNDER_DAY and value.startswith(" "):
                value = value[1:]
            f["day"], value = _getnum(value, tok == ZERO_DAY)
        elif tok == HOUR:
            f["hour"], value = _getnum(value, False)
            if f["hour"] > 23:
                raise _Fail
        elif tok in (HOUR12, ZERO_HOUR12):
            f["hour"], value = _getnum(value, tok == ZERO_HOUR12)
            if f["hour"] > 12:
                raise _Fail
        elif tok in (MINUTE, ZERO_MINUTE, SECOND, ZERO_SECOND):
            num, value = _getnum(value, tok in (ZERO_MINUTE, ZERO_SECOND))
            if num > 59:
                raise _Fail
            f["minute" if tok in (MINUTE, ZERO_MINUTE) else "second"] = num
            nxt = tokens[idx + 1] if idx + 1 < len(tokens) else None
            # Go accepts a fraction after the seconds even when the layout has none
            if tok in (SECOND, ZERO_SECOND) and type(nxt) is not tuple:
                m = re.match(r"[.,](\d+)", value)
                if m:
                    f["nanos"], value = _nanos(m.group(1)), value[m.end() :]
        elif tok in (PM, LOWER_PM):
            p = value[:2]
            if p not in (("PM", "AM") if tok == PM else ("pm", "am")):
                raise _Fail
            f["pm"], value = p.upper() == "PM", value[2:]
        elif tok == TZ:
            if value.startswith("UTC"):
                f["utc"], value = True, value[3:]
                continue
            m = _ZONE_ABBR.match(value)
            if not m:
                raise _Fail
            f["zone"], value = m.group(0), value[m.end() :]
        else:
            f["offset"], value = _parse_offset(tok, value)
    if value:
        raise _Fail
    if f["pm"] is not None:
        if f["pm"] and f["hour"] < 12:
            f["hour"] += 12
        elif not f["pm"] and f["hour"] == 12:
            f["hour"] = 0
    return f


def _build(f: dict, tz: _dt.tzinfo) -> _dt.datetime:
    year, month, day = f["year"], f["month"], f["day"]
    if not 1 <= year <= 9999 or day < 1 or day > calendar.monthrange(year, month)[1]:
        raise _Fail
    micro = f["nanos"] // 1000
    args = (year, month, day, f["hour"], f["minute"], f["second"], micro)
    if f["utc"]:
        return _dt.datetime(*args, tzinfo=_dt.UTC)
    if f["offset"] is not None:
        if f["offset"] == 0 and f["zone"] is None:
            fixed: _dt.tzinfo = _dt.UTC
        else:
            fixed = _dt.timezone(_dt.timedelta(seconds=f["offset"]), *([f["zone"]] if f["zone"] else []))
        d = _dt.datetime(*args, tzinfo=fixed)
        local = d.astimezone(tz)
        if local.utcoffset() == d.utcoffset() and (f["zone"] is None or local.tzname() == f["zone"]):
            return local
        return d
    if f["zone"] is not None:
        d = _dt.datetime(*args, tzinfo=tz)
        if d.tzname() == f["zone"]:
            return d
        return _dt.datetime(*args, tzinfo=_dt.timezone(_dt.timedelta(0), f["zone"]))
    return _dt.datetime(*args, tzinfo=tz)


# jinzhu/now's formats, then eKuiper's JSISO and ISO8601
# fmt: off
AUTO_LAYOUTS = (
    "2006", "2006-1", "2006-1-2", "2006-1-2 15", "2006-1-2 15:4", "2006-1-2 15:4:5", "1-2", "15:4:5",
    "15:4", "15", "15:4:5 Jan 2, 2006 MST", "2006-01-02 15:04:05.999999999 -0700 MST",
    "2006-01-02T15:04:05Z07:00", "2006.1.2", "2006.1.2 15:04:05", "2006.01.02", "2006.01.02 15:04:05",
    "2006.01.02 15:04:05.999999999", "1/2/2006", "1/2/2006 15:4:5", "2006/01/02", "20060102",
    "2006/01/02 15:04:05", "Mon Jan _2 15:04:05 2006", "Mon Jan _2 15:04:05 MST 2006",
    "Mon Jan 02 15:04:05 -0700 2006", "02 Jan 06 15:04 MST", "02 Jan 06 15:04 -0700",
    "Monday, 02-Jan-06 15:04:05 MST", "Mon, 02 Jan 2006 15:04:05 MST",
    "Mon, 02 Jan 2006 15:04:05 -0700", "2006-01-02T15:04:05Z07:00",
    "2006-01-02T15:04:05.999999999Z07:00", "3:04PM", "Jan _2 15:04:05", "Jan _2 15:04:05.000",
    "Jan _2 15:04:05.000000", "Jan _2 15:04:05.000000000", "2006-01-02T15:04:05.000Z07:00",
    "2006-01-02T15:04:05",
)
# fmt: on
DEFAULT_LAYOUT = "2006-01-02T15:04:05.000Z07:00"

_HAS_TIME = re.compile(r"(\s+|^\s*)\d{1,2}((:\d{1,2})*|((:\d{1,2}){2}\.(\d{3}|\d{6}|\d{9})))\s*$")
_ONLY_TIME = re.compile(r"^\s*\d{1,2}((:\d{1,2})*|((:\d{1,2}){2}\.(\d{3}|\d{6}|\d{9})))\s*$")


def pad_fraction(s: str) -> str:
    """eKuiper pads a fraction of seconds to 3, 6 or 9 digits before parsing."""
    parts = s.split(".")
    if len(parts) != 2:
        return s
    m = re.match(r"\d*", parts[1])
    digits, suffix = m.group(0), parts[1][m.end() :]
    target = 3 if len(digits) <= 3 else 6 if len(digits) <= 6 else 9
    return parts[0] + "." + digits.ljust(target, "0")[:target] + suffix


def parse_time(
    s: str, pattern: str = "", tz: _dt.tzinfo | None = None, *, now: _dt.datetime | None = None
) -> _dt.datetime:
    """cast.ParseTime: the pattern first (if any), then the automatic layouts.

    Raises ValueError with eKuiper's message. Like jinzhu/now, a string holding only a
    time of day takes today's date, and a layout without a year takes the current year.
    """
    tz = tz or default_timezone()
    candidates = [java_pattern(pattern)] if pattern else []
    candidates.extend(go_layout(layout) for layout in AUTO_LAYOUTS)
    s = pad_fraction(s)
    only_time = bool(_HAS_TIME.search(s)) and bool(_ONLY_TIME.match(s))
    for tokens in candidates:
        try:
            f = parse_tokens(s, tokens, tz)
            if only_time or f["year"] == 0:
                today = now.astimezone(tz) if now is not None else _dt.datetime.now(tz)
                if only_time:
                    f["year"], f["month"], f["day"] = today.year, today.month, today.day
                else:
                    f["year"] = today.year
            return _build(f, tz)
        except (_Fail, ValueError, OverflowError):
            continue
    raise ValueError(f"Can't parse string as time: {s}")


def from_unix_milli(ms: int, tz: _dt.tzinfo | None = None) -> _dt.datetime:
    base = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
    return (base + _dt.timedelta(milliseconds=ms)).astimezone(tz or default_timezone())


def to_unix_milli(d: _dt.datetime) -> int:
    if d.tzinfo is None:
        d = d.replace(tzinfo=default_timezone())
    delta = d - _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def to_datetime(v: Any, pattern: str = "", tz: _dt.tzinfo | None = None) -> _dt.datetime:
    """cast.InterfaceToTime: datetimes pass, numbers are epoch ms, strings are parsed."""
    if isinstance(v, _dt.datetime):
        return v if v.tzinfo is not None else v.replace(tzinfo=tz or default_timezone())
    if is_number(v):
        return from_unix_milli(int(v), tz)
    if type(v) is str:
        return parse_time(v, pattern, tz)
    raise ValueError(f"unsupported type to convert to timestamp {format_value(v)}")


def value_to_unix_milli(v: Any, pattern: str = "") -> int:
    """cast.InterfaceToUnixMilli."""
    if is_number(v):
        return int(v)
    if isinstance(v, _dt.datetime):
        return to_unix_milli(v)
    if type(v) is str:
        return to_unix_milli(parse_time(v, pattern))
    raise ValueError(f"unsupported type to convert to timestamp {format_value(v)}")
