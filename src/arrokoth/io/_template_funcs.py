"""The functions of sink data templates (`arrokoth.io.templates`): the registry.

Go's `%v` printing and `printf`, the Go template builtins, eKuiper's `json`/`base64` and
the commonly used part of sprig. Each function is registered with the Go kinds of its
parameters, so the engine converts and checks arguments as Go's text/template does; a
function reports failure by raising `FuncError` (Go's error result or panic).

The values live in `_template_values`, printf in `_template_printf`, conversions and JSON
in `_template_convert`, the functions in `_template_builtins` and `_template_sprig`; this
module also re-exports what the template engine and the sinks take from it.
"""

from __future__ import annotations

import base64
import hashlib
import math
import uuid
import zlib
from collections.abc import Callable
from urllib.parse import quote_plus

from arrokoth.io._template_builtins import (
    _HTML,
    _eval_args,
    _lenient_json,
    f_b64dec,
    f_base64,
    f_from_json,
    f_index,
    f_js,
    f_len,
    f_slice,
    truth,
)
from arrokoth.io._template_convert import (
    _deep_equal,
    _seq,
    _strslice,
    empty,
    go_json,
    parse_go_float,
    parse_go_int,
    strval,
    to_float64,
    to_int64,
    wrap64,
)
from arrokoth.io._template_printf import go_sprintf
from arrokoth.io._template_sprig import (
    _ddiv,
    _decimal_op,
    _expand,
    _fminmax,
    _go_split,
    _int_div,
    _on_list,
    _per_rune,
    _regex,
    _rounded,
    _uniq,
    _until_step,
    f_concat,
    f_date_in_zone,
    f_date_modify,
    f_dict,
    f_dig,
    f_fail,
    f_mul,
    f_regex_match,
    f_regex_split,
    f_repeat,
    f_replace,
    f_round,
    f_seq,
    f_set,
    f_substr,
    f_title,
    f_to_date,
    f_trunc,
    f_unset,
)
from arrokoth.io._template_values import (
    MISSING,
    FuncError,
    _sorted_items,
    fmt_float,
    fmt_v,
    go_quote,
    go_sprint,
    go_type,
)

# what other modules take from here
__all__ = [
    "FUNCS",
    "MISSING",
    "PARAM_TYPES",
    "SPECIAL",
    "FuncError",
    "_sorted_items",
    "fmt_float",
    "fmt_v",
    "go_quote",
    "go_type",
    "parse_go_float",
    "parse_go_int",
    "truth",
]


# --- the registry ----------------------------------------------------------------------------------

#: Go parameter types by kind, for `wrong type for value; expected ...`
PARAM_TYPES = {
    "str": "string",
    "int": "int",
    "f64": "float64",
    "bool": "bool",
    "map": "map[string]interface {}",
    "time": "time.Time",
}
#: builtins the engine evaluates itself (short-circuit, comparisons with literal types)
SPECIAL = ("and", "or", "call", "eq", "ne", "lt", "le", "gt", "ge")

