import glob
import json
import os

import pytest

from arrokoth.sql import SqlSyntaxError, ast, parse, parse_expr
from arrokoth.sql.tokens import RESERVED

F = ast.FieldRef
Int = ast.IntegerLiteral
B = ast.BinaryExpr
S = ast.StringLiteral

CONFORMANCE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "conformance")


def f(name, stream=None):
    return F(name, stream)


# --- literals and references --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", Int(1)),
        ("-1", Int(-1)),
        ("- 1", Int(-1)),
        ("1.5", ast.NumberLiteral(1.5)),
        (".5", ast.NumberLiteral(0.5)),
        ("1.5e3", ast.NumberLiteral(1500.0)),
        ("-2.5", ast.NumberLiteral(-2.5)),
        ('"a"', S("a")),
        ("'a'", S("a")),
        ("true", ast.BooleanLiteral(True)),
        ("FALSE", ast.BooleanLiteral(False)),
        ("a", f("a")),
        ("`from`", f("from")),
        ("`a.b.c`", f("a.b.c")),
        ("demo.size", f("size", "demo")),
        ("`my s`.`my c`", f("my c", "my s")),
        ("demo.name.first", ast.Arrow(f("name", "demo"), "first")),
        ("limit", f("limit")),
        ("Filter", f("Filter")),
        ("ss", f("ss")),
    ],
)
def test_primaries(text, expected):
    assert parse_expr(text) == expected


def test_literal_spelling_is_kept():
    number = parse_expr("-1.50")
    assert number.text == "-1.50"
    assert parse_expr("'x'").quote == "'"
    assert parse_expr('"x"').quote == '"'


def test_int64_bounds():
    assert parse_expr("9223372036854775807") == Int(2**63 - 1)
    assert parse_expr("-9223372036854775808") == Int(-(2**63))
    with pytest.raises(SqlSyntaxError, match="int64"):
        parse_expr("9223372036854775808")
    with pytest.raises(SqlSyntaxError, match="int64"):
        parse_expr("1" * 5000)


