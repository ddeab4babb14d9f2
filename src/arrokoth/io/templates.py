"""Sink data templates: Go's text/template language, as eKuiper's `dataTemplate` uses it.

`compile_template(text)` lexes and parses once (Go's grammar and parse errors) and turns the
tree into Python closures; `Template.render(data)` runs them with no parsing or regular
expressions per call. Values follow Go's reflection rules where a template can see them: a
missing map key is an invalid value that prints `<no value>`, numbers print in `%v` form,
comparisons need the same kind on both sides. Functions: `_template_funcs`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

from arrokoth.functions import timefmt
from arrokoth.io import _template_funcs as F
from arrokoth.io._template_funcs import MISSING, FuncError, fmt_float, fmt_v, go_quote, go_type, truth

__all__ = ["Template", "TemplateError", "compile_template"]

MAX_TEMPLATE_DEPTH = 100  # Go allows 100000 nested {{template}} calls; Python's stack does not
MAX_PAREN_DEPTH = 100


class TemplateError(Exception):
    """A template failed to parse or to execute; the message is worded as Go's.

    `line` is 1-based; `col` is the 0-based byte column Go reports for execution errors
    (for parse errors, the column of the token where parsing stopped).
    """

    def __init__(self, message: str, line: int = 0, col: int = 0):
        super().__init__(message)
        self.line = line
        self.col = col


# --- lexer (Go's text/template/parse/lex.go, default delimiters) ---------------------------------

(ERROR, EOF, TEXT, LEFT, RIGHT, SPACE, BOOL, CHAR, CHARCONST, COMPLEX, DECLARE, ASSIGN, FIELD,
 IDENT, LPAREN, NUMBER, PIPE, RAW, RPAREN, STRING, VAR,
 BLOCK, BREAK, CONTINUE, DOT, DEFINE, ELSE, END, IF, NIL, RANGE, TEMPLATE, WITH) = range(33)  # fmt: skip
_KEYWORDS = {
    "block": BLOCK, "break": BREAK, "continue": CONTINUE, "define": DEFINE, "else": ELSE, "end": END,
    "if": IF, "nil": NIL, "range": RANGE, "template": TEMPLATE, "with": WITH,
}  # fmt: skip
_SPACES = " \t\r\n"


def _alnum(c: str) -> bool:
    return c == "_" or c.isalpha() or c.isdecimal()


def _rune(c: str) -> str:
    return f"U+{ord(c):04X} '{c}'" if c.isprintable() else f"U+{ord(c):04X}"


def _lex(text: str) -> list[tuple]:
    """The token list: (type, value, position, line); an ERROR token ends it."""
    toks: list[tuple] = []
    n = len(text)
    pos = 0
    line = 1

    def at_right(p: int) -> tuple[bool, bool]:
        """At `}}` or at ` -}}` (a right delimiter with its trim marker)?"""
        if p < n and text[p] in _SPACES and text.startswith("-}}", p + 1):
            return True, True
        return text.startswith("}}", p), False

    def terminator(p: int) -> bool:
        return p >= n or text[p] in _SPACES or text[p] in ".,|:()" or text.startswith("}}", p)

    while True:
        x = text.find("{{", pos)
        if x < 0:
            if pos < n:
                toks.append((TEXT, text[pos:], pos, line))
                line += text.count("\n", pos)
            toks.append((EOF, "", n, line))
            return toks
        trim = x + 3 < n and text[x + 2] == "-" and text[x + 3] in _SPACES
        end = x
        if trim:
            end = pos + len(text[pos:x].rstrip(_SPACES))
        if end > pos:
            toks.append((TEXT, text[pos:end], pos, line))
        line += text.count("\n", pos, x)
        pos = x + 2 + (2 if trim else 0)
        if text.startswith("/*", pos):
            j = text.find("*/", pos + 2)
            if j < 0:
                toks.append((ERROR, "unclosed comment", x, line))
                return toks
            p = j + 2
            delim, rtrim = at_right(p)
            if not delim:
                toks.append((ERROR, "comment ends before closing delimiter", x, line))
                return toks
            line += text.count("\n", x, p)
            p += 4 if rtrim else 2
            if rtrim:
                q = len(text) - len(text[p:].lstrip(_SPACES))
                line += text.count("\n", p, q)
                p = q
            pos = p
            continue
        toks.append((LEFT, "{{", x, line))
        depth = 0
        while True:
            delim, rtrim = at_right(pos)
            if delim:
                if depth:
                    toks.append((ERROR, "unclosed left paren", pos, line))
                    return toks
                if rtrim:
                    pos += 2
                toks.append((RIGHT, "}}", pos, line))
                pos += 2
                if rtrim:
                    q = len(text) - len(text[pos:].lstrip(_SPACES))
                    line += text.count("\n", pos, q)
                    pos = q
                break
            if pos >= n:
                toks.append((ERROR, "unclosed action", pos, line))
                return toks
            c = text[pos]
            start = pos
            if c in _SPACES:
                while pos < n and text[pos] in _SPACES:
                    pos += 1
                if text.startswith("-}}", pos):
                    pos -= 1  # the last space belongs to " -}}"
                if pos > start:
                    toks.append((SPACE, text[start:pos], start, line))
                    line += text.count("\n", start, pos)
                continue
            pos += 1
            if c == "=":
                toks.append((ASSIGN, c, start, line))
            elif c == ":":
                if text[pos : pos + 1] != "=":
                    toks.append((ERROR, "expected :=", start, line))
                    return toks
                pos += 1
                toks.append((DECLARE, ":=", start, line))
            elif c == "|":
                toks.append((PIPE, c, start, line))
            elif c == "`":
                j = text.find("`", pos)
                if j < 0:
                    toks.append((ERROR, "unterminated raw quoted string", start, line))
                    return toks
                pos = j + 1
                toks.append((RAW, text[start:pos], start, line))
                line += text.count("\n", start, pos)
            elif c in "\"'":
                end = _scan_quoted(text, pos, c)
                if end < 0:
                    msg = "unterminated quoted string" if c == '"' else "unterminated character constant"
                    toks.append((ERROR, msg, start, line))
                    return toks
                pos = end
                toks.append((STRING if c == '"' else CHARCONST, text[start:pos], start, line))
            elif c in "$." and not (c == "." and pos < n and "0" <= text[pos] <= "9"):
                if terminator(pos):
                    toks.append((VAR if c == "$" else DOT, c, start, line))
                    continue
                while pos < n and _alnum(text[pos]):
                    pos += 1
                if not terminator(pos):
                    toks.append((ERROR, f"bad character {_rune(text[pos])}", start, line))
                    return toks
                toks.append((VAR if c == "$" else FIELD, text[start:pos], start, line))
            elif c in "+-." or "0" <= c <= "9":
                pos, ok = _scan_number(text, start)
                typ = NUMBER
                if ok and pos < n and text[pos] in "+-":
                    pos, ok = _scan_number(text, pos)  # a complex constant: 1+2i
                    ok, typ = ok and text[pos - 1] == "i", COMPLEX
                if not ok:
                    toks.append((ERROR, f"bad number syntax: {go_quote(text[start:pos])}", start, line))
                    return toks
                toks.append((typ, text[start:pos], start, line))
            elif _alnum(c):
                while pos < n and _alnum(text[pos]):
                    pos += 1
                if not terminator(pos):
                    toks.append((ERROR, f"bad character {_rune(text[pos])}", start, line))
                    return toks
                word = text[start:pos]
                typ = _KEYWORDS.get(word, BOOL if word in ("true", "false") else IDENT)
                toks.append((typ, word, start, line))
            elif c == "(":
                depth += 1
                toks.append((LPAREN, c, start, line))
            elif c == ")":
                depth -= 1
                if depth < 0:
                    toks.append((ERROR, "unexpected right paren", start, line))
                    return toks
                toks.append((RPAREN, c, start, line))
            elif c < "\x7f" and c.isprintable():
                toks.append((CHAR, c, start, line))
            else:
                toks.append((ERROR, f"unrecognized character in action: {_rune(c)}", start, line))
                return toks


def _scan_quoted(text: str, p: int, quote: str) -> int:
    """The end of a "..." or '.' literal whose opening quote is before p; -1 if unterminated."""
    n = len(text)
    while p < n:
        d = text[p]
        p += 1
        if d == "\\":
            if p >= n or text[p] == "\n":
                return -1
            p += 1
        elif d == "\n":
            return -1
        elif d == quote:
            return p
    return -1


def _scan_number(text: str, p: int) -> tuple[int, bool]:
    """Go's scanNumber from p: the end, and whether no letter or digit follows the number."""
    n = len(text)

    def run(chars: str) -> None:
        nonlocal p
        while p < n and text[p] in chars:
            p += 1

    if p < n and text[p] in "+-":
        p += 1
    digits = "0123456789_"
    if p < n and text[p] == "0":
        p += 1
        if p < n and text[p] in "xX":
            p, digits = p + 1, "0123456789abcdefABCDEF_"
        elif p < n and text[p] in "oO":
            p, digits = p + 1, "01234567_"
        elif p < n and text[p] in "bB":
            p, digits = p + 1, "01_"
    run(digits)
    if p < n and text[p] == ".":
        p += 1
        run(digits)
    if len(digits) == 11 and p < n and text[p] in "eE":
        p += 1
        if p < n and text[p] in "+-":
            p += 1
        run("0123456789_")
    if len(digits) == 23 and p < n and text[p] in "pP":
        p += 1
        if p < n and text[p] in "+-":
            p += 1
        run("0123456789_")
    if p < n and text[p] == "i":
        p += 1
    if p < n and _alnum(text[p]):
        return p + 1, False
    return p, True


