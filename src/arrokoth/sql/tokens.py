"""Tokenizer for eKuiper's SQL dialect.

`tokenize(text)` returns the whole token list at once, ending with an EOF token;
comments and whitespace are dropped. The lexer copies eKuiper's quirks that users
rely on: `! =`, `< =` and `> =` may hold whitespace, a lone `!` means `=`, and
`<>` is two tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class SqlSyntaxError(Exception):
    """The only exception the tokenizer and the parser raise for bad input."""

    def __init__(self, message: str, pos: int, line: int, column: int):
        super().__init__(f"{message} at line {line}, column {column}.")
        self.message = message  # without the position
        self.pos = pos
        self.line = line
        self.column = column

    def __reduce__(self):
        return type(self), (self.message, self.pos, self.line, self.column)


class TokenType(StrEnum):
    IDENT = "IDENT"
    QUOTED_IDENT = "QUOTED_IDENT"  # `anything`
    KEYWORD = "KEYWORD"  # value is the upper-case word
    INTEGER = "INTEGER"
    NUMBER = "NUMBER"
    STRING = "STRING"
    OPERATOR = "OPERATOR"  # value is the canonical symbol: "! =" has value "!="
    EOF = "EOF"


@dataclass(slots=True, frozen=True)
class Token:
    type: TokenType
    text: str  # the source slice
    value: object
    pos: int  # 0-based offset
    line: int  # 1-based
    column: int  # 1-based

    def is_keyword(self, *words: str) -> bool:
        return self.type is TokenType.KEYWORD and self.value in words

    def is_op(self, *symbols: str) -> bool:
        return self.type is TokenType.OPERATOR and self.value in symbols


# Words that can never be bare identifiers (spec section 1).
RESERVED = frozenset({
    "SELECT", "FROM", "JOIN", "LEFT", "INNER", "ON", "WHERE", "GROUP", "ORDER", "HAVING", "BY", "ASC",
    "DESC", "AND", "OR", "CASE", "WHEN", "THEN", "ELSE", "END", "IN", "NOT", "BETWEEN", "LIKE", "OVER",
    "PARTITION",
})  # fmt: skip
TIME_UNITS = frozenset({"DD", "HH", "MI", "SS", "MS"})
# Keyword tokens that the parser still accepts as names where a name is unambiguous.
SOFT_KEYWORDS = (
    frozenset({"RIGHT", "FULL", "CROSS", "LIMIT", "FILTER", "INVISIBLE", "DEFAULT", "EXCEPT", "REPLACE"})
    | TIME_UNITS
)
KEYWORDS = RESERVED | SOFT_KEYWORDS | {"AS", "TRUE", "FALSE"}

_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER_RE = re.compile(r"(?:[0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_WHITESPACE = " \t\r\n\f\v"
_DIGITS = "0123456789"
_SIMPLE_OPS = {c: c for c in "+*/%&|^=(),[]:;."}
_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "a": "\a",
    "\\": "\\",
    '"': '"',
    "'": "'",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


def needs_quoting(name: str) -> bool:
    """Whether an identifier must be backquoted to be read back as the same name."""
    return _IDENT_RE.fullmatch(name) is None or name.upper() in KEYWORDS


def quote_go(text: str) -> str:
    """Quote like Go's %q, the way eKuiper names the token it found."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Lexer:
    def __init__(self, text: str):
        self.text = text
        self.i = 0
        self.line = 1
        self.line_start = 0  # offset of the first character of the current line
        self.tokens: list[Token] = []
        self.tok_line = self.tok_column = 1

    def error(self, message: str, pos: int) -> SqlSyntaxError:
        line = self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return SqlSyntaxError(message, pos, line, column)

    def emit(self, type_: TokenType, start: int, value: object) -> None:
        self.tokens.append(
            Token(type_, self.text[start : self.i], value, start, self.tok_line, self.tok_column)
        )

    def skip_space(self) -> None:
        """Skip whitespace and comments, keeping the line counter current."""
        text, n = self.text, len(self.text)
        while self.i < n:
            c = text[self.i]
            if c in _WHITESPACE:
                if c == "\n":
                    self.line += 1
                    self.line_start = self.i + 1
                self.i += 1
            elif text.startswith("--", self.i):
                end = text.find("\n", self.i)
                self.i = n if end < 0 else end
            elif text.startswith("/*", self.i):
                end = text.find("*/", self.i + 2)
                if end < 0:
                    raise self.error("unterminated comment", self.i)
                self.advance_to(end + 2)
            else:
                return

    def advance_to(self, end: int) -> None:
        newlines = self.text.count("\n", self.i, end)
        if newlines:
            self.line += newlines
            self.line_start = self.text.rfind("\n", self.i, end) + 1
        self.i = end

    def run(self) -> list[Token]:
        text, n = self.text, len(self.text)
        while True:
            self.skip_space()
            start = self.i
            # A token may span lines (strings), so its position is taken before it is read.
            self.tok_line, self.tok_column = self.line, start - self.line_start + 1
            if start >= n:
                self.emit(TokenType.EOF, start, None)
                return self.tokens
            c = text[start]
            if c.isascii() and (c.isalpha() or c == "_"):
                self.word(start)
            elif c in _DIGITS or (c == "." and start + 1 < n and text[start + 1] in _DIGITS):
                self.number(start)
            elif c in "\"'":
                self.string(start, c)
            elif c == "`":
                end = text.find("`", start + 1)
                if end < 0:
                    raise self.error("unterminated quoted identifier", start)
                self.advance_to(end + 1)
                self.emit(TokenType.QUOTED_IDENT, start, text[start + 1 : end])
            else:
                self.operator(start, c)

    def word(self, start: int) -> None:
        match = _IDENT_RE.match(self.text, start)
        assert match is not None
        self.i = match.end()
        word = match.group()
        upper = word.upper()
        if upper in KEYWORDS:
            self.emit(TokenType.KEYWORD, start, upper)
        else:
            self.emit(TokenType.IDENT, start, word)

    def number(self, start: int) -> None:
        match = _NUMBER_RE.match(self.text, start)
        assert match is not None
        self.i = match.end()
        spelling = match.group()
        if match.group(1) is None and match.group(2) is None and not spelling.startswith("."):
            # Past 20 digits the value is out of int64 range anyway; the parser reports
            # it (after folding a minus sign), and int() of a huge string would raise.
            digits = spelling.lstrip("0") or "0"
            self.emit(TokenType.INTEGER, start, int(digits) if len(digits) <= 20 else 10**20)
        else:
            self.emit(TokenType.NUMBER, start, float(spelling))

    def string(self, start: int, quote: str) -> None:
        text, n = self.text, len(self.text)
        out: list[str] = []
        i = start + 1
        while True:
            j = i
            while j < n and text[j] != quote and text[j] != "\\":
                j += 1
            out.append(text[i:j])
            if j >= n:
                raise self.error("unterminated string", start)
            if text[j] == quote:
                i = j + 1
                break
            i = self.escape(j, out)
        self.advance_to(i)
        self.emit(TokenType.STRING, start, "".join(out))

    def escape(self, j: int, out: list[str]) -> int:
        """Decode the escape at text[j] (a backslash); return the offset after it.

        An unknown escape such as `\\%` or `\\d` keeps its backslash, so LIKE
        patterns and regular expressions read as their authors meant them.
        """
        text = self.text
        c = text[j + 1] if j + 1 < len(text) else ""
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
            return j + 2
        width = _HEX_ESCAPES.get(c)
        if width is not None:
            digits = text[j + 2 : j + 2 + width]
            if len(digits) == width and all(d in "0123456789abcdefABCDEF" for d in digits):
                code = int(digits, 16)
                if code <= 0x10FFFF:
                    out.append(chr(code))
                    return j + 2 + width
        out.append("\\")
        return j + 1

    def operator(self, start: int, c: str) -> None:
        text = self.text
        if c in "!<>":
            # eKuiper skips whitespace between these and a following "=".
            j = start + 1
            while j < len(text) and text[j] in _WHITESPACE:
                j += 1
            if j < len(text) and text[j] == "=":
                self.advance_to(j + 1)
                self.emit(TokenType.OPERATOR, start, c + "=")
                return
            self.i = start + 1
            self.emit(TokenType.OPERATOR, start, "=" if c == "!" else c)
            return
        if c == "-":
            self.i = start + 2 if text.startswith("->", start) else start + 1
            self.emit(TokenType.OPERATOR, start, text[start : self.i])
            return
        symbol = _SIMPLE_OPS.get(c)
        if symbol is None:
            raise self.error(f"found {quote_go(c)}, expected a valid token", start)
        self.i = start + 1
        self.emit(TokenType.OPERATOR, start, symbol)


def tokenize(text: str) -> list[Token]:
    """Split `text` into tokens, ending with an EOF token. Raises SqlSyntaxError."""
    return _Lexer(text).run()
