"""String functions (spec section 10.5).

Several of them are not nil→nil in eKuiper: length(null) = 0, endswith/startswith null give
false, indexof null gives -1, concat skips nulls and regexp_matches null gives false.
Non-string arguments are converted with Go's `%v` (cast.ToStringAlways).
"""

from __future__ import annotations

import functools
import re

from arrokoth.functions.registry import FunctionError, registry
from arrokoth.functions.values import (
    arg_type_error,
    int_literal_value,
    is_bool_arg,
    is_float_arg,
    is_numeric_arg,
    is_string_arg,
    to_float_samekind,
    to_int_strict,
    to_string_always,
)

_str = to_string_always


def string_args(*indexes: int):
    """ValidateOneStrArg & co: a number or boolean literal where a string belongs."""

    def validate(args: list) -> None:
        for i in indexes:
            if i < len(args) and (is_numeric_arg(args[i]) or is_bool_arg(args[i])):
                raise arg_type_error(i, "string")

    return validate


def _not_int(node) -> bool:
    return is_float_arg(node) or is_string_arg(node) or is_bool_arg(node)


def _int(v) -> int:
    try:
        return to_int_strict(v)
    except ValueError as e:
        raise FunctionError(str(e)) from None


# --- Go regexp → Python re ------------------------------------------------------------

_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_POSIX = re.compile(r"\[:(\^?)([a-z]+):\]")