# --- operators and precedence -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a + b * c", B("+", f("a"), B("*", f("b"), f("c")))),
        ("a * b + c", B("+", B("*", f("a"), f("b")), f("c"))),
        ("a - b - c", B("-", B("-", f("a"), f("b")), f("c"))),
        ("a / b % c", B("%", B("/", f("a"), f("b")), f("c"))),
        ("a | b & c", B("|", f("a"), B("&", f("b"), f("c")))),
        ("a ^ b | c", B("|", B("^", f("a"), f("b")), f("c"))),
        ("a + b = c", B("=", B("+", f("a"), f("b")), f("c"))),
        ("a = b = c", B("=", B("=", f("a"), f("b")), f("c"))),
        ("a OR b AND c", B("OR", f("a"), B("AND", f("b"), f("c")))),
        ("a AND b OR c", B("OR", B("AND", f("a"), f("b")), f("c"))),
        ("a or b or c", B("OR", B("OR", f("a"), f("b")), f("c"))),
        ("a = 1 AND b != 2", B("AND", B("=", f("a"), Int(1)), B("!=", f("b"), Int(2)))),
        ("(a + b) * c", B("*", ast.Paren(B("+", f("a"), f("b"))), f("c"))),
        ("a < b", B("<", f("a"), f("b"))),
        ("a <= b", B("<=", f("a"), f("b"))),
        ("a > b", B(">", f("a"), f("b"))),
        ("a >= b", B(">=", f("a"), f("b"))),
        ("a ! = b", B("!=", f("a"), f("b"))),
        ("a ! b", B("=", f("a"), f("b"))),
        ("a - -1", B("-", f("a"), Int(-1))),
        ("a-1", B("-", f("a"), Int(1))),
    ],
)
def test_binary_precedence(text, expected):
    assert parse_expr(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # `[`, `->` and `.` share the level of `*` (eKuiper's table), left to right.
        ("a * b[0]", ast.Index(B("*", f("a"), f("b")), Int(0))),
        ("a * b->c", ast.Arrow(B("*", f("a"), f("b")), "c")),
        ("a + b[0]", B("+", f("a"), ast.Index(f("b"), Int(0)))),
        ("a + b->c", B("+", f("a"), ast.Arrow(f("b"), "c"))),
        ("-a[0]", ast.Index(ast.UnaryExpr("-", f("a")), Int(0))),
    ],
)
def test_postfix_operators_bind_like_multiplication(text, expected):
    assert parse_expr(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-a", ast.UnaryExpr("-", f("a"))),
        ("- -1", ast.UnaryExpr("-", Int(-1))),
        ("-(1)", ast.UnaryExpr("-", ast.Paren(Int(1)))),
        ("-a * b", B("*", ast.UnaryExpr("-", f("a")), f("b"))),
        ("a * -b", B("*", f("a"), ast.UnaryExpr("-", f("b")))),
        ("NOT a", ast.UnaryExpr("NOT", f("a"))),
        ("not a = b", ast.UnaryExpr("NOT", B("=", f("a"), f("b")))),
        ("NOT a AND b", B("AND", ast.UnaryExpr("NOT", f("a")), f("b"))),
        ("a AND NOT b", B("AND", f("a"), ast.UnaryExpr("NOT", f("b")))),
        ("NOT NOT a", ast.UnaryExpr("NOT", ast.UnaryExpr("NOT", f("a")))),
        ("NOT a IN (1)", ast.UnaryExpr("NOT", ast.In(f("a"), [Int(1)]))),
    ],
)
def test_unary_operators(text, expected):
    assert parse_expr(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a IN (1, 2)", ast.In(f("a"), [Int(1), Int(2)])),
        ("a IN (1)", ast.In(f("a"), [Int(1)])),
        ("a NOT IN ('x')", ast.In(f("a"), [S("x")], negated=True)),
        ("a IN arr", ast.In(f("a"), f("arr"))),
        ("a in b->c", ast.In(f("a"), ast.Arrow(f("b"), "c"))),
        ("a IN b + c", ast.In(f("a"), B("+", f("b"), f("c")))),
        ("a + 1 IN (2)", ast.In(B("+", f("a"), Int(1)), [Int(2)])),
        ("a IN (1) AND b", B("AND", ast.In(f("a"), [Int(1)]), f("b"))),
        ("a IN (1) = true", B("=", ast.In(f("a"), [Int(1)]), ast.BooleanLiteral(True))),
        ("a BETWEEN 1 AND 2", ast.Between(f("a"), Int(1), Int(2))),
        (
            "a NOT BETWEEN b + 1 AND c * 2",
            ast.Between(f("a"), B("+", f("b"), Int(1)), B("*", f("c"), Int(2)), negated=True),
        ),
        ("a BETWEEN 1 AND 2 AND b", B("AND", ast.Between(f("a"), Int(1), Int(2)), f("b"))),
        ("a LIKE 'x%'", ast.Like(f("a"), S("x%"))),
        ("a NOT LIKE b", ast.Like(f("a"), f("b"), negated=True)),
        ("a LIKE b OR c", B("OR", ast.Like(f("a"), f("b")), f("c"))),
    ],
)
def test_in_between_like(text, expected):
    assert parse_expr(text) == expected


def test_case():
    assert parse_expr("CASE a WHEN 1 THEN 'x' WHEN 2 THEN 'y' ELSE 'z' END") == ast.Case(
        f("a"), [ast.When(Int(1), S("x")), ast.When(Int(2), S("y"))], S("z")
    )
    assert parse_expr("case when a > 1 then 1 end") == ast.Case(
        None, [ast.When(B(">", f("a"), Int(1)), Int(1))]
    )


