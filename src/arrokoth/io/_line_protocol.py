"""InfluxDB line protocol: one point per line, `measurement,tag=v field=1i,other="x" 1700000000000`.

Escaping follows InfluxDB 1.x's parser: the measurement escapes commas and spaces; tag keys,
tag values and field keys escape commas, equals signs and spaces (field keys also double
quotes, as the Go client does); string field values escape double quotes and backslashes.
A newline cannot be escaped outside a string field value, so there it becomes the two
characters `\\n` rather than ending the line early.

Field values are typed as eKuiper's InfluxDB client types them: an int gets the `i` suffix,
a float is written in plain decimals, a bool as true/false, a string quoted, and anything
else (objects, arrays, times) as a quoted string of Go's `%v` form. A null, NaN or infinite
field is left out: InfluxDB cannot store it, and writing it would fail the whole request.
"""

from __future__ import annotations

import base64
import math
from decimal import Decimal
from typing import Any

#: nanoseconds per unit of each `precision` the /write endpoint takes
PRECISIONS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}

_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n"})
_TAG = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n"})
_FIELD_KEY = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", '"': r"\"", "\n": r"\n"})
_STRING = str.maketrans({"\\": "\\\\", '"': r"\""})


def escape_measurement(name: str) -> str:
    return name.translate(_MEASUREMENT)


def escape_tag(text: str) -> str:
    """A tag key or a tag value."""
    return text.translate(_TAG)


def escape_field_key(key: str) -> str:
    return key.translate(_FIELD_KEY)


def format_float(f: float) -> str:
    """Go's strconv.FormatFloat(f, 'f', -1, 64): the shortest digits, never an exponent."""
    r = repr(f)
    if "e" in r:
        r = format(Decimal(r), "f")
    elif r.endswith(".0"):
        r = r[:-2]
    return r


def field_value(v: Any) -> str | None:
    """The line-protocol spelling of a field value, or None when it cannot be written."""
    t = type(v)
    if t is str:
        return '"' + v.translate(_STRING) + '"'
    if t is float:
        if math.isnan(v) or math.isinf(v):
            return None
        return format_float(v)
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return f"{v}i"
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{int(v)}i"
    if isinstance(v, float):
        return field_value(float(v))
    if isinstance(v, bytes | bytearray):
        # the JSON form of bytes in eKuiper
        text = base64.b64encode(bytes(v)).decode()
    else:
        from arrokoth.io._template_funcs import fmt_v  # rare, and slow to import

        text = fmt_v(v)
    return '"' + text.translate(_STRING) + '"'


def encode_fields(fields: dict[str, Any]) -> str:
    """`k=v,k2=v2` of the writable fields; empty when none is."""
    parts = []
    for k, v in fields.items():
        if not k:
            continue  # a field needs a name; InfluxDB would reject the whole request
        text = field_value(v)
        if text is not None:
            parts.append(f"{escape_field_key(k)}={text}")
    return ",".join(parts)


def encode_line(measurement: str, tags: dict[str, str], fields: dict[str, Any], timestamp: int | None) -> str | None:
    """One point, or None when it has no field that can be written.

    `measurement` and the tags are escaped here; tags with an empty key or value are left
    out (InfluxDB rejects them), the rest are sorted by key as InfluxDB stores them.
    """
    field_text = encode_fields(fields)
    if not field_text:
        return None
    head = escape_measurement(measurement)
    if tags:
        head += "".join(
            f",{escape_tag(k)}={escape_tag(v)}" for k, v in sorted(tags.items()) if k and v
        )
    if timestamp is None:
        return f"{head} {field_text}"
    return f"{head} {field_text} {timestamp}"
