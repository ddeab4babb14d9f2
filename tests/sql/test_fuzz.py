"""Property tests: the parser never fails with anything but SqlSyntaxError, and printing
a parsed tree reads back as the same tree."""

import contextlib
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrokoth.sql import SqlSyntaxError, parse, parse_expr, to_sql
from arrokoth.sql.tokens import KEYWORDS, tokenize

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parses_or_fails_cleanly(text):
    for func in (parse, parse_expr, tokenize):
        with contextlib.suppress(SqlSyntaxError):
            func(text)


# --- garbage in ---------------------------------------------------------------------------

SQLISH = st.text(alphabet=string.printable + "`'\"\\!<>-→中", max_size=80)


@FAST
@given(st.text(max_size=80))
def test_arbitrary_text(text):
    parses_or_fails_cleanly(text)


@FAST
@given(SQLISH)
def test_sql_flavoured_text(text):
    parses_or_fails_cleanly(text)


VOCABULARY = sorted(KEYWORDS) + [
    "CREATE",
    "STREAM",
    "TABLE",
    "WITH",
    "DROP",
    "SHOW",
    "STREAMS",
    "DESCRIBE",
    "EXPLAIN",
    "OUTER",
    "BIGINT",
    "ARRAY",
    "STRUCT",
    "DATASOURCE",
    "meta",
    "mqtt",
    "count",
    "TUMBLINGWINDOW",
    "countwindow",
    "STATEWINDOW",
    "SlidingWindow",
    "a",
    "b",
    "demo",
    "`from`",
    "`x y`",
    "1",
    "-1",
    "2.5",
    ".5",
    "1e3",
    "'s'",
    '"d"',
    '"\\"',
    "+",
    "-",
    "*",
    "/",
    "%",
    "&",
    "|",
    "^",
    "=",
    "!=",
    "!",
    "<",
    "<=",
    ">",
    ">=",
    "<>",
    "->",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    ":",
    ";",
    "--",
    "/*",
    "*/",
    "`",
    "\n",
]


@FAST
@given(st.lists(st.sampled_from(VOCABULARY), max_size=30), st.sampled_from([" ", ""]))
def test_token_soup(words, separator):
    parses_or_fails_cleanly(separator.join(words))


@FAST
@given(st.lists(st.sampled_from(VOCABULARY), max_size=30))
def test_token_soup_after_a_select_prefix(words):
    parses_or_fails_cleanly("SELECT a FROM demo " + " ".join(words))
    parses_or_fails_cleanly("SELECT " + " ".join(words))


# --- valid SQL, printed and read back -----------------------------------------------------

# Generated pieces are (text, kind). "atom" and "binary" pieces may stand as operands of
# binary operators as they are; anything else is wrapped in parentheses first.
NAMES = st.sampled_from(["a", "b", "size", "Color", "x1", "_y", "`from`", "`a b`", "`ss`", "limit", "ss"])
STRINGS = st.text(alphabet=string.ascii_letters + " %_'\"\\\n\té", max_size=8).flatmap(
    lambda s: st.sampled_from(
        [
            '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"',
            "'" + s.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'",
        ]
    )
)
NUMBERS = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.sampled_from(["1.5", ".5", "0.25", "1e3", "2.5E-2", "-3.75", "1.", "007"]),
)
LITERALS = st.one_of(NUMBERS, STRINGS, st.sampled_from(["true", "FALSE"]))
ATOMS = st.one_of(
    LITERALS,
    NAMES,
    st.tuples(NAMES, NAMES).map(lambda p: f"{p[0]}.{p[1]}"),
    st.sampled_from(
        [
            "meta(topic)",
            "meta(demo.topic)",
            "META(*)",
            "mqtt(qos)",
            "meta(a.b.c)",
            "count(*)",
            "collect(*)",
            "changed_col(true, *)",
            "now()",
            "f(demo.*)",
        ]
    ),
).map(lambda t: (t, "atom"))


def operand(piece, kinds=("atom", "binary")):
    text, kind = piece
    return text if kind in kinds else f"({text})"


BINARY_OPS = [
    "+",
    "-",
    "*",
    "/",
    "%",
    "&",
    "|",
    "^",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "AND",
    "OR",
    "and",
    "! =",
]


