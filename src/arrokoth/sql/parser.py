"""Parser for eKuiper's SQL dialect: `parse(text)` for one statement, `parse_expr(text)`.

Statements live here; the expression grammar is in `_expressions`. Every failure on
any input string is a `SqlSyntaxError` carrying the offset, line and column of the
token at fault.
"""

from __future__ import annotations

from . import ast
from ._expressions import ExpressionParser
from .tokens import SqlSyntaxError, Token, TokenType

__all__ = ["SqlSyntaxError", "parse", "parse_expr"]

_SIMPLE_TYPES = ("BIGINT", "FLOAT", "STRING", "DATETIME", "BOOLEAN", "BYTEA")
_JOIN_STARTS = ("JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS")


def parse(text: str) -> ast.Statement:
    """Parse one statement, optionally ended by `;`."""
    return Parser(text).statement()


def parse_expr(text: str) -> ast.Expr:
    """Parse a single expression that makes up the whole of `text`."""
    parser = Parser(text)
    start = parser.tok
    expr = parser.expr()
    if parser.tok.type is not TokenType.EOF:
        raise parser.error("EOF")
    parser.check_depth(expr, start)
    return expr


class Parser(ExpressionParser):
    # --- helpers --------------------------------------------------------------------

    def accept_word(self, *words: str) -> str | None:
        """Accept a non-reserved word (CREATE, STREAM, WITH...), matched case-insensitively."""
        tok = self.tok
        if tok.type is TokenType.IDENT and str(tok.value).upper() in words:
            self.i += 1
            return str(tok.value).upper()
        return None

    def expect_word(self, *words: str) -> str:
        word = self.accept_word(*words)
        if word is None:
            raise self.error(" or ".join(words))
        return word

    # --- statements -----------------------------------------------------------------

    def statement(self) -> ast.Statement:
        start = self.tok
        stmt: ast.Statement
        if start.is_keyword("SELECT"):
            stmt = self.select()
        else:
            word = self.accept_word("CREATE", "DROP", "SHOW", "DESCRIBE", "EXPLAIN")
            if word is None:
                raise self.error("SELECT, CREATE, DROP, SHOW, DESCRIBE or EXPLAIN")
            stmt = self.ddl(word)
        self.accept_op(";")
        if self.tok.type is not TokenType.EOF:
            raise self.error("EOF")
        self.check_depth(stmt, start)
        return stmt

    def select(self) -> ast.Select:
        self.advance()
        fields = [self.field()]
        while self.accept_op(","):
            fields.append(self.field())
        self.expect_keyword("FROM")
        select = ast.Select(fields, self.source())
        while self.tok.is_keyword(*_JOIN_STARTS):
            select.joins.append(self.join())
        if self.accept_keyword("WHERE"):
            select.where = self.expr()
        if self.accept_keyword("GROUP"):
            self.expect_keyword("BY")
            select.group_by = self.expr_list()
        if self.accept_keyword("HAVING"):
            select.having = self.expr()
        if self.accept_keyword("ORDER"):
            self.expect_keyword("BY")
            select.order_by.append(self.sort_field())
            while self.accept_op(","):
                select.order_by.append(self.sort_field())
        if self.accept_keyword("LIMIT"):
            tok = self.tok
            limit = self.expr()
            if not isinstance(limit, ast.IntegerLiteral):
                raise self.error("integer", tok)
            select.limit = limit.value
        return select

    def expr_list(self) -> list[ast.Expr]:
        exprs = [self.expr()]
        while self.accept_op(","):
            exprs.append(self.expr())
        return exprs

    def field(self, wildcard: bool = True) -> ast.Field:
        if wildcard and self.wildcard_ahead():
            return ast.Field(self.select_wildcard())
        field = ast.Field(self.expr())
        if self.accept_keyword("AS"):
            field.alias = self.name("alias")
        field.invisible = self.accept_keyword("INVISIBLE")
        return field

    def select_wildcard(self) -> ast.Wildcard:
        wildcard = self.wildcard()
        while True:
            tok = self.tok
            if tok.is_keyword("EXCEPT") and not wildcard.except_:
                self.advance()
                self.expect_op("(")
                wildcard.except_.append(self.name("column name"))
                while self.accept_op(","):
                    wildcard.except_.append(self.name("column name"))
                self.expect_op(")")
            elif tok.is_keyword("REPLACE") and not wildcard.replace:
                self.advance()
                self.expect_op("(")
                wildcard.replace.append(self.field(wildcard=False))
                while self.accept_op(","):
                    wildcard.replace.append(self.field(wildcard=False))
                self.expect_op(")")
            elif tok.is_keyword("AS"):
                raise self.fail("alias is not supported for *")
            else:
                return wildcard

    def source(self) -> ast.Source:
        source = ast.Source(self.name("stream name"))
        if self.accept_keyword("AS"):
            source.alias = self.name("alias")
        elif self.tok.type in (TokenType.IDENT, TokenType.QUOTED_IDENT):
            source.alias = self.name()
        return source

    def join(self) -> ast.Join:
        words = [str(self.advance().value)]
        if words[0] != "JOIN":
            if words[0] in ("LEFT", "RIGHT", "FULL") and self.accept_word("OUTER"):
                words.append("OUTER")
            self.expect_keyword("JOIN")
            words.append("JOIN")
        kind = "INNER" if words[0] == "JOIN" else words[0]
        join = ast.Join(kind, self.source(), spelling=" ".join(words))
        if self.tok.is_keyword("ON"):
            if kind == "CROSS":
                raise self.fail('found "ON", but CROSS JOIN takes no ON condition')
            self.advance()
            join.on = self.expr()
        return join

    def sort_field(self) -> ast.SortField:
        sort = ast.SortField(self.expr())
        if self.accept_keyword("DESC"):
            sort.descending = sort.explicit = True
        elif self.accept_keyword("ASC"):
            sort.explicit = True
        return sort

    # --- DDL ------------------------------------------------------------------------

    def ddl(self, verb: str) -> ast.Statement:
        if verb == "SHOW":
            return ast.ShowStreams(self.expect_word("STREAMS", "TABLES"))
        kind = self.expect_word("STREAM", "TABLE")
        name = self.name(f"{kind.lower()} name")
        if verb == "DROP":
            return ast.DropStream(kind, name)
        if verb == "DESCRIBE":
            return ast.DescribeStream(kind, name)
        if verb == "EXPLAIN":
            return ast.ExplainStream(kind, name)
        self.expect_op("(")
        columns = self.columns()
        self.expect_word("WITH")
        return ast.CreateStream(kind, name, columns, self.options())

    def columns(self) -> list[ast.Column]:
        """Columns up to and including the closing parenthesis; a trailing comma is fine."""
        self.enter()
        columns: list[ast.Column] = []
        while not self.accept_op(")"):
            columns.append(self.column())
            if not self.accept_op(",") and not self.tok.is_op(")"):
                raise self.error('"," or ")"')
        self.nesting -= 1
        return columns

    def column(self) -> ast.Column:
        column = ast.Column(self.name("column name"), self.data_type())
        if self.accept_keyword("DEFAULT"):
            column.default = self.default_value()
        return column

    def data_type(self) -> ast.DataType:
        tok = self.tok
        name = str(tok.value).upper() if tok.type is TokenType.IDENT else ""
        if name in _SIMPLE_TYPES:
            self.advance()
            return ast.DataType(name)
        if name == "ARRAY":
            self.advance()
            self.expect_op("(")
            self.enter()
            element = self.data_type()
            self.nesting -= 1
            self.expect_op(")")
            return ast.DataType(name, element=element)
        if name == "STRUCT":
            self.advance()
            self.expect_op("(")
            return ast.DataType(name, fields=self.columns())
        raise self.error("column type (BIGINT, FLOAT, STRING, DATETIME, BOOLEAN, BYTEA, ARRAY or STRUCT)")

    def default_value(self) -> ast.Expr:
        tok = self.tok
        if tok.type is TokenType.STRING or tok.is_keyword("TRUE", "FALSE"):
            return self.primary()
        numeric = self.peek() if tok.is_op("-") else tok
        if numeric.type in (TokenType.INTEGER, TokenType.NUMBER):
            return self.operand(5)
        raise self.error("literal")

    def options(self) -> list[ast.Option]:
        self.expect_op("(")
        options: dict[str, ast.Option] = {}
        # eKuiper lets commas between options be left out, so stored DDL may lack them.
        while not self.accept_op(")"):
            if self.accept_op(","):
                continue
            options_name = self.option_name()
            self.expect_op("=")
            value = self.tok
            if value.type is TokenType.STRING:
                parsed: str | bool = str(value.value)
            elif value.is_keyword("TRUE", "FALSE"):
                parsed = value.value == "TRUE"
            else:
                raise self.error("string value in option")
            self.advance()
            # A repeated option overrides the earlier one, as in eKuiper.
            options[options_name] = ast.Option(options_name, parsed)
        return list(options.values())

    def option_name(self) -> str:
        tok: Token = self.tok
        if tok.type not in (TokenType.IDENT, TokenType.KEYWORD):
            raise self.error("option name")
        self.advance()
        return tok.text.upper()