# --- JSON paths -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a->b", ast.Arrow(f("a"), "b")),
        ("a->b->c", ast.Arrow(ast.Arrow(f("a"), "b"), "c")),
        ("a->`b c`", ast.Arrow(f("a"), "b c")),
        ("a[0]", ast.Index(f("a"), Int(0))),
        ("a[-1]", ast.Index(f("a"), Int(-1))),
        ("a[x + 1]", ast.Index(f("a"), B("+", f("x"), Int(1)))),
        ("a[1:2]", ast.Slice(f("a"), Int(1), Int(2))),
        ("a[:2]", ast.Slice(f("a"), None, Int(2))),
        ("a[1:]", ast.Slice(f("a"), Int(1), None)),
        ("a[:]", ast.Slice(f("a"), None, None)),
        ("a[]", ast.Slice(f("a"), None, None)),
        ("a->b[:4]", ast.Slice(ast.Arrow(f("a"), "b"), None, Int(4))),
        ("a[0][1]", ast.Index(ast.Index(f("a"), Int(0)), Int(1))),
        (
            "collect(*)[0]->color",
            ast.Arrow(ast.Index(ast.Call("collect", [ast.Wildcard()]), Int(0)), "color"),
        ),
        ("f(x)->k", ast.Arrow(ast.Call("f", [f("x")]), "k")),
        ("f(x).k", ast.Arrow(ast.Call("f", [f("x")]), "k")),
        ("ops->functionA.numArgs", ast.Arrow(ast.Arrow(f("ops"), "functionA"), "numArgs")),
        ("demo.a.b.c", ast.Arrow(ast.Arrow(f("a", "demo"), "b"), "c")),
        ("(a).b", ast.Arrow(ast.Paren(f("a")), "b")),
    ],
)
def test_json_paths(text, expected):
    assert parse_expr(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("meta(topic)", ast.MetaRef(["topic"])),
        ("META(topic)", ast.MetaRef(["topic"])),
        ("meta(demo.topic)", ast.MetaRef(["topic"], "demo")),
        ("meta(*)", ast.MetaRef(["*"])),
        ("meta(a.b.c)", ast.MetaRef(["b", "c"], "a")),
        ("meta(`a b`)", ast.MetaRef(["a b"])),
        ("mqtt(topic)", ast.MetaRef(["topic"], func="mqtt")),
        ("meta(topic)->x", ast.Arrow(ast.MetaRef(["topic"]), "x")),
    ],
)
def test_meta(text, expected):
    assert parse_expr(text) == expected


# --- calls and windows ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("f()", ast.Call("f")),
        ("Upper(a)", ast.Call("Upper", [f("a")])),
        ("count(*)", ast.Call("count", [ast.Wildcard()])),
        ("count(demo.*)", ast.Call("count", [ast.Wildcard("demo")])),
        ("changed_col(true, *)", ast.Call("changed_col", [ast.BooleanLiteral(True), ast.Wildcard()])),
        ("`my f`(1, 'a')", ast.Call("my f", [Int(1), S("a")])),
        ("replace(a)", ast.Call("replace", [f("a")])),
        (
            "lag(a) OVER (PARTITION BY b, c WHEN d)",
            ast.Call("lag", [f("a")], over=ast.Over([f("b"), f("c")], f("d"))),
        ),
        ("lag(a) over (partition by b)", ast.Call("lag", [f("a")], over=ast.Over([f("b")]))),
        ("acc_sum(a) OVER (WHEN b)", ast.Call("acc_sum", [f("a")], over=ast.Over(when=f("b")))),
        ("count(*) FILTER (WHERE a > 1)", ast.Call("count", [ast.Wildcard()], filter=B(">", f("a"), Int(1)))),
        (
            "sum(a) OVER (WHEN b) FILTER (WHERE c)",
            ast.Call("sum", [f("a")], over=ast.Over(when=f("b")), filter=f("c")),
        ),
    ],
)
def test_calls(text, expected):
    assert parse_expr(text) == expected


def test_call_keeps_name_spelling():
    assert parse_expr("Upper(a)").name == "Upper"