def _tok_str(tok: tuple) -> str:
    typ, val = tok[0], tok[1]
    if typ == EOF:
        return "EOF"
    if typ == ERROR:
        return val
    if typ >= BLOCK:
        return f"<{val}>"
    if len(val.encode()) > 10:
        return go_quote(val[:10]) + "..."
    return go_quote(val)


# --- parse tree (Go's text/template/parse/node.go; str() is Go's String()) -----------------------


class _Node:
    __slots__ = ("pos",)

    def __init__(self, pos: int):
        self.pos = pos


class ListNode(_Node):
    __slots__ = ("nodes",)

    def __init__(self, pos: int):
        super().__init__(pos)
        self.nodes: list = []

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


class TextNode(_Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str):
        super().__init__(pos)
        self.text = text

    def __str__(self) -> str:
        return self.text


class PipeNode(_Node):
    __slots__ = ("is_assign", "decl", "cmds")

    def __init__(self, pos: int):
        super().__init__(pos)
        self.is_assign = False
        self.decl: list[VariableNode] = []
        self.cmds: list[CommandNode] = []

    def __str__(self) -> str:
        s = ""
        if self.decl:
            s = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return s + " | ".join(str(c) for c in self.cmds)


class CommandNode(_Node):
    __slots__ = ("args",)

    def __init__(self, pos: int):
        super().__init__(pos)
        self.args: list = []

    def __str__(self) -> str:
        return " ".join(f"({a})" if type(a) is PipeNode else str(a) for a in self.args)


class ActionNode(_Node):
    __slots__ = ("pipe",)

    def __init__(self, pos: int, pipe: PipeNode):
        super().__init__(pos)
        self.pipe = pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


class IdentifierNode(_Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str):
        super().__init__(pos)
        self.ident = ident

    def __str__(self) -> str:
        return self.ident


class VariableNode(_Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, name: str):
        super().__init__(pos)
        self.ident = name.split(".")

    def __str__(self) -> str:
        return ".".join(self.ident)


class FieldNode(_Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, name: str):
        super().__init__(pos)
        self.ident = name[1:].split(".")

    def __str__(self) -> str:
        return "".join("." + i for i in self.ident)


class ChainNode(_Node):
    __slots__ = ("node", "fields")

    def __init__(self, pos: int, node: Any):
        super().__init__(pos)
        self.node = node
        self.fields: list[str] = []

    def __str__(self) -> str:
        s = f"({self.node})" if type(self.node) is PipeNode else str(self.node)
        return s + "".join("." + f for f in self.fields)


class _Literal(_Node):
    __slots__ = ("text", "value")

    def __init__(self, pos: int, text: str, value: Any = None):
        super().__init__(pos)
        self.text = text
        self.value = value

    def __str__(self) -> str:
        return self.text


class DotNode(_Literal):
    __slots__ = ()


class NilNode(_Literal):
    __slots__ = ()


