"""The lexer of sink data templates: Go's text/template/parse/lex.go (`arrokoth.io.templates`)."""

from __future__ import annotations

from arrokoth.io._template_values import go_quote

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