@pytest.mark.parametrize(
    ("text", "kind", "args"),
    [
        ("TUMBLINGWINDOW(ss, 10)", "TUMBLINGWINDOW", [ast.TimeUnit("SS"), Int(10)]),
        ("tumblingWindow(Dd, 1)", "TUMBLINGWINDOW", [ast.TimeUnit("DD"), Int(1)]),
        ("HoppingWindow(hh, 2, 1)", "HOPPINGWINDOW", [ast.TimeUnit("HH"), Int(2), Int(1)]),
        ("SLIDINGWINDOW(mi, 5)", "SLIDINGWINDOW", [ast.TimeUnit("MI"), Int(5)]),
        ("SLIDINGWINDOW(ms, 5, 2)", "SLIDINGWINDOW", [ast.TimeUnit("MS"), Int(5), Int(2)]),
        ("SessionWindow(ss, 10, 2)", "SESSIONWINDOW", [ast.TimeUnit("SS"), Int(10), Int(2)]),
        ("COUNTWINDOW(5)", "COUNTWINDOW", [Int(5)]),
        ("countwindow(5, 5)", "COUNTWINDOW", [Int(5), Int(5)]),
        ("STATEWINDOW(a > 1)", "STATEWINDOW", [B(">", f("a"), Int(1))]),
        ("StateWindow(a, b)", "STATEWINDOW", [f("a"), f("b")]),
    ],
)
def test_windows(text, kind, args):
    window = parse_expr(text)
    assert window == ast.Window(kind, args)
    assert window.name == text.split("(")[0]


def test_window_unit_spelling_is_kept():
    assert parse_expr("TUMBLINGWINDOW(Ss, 1)").args[0].text == "Ss"


def test_window_filter_and_over():
    window = parse_expr("SlidingWindow(ss, 1) FILTER (WHERE a = 1) OVER (WHEN b > 2)")
    assert window == ast.Window(
        "SLIDINGWINDOW",
        [ast.TimeUnit("SS"), Int(1)],
        filter=B("=", f("a"), Int(1)),
        over=ast.Over(when=B(">", f("b"), Int(2))),
    )
    window = parse_expr("STATEWINDOW(a, b) OVER (PARTITION BY c, d)")
    assert window.over == ast.Over([f("c"), f("d")])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("TUMBLINGWINDOW(ss)", "TUMBLINGWINDOW expects 2 arguments, found 1"),
        ("TUMBLINGWINDOW(ss, 1, 2)", "TUMBLINGWINDOW expects 2 arguments, found 3"),
        ("HOPPINGWINDOW(ss, 1)", "HOPPINGWINDOW expects 3 arguments, found 2"),
        ("SLIDINGWINDOW(ss, 1, 2, 3)", "SLIDINGWINDOW expects 2 or 3 arguments, found 4"),
        ("COUNTWINDOW()", "COUNTWINDOW expects 1 or 2 arguments, found 0"),
        ("STATEWINDOW(a, b, c)", "STATEWINDOW expects 1 or 2 arguments, found 3"),
        ("TUMBLINGWINDOW(1, 1)", 'found "1", expected time unit'),
        ("TUMBLINGWINDOW(`ss`, 1)", 'found "`ss`", expected time unit'),
        ("TUMBLINGWINDOW(ss, a)", 'found "a", expected integer literal'),
        ("TUMBLINGWINDOW(ss, 1.5)", 'found "1.5", expected integer literal'),
        ("COUNTWINDOW(0)", 'found "0", expected a positive window size'),
        ("COUNTWINDOW(3, 4)", 'found "4", expected an interval between 1 and the window size'),
        ("COUNTWINDOW(3, 0)", 'found "0", expected an interval'),
    ],
)
def test_window_errors(text, message):
    with pytest.raises(SqlSyntaxError) as info:
        parse_expr(text)
    assert info.value.message.startswith(message)


# --- SELECT -------------------------------------------------------------------------------


def test_select_clauses():
    stmt = parse(
        "SELECT a, b AS c FROM demo WHERE a > 1 GROUP BY b, TUMBLINGWINDOW(ss, 1) "
        "HAVING count(*) > 1 ORDER BY a DESC, b ASC, c LIMIT 5;"
    )
    assert stmt == ast.Select(
        fields=[ast.Field(f("a")), ast.Field(f("b"), "c")],
        source=ast.Source("demo"),
        where=B(">", f("a"), Int(1)),
        group_by=[f("b"), ast.Window("TUMBLINGWINDOW", [ast.TimeUnit("SS"), Int(1)])],
        having=B(">", ast.Call("count", [ast.Wildcard()]), Int(1)),
        order_by=[ast.SortField(f("a"), True), ast.SortField(f("b")), ast.SortField(f("c"))],
        limit=5,
    )
    assert stmt.window is stmt.group_by[1]
    assert stmt.dimensions == [f("b")]
    assert [s.explicit for s in stmt.order_by] == [True, True, False]