class BoolNode(_Literal):
    __slots__ = ()


class StringNode(_Literal):
    __slots__ = ()


class NumberNode(_Literal):
    """`value` is the ideal constant: an int, a float, or an error message for `overflows int`.
    `as_int` / `as_float` are the value where Go can use the text as an int / a float."""

    __slots__ = ("as_int", "as_float")


class _BranchNode(_Node):
    __slots__ = ("pipe", "list", "else_list")
    keyword = ""

    def __init__(self, pos: int, pipe: PipeNode, lst: ListNode, else_list: ListNode | None):
        super().__init__(pos)
        self.pipe, self.list, self.else_list = pipe, lst, else_list

    def __str__(self) -> str:
        s = f"{{{{{self.keyword} {self.pipe}}}}}{self.list}"
        if self.else_list is not None:
            s += f"{{{{else}}}}{self.else_list}"
        return s + "{{end}}"


class IfNode(_BranchNode):
    __slots__ = ()
    keyword = "if"


class RangeNode(_BranchNode):
    __slots__ = ()
    keyword = "range"


class WithNode(_BranchNode):
    __slots__ = ()
    keyword = "with"


class TemplateNode(_Node):
    __slots__ = ("name", "pipe")

    def __init__(self, pos: int, name: str, pipe: PipeNode | None):
        super().__init__(pos)
        self.name, self.pipe = name, pipe

    def __str__(self) -> str:
        tail = f" {self.pipe}" if self.pipe is not None else ""
        return f"{{{{template {go_quote(self.name)}{tail}}}}}"


class _Keyword(_Node):
    __slots__ = ("word",)

    def __init__(self, pos: int, word: str):
        super().__init__(pos)
        self.word = word

    def __str__(self) -> str:
        return "{{" + self.word + "}}"


# --- parser (Go's text/template/parse/parse.go) -----------------------------------------------


def _unquote(s: str) -> str:
    """strconv.Unquote for "..." and `...` strings and '.' characters; ValueError on bad syntax."""
    q = s[:1]
    if len(s) < 2 or s[-1] != q:
        raise ValueError("invalid syntax")
    if q == "`":
        return s[1:-1].replace("\r", "")
    body = s[1:-1]
    if "\\" not in body:
        if q == "'" and len(body) != 1:
            raise ValueError("invalid syntax")
        return body
    out = bytearray()
    i, n = 0, len(body)
    simple = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
    while i < n:
        c = body[i]
        i += 1
        if c != "\\":
            if c == q:
                raise ValueError("invalid syntax")
            out += c.encode()
            continue
        if i >= n:
            raise ValueError("invalid syntax")
        e = body[i]
        i += 1
        if e in simple:
            out.append(simple[e])
        elif e == q:
            out += e.encode()
        elif e in "xuU":
            k = {"x": 2, "u": 4, "U": 8}[e]
            h = body[i : i + k]
            if len(h) < k or not all(ch in "0123456789abcdefABCDEF" for ch in h):
                raise ValueError("invalid syntax")
            i += k
            v = int(h, 16)
            if e == "x":
                out.append(v)
            elif v > 0x10FFFF or 0xD800 <= v < 0xE000:
                raise ValueError("invalid syntax")
            else:
                out += chr(v).encode()
        elif e in "01234567":
            o = body[i - 1 : i + 2]
            if len(o) < 3 or not all(ch in "01234567" for ch in o) or int(o, 8) > 255:
                raise ValueError("invalid syntax")
            i += 2
            out.append(int(o, 8))
        else:
            raise ValueError("invalid syntax")
    r = out.decode("utf-8", "replace")
    if q == "'" and len(r) != 1:
        raise ValueError("invalid syntax")
    return r


def _is_hex_int(text: str) -> bool:
    return len(text) > 2 and text[0] == "0" and text[1] in "xX" and "p" not in text and "P" not in text


def _number(pos: int, text: str, typ: int) -> NumberNode:
    """Go's newNumber, then idealConstant's choice of value; ValueError with Go's message."""
    node = NumberNode(pos, text)
    node.as_int = node.as_float = None
    if typ == CHARCONST:
        try:
            r = ord(_unquote(text))
        except (ValueError, TypeError):
            raise ValueError(f"malformed character constant: {text}") from None
        node.value = node.as_int = r
        node.as_float = float(r)
        return node
    if typ == COMPLEX or text.endswith("i"):
        raise ValueError(f"complex constants are not supported: {go_quote(text)}")
    i = F.parse_go_int(text)
    if i is not None:
        node.as_int, node.as_float = i, float(i)
    else:
        as_uint = _parse_uint(text) if text[:1] not in "+-" else None
        if as_uint is not None:
            node.as_float = float(as_uint)
        else:
            f = F.parse_go_float(text)
            if f is not None:
                if not any(c in text for c in ".eEpP"):
                    raise ValueError(f"integer overflow: {go_quote(text)}")
                node.as_float = f
                if f.is_integer() and -(2.0**63) <= f < 2.0**63:
                    node.as_int = int(f)
    if node.as_int is None and node.as_float is None:
        raise ValueError(f"illegal number syntax: {go_quote(text)}")
    if node.as_float is not None and not _is_hex_int(text) and any(c in text for c in ".eEpP"):
        node.value = node.as_float
    elif node.as_int is not None:
        node.value = node.as_int
    else:
        node.value = f"{text} overflows int"
    return node


def _parse_uint(text: str) -> int | None:
    """strconv.ParseUint(text, 0, 64) for values past int64's range."""
    body = text.replace("_", "")
    try:
        base = 10
        low = body.lower()
        if low.startswith(("0x", "0o", "0b")):
            base, body = {"x": 16, "o": 8, "b": 2}[low[1]], body[2:]
        elif len(body) > 1 and body[0] == "0":
            base = 8
        v = int(body, base) if body.isascii() and body.isalnum() else None
    except ValueError:
        return None
    return v if v is not None and (1 << 63) <= v < (1 << 64) else None


def _is_empty(root: ListNode | None) -> bool:
    if root is None:
        return True
    return all(type(n) is TextNode and not n.text.strip(_SPACES + "\v\f") for n in root.nodes)