def _translate(pattern: str) -> str:
    """Rewrite the RE2 constructs Python spells differently."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    multiline = "(?m" in pattern or "(?sm" in pattern or "(?im" in pattern
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Q":  # \Q...\E quotes a literal run
                end = pattern.find("\\E", i + 2)
                end = n if end < 0 else end
                out.append(re.escape(pattern[i + 2 : end]))
                i = end + 2
                continue
            out.append("\\Z" if nxt == "z" else c + nxt)
            i += 2
            continue
        if in_class:
            m = _POSIX.match(pattern, i)
            if m and m.group(2) in _POSIX_CLASSES and not m.group(1):
                out.append(_POSIX_CLASSES[m.group(2)])
                i = m.end()
                continue
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
            out.append(c)
            i += 1
            # a leading ] or ^] is a literal inside the class
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            if pattern.startswith("]", i):
                out.append("\\]")
                i += 1
            continue
        elif c == "(" and pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        elif c == "$" and not multiline:
            out.append("\\Z")  # Go's $ does not match before a final newline
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=512)
def compile_go_regex(pattern: str) -> re.Pattern:
    try:
        return re.compile(_translate(pattern))
    except re.error as e:
        raise FunctionError(f"error parsing regexp: {e}: `{pattern}`") from None


def expand_template(template: str, m: re.Match) -> str:
    """Go Regexp.Expand: $1, ${1}, $name, ${name}; $$ is a literal $."""
    out: list[str] = []
    i, n = 0, len(template)
    while i < n:
        c = template[i]
        if c != "$":
            out.append(c)
            i += 1
            continue
        i += 1
        if i < n and template[i] == "$":
            out.append("$")
            i += 1
            continue
        if i < n and template[i] == "{":
            end = template.find("}", i)
            name = template[i + 1 : end] if end > 0 else ""
            ok = bool(name) and re.fullmatch(r"\w+", name, re.ASCII) is not None
            nxt = end + 1
        else:
            mm = re.compile(r"\w+", re.ASCII).match(template, i)
            name = mm.group(0) if mm else ""
            ok = bool(name)
            nxt = mm.end() if mm else i
        if not ok:
            out.append("$")  # malformed: Go copies the $ as text
            continue
        i = nxt
        if name.isdigit():
            idx = int(name)
            if idx <= m.re.groups:
                out.append(m.group(idx) or "")
        elif name in m.re.groupindex:
            out.append(m.group(name) or "")
    return "".join(out)


# --- functions ----------------------------------------------------------------------------


def _validate_concat(args: list) -> None:
    if not args:
        raise FunctionError("The arguments should be at least one.")
    string_args(*range(len(args)))(args)


@registry.function("concat", args=(1, None), validate=_validate_concat)
def fn_concat(*args):
    """Strings concatenated (nulls skipped); arrays are concatenated as arrays."""
    present = [a for a in args if a is not None]
    if present and all(type(a) is list for a in present):
        out: list = []
        for a in present:
            out.extend(a)
        return out
    return "".join(_str(a) for a in present)


@registry.function("endswith", args=2, validate=string_args(0, 1))
def fn_endswith(s, suffix):
    if s is None or suffix is None:
        return False
    return _str(s).endswith(_str(suffix))


@registry.function("startswith", args=2, validate=string_args(0, 1))
def fn_startswith(s, prefix):
    if s is None or prefix is None:
        return False
    return _str(s).startswith(_str(prefix))


@registry.function("indexof", args=2, validate=string_args(0, 1))
def fn_indexof(s, sub):
    """0-based byte offset (Go strings.Index), -1 when absent or null."""
    if s is None or sub is None:
        return -1
    return _str(s).encode().find(_str(sub).encode())


@registry.function("length", args=1)
def fn_length(s):
    t = type(s)
    if t is list or t is dict:
        return len(s)
    return len(_str(s))


@registry.function("numbytes", args=1, validate=string_args(0))
def fn_numbytes(s):
    return len(_str(s).encode())


@registry.function("lower", args=1, null_in_null_out=True, validate=string_args(0))
def fn_lower(s):
    return _str(s).lower()


@registry.function("upper", args=1, null_in_null_out=True, validate=string_args(0))
def fn_upper(s):
    return _str(s).upper()


@registry.function("trim", args=1, null_in_null_out=True, validate=string_args(0))
def fn_trim(s):
    return _str(s).strip()


@registry.function("ltrim", args=1, null_in_null_out=True, validate=string_args(0))
def fn_ltrim(s):
    return _str(s).lstrip()


@registry.function("rtrim", args=1, null_in_null_out=True, validate=string_args(0))
def fn_rtrim(s):
    return _str(s).rstrip()


@registry.function("reverse", args=1, null_in_null_out=True, validate=string_args(0))
def fn_reverse(s):
    return _str(s)[::-1]


def _validate_pad(args: list) -> None:
    string_args(0)(args)
    if len(args) > 1 and _not_int(args[1]):
        raise arg_type_error(1, "int")


def _spaces(n) -> str:
    count = _int(n)
    if count < 0:
        raise FunctionError("strings: negative Repeat count")
    return " " * count


@registry.function("lpad", args=2, null_in_null_out=True, validate=_validate_pad)
def fn_lpad(s, n):
    """Prepends n spaces (not: pads to width n)."""
    return _spaces(n) + _str(s)


@registry.function("rpad", args=2, null_in_null_out=True, validate=_validate_pad)
def fn_rpad(s, n):
    return _str(s) + _spaces(n)


def _validate_substring(args: list) -> None:
    if len(args) not in (2, 3):
        raise FunctionError("the arguments for substring should be 2 or 3")
    string_args(0)(args)
    for i in range(1, len(args)):
        if _not_int(args[i]):
            raise arg_type_error(i, "int")
    start = int_literal_value(args[1])
    if start is not None:
        if start < 0:
            raise FunctionError("The start index should not be a nagtive integer.")
        end = int_literal_value(args[2]) if len(args) == 3 else None
        if end is not None and end < start:
            raise FunctionError("The end index should be larger than start index.")


@registry.function("substring", args=(2, 3), null_in_null_out=True, validate=_validate_substring)
def fn_substring(s, start, end=None):
    """0-based, start inclusive, end exclusive; indexes past the end are clamped."""
    text = _str(s)
    b = _int(start)
    if b < 0:
        raise FunctionError("start index must be a positive number")
    if end is None:
        return text[b:] if b <= len(text) else ""
    e = _int(end)
    if e < 0:
        raise FunctionError("end index must be a positive number")
    if b > e:
        raise FunctionError("start index must be smaller than end index")
    return text[b:e] if b <= len(text) else ""


def _validate_split(args: list) -> None:
    if len(args) != 3:
        raise FunctionError("the arguments for split_value should be 3")
    string_args(0, 1)(args)
    if _not_int(args[2]):
        raise arg_type_error(2, "int")
    index = int_literal_value(args[2])
    if index is not None and index < 0:
        raise FunctionError("The index should not be a nagtive integer.")


@registry.function("split_value", args=3, null_in_null_out=True, validate=_validate_split)
def fn_split_value(s, sep, index):
    """The index-th part of s split by sep; a leading separator gives "" at index 0."""
    text, separator = _str(s), _str(sep)
    parts = text.split(separator) if separator else list(text)
    try:
        i = to_int_strict(index)
    except ValueError:
        i = 0
    if i > len(parts) - 1 or i < 0:
        raise FunctionError(f"{i} out of index array (size = {len(parts)})")
    return parts[i]


@registry.function("regexp_matches", args=2, validate=string_args(0, 1))
def fn_regexp_matches(s, pattern):
    """True when the regular expression matches anywhere in s; null gives false."""
    if s is None or pattern is None:
        return False
    return compile_go_regex(_str(pattern)).search(_str(s)) is not None


@registry.function("regexp_replace", args=3, null_in_null_out=True, validate=string_args(0, 1, 2))
def fn_regexp_replace(s, pattern, repl):
    template = _str(repl)
    return compile_go_regex(_str(pattern)).sub(lambda m: expand_template(template, m), _str(s))


@registry.function("regexp_substr", args=2, null_in_null_out=True, validate=string_args(0, 1))
def fn_regexp_substr(s, pattern):
    """The first match, or null when nothing matches."""
    m = compile_go_regex(_str(pattern)).search(_str(s))
    return m.group(0) if m else None


def _group_thousands(digits: str) -> str:
    head = len(digits) % 3 or 3
    groups = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return ",".join(groups)


def _validate_format(args: list) -> None:
    if args and (is_string_arg(args[0]) or is_bool_arg(args[0])):
        raise arg_type_error(0, "number - float or int")
    if len(args) > 1 and _not_int(args[1]):
        raise arg_type_error(1, "int")
    string_args(2)(args)


@registry.function("format", args=(2, 3), null_in_null_out=True, validate=_validate_format)
def fn_format(x, d, locale="en_US"):
    """Thousands separators and d decimals: format(12332.1234567, 4, "en_US") = "12,332.1235"."""
    if type(x) is str:
        try:
            value = float(x)
        except ValueError:
            raise FunctionError(f"cannot convert string({x}) to float64") from None
    else:
        try:
            value = to_float_samekind(x)
        except ValueError as e:
            raise FunctionError(str(e)) from None
    decimals = max(_int(d), 0)
    if _str(locale) != "en_US":
        if _str(locale) == "zh_CN":
            raise FunctionError("not implemented")
        raise FunctionError("not support for the specific locale")
    text = f"{value:.{decimals}f}"
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    if not whole.isdigit():  # inf or nan: eKuiper prints a zero
        return "0" + ("." + "0" * decimals if decimals else "")
    return sign + _group_thousands(whole) + ("." + frac if frac else "")


def _validate_chr(args: list) -> None:
    if args and (is_float_arg(args[0]) or is_bool_arg(args[0])):
        raise arg_type_error(0, "int")


@registry.function("chr", args=1, null_in_null_out=True, validate=_validate_chr)
def fn_chr(x):
    """An int passes through as the character code; a string gives its first code point."""
    t = type(x)
    if t is int:
        return x
    if t is float:
        return int(x)
    if t is str:
        if not x:
            raise FunctionError("Parameter length cannot be empty.")
        return ord(x[0])
    raise FunctionError("Only bigint, float and string type can be convert to char type.")