def test_keywords_are_case_insensitive():
    assert parse("select a from demo where a > 1") == parse("SELECT a FROM demo WHERE a > 1")


def test_fields():
    stmt = parse("SELECT a AS x INVISIBLE, b INVISIBLE, c AS `limit` FROM demo")
    assert stmt.fields == [
        ast.Field(f("a"), "x", True),
        ast.Field(f("b"), None, True),
        ast.Field(f("c"), "limit"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*", ast.Wildcard()),
        ("demo.*", ast.Wildcard("demo")),
        ("* EXCEPT(a, b)", ast.Wildcard(except_=["a", "b"])),
        ("* REPLACE(a + 1 AS a)", ast.Wildcard(replace=[ast.Field(B("+", f("a"), Int(1)), "a")])),
        (
            "* EXCEPT(c) REPLACE('t' AS b, a->b AS a)",
            ast.Wildcard(
                except_=["c"], replace=[ast.Field(S("t"), "b"), ast.Field(ast.Arrow(f("a"), "b"), "a")]
            ),
        ),
        ("* REPLACE(1 AS a) EXCEPT(b)", ast.Wildcard(except_=["b"], replace=[ast.Field(Int(1), "a")])),
    ],
)
def test_wildcards(text, expected):
    assert parse(f"SELECT {text} FROM demo").fields == [ast.Field(expected)]


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("FROM demo", ast.Source("demo")),
        ("FROM demo AS d", ast.Source("demo", "d")),
        ("FROM demo d", ast.Source("demo", "d")),
        ("FROM `my stream` `m s`", ast.Source("my stream", "m s")),
    ],
)
def test_sources(text, source):
    assert parse(f"SELECT a {text}").source == source


@pytest.mark.parametrize(
    ("text", "kind", "spelling"),
    [
        ("JOIN", "INNER", "JOIN"),
        ("INNER JOIN", "INNER", "INNER JOIN"),
        ("left join", "LEFT", "LEFT JOIN"),
        ("LEFT OUTER JOIN", "LEFT", "LEFT OUTER JOIN"),
        ("RIGHT JOIN", "RIGHT", "RIGHT JOIN"),
        ("right outer join", "RIGHT", "RIGHT OUTER JOIN"),
        ("FULL JOIN", "FULL", "FULL JOIN"),
        ("FULL OUTER JOIN", "FULL", "FULL OUTER JOIN"),
    ],
)
def test_joins(text, kind, spelling):
    stmt = parse(f"SELECT * FROM a {text} b AS c ON a.id = c.id")
    (join,) = stmt.joins
    assert join == ast.Join(kind, ast.Source("b", "c"), B("=", f("id", "a"), f("id", "c")))
    assert join.spelling == spelling


def test_cross_join_and_chained_joins():
    stmt = parse("SELECT * FROM a CROSS JOIN b LEFT JOIN c ON x INNER JOIN d ON y")
    assert [(j.kind, j.source.name, j.on) for j in stmt.joins] == [
        ("CROSS", "b", None),
        ("LEFT", "c", f("x")),
        ("INNER", "d", f("y")),
    ]


# --- DDL ----------------------------------------------------------------------------------


