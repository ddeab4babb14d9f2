"""JSON path functions (spec section 10.8) and a small Goessner JsonPath evaluator.

eKuiper evaluates paths with PaesslerAG/jsonpath, so this follows its rules: a definite path
(only keys and indexes) yields the value itself and fails on a missing key; a path with a
wildcard, a recursive descent, a union, a slice or a filter yields the list of matches.
Supported: ``$``, ``.key``, ``..key``, ``*``, ``[n]`` (negative from the end),
``["key"]``/``['key']``/``[key]``, ``[a,b]``, ``[start:end:step]`` and filters
``[? @.age>30]`` / ``[?(@.age>30 && @.name=="x")]`` with == != < <= > >= =~ && || ! + - * / %.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from arrokoth.functions import jsonvalue
from arrokoth.functions.registry import FunctionError, registry
from arrokoth.functions.string import compile_go_regex
from arrokoth.functions.values import arg_type_error, format_value, is_bool_arg, is_numeric_arg, is_string_arg


class JsonPathError(ValueError):
    pass


_MISSING = object()


# --- selectors: each maps one node to a list of (value) matches --------------------------


def _children(node: Any) -> list:
    if type(node) is dict:
        return [node[k] for k in sorted(node)]
    if type(node) is list:
        return list(node)
    return []


class Key:
    definite = True

    def __init__(self, name: str) -> None:
        self.name = name

    def select(self, node: Any, strict: bool) -> list:
        if type(node) is dict and self.name in node:
            return [node[self.name]]
        if strict:
            raise JsonPathError(f"unknown key {self.name}")
        return []


class Index:
    definite = True

    def __init__(self, index: int) -> None:
        self.index = index

    def select(self, node: Any, strict: bool) -> list:
        if type(node) is list:
            i = self.index + len(node) if self.index < 0 else self.index
            if 0 <= i < len(node):
                return [node[i]]
            if strict:
                raise JsonPathError(f"index {self.index} out of bounds")
            return []
        if strict:
            raise JsonPathError(f"unsupported value type {format_value(node)} for index {self.index}")
        return []


class Wildcard:
    definite = False

    def select(self, node: Any, strict: bool) -> list:
        return _children(node)


class Slice:
    definite = False

    def __init__(self, start: int | None, end: int | None, step: int | None) -> None:
        self.bounds = slice(start, end, step)

    def select(self, node: Any, strict: bool) -> list:
        return node[self.bounds] if type(node) is list else []


class Union:
    definite = False

    def __init__(self, parts: list) -> None:
        self.parts = parts

    def select(self, node: Any, strict: bool) -> list:
        out: list = []
        for p in self.parts:
            out.extend(p.select(node, False))
        return out


class Recursive:
    definite = False

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def select(self, node: Any, strict: bool) -> list:
        out: list = []
        stack = [node]
        while stack:
            n = stack.pop()
            out.extend(self.inner.select(n, False))
            stack.extend(reversed(_children(n)))
        return out


class Filter:
    definite = False

    def __init__(self, expr: Any) -> None:
        self.expr = expr

    def select(self, node: Any, strict: bool) -> list:
        return [c for c in _children(node) if _truthy(self.expr(c))]


# --- filter expressions -------------------------------------------------------------------


def _truthy(v: Any) -> bool:
    if v is _MISSING or v is None:
        return False
    if type(v) is bool:
        return v
    if _num(v):
        return v != 0
    if type(v) in (str, list, dict):
        return len(v) > 0
    return True


def _num(v: Any) -> bool:
    return type(v) is int or type(v) is float


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return op == "!="
    if op == "=~":
        return type(a) is str and type(b) is str and compile_go_regex(b).search(a) is not None
    if _num(a) and _num(b) or type(a) is type(b) and type(a) in (str, bool):
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if type(a) is bool:
            return False
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    if op in ("==", "!="):
        same = a is None and b is None or a == b and type(a) is type(b)
        return same if op == "==" else not same
    return False


def _arith(op: str, a: Any, b: Any) -> Any:
    if op == "+" and type(a) is str and type(b) is str:
        return a + b
    if not (_num(a) and _num(b)):
        return _MISSING
    try:
        return {"+": a + b, "-": a - b, "*": a * b}[op] if op in "+-*" else (a / b if op == "/" else a % b)
    except ZeroDivisionError:
        return _MISSING


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<str>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"
    r"|(?P<op>==|!=|<=|>=|=~|&&|\|\||[<>!+\-*/%()\[\].,:?@$])|(?P<name>[A-Za-z_][\w-]*))"
)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, msg: str = "") -> JsonPathError:
        return JsonPathError(msg or f"unexpected token at position {self.pos} in {self.text!r}")

    def peek_char(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def token(self, consume: bool = True) -> tuple[str, str] | None:
        m = _TOKEN.match(self.text, self.pos)
        if not m or m.end() == m.start():
            return None
        kind = m.lastgroup
        if consume:
            self.pos = m.end()
        return kind, m.group(kind)

    def expect(self, op: str) -> None:
        tok = self.token()
        if tok != ("op", op):
            raise self.error()

    # path := '$' segment* ; segments are shared with @-relative paths
    def path(self) -> list:
        if self.text[self.pos : self.pos + 1] != "$":
            raise self.error("a json path must start with $")
        self.pos += 1
        return self.segments()

    def segments(self) -> list:
        segs: list = []
        while True:
            c = self.peek_char()
            if self.text.startswith("..", self.pos):
                self.pos += 2
                if self.peek_char() == "[":
                    segs.append(Recursive(self.bracket()))
                else:
                    segs.append(Recursive(self.dot_name()))
            elif c == ".":
                self.pos += 1
                segs.append(self.dot_name())
            elif c == "[":
                segs.append(self.bracket())
            else:
                return segs

    def dot_name(self) -> Any:
        if self.peek_char() == "*":
            self.pos += 1
            return Wildcard()
        m = re.compile(r"[^.\[\]\s()=!<>&|+*/%,]+").match(self.text, self.pos)
        if not m:
            raise self.error()
        self.pos = m.end()
        return Key(m.group(0))

    def bracket(self) -> Any:
        self.pos += 1  # [
        rest = self.text[self.pos :].lstrip()
        if rest.startswith("?"):
            self.pos = self.text.index("?", self.pos) + 1
            expr = self.expr()
            self.expect("]")
            return Filter(expr)
        if rest.startswith("*"):
            self.pos = self.text.index("*", self.pos) + 1
            self.expect("]")
            return Wildcard()
        parts: list = []
        while True:
            parts.append(self.bracket_item())
            tok = self.token()
            if tok == ("op", "]"):
                break
            if tok != ("op", ","):
                raise self.error()
        return parts[0] if len(parts) == 1 else Union(parts)

    def bracket_item(self) -> Any:
        m = re.compile(r"\s*(-?\d*)\s*:\s*(-?\d*)\s*(?::\s*(-?\d*))?\s*(?=[\],])").match(self.text, self.pos)
        if m:
            self.pos = m.end()
            start, end, step = (int(g) if g else None for g in m.groups())
            return Slice(start, end, step)
        tok = self.token()
        if tok is None:
            raise self.error()
        kind, text = tok
        if kind == "op" and text == "-":
            kind2, num = self.token() or ("", "")
            if kind2 != "num":
                raise self.error()
            return Index(-int(num))
        if kind == "num":
            return Index(int(float(text)))
        if kind == "str":
            return Key(_unquote(text))
        if kind == "name":
            return Key(text)
        raise self.error()

    # expression grammar: or > and > not > comparison > additive > multiplicative > unary
    def expr(self):
        left = self.and_expr()
        while self.token(False) == ("op", "||"):
            self.token()
            right = self.and_expr()
            left = (lambda a, b: lambda n: _truthy(a(n)) or _truthy(b(n)))(left, right)
        return left

    def and_expr(self):
        left = self.not_expr()
        while self.token(False) == ("op", "&&"):
            self.token()
            right = self.not_expr()
            left = (lambda a, b: lambda n: _truthy(a(n)) and _truthy(b(n)))(left, right)
        return left

    def not_expr(self):
        if self.token(False) == ("op", "!"):
            self.token()
            inner = self.not_expr()
            return lambda n: not _truthy(inner(n))
        return self.comparison()

    def comparison(self):
        left = self.additive()
        tok = self.token(False)
        if tok and tok[0] == "op" and tok[1] in ("==", "!=", "<", "<=", ">", ">=", "=~"):
            self.token()
            right = self.additive()
            op = tok[1]
            return lambda n: _compare(op, left(n), right(n))
        return left

    def additive(self):
        left = self.multiplicative()
        while (tok := self.token(False)) and tok[0] == "op" and tok[1] in "+-":
            self.token()
            right = self.multiplicative()
            left = (lambda a, b, op: lambda n: _arith(op, a(n), b(n)))(left, right, tok[1])
        return left

    def multiplicative(self):
        left = self.unary()
        while (tok := self.token(False)) and tok[0] == "op" and tok[1] in ("*", "/", "%"):
            self.token()
            right = self.unary()
            left = (lambda a, b, op: lambda n: _arith(op, a(n), b(n)))(left, right, tok[1])
        return left

    def unary(self):
        if self.token(False) == ("op", "-"):
            self.token()
            inner = self.unary()
            return lambda n: _arith("-", 0, inner(n))
        return self.primary()

    def primary(self):
        tok = self.token()
        if tok is None:
            raise self.error()
        kind, text = tok
        if kind == "num":
            value: Any = float(text) if any(c in text for c in ".eE") else int(text)
            return lambda n: value
        if kind == "str":
            s = _unquote(text)
            return lambda n: s
        if kind == "name":
            consts = {"true": True, "false": False, "null": None, "nil": None}
            if text in consts:
                c = consts[text]
                return lambda n: c
            raise self.error(f"unknown identifier {text}")
        if text == "(":
            inner = self.expr()
            self.expect(")")
            return inner
        if text in ("@", "$"):
            segs = self.segments()
            relative = text == "@"
            return lambda n, root=None: _lenient(n if relative else _ROOT[-1], segs)
        raise self.error()


_ROOT: list = [None]  # the document a filter's `$` refers to, set per evaluation


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _lenient(node: Any, segs: list) -> Any:
    """Value of a path inside a filter: a missing part makes the operand undefined."""
    nodes = [node]
    for seg in segs:
        nodes = [r for n in nodes for r in seg.select(n, False)]
        if not nodes:
            return _MISSING
    if all(s.definite for s in segs):
        return nodes[0]
    return nodes


@functools.lru_cache(maxsize=256)
def compile_path(path: str) -> tuple:
    p = _Parser(path.strip())
    segs = p.path()
    if p.pos != len(p.text):
        raise p.error()
    return tuple(segs)


def evaluate(path: str, data: Any) -> Any:
    """The value for a definite path, else the list of matches; raises JsonPathError."""
    segs = compile_path(path)
    definite = all(s.definite for s in segs)
    _ROOT.append(data)
    try:
        nodes = [data]
        for seg in segs:
            nodes = [r for n in nodes for r in seg.select(n, definite)]
    finally:
        _ROOT.pop()
    if definite:
        return nodes[0]
    return nodes


# --- functions ------------------------------------------------------------------------------


def _floats(v: Any) -> Any:
    t = type(v)
    if t is int:
        return float(v)
    if t is dict:
        return {k: _floats(x) for k, x in v.items()}
    if t is list:
        return [_floats(x) for x in v]
    return v


def _query(col: Any, path: Any) -> Any:
    if type(path) is not str:
        raise FunctionError(f"invalid jsonPath, must be a string but got {format_value(path)}")
    if type(col) is str:
        try:
            col = _floats(jsonvalue.loads(col))
        except jsonvalue.DecodeError as e:
            raise FunctionError(f"fail to parse json: {e}") from None
    try:
        return evaluate(path, col)
    except JsonPathError as e:
        raise FunctionError(str(e)) from None


def _validate_json_func(args: list) -> None:
    if len(args) > 1 and (is_numeric_arg(args[1]) or is_bool_arg(args[1])):
        raise arg_type_error(1, "string")
    if len(args) > 1 and is_string_arg(args[1]):
        try:
            compile_path(args[1].value)
        except JsonPathError as e:
            raise FunctionError(str(e)) from None


@registry.function("json_path_query", args=2, null_in_null_out=True, validate=_validate_json_func)
def fn_json_path_query(col, path):
    return _query(col, path)


@registry.function("json_path_query_first", args=2, null_in_null_out=True, validate=_validate_json_func)
def fn_json_path_query_first(col, path):
    result = _query(col, path)
    if type(result) is list and not all(s.definite for s in compile_path(path)):
        return result[0] if result else None
    return result


@registry.function("json_path_exists", args=2, validate=_validate_json_func)
def fn_json_path_exists(col, path):
    if col is None or path is None:
        return False
    try:
        result = _query(col, path)
    except FunctionError:
        return False
    if type(result) is list:
        return len(result) > 0
    return result is not None
