"""The expression half of the parser: a token cursor and the expression grammar.

Binary operators are parsed by precedence climbing with eKuiper's levels (spec
section 1), all left-associative:

    1 OR    2 AND    3 = != < <= > >= [NOT] IN, [NOT] BETWEEN, [NOT] LIKE
    4 + - | ^    5 * / % & and the postfix forms [..] -> .

`[`, `->` and `.` sit on level 5 like `*`, so `a * b[0]` is `(a * b)[0]`, as in
eKuiper. Prefix NOT binds looser than comparisons (`NOT a = b` is `NOT (a = b)`) and
may only start an operand of AND, OR or NOT; unary minus binds tighter than
everything, and folds into a number literal that follows it.
"""

from __future__ import annotations

from . import ast
from .tokens import SOFT_KEYWORDS, TIME_UNITS, SqlSyntaxError, Token, TokenType, quote_go, tokenize

# Each nesting level costs the parser a handful of Python frames, and every level of
# the tree costs its recursive consumers (printer, ==, the planner's closures) a few
# more: these bounds keep all of them well inside the default recursion limit.
MAX_NESTING = 64
MAX_DEPTH = 160

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

_SYMBOL_PRECEDENCE = {
    "=": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3,
    "+": 4, "-": 4, "|": 4, "^": 4,
    "*": 5, "/": 5, "%": 5, "&": 5,
    "[": 5, "->": 5, ".": 5,
}  # fmt: skip
_KEYWORD_PRECEDENCE = {"OR": 1, "AND": 2, "IN": 3, "BETWEEN": 3, "LIKE": 3}
_POSTFIX = ("[", "->", ".")
_NOT_LEVEL = 3  # the level of NOT's operand, and the loosest slot NOT may start

# kind -> (takes a time unit first, allowed argument counts)
_WINDOWS = {
    "TUMBLINGWINDOW": (True, (2,)),
    "HOPPINGWINDOW": (True, (3,)),
    "SLIDINGWINDOW": (True, (2, 3)),
    "SESSIONWINDOW": (True, (3,)),
    "COUNTWINDOW": (False, (1, 2)),
    "STATEWINDOW": (False, (1, 2)),
}
_META_FUNCS = ("meta", "mqtt")


def describe(tok: Token) -> str:
    """How an error message names the token it found."""
    if tok.type is TokenType.EOF:
        return quote_go("EOF")
    if tok.type is TokenType.KEYWORD:
        return quote_go(str(tok.value))
    return quote_go(tok.text)