def test_create_stream():
    stmt = parse(
        'CREATE STREAM demo (a BIGINT, b float, c STRING DEFAULT "x", d DATETIME, e BOOLEAN DEFAULT true, '
        "f BYTEA, g ARRAY(BIGINT), h STRUCT(x FLOAT, y ARRAY(STRUCT(z STRING))), i BIGINT DEFAULT -1,) "
        'WITH (datasource="demo", Format="json", SHARED=TRUE, strict_validation=false, KEY="k");'
    )
    T = ast.DataType
    assert stmt == ast.CreateStream(
        "STREAM",
        "demo",
        [
            ast.Column("a", T("BIGINT")),
            ast.Column("b", T("FLOAT")),
            ast.Column("c", T("STRING"), S("x")),
            ast.Column("d", T("DATETIME")),
            ast.Column("e", T("BOOLEAN"), ast.BooleanLiteral(True)),
            ast.Column("f", T("BYTEA")),
            ast.Column("g", T("ARRAY", element=T("BIGINT"))),
            ast.Column(
                "h",
                T(
                    "STRUCT",
                    fields=[
                        ast.Column("x", T("FLOAT")),
                        ast.Column(
                            "y", T("ARRAY", element=T("STRUCT", fields=[ast.Column("z", T("STRING"))]))
                        ),
                    ],
                ),
            ),
            ast.Column("i", T("BIGINT"), Int(-1)),
        ],
        [
            ast.Option("DATASOURCE", "demo"),
            ast.Option("FORMAT", "json"),
            ast.Option("SHARED", True),
            ast.Option("STRICT_VALIDATION", False),
            ast.Option("KEY", "k"),
        ],
    )
    assert stmt.option("format") == "json"
    assert not stmt.schemaless


def test_create_schemaless_table():
    stmt = parse("create table t () with (DATASOURCE='x', TYPE=\"file\")")
    assert stmt == ast.CreateStream(
        "TABLE", "t", [], [ast.Option("DATASOURCE", "x"), ast.Option("TYPE", "file")]
    )
    assert stmt.schemaless


def test_options_follow_ekuiper_leniency():
    # Commas may be left out, and a repeated option overrides the earlier one.
    stmt = parse('CREATE STREAM s () WITH (DATASOURCE="a" TYPE="b", DATASOURCE="c",)')
    assert stmt.options == [ast.Option("DATASOURCE", "c"), ast.Option("TYPE", "b")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DROP STREAM demo", ast.DropStream("STREAM", "demo")),
        ("drop table `t t`", ast.DropStream("TABLE", "t t")),
        ("SHOW STREAMS", ast.ShowStreams("STREAMS")),
        ("show tables;", ast.ShowStreams("TABLES")),
        ("DESCRIBE STREAM demo", ast.DescribeStream("STREAM", "demo")),
        ("describe table t", ast.DescribeStream("TABLE", "t")),
        ("EXPLAIN STREAM demo", ast.ExplainStream("STREAM", "demo")),
        ("Explain Table t", ast.ExplainStream("TABLE", "t")),
    ],
)
def test_other_ddl(text, expected):
    assert parse(text) == expected


# --- comments and whitespace ----------------------------------------------------------


