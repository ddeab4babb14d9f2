"""Go's fmt.Sprintf for sink data templates' `printf`, with Go's `%!verb(...)` error forms."""

from __future__ import annotations

import datetime as _dt
import functools
import math
from typing import Any

from arrokoth.io._template_values import _sorted_items, fmt_float, fmt_v, go_quote, go_type, time_string

# --- printf ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _parse_format(fmt: str) -> tuple:
    """A printf format as literal strings and (flags, width, precision, verb) tuples."""
    parts: list = []
    i, n = 0, len(fmt)
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            parts.append(fmt[i:])
            break
        if j > i:
            parts.append(fmt[i:j])
        i = j + 1
        flags = ""
        while i < n and fmt[i] in "+-# 0":
            flags += fmt[i]
            i += 1
        width: int | str | None = None
        prec: int | str | None = None
        if i < n and fmt[i] == "*":
            width, i = "*", i + 1
        else:
            s = i
            while i < n and "0" <= fmt[i] <= "9":
                i += 1
            width = int(fmt[s:i]) if i > s else None
        if i < n and fmt[i] == ".":
            i += 1
            if i < n and fmt[i] == "*":
                prec, i = "*", i + 1
            else:
                s = i
                while i < n and "0" <= fmt[i] <= "9":
                    i += 1
                prec = int(fmt[s:i]) if i > s else 0
        if i >= n:
            parts.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        parts.append("%" if verb == "%" else (flags, width, prec, verb))
    return tuple(parts)


def _bad_verb(v: Any, verb: str) -> str:
    if v is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(v)}={fmt_v(v)})"


def _sign(s: str, v: float | int, flags: str) -> str:
    if v >= 0 and not s.startswith("-"):
        if "+" in flags:
            return "+" + s
        if " " in flags:
            return " " + s
    return s


def _fmt_int(v: int, flags: str, prec: int | None, verb: str) -> str:
    if verb in "dv":
        s = str(abs(v))
    elif verb in "bBoOxX":
        s = format(abs(v), {"O": "o", "B": "b"}.get(verb, verb))
        if "#" in flags or verb == "O":
            s = {"b": "0b", "o": "0", "O": "0o", "x": "0x", "X": "0X"}.get(verb, "") + s
    elif verb == "c":
        return chr(v) if 0 <= v <= 0x10FFFF else "\ufffd"
    elif verb == "q":
        return go_quote(chr(v) if 0 <= v <= 0x10FFFF else "\ufffd", "'")
    elif verb == "U":
        return f"U+{v:04X}"
    else:
        return _bad_verb(v, verb)
    if prec is not None and verb in "dv":
        s = s.rjust(prec, "0")
    return _sign(("-" if v < 0 else "") + s, v, flags)


def _fmt_floatv(v: float, flags: str, prec: int | None, verb: str) -> str:
    if v != v or v in (math.inf, -math.inf):
        return "NaN" if v != v else ("+Inf" if v > 0 else "-Inf")
    if verb in "vgG" and prec is None:
        s = fmt_float(v)
        s = s.upper() if verb == "G" else s
    elif verb in "eEfFgG":
        s = format(v, f".{6 if prec is None else prec}{verb.lower() if verb == 'F' else verb}")
    elif verb in "xX":
        m, _, e = v.hex().partition("p")
        m = m.rstrip("0").rstrip(".") if "." in m else m
        s = f"{m}p{int(e):+03d}"
        s = s.upper() if verb == "X" else s
    else:
        return _bad_verb(v, verb)
    return _sign(s, v, flags)


def _fmt_one(v: Any, flags: str, prec: int | None, verb: str) -> str:
    t = type(v)
    if verb == "T":
        return go_type(v)
    if t is str or isinstance(v, bytes | bytearray):
        if t is not str and verb == "v":
            return fmt_v(v)
        s = v if t is str else bytes(v).decode("utf-8", "replace")
        if verb in "sv":
            return s if prec is None else s[:prec]
        if verb == "q":
            return go_quote(s if prec is None else s[:prec])
        if verb in "xX":
            b = s.encode()[: prec if prec is not None else None]
            sep = " " if " " in flags else ""
            h = sep.join(f"{c:02x}" for c in b)
            return h.upper() if verb == "X" else h
        return _bad_verb(v, verb)
    if t is bool:
        return ("true" if v else "false") if verb in "tv" else _bad_verb(v, verb)
    if t is int:
        return _fmt_int(v, flags, prec, verb)
    if t is float:
        return _fmt_floatv(v, flags, prec, verb)
    if v is None:
        return "<nil>" if verb == "v" else _bad_verb(v, verb)
    if isinstance(v, dict):
        items = " ".join(
            f"{_fmt_one(k, flags, prec, verb)}:{_fmt_one(x, flags, prec, verb)}" for k, x in _sorted_items(v)
        )
        return f"map[{items}]"
    if isinstance(v, list | tuple):
        return "[" + " ".join(_fmt_one(x, flags, prec, verb) for x in v) + "]"
    if isinstance(v, _dt.datetime) and verb in "vs":
        return time_string(v)
    return fmt_v(v) if verb == "v" else _bad_verb(v, verb)


def _pad(s: str, width: int | None, flags: str, numeric: bool) -> str:
    if width is None or len(s) >= width:
        return s
    if "-" in flags:
        return s.ljust(width)
    if "0" in flags and numeric:
        if s[:1] in "+- ":
            return s[0] + s[1:].rjust(width - 1, "0")
        return s.rjust(width, "0")
    return s.rjust(width)


def go_sprintf(fmt: str, args: list | tuple) -> str:
    """fmt.Sprintf for the verbs used in practice, with Go's `%!verb(...)` error forms."""
    out = []
    n = 0
    for part in _parse_format(fmt):
        if type(part) is str:
            out.append(part)
            continue
        flags, width, prec, verb = part
        if width == "*":
            width = args[n] if n < len(args) and type(args[n]) is int else None
            n += 1
            if width is None:
                out.append("%!(BADWIDTH)")
            elif width < 0:
                flags, width = flags + "-", -width
        if prec == "*":
            prec = args[n] if n < len(args) and type(args[n]) is int else None
            n += 1
            if prec is None:
                out.append("%!(BADPREC)")
        if n >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        v = args[n]
        n += 1
        numeric = type(v) in (int, float) and verb not in "cqUT"
        out.append(_pad(_fmt_one(v, flags, prec, verb), width, flags, numeric))
    if n < len(args):
        extra = ", ".join("<nil>" if a is None else f"{go_type(a)}={fmt_v(a)}" for a in args[n:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