def extend(children):
    pair = st.tuples(children, children)
    lists = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        st.tuples(children, st.sampled_from(BINARY_OPS), children).map(
            lambda t: (f"{operand(t[0])} {t[1]} {operand(t[2])}", "binary")
        ),
        children.map(lambda c: (f"(NOT {c[0]})", "atom")),
        # A bare NOT may follow AND or OR; a piece never starts with one.
        st.tuples(children, st.sampled_from(["AND NOT", "OR NOT", "AND NOT NOT"]), children).map(
            lambda t: (f"{operand(t[0])} {t[1]} {operand(t[2])}", "binary")
        ),
        children.map(lambda c: (f"- {operand(c)}", "binary")),
        children.map(lambda c: (f"({c[0]})", "atom")),
        st.tuples(children, NAMES).map(lambda t: (f"{operand(t[0])}->{t[1]}", "binary")),
        pair.map(lambda t: (f"{operand(t[0])}[{t[1][0]}]", "binary")),
        st.tuples(children, st.one_of(st.none(), children), st.one_of(st.none(), children)).map(
            lambda t: (f"{operand(t[0])}[{t[1][0] if t[1] else ''}:{t[2][0] if t[2] else ''}]", "binary")
        ),
        st.tuples(children, lists, st.booleans()).map(
            lambda t: (
                f"{operand(t[0])} {'NOT IN' if t[2] else 'IN'} ({', '.join(c[0] for c in t[1])})",
                "cmp",
            )
        ),
        st.tuples(children, children, children, st.booleans()).map(
            lambda t: (
                f"{operand(t[0])} {'NOT ' if t[3] else ''}BETWEEN {operand(t[1], ('atom',))} "
                f"AND {operand(t[2], ('atom',))}",
                "cmp",
            )
        ),
        st.tuples(children, children).map(
            lambda t: (f"{operand(t[0])} LIKE {operand(t[1], ('atom',))}", "cmp")
        ),
        st.tuples(
            st.sampled_from(["f", "upper", "`my f`", "lag"]),
            st.lists(children, max_size=3),
            st.one_of(st.none(), children),
            st.one_of(st.none(), lists, children),
        ).map(call),
        st.tuples(
            st.one_of(st.none(), children),
            st.lists(pair, min_size=1, max_size=3),
            st.one_of(st.none(), children),
        ).map(case),
        st.tuples(st.sampled_from(["STATEWINDOW", "statewindow"]), lists).map(
            lambda t: (f"{t[0]}({', '.join(c[0] for c in t[1][:2])})", "atom")
        ),
    )


def call(parts):
    name, args, filter_, over = parts
    text = f"{name}({', '.join(a[0] for a in args)})"
    if filter_ is not None:
        text += f" FILTER (WHERE {filter_[0]})"
    if isinstance(over, list):
        text += f" OVER (PARTITION BY {', '.join(p[0] for p in over)})"
    elif over is not None:
        text += f" over (when {over[0]})"
    return text, "atom"


def case(parts):
    value, whens, else_ = parts
    text = "CASE" + (f" {value[0]}" if value else "")
    text += "".join(f" WHEN {c[0]} THEN {r[0]}" for c, r in whens)
    text += f" ELSE {else_[0]}" if else_ else ""
    return text + " END", "atom"


def pieces(depth):
    if depth == 0:
        return ATOMS
    # deferred() keeps the strategy's repr small; a nested one grows exponentially.
    return st.one_of(ATOMS, extend(st.deferred(lambda: pieces(depth - 1))))


EXPRESSIONS = st.tuples(st.sampled_from(["", "NOT "]), pieces(4)).map(lambda t: t[0] + t[1][0])

WINDOWS = st.sampled_from(
    [
        "TUMBLINGWINDOW(ss, 10)",
        "hoppingwindow(MI, 5, 1)",
        "SlidingWindow(ms, 500, 20)",
        "SESSIONWINDOW(hh, 2, 1)",
        "COUNTWINDOW(5, 2)",
        "countwindow(3)",
        "TumblingWindow(Dd, 1)",
    ]
)


@st.composite
def selects(draw):
    exprs = st.lists(EXPRESSIONS, min_size=1, max_size=3)
    fields = [
        draw(st.sampled_from(["", " AS x", " AS `as`", " INVISIBLE", " as y invisible"])).join([e, ""])
        for e in draw(exprs)
    ]
    fields += draw(
        st.sampled_from([[], ["*"], ["* EXCEPT(a, `b c`)"], ["demo.*"], ["* REPLACE(a + 1 AS a)"]])
    )
    text = f"SELECT {', '.join(fields)} FROM demo{draw(st.sampled_from(['', ' AS d', ' d']))}"
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(
            st.sampled_from(
                [
                    "JOIN",
                    "INNER JOIN",
                    "LEFT JOIN",
                    "LEFT OUTER JOIN",
                    "RIGHT JOIN",
                    "FULL OUTER JOIN",
                    "CROSS JOIN",
                ]
            )
        )
        text += f" {kind} other"
        if kind != "CROSS JOIN":
            text += f" ON {draw(EXPRESSIONS)}"
    if draw(st.booleans()):
        text += f" WHERE {draw(EXPRESSIONS)}"
    if draw(st.booleans()):
        window = draw(WINDOWS)
        if draw(st.booleans()):
            window += f" FILTER (WHERE {draw(EXPRESSIONS)})"
        group = draw(st.lists(EXPRESSIONS, max_size=2)) + [window]
        text += f" GROUP BY {', '.join(draw(st.permutations(group)))}"
        if draw(st.booleans()):
            text += f" HAVING {draw(EXPRESSIONS)}"
    if draw(st.booleans()):
        orders = draw(
            st.lists(st.tuples(EXPRESSIONS, st.sampled_from(["", " ASC", " DESC"])), min_size=1, max_size=2)
        )
        text += " ORDER BY " + ", ".join(e + d for e, d in orders)
    if draw(st.booleans()):
        text += f" LIMIT {draw(st.integers(0, 100))}"
    return text + draw(st.sampled_from(["", ";"]))


@FAST
@given(EXPRESSIONS)
def test_expression_round_trip(text):
    tree = parse_expr(text)
    printed = to_sql(tree)
    assert parse_expr(printed) == tree
    assert to_sql(parse_expr(printed)) == printed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(selects())
def test_select_round_trip(text):
    tree = parse(text)
    printed = to_sql(tree)
    assert parse(printed) == tree
    assert to_sql(parse(printed)) == printed