def test_comments():
    stmt = parse("-- leading\nSELECT /* inline */ a -- trailing\nFROM demo /* end */")
    assert stmt == parse("SELECT a FROM demo")


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "pos", "line", "column"),
    [
        ("SELECT FROM demo", 'found "FROM", expected expression', 7, 1, 8),
        ("SELECT a FROM", 'found "EOF", expected stream name', 13, 1, 14),
        ("SELECT a demo", 'found "demo", expected FROM', 9, 1, 10),
        ("SELECT a FROM demo WHERE", 'found "EOF", expected expression', 24, 1, 25),
        ("SELECT a FROM demo GROUP a", 'found "a", expected BY', 25, 1, 26),
        ("SELECT a FROM demo ORDER a", 'found "a", expected BY', 25, 1, 26),
        ("SELECT a FROM demo LIMIT a", 'found "a", expected integer', 25, 1, 26),
        ("SELECT a FROM demo LIMIT 1.5", 'found "1.5", expected integer', 25, 1, 26),
        ("SELECT a FROM demo;;", 'found ";", expected EOF', 19, 1, 20),
        ("SELECT a FROM demo x y", 'found "y", expected EOF', 21, 1, 22),
        ("SELECT a FROM demo\n  LEFT demo2", 'found "demo2", expected JOIN', 26, 2, 8),
        ("SELECT a FROM a CROSS JOIN b ON x", 'found "ON", but CROSS JOIN takes no ON condition', 29, 1, 30),
        ("SELECT * AS x FROM demo", "alias is not supported for *", 9, 1, 10),
        ("SELECT a AS FROM demo", 'found "FROM", expected alias', 12, 1, 13),
        ("SELECT (a FROM demo", 'found "FROM", expected ")"', 10, 1, 11),
        ("SELECT f(a b) FROM demo", 'found "b", expected "," or ")"', 11, 1, 12),
        ("SELECT a[1 FROM demo", 'found "FROM", expected "]" or ":"', 11, 1, 12),
        ("SELECT a-> FROM demo", 'found "FROM", expected field name', 11, 1, 12),
        ("SELECT CASE END FROM demo", 'found "END", expected WHEN', 12, 1, 13),
        ("SELECT CASE WHEN a 1 END FROM demo", 'found "1", expected THEN', 19, 1, 20),
        ("SELECT CASE WHEN a THEN 1 FROM demo", 'found "FROM", expected END', 26, 1, 27),
        ("SELECT a BETWEEN 1 OR 2 FROM demo", 'found "OR", expected AND', 19, 1, 20),
        ("SELECT a IN () FROM demo", 'found ")", expected expression', 13, 1, 14),
        ("SELECT a = NOT b FROM demo", 'found "NOT", expected expression', 11, 1, 12),
        ("SELECT a NOT b FROM demo", 'found "NOT", expected FROM', 9, 1, 10),
        ("SELECT a IN (1) + 1 FROM demo", 'found "+", expected FROM', 16, 1, 17),
        ("SELECT a <> b FROM demo", 'found ">", expected expression', 10, 1, 11),
        ("SELECT f(x) OVER () FROM demo", 'found ")", expected PARTITION BY or WHEN', 18, 1, 19),
        ("SELECT f(x) OVER (PARTITION a) FROM demo", 'found "a", expected BY', 28, 1, 29),
        ("SELECT count(*) FILTER (a) FROM demo", 'found "a", expected WHERE', 24, 1, 25),
        ("SELECT meta(a + b) FROM demo", 'found "+", expected "." or ")"', 14, 1, 15),
        ("SELECT meta() FROM demo", 'found ")", expected metadata key', 12, 1, 13),
        ("SELECT * EXCEPT() FROM demo", 'found ")", expected column name', 16, 1, 17),
        ("SELECT a.b.* FROM demo", 'found "*", expected field name', 11, 1, 12),
        ("SELECT *, * + 1 FROM demo", 'found "+", expected FROM', 12, 1, 13),
        ("SELECT a + * FROM demo", 'found "*", expected expression', 11, 1, 12),
        ("", 'found "EOF", expected SELECT, CREATE, DROP, SHOW, DESCRIBE or EXPLAIN', 0, 1, 1),
        ("UPDATE t", 'found "UPDATE", expected SELECT, CREATE, DROP, SHOW, DESCRIBE or EXPLAIN', 0, 1, 1),
        ("CREATE VIEW v", 'found "VIEW", expected STREAM or TABLE', 7, 1, 8),
        ("CREATE STREAM s", 'found "EOF", expected "("', 15, 1, 16),
        ("CREATE STREAM s (a)", 'found ")", expected column type', 18, 1, 19),
        ("CREATE STREAM s (a INT) WITH ()", 'found "INT", expected column type', 19, 1, 20),
        ("CREATE STREAM s (a BIGINT b STRING)", 'found "b", expected "," or ")"', 26, 1, 27),
        ("CREATE STREAM s (a ARRAY(BIGINT, STRING))", 'found ",", expected ")"', 31, 1, 32),
        ("CREATE STREAM s (a BIGINT)", 'found "EOF", expected WITH', 26, 1, 27),
        ("CREATE STREAM s () WITH (DATASOURCE=1)", 'found "1", expected string value in option', 36, 1, 37),
        ('CREATE STREAM s () WITH (DATASOURCE "x")', 'found "\\"x\\"", expected "="', 36, 1, 37),
        ("CREATE STREAM s (a BIGINT DEFAULT b) WITH ()", 'found "b", expected literal', 34, 1, 35),
        ("SHOW STREAM", 'found "STREAM", expected STREAMS or TABLES', 5, 1, 6),
        ("DROP STREAM", 'found "EOF", expected stream name', 11, 1, 12),
        ("DESCRIBE TABLE select", 'found "SELECT", expected table name', 15, 1, 16),
    ],
)
def test_errors(text, message, pos, line, column):
    with pytest.raises(SqlSyntaxError) as info:
        parse(text)
    err = info.value
    assert err.message.startswith(message)
    assert (err.pos, err.line, err.column) == (pos, line, column)
    assert str(err) == f"{err.message} at line {line}, column {column}."


