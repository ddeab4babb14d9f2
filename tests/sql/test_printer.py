import os

import pytest

from arrokoth.sql import ast, parse, parse_expr, to_sql

IDENTITY = os.path.join(os.path.dirname(__file__), "identity.sql")

F = ast.FieldRef
Int = ast.IntegerLiteral
B = ast.BinaryExpr
NOT = "NOT"


def identity_statements():
    with open(IDENTITY, encoding="utf-8") as file:
        return [line for line in file.read().splitlines() if line.strip()]


def test_identity_fixture_is_large_enough():
    assert len(identity_statements()) >= 250


@pytest.mark.parametrize("sql", identity_statements())
def test_identity(sql):
    tree = parse(sql)
    assert to_sql(tree) == sql
    assert parse(to_sql(tree)) == tree


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("select a from demo d", "SELECT a FROM demo AS d"),
        ("SELECT a FROM demo;", "SELECT a FROM demo"),
        ("SELECT a,b FROM demo WHERE a>1 and b<2", "SELECT a, b FROM demo WHERE a > 1 AND b < 2"),
        ("SELECT a FROM demo WHERE a ! = 1", "SELECT a FROM demo WHERE a != 1"),
        ("SELECT a FROM demo WHERE a ! 1", "SELECT a FROM demo WHERE a = 1"),
        ("SELECT a.b.c FROM a", "SELECT a.b->c FROM a"),
        ("SELECT f(x).k FROM a", "SELECT f(x)->k FROM a"),
        ("SELECT a[] FROM a", "SELECT a[:] FROM a"),
        ("SELECT ss, `x`, 007, META(k) FROM a", "SELECT `ss`, x, 7, meta(k) FROM a"),
        ("SELECT * FROM a join b on x", "SELECT * FROM a JOIN b ON x"),
        ("SELECT * FROM a left  outer  join b on x", "SELECT * FROM a LEFT OUTER JOIN b ON x"),
        ("SELECT a FROM demo ORDER BY a asc", "SELECT a FROM demo ORDER BY a ASC"),
        (
            "SELECT count(*) over (when a) filter (where b) FROM d",
            "SELECT count(*) FILTER (WHERE b) OVER (WHEN a) FROM d",
        ),
        ("SELECT * REPLACE(1 AS a) EXCEPT(b) FROM d", "SELECT * EXCEPT(b) REPLACE(1 AS a) FROM d"),
        ("SELECT 'a\\%', \"\\d\" FROM d", "SELECT 'a\\\\%', \"\\\\d\" FROM d"),
        (
            "create stream s (a bigint,) with (datasource='x' shared=TRUE)",
            'CREATE STREAM s (a BIGINT) WITH (DATASOURCE="x", SHARED=true)',
        ),
        ('CREATE STREAM s ( ) WITH (TYPE="a\\"b")', 'CREATE STREAM s () WITH (TYPE="a\\"b")'),
    ],
)
def test_canonical_form(text, canonical):
    tree = parse(text)
    assert to_sql(tree) == canonical
    assert parse(canonical) == tree


@pytest.mark.parametrize(
    ("tree", "text"),
    [
        (B("*", B("+", F("a"), F("b")), F("c")), "(a + b) * c"),
        (B("-", F("a"), B("-", F("b"), F("c"))), "a - (b - c)"),
        (B("AND", B("OR", F("a"), F("b")), F("c")), "(a OR b) AND c"),
        (B("=", ast.UnaryExpr(NOT, F("a")), F("b")), "(NOT a) = b"),
        (B("AND", F("a"), ast.UnaryExpr(NOT, F("b"))), "a AND NOT b"),
        (B("+", F("a"), ast.UnaryExpr(NOT, F("b"))), "a + (NOT b)"),
        (ast.UnaryExpr(NOT, B("AND", F("a"), F("b"))), "NOT (a AND b)"),
        (ast.UnaryExpr("-", B("+", F("a"), F("b"))), "-(a + b)"),
        (ast.UnaryExpr("-", Int(-1)), "- -1"),
        (ast.UnaryExpr("-", ast.UnaryExpr("-", F("a"))), "- -a"),
        (ast.Arrow(B("+", F("a"), F("b")), "c"), "(a + b)->c"),
        (ast.Index(ast.Between(F("a"), Int(1), Int(2)), Int(0)), "(a BETWEEN 1 AND 2)[0]"),
        (ast.Between(F("a"), B("AND", F("b"), F("c")), Int(2)), "a BETWEEN (b AND c) AND 2"),
        (ast.In(ast.In(F("a"), [Int(1)]), [Int(2)]), "a IN (1) IN (2)"),
        (B("+", ast.In(F("a"), [Int(1)]), Int(1)), "(a IN (1)) + 1"),
        (ast.Like(F("a"), ast.Like(F("b"), F("c"))), "a LIKE (b LIKE c)"),
        (ast.NumberLiteral(2.5), "2.5"),
        (ast.StringLiteral("a\nb'\"\x00", "'"), "'a\\nb\\'\"\\x00'"),
        (ast.Window("TUMBLINGWINDOW", [ast.TimeUnit("SS"), Int(1)]), "TUMBLINGWINDOW(SS, 1)"),
        (ast.Join("LEFT", ast.Source("b")), "LEFT JOIN b"),
        (ast.Join("INNER", ast.Source("b"), F("x"), spelling="JOIN"), "JOIN b ON x"),
        (ast.Option("SHARED", True), "SHARED=true"),
        (ast.Column("from", ast.DataType("ARRAY", element=ast.DataType("BIGINT"))), "`from` ARRAY(BIGINT)"),
        (ast.MetaRef(["b", "c"], "a"), "meta(a.b.c)"),
        (ast.Over([F("a")], F("b")), "OVER (PARTITION BY a WHEN b)"),
    ],
)
def test_hand_built_trees_get_the_parentheses_they_need(tree, text):
    assert to_sql(tree) == text


@pytest.mark.parametrize(
    "tree",
    [
        B("*", B("+", F("a"), F("b")), B("-", F("c"), F("d"))),
        B("AND", B("OR", F("a"), ast.UnaryExpr(NOT, F("b"))), F("c")),
        B("=", B("AND", F("a"), ast.UnaryExpr(NOT, F("b"))), F("c")),
        ast.Index(ast.UnaryExpr("-", F("a")), Int(0)),
        ast.Slice(B("*", F("a"), F("b")), None, Int(1)),
    ],
)
def test_hand_built_trees_read_back_unchanged_once_parenthesised(tree):
    # The printer's parentheses become Paren nodes; printing again is a fixed point.
    text = to_sql(tree)
    assert to_sql(parse_expr(text)) == text


def test_rejects_non_nodes():
    with pytest.raises(TypeError):
        to_sql("SELECT")  # type: ignore[arg-type]
