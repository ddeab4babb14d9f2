"""The parser of sink data templates: Go's text/template/parse/parse.go, with Go's parse
errors (`arrokoth.io.templates`)."""

from __future__ import annotations

from typing import Any

from arrokoth.io import _template_funcs as F
from arrokoth.io._template_lex import (
    _SPACES,
    ASSIGN,
    BLOCK,
    BOOL,
    BREAK,
    CHAR,
    CHARCONST,
    COMPLEX,
    CONTINUE,
    DECLARE,
    DEFINE,
    DOT,
    ELSE,
    END,
    EOF,
    ERROR,
    FIELD,
    IDENT,
    IF,
    LEFT,
    LPAREN,
    NIL,
    NUMBER,
    PIPE,
    RANGE,
    RAW,
    RIGHT,
    RPAREN,
    SPACE,
    STRING,
    TEMPLATE,
    TEXT,
    VAR,
    WITH,
    _lex,
    _tok_str,
)
from arrokoth.io._template_tree import (
    ActionNode,
    BoolNode,
    ChainNode,
    CommandNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    IfNode,
    ListNode,
    NilNode,
    NumberNode,
    PipeNode,
    RangeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
    WithNode,
    _BranchNode,
    _Keyword,
    _Literal,
)
from arrokoth.io._template_values import go_quote

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