# name: (parameter kinds, kind of the variadic rest, implementation). Kinds: `any` is
# interface{}, `val` a reflect.Value (sees a missing value as such), `$now` the clock.
# fmt: off
_TABLE: dict[str, tuple[str, str | None, Callable]] = {
    # Go builtins
    "not": ("val", None, lambda v: not truth(v)),
    "len": ("val", None, f_len),
    "index": ("val", "val", f_index),
    "slice": ("any", "any", f_slice),
    "print": ("", "any", lambda *a: go_sprint(a)),
    "printf": ("str", "any", lambda fmt, *a: go_sprintf(fmt, a)),
    "println": ("", "any", lambda *a: " ".join(fmt_v(x) for x in a) + "\n"),
    "html": ("", "any", lambda *a: _eval_args(a).translate(_HTML)),
    "js": ("", "any", f_js),
    "urlquery": ("", "any", lambda *a: quote_plus(_eval_args(a), safe="-_.~")),
    # eKuiper
    "json": ("any", None, _lenient_json()),
    "base64": ("any", None, f_base64),
    # sprig: JSON, encodings, hashes
    "toJson": ("any", None, _lenient_json()),
    "toPrettyJson": ("any", None, _lenient_json(indent=True)),
    "toRawJson": ("any", None, _lenient_json(escape_html=False)),
    "mustToJson": ("any", None, go_json),
    "fromJson": ("str", None, f_from_json),
    "b64enc": ("str", None, lambda s: base64.b64encode(s.encode()).decode()),
    "b64dec": ("str", None, f_b64dec),
    "b32enc": ("str", None, lambda s: base64.b32encode(s.encode()).decode()),
    "sha256sum": ("str", None, lambda s: hashlib.sha256(s.encode()).hexdigest()),
    "sha1sum": ("str", None, lambda s: hashlib.sha1(s.encode()).hexdigest()),
    "adler32sum": ("str", None, lambda s: str(zlib.adler32(s.encode()))),
    "uuidv4": ("", None, lambda: str(uuid.uuid4())),
    # sprig: math on int64, float64 and decimals
    "add": ("", "any", lambda *vs: wrap64(sum(to_int64(v) for v in vs))),
    "add1": ("any", None, lambda v: wrap64(to_int64(v) + 1)),
    "sub": ("any any", None, lambda a, b: wrap64(to_int64(a) - to_int64(b))),
    "mul": ("any", "any", f_mul),
    "div": ("any any", None, lambda a, b: _int_div(to_int64(a), to_int64(b))),
    "mod": ("any any", None, lambda a, b: wrap64(to_int64(a) - to_int64(b) * _int_div(to_int64(a), to_int64(b)))),
    "max": ("any", "any", lambda a, *vs: max([to_int64(a), *map(to_int64, vs)])),
    "biggest": ("any", "any", lambda a, *vs: max([to_int64(a), *map(to_int64, vs)])),
    "min": ("any", "any", lambda a, *vs: min([to_int64(a), *map(to_int64, vs)])),
    "maxf": ("any", "any", _fminmax(lambda x, r: x > r)),
    "minf": ("any", "any", _fminmax(lambda x, r: x < r)),
    "floor": ("any", None, _rounded(math.floor)),
    "ceil": ("any", None, _rounded(math.ceil)),
    "round": ("any int", "f64", f_round),
    "addf": ("", "any", lambda *vs: _decimal_op(lambda x, y: x + y)(0.0, *vs)),
    "subf": ("any", "any", _decimal_op(lambda x, y: x - y)),
    "mulf": ("any", "any", _decimal_op(lambda x, y: x * y)),
    "divf": ("any", "any", _decimal_op(_ddiv)),
    "until": ("int", None, lambda n: _until_step(0, n, 1 if n >= 0 else -1)),
    "untilStep": ("int int int", None, _until_step),
    "seq": ("", "int", f_seq),
    # sprig: conversion and reflection
    "atoi": ("str", None, lambda s: parse_go_int(s, base0=False) or 0),
    "int": ("any", None, to_int64),
    "int64": ("any", None, to_int64),
    "float64": ("any", None, to_float64),
    "toString": ("any", None, strval),
    "typeOf": ("any", None, go_type),
    "deepEqual": ("any any", None, _deep_equal),
    # sprig: strings (the string argument comes last, so "x" | upper and .s | trimPrefix "a" read well)
    "upper": ("str", None, _per_rune(str.upper)),
    "lower": ("str", None, _per_rune(str.lower)),
    "title": ("str", None, f_title),
    "trim": ("str", None, str.strip),
    "trimAll": ("str str", None, lambda cut, s: s.strip(cut) if cut else s),
    "trimall": ("str str", None, lambda cut, s: s.strip(cut) if cut else s),
    "trimPrefix": ("str str", None, lambda p, s: s.removeprefix(p)),
    "trimSuffix": ("str str", None, lambda p, s: s.removesuffix(p)),
    "replace": ("str str str", None, f_replace),
    "contains": ("str str", None, lambda sub, s: sub in s),
    "hasPrefix": ("str str", None, lambda p, s: s.startswith(p)),
    "hasSuffix": ("str str", None, lambda p, s: s.endswith(p)),
    "repeat": ("int str", None, f_repeat),
    "substr": ("int int str", None, f_substr),
    "trunc": ("int str", None, f_trunc),
    "split": ("str str", None, lambda sep, s: {f"_{i}": p for i, p in enumerate(_go_split(s, sep))}),
    "splitList": ("str str", None, lambda sep, s: _go_split(s, sep)),
    "join": ("str any", None, lambda sep, v: sep.join(_strslice(v))),
    "quote": ("", "any", lambda *vs: " ".join(go_quote(strval(v)) for v in vs if v is not None)),
    "squote": ("", "any", lambda *vs: " ".join(f"'{fmt_v(v)}'" for v in vs if v is not None)),
    "cat": ("", "any", lambda *vs: " ".join(fmt_v(v) for v in vs if v is not None)),
    "indent": ("int str", None, lambda n, s: f_repeat(n, " ") + s.replace("\n", "\n" + f_repeat(n, " "))),
    "nindent": ("int str", None, lambda n, s: "\n" + f_repeat(n, " ") + s.replace("\n", "\n" + f_repeat(n, " "))),
    "plural": ("str str int", None, lambda one, many, n: one if n == 1 else many),
    "regexMatch": ("str str", None, f_regex_match),
    "regexFind": ("str str", None, lambda e, s: m.group(0) if (m := _regex(e).search(s)) else ""),
    "regexFindAll": ("str str int", None, lambda e, s, n: [m.group(0) for m in _regex(e).finditer(s)][: n if n >= 0 else None]),
    "regexReplaceAll": ("str str str", None, lambda e, s, r: _regex(e).sub(lambda m: _expand(m, r), s)),
    "regexReplaceAllLiteral": ("str str str", None, lambda e, s, r: _regex(e).sub(lambda m: r, s)),
    "regexSplit": ("str str int", None, f_regex_split),
    # sprig: defaults and flow control
    "default": ("any", "any", lambda d, *given: d if not given or empty(given[0]) else given[0]),
    "empty": ("any", None, empty),
    "coalesce": ("", "any", lambda *vs: next((v for v in vs if not empty(v)), None)),
    "all": ("", "any", lambda *vs: all(not empty(v) for v in vs)),
    "any": ("", "any", lambda *vs: any(not empty(v) for v in vs)),
    "ternary": ("any any bool", None, lambda a, b, cond: a if cond else b),
    "fail": ("str", None, f_fail),
    # sprig: dicts (a nil map arrives as None)
    "dict": ("", "any", f_dict),
    "get": ("map str", None, lambda d, k: d[k] if d is not None and k in d else ""),
    "set": ("map str any", None, f_set),
    "unset": ("map str", None, f_unset),
    "hasKey": ("map str", None, lambda d, k: d is not None and k in d),
    "keys": ("", "map", lambda *ds: [k for d in ds if d for k in d]),
    "values": ("map", None, lambda d: list(d.values()) if d else []),
    "pick": ("map", "str", lambda d, *ks: {k: d[k] for k in ks if d and k in d}),
    "omit": ("map", "str", lambda d, *ks: {k: v for k, v in (d or {}).items() if k not in ks}),
    "pluck": ("str", "map", lambda key, *ds: [d[key] for d in ds if d and key in d]),
    "dig": ("", "any", f_dig),
    # sprig: lists
    "list": ("", "any", lambda *vs: list(vs)),
    "tuple": ("", "any", lambda *vs: list(vs)),
    "first": ("any", None, _on_list("find first", lambda s: s[0] if s else None)),
    "last": ("any", None, _on_list("find last", lambda s: s[-1] if s else None)),
    "rest": ("any", None, _on_list("find rest", lambda s: s[1:])),
    "initial": ("any", None, _on_list("find initial", lambda s: s[:-1])),
    "append": ("any any", None, _on_list("push", lambda s, x: [*s, x])),
    "push": ("any any", None, _on_list("push", lambda s, x: [*s, x])),
    "prepend": ("any any", None, _on_list("prepend", lambda s, x: [x, *s])),
    "reverse": ("any", None, _on_list("find reverse", lambda s: s[::-1])),
    "compact": ("any", None, _on_list("compact", lambda s: [x for x in s if not empty(x)])),
    "uniq": ("any", None, _on_list("find uniq", _uniq)),
    "has": ("any any", None, lambda needle, v: any(_deep_equal(needle, x) for x in _seq(v, "find has"))),
    "without": ("any", "any", _on_list("find without", lambda s, *o: [x for x in s if not any(_deep_equal(x, y) for y in o)])),
    "concat": ("", "any", f_concat),
    "sortAlpha": ("any", None, lambda v: sorted(_strslice(v)) if isinstance(v, list | tuple) else [strval(v)]),
    # sprig: dates
    "now": ("$now", None, lambda now: now()),
    "date": ("$now str any", None, lambda now, layout, d: f_date_in_zone(now, layout, d, "Local")),
    "dateInZone": ("$now str any str", None, f_date_in_zone),
    "date_in_zone": ("$now str any str", None, f_date_in_zone),
    "htmlDate": ("$now any", None, lambda now, d: f_date_in_zone(now, "2006-01-02", d, "Local")),
    "htmlDateInZone": ("$now any str", None, lambda now, d, z: f_date_in_zone(now, "2006-01-02", d, z)),
    "toDate": ("str str", None, f_to_date),
    "unixEpoch": ("time", None, lambda t: str(math.floor(t.timestamp()))),
    "dateModify": ("str time", None, f_date_modify),
    "date_modify": ("str time", None, f_date_modify),
}
# fmt: on

#: name -> (implementation, parameter kinds, kind of the variadic rest or None)
FUNCS: dict[str, tuple[Callable, tuple[str, ...], str | None]] = {
    name: (impl, tuple(params.split()), var) for name, (params, var, impl) in _TABLE.items()
}
for _name in SPECIAL:
    FUNCS[_name] = (lambda *a: None, (), "val")  # placeholders: the engine compiles these itself
