import pytest

from arrokoth.sql import SqlSyntaxError
from arrokoth.sql.tokens import TokenType, needs_quoting, tokenize

K, ID, Q, INT, NUM, S, OP = (
    TokenType.KEYWORD,
    TokenType.IDENT,
    TokenType.QUOTED_IDENT,
    TokenType.INTEGER,
    TokenType.NUMBER,
    TokenType.STRING,
    TokenType.OPERATOR,
)


def kinds(text):
    return [(t.type, t.value) for t in tokenize(text)[:-1]]


def test_ends_with_eof():
    tokens = tokenize("")
    assert [t.type for t in tokens] == [TokenType.EOF]
    assert (tokens[0].pos, tokens[0].line, tokens[0].column) == (0, 1, 1)


@pytest.mark.parametrize("text", ["SELECT", "select", "Select", "sElEcT"])
def test_keywords_are_case_insensitive(text):
    (tok,) = tokenize(text)[:-1]
    assert (tok.type, tok.value, tok.text) == (K, "SELECT", text)


def test_identifiers_keep_their_case():
    assert kinds("Color color _x a1_b") == [(ID, "Color"), (ID, "color"), (ID, "_x"), (ID, "a1_b")]


def test_non_reserved_words_are_identifiers():
    assert kinds("create STREAM With bigint") == [
        (ID, "create"),
        (ID, "STREAM"),
        (ID, "With"),
        (ID, "bigint"),
    ]


def test_soft_keywords_and_time_units_are_keywords():
    assert kinds("limit ss Dd filter") == [(K, "LIMIT"), (K, "SS"), (K, "DD"), (K, "FILTER")]


def test_backquoted_identifiers():
    assert kinds("`from` `a.b c` `中文` ``") == [(Q, "from"), (Q, "a.b c"), (Q, "中文"), (Q, "")]


def test_strings_in_both_quotes():
    tokens = tokenize("\"double\" 'single'")
    assert [(t.type, t.value, t.text) for t in tokens[:-1]] == [
        (S, "double", '"double"'),
        (S, "single", "'single'"),
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r'"a\"b"', 'a"b'),
        (r"'a\'b'", "a'b"),
        (r'"it\'s"', "it's"),
        (r'"\n\t\r\\"', "\n\t\r\\"),
        (r'"\x41\u00e9\U0001F600"', "Aé😀"),
        (r'"50\%"', "50\\%"),  # unknown escapes keep the backslash (LIKE, regexps)
        (r'"\d+"', "\\d+"),
        (r'"\x4"', "\\x4"),
        ('"two\nlines"', "two\nlines"),
        ("'say \"hi\"'", 'say "hi"'),
    ],
)
def test_string_escapes(text, value):
    (tok,) = tokenize(text)[:-1]
    assert tok.value == value


def test_numbers():
    assert kinds("0 42 1.5 .5 1.5e3 2E-2 1. 7e+1") == [
        (INT, 0),
        (INT, 42),
        (NUM, 1.5),
        (NUM, 0.5),
        (NUM, 1500.0),
        (NUM, 0.02),
        (NUM, 1.0),
        (NUM, 70.0),
    ]


def test_exponent_needs_digits():
    assert kinds("1e") == [(INT, 1), (ID, "e")]


def test_minus_is_separate_from_the_number():
    assert kinds("-1") == [(OP, "-"), (INT, 1)]


def test_comments_are_skipped():
    assert kinds("a -- comment\n/* block\n comment */ b--") == [(ID, "a"), (ID, "b")]


def test_operators():
    text = "+ - * / % & | ^ = != < <= > >= -> ( ) [ ] , . : ;"
    assert [v for _, v in kinds(text)] == text.split()


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("a ! = b", ["a", "!=", "b"]),
        ("a < = b", ["a", "<=", "b"]),
        ("a >\n\t= b", ["a", ">=", "b"]),
        ("a ! b", ["a", "=", "b"]),
        ("a <> b", ["a", "<", ">", "b"]),
        ("a- >b", ["a", "-", ">", "b"]),
        ("a.b", ["a", ".", "b"]),
    ],
)
def test_operator_quirks(text, values):
    assert [v for _, v in kinds(text)] == values


def test_quirk_tokens_keep_their_source_text():
    tokens = tokenize("a ! = b")
    assert tokens[1].text == "! ="


def test_positions():
    tokens = tokenize("SELECT a,\n  `b`\n FROM 'x\ny' z")
    got = [(t.text, t.pos, t.line, t.column) for t in tokens]
    assert got == [
        ("SELECT", 0, 1, 1),
        ("a", 7, 1, 8),
        (",", 8, 1, 9),
        ("`b`", 12, 2, 3),
        ("FROM", 17, 3, 2),
        ("'x\ny'", 22, 3, 7),
        ("z", 28, 4, 4),
        ("", 29, 4, 5),
    ]


@pytest.mark.parametrize(
    ("text", "pos", "line", "column", "message"),
    [
        ('SELECT "abc', 7, 1, 8, "unterminated string"),
        ("a 'b\\", 2, 1, 3, "unterminated string"),
        ("a /* b", 2, 1, 3, "unterminated comment"),
        ("a\n `b", 3, 2, 2, "unterminated quoted identifier"),
        ("a # b", 2, 1, 3, 'found "#", expected a valid token'),
        ("a\n\n  @", 5, 3, 3, 'found "@", expected a valid token'),
        ("é", 0, 1, 1, 'found "é", expected a valid token'),
    ],
)
def test_errors(text, pos, line, column, message):
    with pytest.raises(SqlSyntaxError) as info:
        tokenize(text)
    err = info.value
    assert (err.pos, err.line, err.column, err.message) == (pos, line, column, message)
    assert str(err) == f"{message} at line {line}, column {column}."


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("a", False),
        ("_a1", False),
        ("A_b", False),
        ("from", True),
        ("SELECT", True),
        ("limit", True),
        ("ss", True),
        ("true", True),
        ("as", True),
        ("stream", False),
        ("a b", True),
        ("1a", True),
        ("", True),
        ("a.b", True),
        ("中文", True),
    ],
)
def test_needs_quoting(name, quoted):
    assert needs_quoting(name) is quoted