def test_error_message_matches_ekuiper_wording():
    with pytest.raises(SqlSyntaxError) as info:
        parse("SELECT FROM demo")
    assert str(info.value) == 'found "FROM", expected expression at line 1, column 8.'


def test_parse_expr_rejects_trailing_tokens():
    with pytest.raises(SqlSyntaxError, match='found "b", expected EOF'):
        parse_expr("a b")


@pytest.mark.parametrize("word", sorted(RESERVED))
def test_reserved_words_are_not_identifiers(word):
    for text in (f"SELECT {word} FROM demo", f"SELECT a FROM {word}", f"SELECT a AS {word} FROM demo"):
        with pytest.raises(SqlSyntaxError):
            parse(text)
    quoted = parse(f"SELECT `{word.lower()}` FROM `{word}`")
    assert quoted.fields == [ast.Field(f(word.lower()))]
    assert quoted.source == ast.Source(word)


@pytest.mark.parametrize(
    "word",
    [
        "limit",
        "filter",
        "invisible",
        "default",
        "except",
        "replace",
        "right",
        "full",
        "cross",
        "dd",
        "hh",
        "mi",
        "ss",
        "ms",
    ],
)
def test_soft_keywords_work_as_names(word):
    stmt = parse(f"SELECT {word}, {word}.x, f({word}), a->{word} AS {word} FROM {word}")
    assert stmt.fields[0] == ast.Field(f(word))
    assert stmt.fields[1] == ast.Field(f("x", word))
    assert stmt.source == ast.Source(word)


@pytest.mark.parametrize(
    "text",
    [
        "(" * 65 + "a" + ")" * 65,
        "f(" * 65 + ")" * 65,
        "a" + "[a" * 65 + "]" * 65,
        "CASE WHEN " * 65 + "a",
        "a" + " + a" * 200,
        "NOT " * 200 + "a",
        "- " * 200 + "a",
        "a" + "->b" * 200,
        "(" * 100_000,
    ],
)
def test_nesting_is_bounded(text):
    with pytest.raises(SqlSyntaxError, match="nested more than"):
        parse_expr(text)


def test_replace_takes_no_wildcards():
    with pytest.raises(SqlSyntaxError, match='found "\\*", expected expression'):
        parse("SELECT * REPLACE(* REPLACE(a AS b)) FROM demo")
    with pytest.raises(SqlSyntaxError):
        parse("SELECT " + "* REPLACE(" * 10_000 + "a AS b" + ")" * 10_000 + " FROM demo")


def test_nesting_below_the_bound_parses():
    assert parse_expr("(" * 60 + "a" + ")" * 60) is not None
    assert parse_expr("a" + " OR a" * 150) is not None


def test_type_nesting_is_bounded():
    with pytest.raises(SqlSyntaxError, match="nested more than"):
        parse("CREATE STREAM s (a " + "ARRAY(" * 1000 + "BIGINT" + ")" * 1000 + ") WITH ()")


# --- the conformance corpus -------------------------------------------------------------


def corpus():
    cases = []
    for path in sorted(glob.glob(os.path.join(CONFORMANCE, "*.json"))):
        with open(path, encoding="utf-8") as file:
            case = json.load(file)
        cases.append(case["rule"]["sql"])
        cases.extend(case["streams"])
    return sorted(set(cases))


def test_corpus_is_present():
    assert len(corpus()) > 100


@pytest.mark.parametrize("text", corpus())
def test_conformance_corpus_parses(text):
    stmt = parse(text)
    expected = ast.CreateStream if text.upper().startswith("CREATE") else ast.Select
    assert isinstance(stmt, expected)