class ExpressionParser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0
        self.nesting = 0

    # --- cursor ---------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.type is not TokenType.EOF:
            self.i += 1
        return tok

    def accept_op(self, symbol: str) -> bool:
        if self.tok.is_op(symbol):
            self.i += 1
            return True
        return False

    def accept_keyword(self, word: str) -> bool:
        if self.tok.is_keyword(word):
            self.i += 1
            return True
        return False

    def expect_op(self, symbol: str) -> Token:
        if not self.tok.is_op(symbol):
            raise self.error(quote_go(symbol))
        return self.advance()

    def expect_keyword(self, word: str) -> Token:
        if not self.tok.is_keyword(word):
            raise self.error(word)
        return self.advance()

    def error(self, expected: str, tok: Token | None = None) -> SqlSyntaxError:
        tok = tok or self.tok
        return self.fail(f"found {describe(tok)}, expected {expected}", tok)

    def fail(self, message: str, tok: Token | None = None) -> SqlSyntaxError:
        tok = tok or self.tok
        return SqlSyntaxError(message, tok.pos, tok.line, tok.column)

    # --- names ----------------------------------------------------------------------

    @staticmethod
    def is_name(tok: Token) -> bool:
        return tok.type in (TokenType.IDENT, TokenType.QUOTED_IDENT) or (
            tok.type is TokenType.KEYWORD and tok.value in SOFT_KEYWORDS
        )

    def name(self, what: str = "identifier") -> str:
        tok = self.tok
        if not self.is_name(tok):
            raise self.error(what)
        self.i += 1
        # A soft keyword used as a name keeps its spelling: identifiers are case-sensitive.
        return str(tok.value) if tok.type is TokenType.QUOTED_IDENT else tok.text

    # --- expressions ----------------------------------------------------------------

    def expr(self) -> ast.Expr:
        return self.binary(1)

    def enter(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.fail(f"found {describe(self.tok)}, nested more than {MAX_NESTING} levels deep")

    def binary(self, min_prec: int) -> ast.Expr:
        self.enter()
        lhs = self.operand(min_prec)
        # An operator may not bind tighter than the one before it: only `x IN (list)`
        # could otherwise be followed by one (`x IN (1) + 1`), and that is an error.
        ceiling = 5
        while True:
            prec = self.precedence(self.tok)
            if prec < min_prec or prec > ceiling:
                break
            lhs = self.infix(lhs, prec)
            ceiling = prec
        self.nesting -= 1
        return lhs

    def precedence(self, tok: Token) -> int:
        if tok.type is TokenType.OPERATOR:
            return _SYMBOL_PRECEDENCE.get(str(tok.value), 0)
        if tok.type is TokenType.KEYWORD:
            if tok.value == "NOT":  # only NOT IN, NOT BETWEEN and NOT LIKE are infix
                return 3 if self.peek().is_keyword("IN", "BETWEEN", "LIKE") else 0
            return _KEYWORD_PRECEDENCE.get(str(tok.value), 0)
        return 0

    def infix(self, lhs: ast.Expr, prec: int) -> ast.Expr:
        tok = self.advance()
        if tok.is_op(*_POSTFIX):
            return self.postfix(lhs, tok)
        negated = tok.is_keyword("NOT")
        if negated:
            tok = self.advance()
        if tok.is_keyword("IN"):
            return self.in_rest(lhs, negated)
        if tok.is_keyword("BETWEEN"):
            low = self.binary(4)
            self.expect_keyword("AND")
            return ast.Between(lhs, low, self.binary(4), negated)
        if tok.is_keyword("LIKE"):
            return ast.Like(lhs, self.binary(4), negated)
        return ast.BinaryExpr(str(tok.value), lhs, self.binary(prec + 1))

    def in_rest(self, lhs: ast.Expr, negated: bool) -> ast.Expr:
        # eKuiper: a parenthesis right after IN always opens a value list.
        if not self.accept_op("("):
            return ast.In(lhs, self.binary(4), negated)
        values = [self.expr()]
        while self.accept_op(","):
            values.append(self.expr())
        self.expect_op(")")
        return ast.In(lhs, values, negated)

    def postfix(self, lhs: ast.Expr, tok: Token) -> ast.Expr:
        if not tok.is_op("["):
            return ast.Arrow(lhs, self.name("field name"))
        if self.accept_op("]"):  # eKuiper reads `a[]` as the whole array
            return ast.Slice(lhs, None, None)
        start = None if self.tok.is_op(":") else self.expr()
        if start is not None and self.accept_op("]"):
            return ast.Index(lhs, start)
        if not self.accept_op(":"):
            raise self.error('"]" or ":"')
        end = None if self.tok.is_op("]") else self.expr()
        self.expect_op("]")
        return ast.Slice(lhs, start, end)

    def operand(self, min_prec: int) -> ast.Expr:
        tok = self.tok
        if tok.is_keyword("NOT") and min_prec <= _NOT_LEVEL:
            count = 0
            while self.accept_keyword("NOT"):
                count += 1
            result = self.binary(_NOT_LEVEL)
            for _ in range(count):
                result = ast.UnaryExpr("NOT", result)
            return result
        if tok.is_op("-"):
            minuses = []
            while self.tok.is_op("-"):
                minuses.append(self.advance())
            # `-0` stays a negation: folded, it would print as `0` after `- -0`.
            if self.tok.type is TokenType.NUMBER or (
                self.tok.type is TokenType.INTEGER and self.tok.value != 0
            ):
                result = self.number(minuses.pop())
            else:
                result = self.primary()
            for _ in minuses:
                result = ast.UnaryExpr("-", result)
            return result
        return self.primary()

    def number(self, minus: Token | None = None) -> ast.Expr:
        tok = self.advance()
        sign = -1 if minus else 1
        if isinstance(tok.value, int):
            value = sign * tok.value
            if not _INT64_MIN <= value <= _INT64_MAX:
                raise self.fail(f"found {describe(tok)}, integer out of the int64 range", minus or tok)
            return ast.IntegerLiteral(value)
        assert isinstance(tok.value, float)
        return ast.NumberLiteral(sign * tok.value, "-" + tok.text if minus else tok.text)

    def primary(self) -> ast.Expr:
        tok = self.tok
        if tok.type in (TokenType.INTEGER, TokenType.NUMBER):
            return self.number()
        if tok.type is TokenType.STRING:
            self.i += 1
            return ast.StringLiteral(str(tok.value), tok.text[0])
        if tok.is_keyword("TRUE", "FALSE"):
            self.i += 1
            return ast.BooleanLiteral(tok.value == "TRUE")
        if tok.is_keyword("CASE"):
            return self.case()
        if tok.is_op("("):
            self.i += 1
            inner = self.expr()
            self.expect_op(")")
            return ast.Paren(inner)
        if self.is_name(tok):
            if self.peek().is_op("("):
                return self.call()
            name = self.name()
            if not self.accept_op("."):
                return ast.FieldRef(name)
            return ast.FieldRef(self.name("field name"), name)
        raise self.error("expression")

    def case(self) -> ast.Expr:
        self.advance()
        value = None if self.tok.is_keyword("WHEN", "END") else self.expr()
        whens = []
        while self.accept_keyword("WHEN"):
            cond = self.expr()
            self.expect_keyword("THEN")
            whens.append(ast.When(cond, self.expr()))
        if not whens:
            raise self.error("WHEN")
        else_ = self.expr() if self.accept_keyword("ELSE") else None
        self.expect_keyword("END")
        return ast.Case(value, whens, else_)

    # --- calls ----------------------------------------------------------------------

    def wildcard_ahead(self) -> bool:
        tok = self.tok
        return tok.is_op("*") or (self.is_name(tok) and self.peek().is_op(".") and self.peek(2).is_op("*"))

    def wildcard(self) -> ast.Wildcard:
        stream = None
        if not self.tok.is_op("*"):
            stream = self.name()
            self.advance()  # the dot
        self.expect_op("*")
        return ast.Wildcard(stream)

    def call(self) -> ast.Expr:
        name = self.name()
        self.advance()  # the parenthesis
        lower = name.lower()
        if lower in _META_FUNCS:
            return self.meta_rest(lower)
        if lower.upper() in _WINDOWS:
            return self.window_rest(name)
        args: list[ast.Expr] = []
        if not self.accept_op(")"):
            while True:
                args.append(self.wildcard() if self.wildcard_ahead() else self.expr())
                if not self.accept_op(","):
                    break
            if not self.accept_op(")"):
                raise self.error('"," or ")"')
        call = ast.Call(name, args)
        call.filter, call.over = self.suffixes()
        return call

    def suffixes(self) -> tuple[ast.Expr | None, ast.Over | None]:
        """`FILTER (WHERE cond)` and `OVER (...)` after a call or window, in any order."""
        filter_: ast.Expr | None = None
        over: ast.Over | None = None
        while True:
            tok = self.tok
            if tok.is_keyword("FILTER") and filter_ is None and self.peek().is_op("("):
                self.i += 2
                self.expect_keyword("WHERE")
                filter_ = self.expr()
                self.expect_op(")")
            elif tok.is_keyword("OVER") and over is None:
                over = self.over()
            else:
                return filter_, over

    def over(self) -> ast.Over:
        self.advance()
        self.expect_op("(")
        over = ast.Over()
        if self.accept_keyword("PARTITION"):
            self.expect_keyword("BY")
            over.partition_by.append(self.expr())
            while self.accept_op(","):
                over.partition_by.append(self.expr())
        if self.accept_keyword("WHEN"):
            over.when = self.expr()
        if not over.partition_by and over.when is None:
            raise self.error("PARTITION BY or WHEN")
        self.expect_op(")")
        return over

    def meta_rest(self, func: str) -> ast.MetaRef:
        if self.accept_op("*"):
            self.expect_op(")")
            return ast.MetaRef(["*"], None, func)
        path = [self.name("metadata key")]
        while self.accept_op("."):
            path.append(self.name("metadata key"))
        if not self.accept_op(")"):
            raise self.error('"." or ")"')
        if len(path) == 1:
            return ast.MetaRef(path, None, func)
        # As with columns, the first section names the stream (eKuiper's reading of
        # `meta(x.y.z)`; in WHERE it falls back to key x when no source is named x).
        return ast.MetaRef(path[1:], path[0], func)

    def window_rest(self, name: str) -> ast.Window:
        kind = name.upper()
        timed, counts = _WINDOWS[kind]
        args: list[ast.Expr] = []
        arg_toks: list[Token] = []
        if timed:
            unit = self.tok
            if not (unit.type is TokenType.KEYWORD and unit.value in TIME_UNITS):
                raise self.error("time unit (DD, HH, MI, SS or MS)")
            self.i += 1
            args.append(ast.TimeUnit(str(unit.value), unit.text))
            if not self.tok.is_op(")"):
                self.expect_op(",")
        if not self.tok.is_op(")"):
            while True:
                arg_toks.append(self.tok)
                args.append(self.expr())
                if not self.accept_op(","):
                    break
        if not self.tok.is_op(")"):
            raise self.error('"," or ")"')
        close = self.advance()
        if len(args) not in counts:
            wanted = " or ".join(str(c) for c in counts)
            raise self.fail(f"{name} expects {wanted} arguments, found {len(args)}", close)
        if kind != "STATEWINDOW":
            for arg, tok in zip(args[1:] if timed else args, arg_toks):
                if not isinstance(arg, ast.IntegerLiteral):
                    raise self.error("integer literal", tok)
        if kind == "COUNTWINDOW":
            self.check_count_window(args, arg_toks)
        window = ast.Window(kind, args, name=name)
        window.filter, window.over = self.suffixes()
        return window

    def check_count_window(self, args: list[ast.Expr], toks: list[Token]) -> None:
        sizes = [arg.value for arg in args if isinstance(arg, ast.IntegerLiteral)]
        if sizes[0] <= 0:
            raise self.fail(f"found {describe(toks[0])}, expected a positive window size", toks[0])
        if len(sizes) == 2 and not 0 < sizes[1] <= sizes[0]:
            raise self.fail(
                f"found {describe(toks[1])}, expected an interval between 1 and the window size", toks[1]
            )

    # --- limits ---------------------------------------------------------------------

    def check_depth(self, root: ast.Node, tok: Token) -> None:
        """Reject trees deeper than MAX_DEPTH, walking them without recursion."""
        stack: list[tuple[object, int]] = [(root, 1)]
        while stack:
            node, depth = stack.pop()
            if isinstance(node, list):
                stack.extend((item, depth) for item in node)
                continue
            if not isinstance(node, ast.Node):
                continue
            if depth > MAX_DEPTH:
                raise self.fail(f"the SQL is nested more than {MAX_DEPTH} levels deep", tok)
            for field_name in node.__dataclass_fields__:  # type: ignore[attr-defined]
                stack.append((getattr(node, field_name), depth + 1))