class _Parser:
    def __init__(self, text: str, name: str, funcs: dict):
        self.text = text
        self.toks = _lex(text)
        self.i = 0
        self.far = 0
        self.name = name
        self.funcs = funcs
        self.trees: dict[str, ListNode] = {}
        self.vars = ["$"]
        self.range_depth = 0
        self.action_line = 0
        self.depth = 0

    # tokens; `far` is the furthest token read, whose line Go's parse errors report
    def next(self) -> tuple:
        k = min(self.i, len(self.toks) - 1)
        self.far = max(self.far, k)
        self.i += 1
        return self.toks[k]

    def backup(self) -> None:
        self.i -= 1

    def peek(self) -> tuple:
        k = min(self.i, len(self.toks) - 1)
        self.far = max(self.far, k)
        return self.toks[k]

    def next_non_space(self) -> tuple:
        while True:
            tok = self.next()
            if tok[0] != SPACE:
                return tok

    def peek_non_space(self) -> tuple:
        tok = self.next_non_space()
        self.backup()
        return tok

    def errorf(self, msg: str) -> None:
        tok = self.toks[self.far]
        raise TemplateError(f"template: {self.name}:{tok[3]}: {msg}", tok[3], _col(self.text, tok[2]))

    def unexpected(self, tok: tuple, context: str) -> None:
        if tok[0] == ERROR:
            extra = ""
            if self.action_line and self.action_line != tok[3]:
                extra = f" in action started at {self.name}:{self.action_line}"
                if tok[1].endswith(" action"):
                    extra = extra[len(" in action") :]
            self.errorf(f"{tok[1]}{extra}")
        self.errorf(f"unexpected {_tok_str(tok)} in {context}")

    def expect(self, typ: int, context: str) -> tuple:
        tok = self.next_non_space()
        if tok[0] != typ:
            self.unexpected(tok, context)
        return tok

    # grammar
    def parse(self) -> dict[str, ListNode]:
        root = ListNode(self.peek()[2])
        while self.peek()[0] != EOF:
            if self.peek()[0] == LEFT:
                mark = self.i
                self.next()
                if self.next_non_space()[0] == DEFINE:
                    self.parse_definition()
                    continue
                self.i = mark
            n = self.text_or_action()
            if type(n) is _Keyword and n.word in ("end", "else"):
                self.errorf(f"unexpected {n}")
            root.nodes.append(n)
        self.add(self.name, root)
        return self.trees

    def add(self, name: str, root: ListNode) -> None:
        if _is_empty(self.trees.get(name)):
            self.trees[name] = root
        elif not _is_empty(root):
            self.errorf(f"template: multiple definition of template {go_quote(name)}")

    def sub_tree(self, name: str, context: str) -> None:
        saved = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        root, end = self.item_list()
        if not (type(end) is _Keyword and end.word == "end"):
            self.errorf(f"unexpected {end} in {context}")
        self.add(name, root)
        self.vars, self.range_depth = saved

    def parse_definition(self) -> None:
        tok = self.next_non_space()
        if tok[0] not in (STRING, RAW):
            self.unexpected(tok, "define clause")
        name = self.unquote(tok[1])
        self.expect(RIGHT, "define clause")
        self.sub_tree(name, "define clause")

    def unquote(self, s: str) -> str:
        try:
            return _unquote(s)
        except ValueError as e:
            self.errorf(str(e))
            raise

    def item_list(self) -> tuple[ListNode, Any]:
        lst = ListNode(self.peek_non_space()[2])
        while self.peek_non_space()[0] != EOF:
            n = self.text_or_action()
            if type(n) is _Keyword and n.word in ("end", "else"):
                return lst, n
            lst.nodes.append(n)
        self.errorf("unexpected EOF")
        raise AssertionError

    def text_or_action(self) -> Any:
        tok = self.next_non_space()
        if tok[0] == TEXT:
            return TextNode(tok[2], tok[1])
        if tok[0] == LEFT:
            self.action_line = tok[3]
            try:
                return self.action()
            finally:
                self.action_line = 0
        self.unexpected(tok, "input")

    def action(self) -> Any:
        tok = self.next_non_space()
        typ = tok[0]
        if typ == BLOCK:
            return self.block_control()
        if typ in (BREAK, CONTINUE):
            nxt = self.next_non_space()
            if nxt[0] != RIGHT:
                self.unexpected(nxt, "{{" + tok[1] + "}}")
            if self.range_depth == 0:
                self.errorf(f"{{{{{tok[1]}}}}} outside {{{{range}}}}")
            return _Keyword(tok[2], tok[1])
        if typ == ELSE:
            peek = self.peek_non_space()
            if peek[0] in (IF, WITH):
                return _Keyword(peek[2], "else")
            return _Keyword(self.expect(RIGHT, "else")[2], "else")
        if typ == END:
            return _Keyword(self.expect(RIGHT, "end")[2], "end")
        if typ in (IF, RANGE, WITH):
            return self.control(tok[1])
        if typ == TEMPLATE:
            tok = self.next_non_space()
            name = self.template_name(tok, "template clause")
            pipe = None
            if self.next_non_space()[0] != RIGHT:
                self.backup()
                pipe = self.pipeline("template clause", RIGHT)
            return TemplateNode(tok[2], name, pipe)
        self.backup()
        return ActionNode(self.peek()[2], self.pipeline("command", RIGHT))

    def template_name(self, tok: tuple, context: str) -> str:
        if tok[0] not in (STRING, RAW):
            self.unexpected(tok, context)
        return self.unquote(tok[1])

    def block_control(self) -> TemplateNode:
        tok = self.next_non_space()
        name = self.template_name(tok, "block clause")
        pipe = self.pipeline("block clause", RIGHT)
        self.sub_tree(name, "block clause")
        return TemplateNode(tok[2], name, pipe)

    def control(self, context: str) -> _BranchNode:
        mark = len(self.vars)
        try:
            pipe = self.pipeline(context, RIGHT)
            if context == "range":
                self.range_depth += 1
            lst, nxt = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list = None
            if nxt.word == "else":
                if context in ("if", "with") and self.peek()[0] == (IF if context == "if" else WITH):
                    self.next()
                    else_list = ListNode(nxt.pos)
                    else_list.nodes.append(self.control(context))
                else:
                    else_list, nxt2 = self.item_list()
                    if nxt2.word != "end":
                        self.errorf(f"expected end; found {nxt2}")
            cls = {"if": IfNode, "range": RangeNode, "with": WithNode}[context]
            return cls(pipe.pos, pipe, lst, else_list)
        finally:
            del self.vars[mark:]

    def pipeline(self, context: str, end: int) -> PipeNode:
        pipe = PipeNode(self.peek_non_space()[2])
        while True:  # declarations: Go's `decls:` label
            v = self.peek_non_space()
            if v[0] != VAR:
                break
            mark = self.i
            self.next()
            nxt = self.peek_non_space()
            if nxt[0] in (ASSIGN, DECLARE):
                pipe.is_assign = nxt[0] == ASSIGN
                self.next_non_space()
                pipe.decl.append(VariableNode(v[2], v[1]))
                self.vars.append(v[1])
            elif nxt[0] == CHAR and nxt[1] == ",":
                self.next_non_space()
                pipe.decl.append(VariableNode(v[2], v[1]))
                self.vars.append(v[1])
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space()[0] in (VAR, RIGHT, RPAREN):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            else:
                self.i = mark
            break
        while True:
            tok = self.next_non_space()
            if tok[0] == end:
                if not pipe.cmds:
                    self.errorf(f"missing value for {context}")
                for i, c in enumerate(pipe.cmds[1:]):
                    if type(c.args[0]) in (BoolNode, DotNode, NilNode, NumberNode, StringNode):
                        self.errorf(f"non executable command in pipeline stage {i + 2}")
                return pipe
            if tok[0] in (BOOL, CHARCONST, COMPLEX, DOT, FIELD, IDENT, NUMBER, NIL, RAW, STRING, VAR, LPAREN):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(tok, context)

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space()[2])
        while True:
            self.peek_non_space()
            op = self.operand()
            if op is not None:
                cmd.args.append(op)
            tok = self.next()
            if tok[0] == SPACE:
                continue
            if tok[0] in (RIGHT, RPAREN):
                self.backup()
            elif tok[0] != PIPE:
                self.unexpected(tok, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> Any:
        node = self.term()
        if node is None:
            return None
        if self.peek()[0] == FIELD:
            chain = ChainNode(self.peek()[2], node)
            while self.peek()[0] == FIELD:
                chain.fields.append(self.next()[1][1:])
            if type(node) is FieldNode:
                return FieldNode(chain.pos, str(chain))
            if type(node) is VariableNode:
                return VariableNode(chain.pos, str(chain))
            if isinstance(node, _Literal):
                self.errorf(f"unexpected . after term {go_quote(str(node))}")
            return chain
        return node

    def term(self) -> Any:
        tok = self.next_non_space()
        typ, val, pos = tok[0], tok[1], tok[2]
        if typ == IDENT:
            if val not in self.funcs:
                self.errorf(f"function {go_quote(val)} not defined")
            return IdentifierNode(pos, val)
        if typ == DOT:
            return DotNode(pos, ".")
        if typ == NIL:
            return NilNode(pos, "nil")
        if typ == VAR:
            node = VariableNode(pos, val)
            if node.ident[0] not in self.vars:
                self.errorf(f"undefined variable {go_quote(node.ident[0])}")
            return node
        if typ == FIELD:
            return FieldNode(pos, val)
        if typ == BOOL:
            return BoolNode(pos, val, val == "true")
        if typ in (CHARCONST, COMPLEX, NUMBER):
            try:
                return _number(pos, val, typ)
            except ValueError as e:
                self.errorf(str(e))
        if typ == LPAREN:
            if self.depth >= MAX_PAREN_DEPTH:
                self.errorf("max expression depth exceeded")
            self.depth += 1
            try:
                return self.pipeline("parenthesized pipeline", RPAREN)
            finally:
                self.depth -= 1
        if typ in (STRING, RAW):
            return StringNode(pos, val, self.unquote(val))
        self.backup()
        return None


def _col(text: str, pos: int) -> int:
    start = text.rfind("\n", 0, pos) + 1
    return len(text[start:pos].encode())


# --- execution ------------------------------------------------------------------------------------


class _Fail(Exception):
    """An execution error at a node; the message gets Go's location prefix at the top."""

    def __init__(self, node: Any, msg: str):
        super().__init__(msg)
        self.node = node
        self.msg = msg
        self.exec_name: str | None = None


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


_BREAK = _Break()
_CONTINUE = _Continue()


def _print(v: Any) -> str:
    t = type(v)
    if t is str:
        return v
    if t is int:
        return str(v)
    if t is float:
        return fmt_float(v)
    if v is MISSING or v is None:
        return "<no value>"
    return fmt_v(v)


def _fail(node: Any, msg: str) -> Callable:
    def ev(*_a: Any) -> Any:
        raise _Fail(node, msg)

    return ev


def _last_node(pipe: PipeNode) -> Any:
    """The node Go's state points at after evaluating a pipeline, for later errors."""
    arg = pipe.cmds[-1].args[-1]
    return _last_node(arg) if type(arg) is PipeNode else arg


def _field_type(recv: Any, fr: list) -> str:
    if recv is fr[0]:
        if isinstance(recv, list) and recv and all(type(r) is dict for r in recv):
            return "[]map[string]interface {}"
        return go_type(recv)
    return "interface {}"


def _field(recv: Any, name: str, node: Any, fr: list, has_args: bool = False) -> Any:
    if isinstance(recv, dict):
        if has_args:
            raise _Fail(node, f"{name} is not a method but has arguments")
        return recv.get(name, MISSING)
    if recv is MISSING:
        return MISSING
    if recv is None:
        raise _Fail(node, f"nil pointer evaluating interface {{}}.{name}")
    raise _Fail(node, f"can't evaluate field {name} in type {_field_type(recv, fr)}")


def _kind_check(kind: str) -> Callable[[Any], bool]:
    if kind == "str":
        return lambda v: type(v) is str
    if kind == "int":
        return lambda v: type(v) is int
    if kind == "f64":
        return lambda v: type(v) is float
    if kind == "bool":
        return lambda v: type(v) is bool
    if kind == "map":
        return lambda v: isinstance(v, dict)
    return lambda v: isinstance(v, _dt.datetime)


class _Compiler:
    """Turns one template set's trees into closures: `run(dot, frame, out)` for nodes that
    write, `ev(dot, frame)` for values. A frame is `[$, depth, var slots...]`; variables get
    slots by lexical scope, which matches Go's push/pop variable stack."""

    def __init__(self, trees: dict[str, ListNode], now: Callable):
        self.now = now
        self.trees = trees
        self.compiled: dict[str, tuple] = {}
        self.scope: list[tuple[str, int]] = []
        self.nslots = 2

    def compile_all(self) -> dict[str, tuple]:
        for name, root in self.trees.items():
            self.scope, self.nslots = [], 2
            run = self.list(root)
            self.compiled[name] = (run, self.nslots, name)
        return self.compiled

    # statements
    def list(self, lst: ListNode) -> Callable:
        runs = [self.node(n) for n in lst.nodes]
        if len(runs) == 1:
            return runs[0]

        def run(dot: Any, fr: list, out: list) -> None:
            for r in runs:
                r(dot, fr, out)

        return run

    def node(self, n: Any) -> Callable:
        t = type(n)
        if t is TextNode:
            text = n.text

            def run_text(dot: Any, fr: list, out: list) -> None:
                out.append(text)

            return run_text
        if t is ActionNode:
            pipe = self.pipe(n.pipe)
            if n.pipe.decl:
                return lambda dot, fr, out: pipe(dot, fr)

            def run_action(dot: Any, fr: list, out: list) -> None:
                out.append(_print(pipe(dot, fr)))

            return run_action
        if t is IfNode or t is WithNode:
            return self.if_with(n, t is WithNode)
        if t is RangeNode:
            return self.range(n)
        if t is TemplateNode:
            return self.template(n)
        exc = _BREAK if n.word == "break" else _CONTINUE

        def run_jump(dot: Any, fr: list, out: list) -> None:
            raise exc

        return run_jump

    def if_with(self, n: _BranchNode, is_with: bool) -> Callable:
        mark = len(self.scope)
        pipe = self.pipe(n.pipe)
        after_pipe = len(self.scope)
        body = self.list(n.list)
        del self.scope[after_pipe:]
        other = self.list(n.else_list) if n.else_list is not None else None
        del self.scope[mark:]

        def run(dot: Any, fr: list, out: list) -> None:
            v = pipe(dot, fr)
            if truth(v):
                body(v if is_with else dot, fr, out)
            elif other is not None:
                other(dot, fr, out)

        return run

    def range(self, n: RangeNode) -> Callable:
        mark = len(self.scope)
        pipe = self.pipe(n.pipe)
        after_pipe = len(self.scope)
        decl = n.pipe.decl
        slots = [self.lookup(v.ident[0]) for v in decl]
        elem_slot = slots[-1] if slots else None
        index_slot = slots[0] if len(slots) > 1 else None
        body = self.list(n.list)
        del self.scope[after_pipe:]
        other = self.list(n.else_list) if n.else_list is not None else None
        del self.scope[mark:]
        last = _last_node(n.pipe)
        ndecl = len(decl)

        def run(dot: Any, fr: list, out: list) -> None:
            v = pipe(dot, fr)
            if isinstance(v, dict):
                items: Any = F._sorted_items(v)
            elif isinstance(v, list | tuple | bytes | bytearray):
                items = enumerate(v)
            elif type(v) is int:
                if ndecl > 1:
                    raise _Fail(last, f"can't use {v} to iterate over more than one variable")
                items = ((None, i) for i in range(v))
            elif v is MISSING:
                items = ()
            else:
                raise _Fail(last, f"range can't iterate over {fmt_v(v)}")
            ran = False
            for i, e in items:
                ran = True
                if elem_slot is not None:
                    fr[elem_slot] = e
                if index_slot is not None:
                    fr[index_slot] = i
                try:
                    body(e, fr, out)
                except _Continue:
                    pass
                except _Break:
                    break
            if not ran and other is not None:
                other(dot, fr, out)

        return run

    def template(self, n: TemplateNode) -> Callable:
        pipe = self.pipe(n.pipe) if n.pipe is not None else None
        name = n.name
        compiled = self.compiled

        def run(dot: Any, fr: list, out: list) -> None:
            d = pipe(dot, fr) if pipe is not None else MISSING
            tree = compiled.get(name)
            if tree is None:
                raise _Fail(n, f"template {go_quote(name)} not defined")
            depth = fr[1] + 1
            if depth > MAX_TEMPLATE_DEPTH:
                raise _Fail(n, f"exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})")
            body, nslots, exec_name = tree
            frame = [d, depth] + [None] * (nslots - 2)
            try:
                body(d, frame, out)
            except _Fail as e:
                if e.exec_name is None:
                    e.exec_name = exec_name
                raise

        return run

    # variables
    def lookup(self, name: str) -> int | None:
        for var, slot in reversed(self.scope):
            if var == name:
                return slot
        return 0 if name == "$" else None

    def slot_of(self, name: str) -> int:
        slot = self.nslots
        self.nslots += 1
        self.scope.append((name, slot))
        return slot

    # values
    def pipe(self, pipe: PipeNode) -> Callable:
        cmds = pipe.cmds
        first = self.command(cmds[0], False)
        rest = [self.command(c, True) for c in cmds[1:]]
        setters = []
        for v in pipe.decl:
            name = v.ident[0]
            slot = self.lookup(name) if pipe.is_assign else self.slot_of(name)
            if slot is None:
                setters.append(_fail(v, f"undefined variable: {name}"))
            else:
                setters.append(slot)

        if not rest and not setters:

            def ev1(dot: Any, fr: list) -> Any:
                v = first(dot, fr)
                return MISSING if v is None else v

            return ev1

        def ev(dot: Any, fr: list) -> Any:
            v = first(dot, fr)
            if v is None:
                v = MISSING
            for c in rest:
                v = c(dot, fr, v)
                if v is None:
                    v = MISSING
            for s in setters:
                if type(s) is int:
                    fr[s] = v
                else:
                    s()
            return v

        return ev

    def command(self, cmd: CommandNode, has_final: bool) -> Callable:
        word = cmd.args[0]
        t = type(word)
        extra = len(cmd.args) > 1 or has_final
        if t is IdentifierNode:
            return self.call(word.ident, word, cmd, cmd.args[1:], has_final)
        if t is FieldNode or t is VariableNode or t is ChainNode:
            ev = self.chain(word, extra)
        elif extra:
            ev = _fail(word, f"can't give argument to non-function {word}")
        elif t is PipeNode:
            ev = self.pipe(word)
        elif t is NilNode:
            ev = _fail(word, "nil is not a command")
        else:
            ev = self.literal(word)
        if has_final:
            return lambda dot, fr, final: ev(dot, fr)
        return ev

    def literal(self, node: _Literal) -> Callable:
        t = type(node)
        if t is DotNode:
            return lambda dot, fr: dot
        value = node.value
        if t is NumberNode and type(value) is str:
            return _fail(node, value)
        return lambda dot, fr: value

    def chain(self, node: Any, has_args: bool = False) -> Callable:
        """A field, variable or chain node: .a.b, $x.a, (pipe).a."""
        t = type(node)
        if t is FieldNode:
            names = node.ident
            base: Callable | None = None
        elif t is VariableNode:
            name = node.ident[0]
            slot = self.lookup(name)
            names = node.ident[1:]
            if slot is None:
                return _fail(node, f"undefined variable: {name}")
            if not names:
                if has_args:
                    return _fail(node, f"can't give argument to non-function {node}")
                return lambda dot, fr: fr[slot]
            base = lambda dot, fr: fr[slot]  # noqa: E731
        else:
            if type(node.node) is NilNode:
                return _fail(node, f"indirection through explicit nil in {node}")
            base = self.arg(node.node, "any_raw")
            names = node.fields
        last = names[-1]
        inner = names[:-1]
        if base is None and not inner and not has_args:

            def field1(dot: Any, fr: list) -> Any:
                if type(dot) is dict:
                    return dot.get(last, MISSING)
                return _field(dot, last, node, fr)

            return field1

        def ev(dot: Any, fr: list) -> Any:
            r = dot if base is None else base(dot, fr)
            for name in inner:
                r = r.get(name, MISSING) if type(r) is dict else _field(r, name, node, fr)
            return _field(r, last, node, fr, has_args)

        return ev

    def arg(self, node: Any, kind: str) -> Callable:
        """An argument converted to a parameter kind, as Go's evalArg/validateType do."""
        t = type(node)
        if isinstance(node, _Literal) and t is not DotNode:
            return self.const_arg(node, kind)
        if t is IdentifierNode:
            raw = self.call(node.ident, node, node, [], False)
        elif t is PipeNode:
            raw = self.pipe(node)
        elif t is DotNode:
            raw = lambda dot, fr: dot  # noqa: E731
        else:
            raw = self.chain(node)
        if kind in ("val", "any_raw"):
            return raw
        conv = _converter(kind, node)
        return lambda dot, fr: conv(raw(dot, fr))

    def const_arg(self, node: _Literal, kind: str) -> Callable:
        t = type(node)
        if kind in ("any", "val", "any_raw"):
            if t is NilNode:
                value = MISSING if kind == "val" else None
            elif t is NumberNode and type(node.value) is str:
                return _fail(node, node.value)
            else:
                value = node.value
            return lambda dot, fr: value
        expected = F.PARAM_TYPES[kind]
        if t is NilNode:
            if kind == "map":
                return lambda dot, fr: None
            return _fail(node, f"cannot assign nil to {expected}")
        if kind == "str" and t is StringNode:
            value = node.value
        elif kind == "int" and t is NumberNode and node.as_int is not None:
            value = node.as_int
        elif kind == "f64" and t is NumberNode and node.as_float is not None:
            value = node.as_float
        elif kind == "bool" and t is BoolNode:
            value = node.value
        elif kind in ("str", "int", "f64", "bool"):
            what = {"str": "string", "int": "integer", "f64": "float", "bool": "bool"}[kind]
            return _fail(node, f"expected {what}; found {node}")
        else:
            return _fail(node, f"can't handle {node} for arg of type {expected}")
        return lambda dot, fr: value

    def call(self, name: str, ident: Any, cmd: Any, args: list, has_final: bool) -> Callable:
        if name in F.SPECIAL:
            ev = self.special(name, ident, cmd, args, has_final)
        else:
            ev = self.function(name, ident, cmd, args, has_final)
        return ev

    def function(self, name: str, ident: Any, cmd: Any, args: list, has_final: bool) -> Callable:
        impl, params, var = F.FUNCS[name]
        if params[:1] == ("$now",):
            now = self.now
            base_impl = impl
            impl = lambda *a: base_impl(now, *a)  # noqa: E731
            params = params[1:]
        nin = len(args) + has_final
        if var is not None and nin < len(params):
            msg = f"wrong number of args for {name}: want at least {len(params)} got {len(args)}"
            return _fail(ident, msg)
        if var is None and nin != len(params):
            return _fail(ident, f"wrong number of args for {name}: want {len(params)} got {nin}")
        kinds = [params[i] if i < len(params) else var for i in range(nin)]
        evs = [self.arg(a, k) for a, k in zip(args, kinds)]
        final_conv = _converter(kinds[-1], cmd) if has_final else None

        def invoke(argv: list) -> Any:
            try:
                return impl(*argv)
            except FuncError as e:
                raise _Fail(cmd, f"error calling {name}: {e}") from None
            except _Fail:
                raise
            except Exception as e:  # a Go panic inside a function becomes its error
                raise _Fail(cmd, f"error calling {name}: {e}") from None

        if has_final:

            def call_final(dot: Any, fr: list, final: Any) -> Any:
                return invoke([e(dot, fr) for e in evs] + [final_conv(final)])

            return call_final

        if len(evs) == 1:
            e0 = evs[0]
            return lambda dot, fr: invoke([e0(dot, fr)])
        return lambda dot, fr: invoke([e(dot, fr) for e in evs])

    def special(self, name: str, ident: Any, cmd: Any, args: list, has_final: bool) -> Callable:
        """and/or (short-circuit), call, and the comparisons (which know literal int types)."""
        nin = len(args) + has_final
        if name in ("and", "or", "call", "eq") and nin < 1:
            return _fail(ident, f"wrong number of args for {name}: want at least 1 got {len(args)}")
        if name in ("ne", "lt", "le", "gt", "ge") and nin != 2:
            return _fail(ident, f"wrong number of args for {name}: want 2 got {nin}")
        evs = [self.arg(a, "val") for a in args]
        types = [("int" if type(a) is NumberNode and type(a.value) is int else None) for a in args]
        if has_final:
            types.append(None)
        if name in ("and", "or"):
            want = name == "or"

            def logic(dot: Any, fr: list, final: Any = MISSING) -> Any:
                v = MISSING
                for e in evs:
                    v = e(dot, fr)
                    if truth(v) == want:
                        return v
                return final if has_final else v

            return logic if has_final else (lambda dot, fr: logic(dot, fr))
        if name == "call":
            callee = str(args[0]) if args else "<pipeline>"

            def call(dot: Any, fr: list, final: Any = MISSING) -> Any:
                fn = evs[0](dot, fr) if evs else final
                for e in evs[1:]:
                    e(dot, fr)
                if fn is None or fn is MISSING:
                    raise _Fail(cmd, "error calling call: call of nil")
                raise _Fail(cmd, f"error calling call: non-function {callee} of type {go_type(fn)}")

            return call if has_final else (lambda dot, fr: call(dot, fr))
        compare = _COMPARE[name]

        def cmp(dot: Any, fr: list, final: Any = MISSING) -> Any:
            vals = [e(dot, fr) for e in evs]
            if has_final:
                vals.append(final)
            try:
                return compare(vals, types)
            except FuncError as e:
                raise _Fail(cmd, f"error calling {name}: {e}") from None

        return cmp if has_final else (lambda dot, fr: cmp(dot, fr))


def _converter(kind: str, node: Any) -> Callable[[Any], Any]:
    """Go's validateType: a value passed to a parameter of a kind; errors point at node."""
    if kind == "val":
        return lambda v: v
    if kind == "any":
        return lambda v: None if v is MISSING else v
    ok = _kind_check(kind)
    expected = F.PARAM_TYPES[kind]

    def conv(v: Any) -> Any:
        if ok(v):
            return v
        if v is MISSING:
            if kind == "map":
                return None  # a nil map
            raise _Fail(node, f"invalid value; expected {expected}")
        got = "interface {}" if v is None else go_type(v)
        raise _Fail(node, f"wrong type for value; expected {expected}; got {got}")

    return conv


# --- comparisons (Go's eq, lt and friends over basic kinds) ------------------------------------


def _basic(v: Any) -> str | None:
    t = type(v)
    if t is int:
        return "int"
    if t is float:
        return "float"
    if t is str:
        return "string"
    if t is bool:
        return "bool"
    return None


def _go_kind(v: Any) -> str:
    if v is None or v is MISSING:
        return "invalid"
    return "map" if isinstance(v, dict) else "slice" if isinstance(v, list | tuple | bytes) else "struct"


def _eq(vals: list, types: list) -> bool:
    a = MISSING if vals[0] is None else vals[0]
    if len(vals) < 2:
        raise FuncError("missing argument for comparison")
    k1 = _basic(a)
    for b, tb in zip(vals[1:], types[1:]):
        b = MISSING if b is None else b
        k2 = _basic(b)
        if k1 != k2:
            if a is not MISSING and b is not MISSING:
                raise FuncError(
                    f"incompatible types for comparison: {types[0] or go_type(a)} and {tb or go_type(b)}"
                )
            continue
        if k1 is not None:
            if a == b:
                return True
            continue
        if _go_kind(a) != _go_kind(b) and a is not MISSING and b is not MISSING:
            raise FuncError(f"non-comparable types {fmt_v(a)}: {go_type(a)}, {go_type(b)}: {fmt_v(b)}")
        if a is MISSING or b is MISSING:
            if a is b:
                return True
            continue
        if _go_kind(b) != "struct":
            raise FuncError(f"non-comparable type {fmt_v(b)}: {go_type(b)}")
        if a == b:
            return True
    return False


def _lt(vals: list, types: list) -> bool:
    a, b = (MISSING if v is None else v for v in vals)
    k1, k2 = _basic(a), _basic(b)
    if k1 is None or k2 is None:
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError(
            f"incompatible types for comparison: {types[0] or go_type(a)} and {types[1] or go_type(b)}"
        )
    if k1 == "bool":
        raise FuncError("invalid type for comparison")
    return a < b


def _le(vals: list, types: list) -> bool:
    return _lt(vals, types) or _eq(vals, types)


_COMPARE: dict[str, Callable[[list, list], bool]] = {
    "eq": _eq,
    "ne": lambda vals, types: not _eq(vals, types),
    "lt": _lt,
    "le": _le,
    "gt": lambda vals, types: not _le(vals, types),
    "ge": lambda vals, types: not _lt(vals, types),
}


# --- the public face ------------------------------------------------------------------------------


def _wall_clock() -> _dt.datetime:
    return _dt.datetime.now(timefmt.default_timezone())


class Template:
    """A compiled template set; `render(data)` runs the template named `name`."""

    def __init__(self, text: str, name: str, compiled: dict[str, tuple]):
        self.text = text
        self.name = name
        self._compiled = compiled
        self._run, self._nslots, _ = compiled[name]

    def render(self, data: Any) -> str:
        """Execute on data (the sink's rows, or one row). Raises TemplateError."""
        out: list[str] = []
        dot = MISSING if data is None else data
        frame = [dot, 0] + [None] * (self._nslots - 2)
        try:
            self._run(dot, frame, out)
        except _Fail as e:
            raise self._error(e) from None
        except RecursionError:
            raise TemplateError(f"template: {self.name}: exceeded maximum template depth") from None
        return "".join(out)

    def _error(self, e: _Fail) -> TemplateError:
        pos = e.node.pos
        line = self.text.count("\n", 0, pos) + 1
        col = _col(self.text, pos)
        where = f"{self.name}:{line}:{col}"
        msg = f'template: {where}: executing "{e.exec_name or self.name}" at <{e.node}>: {e.msg}'
        return TemplateError(msg, line, col)


def compile_template(
    text: str, name: str = "sink", *, now: Callable[[], _dt.datetime] | None = None
) -> Template:
    """Parse and compile a Go text/template; raises TemplateError with Go's parse messages.

    `now` supplies the time for `now` and the date functions (a rule's clock); the default
    is the wall clock in the configured zone.
    """
    try:
        trees = _Parser(text, name, F.FUNCS).parse()
    except RecursionError:
        raise TemplateError(f"template: {name}: max expression depth exceeded") from None
    compiled = _Compiler(trees, now or _wall_clock).compile_all()
    return Template(text, name, compiled)
