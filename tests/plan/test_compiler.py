"""The expression compiler: SQL expressions become closures over a Row, JoinedRow or Group."""

from __future__ import annotations

import pytest

from arrokoth.functions import builtins
from arrokoth.functions.registry import FuncKind, FunctionError, registry
from arrokoth.functions.values import EvalError
from arrokoth.plan.compiler import Compiler, PlanError, RuleState, SourceInfo, go_string, literal_value
from arrokoth.plan.rows import Group, JoinedRow, Row
from arrokoth.sql import ast, parse_expr

builtins.load()


def compiler(*sources: SourceInfo, aliases: dict[str, str] | None = None, state: RuleState | None = None) -> Compiler:
    srcs = list(sources) or [SourceInfo("demo")]
    parsed = {k: parse_expr(v) for k, v in (aliases or {}).items()}
    return Compiler(registry, srcs, state or RuleState(), aliases=parsed)


def ev(expr: str, msg: dict | None = None, *, columns: dict | None = None, **row) -> object:
    c = compiler(SourceInfo("demo", columns=columns))
    return c.compile(parse_expr(expr))(Row(msg or {}, **row))


def error_of(expr: str, msg: dict | None = None) -> str:
    with pytest.raises((EvalError, FunctionError)) as exc:
        ev(expr, msg)
    return str(exc.value)


def plan_error(expr: str, **kw) -> str:
    c = compiler(**kw) if kw else compiler()
    with pytest.raises(PlanError) as exc:
        c.compile(parse_expr(expr))
    return str(exc.value)


# --- literals and references --------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [("42", 42), ("1.5", 1.5), ("'s'", "s"), ('"d"', "d"), ("true", True), ("FALSE", False), ("-3", -3), ("(7)", 7)],
)
def test_literals(expr, expected):
    result = ev(expr)
    assert result == expected
    assert type(result) is type(expected)


def test_columns_and_missing_columns():
    msg = {"size": 3, "color": "red", "nothing": None}
    assert ev("size", msg) == 3
    assert ev("color", msg) == "red"
    assert ev("nothing", msg) is None
    assert ev("absent", msg) is None


def test_column_names_are_case_sensitive():
    assert ev("Size", {"size": 3}) is None
    assert ev("Size", {"Size": 4}) == 4


def test_stream_qualified_column_and_stream_alias():
    assert ev("demo.size", {"size": 3}) == 3
    c = compiler(SourceInfo("demo", alias="d"))
    assert c.compile(parse_expr("d.size"))(Row({"size": 5})) == 5
    assert c.compile(parse_expr("demo.size"))(Row({"size": 6})) == 6


def test_unknown_stream_qualifier_is_a_plan_error():
    assert plan_error("x.size") == "stream x not found"


def test_schema_rejects_unknown_columns_at_plan_time():
    c = compiler(SourceInfo("typed", columns={"size": ast.DataType("BIGINT")}))
    assert c.compile(parse_expr("size + 1"))(Row({"size": 2})) == 3
    with pytest.raises(PlanError, match=r"^unknown field nope$"):
        c.compile(parse_expr("nope"))
    with pytest.raises(PlanError, match=r"^unknown field nope$"):
        c.compile(parse_expr("typed.nope"))


def test_schemaless_accepts_any_column():
    c = compiler(SourceInfo("free"))
    assert c.compile(parse_expr("anything"))(Row({})) is None


def test_literal_value_helper():
    assert literal_value(parse_expr("3")) == 3
    assert literal_value(parse_expr("'x'")) == "x"
    with pytest.raises(TypeError):
        literal_value(parse_expr("a"))


# --- JSON paths ---------------------------------------------------------------------------

NESTED = {
    "name": {"first": "Tom", "last": "Anderson"},
    "children": [{"color": "red", "n": 1}, {"color": "blue", "n": 2}, {"color": "green", "n": 3}],
    "followers": {"Group1": [{"first": "John"}, {"first": "Alice"}], "Group2": []},
    "arr": [1, 2, 3, 4, 5],
    "ops": {"functionA": {"numArgs": 2}},
}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("name->first", "Tom"),
        ("name->middle", None),
        ("name->first->x", None),
        ("demo.name.first", "Tom"),
        ("ops->functionA.numArgs", 2),
        ("children[0]->color", "red"),
        ("children[-1]->n", 3),
        ("children[1:]", [{"color": "blue", "n": 2}, {"color": "green", "n": 3}]),
        ("children[:1]", [{"color": "red", "n": 1}]),
        ("followers->Group1[:1]", [{"first": "John"}]),
        ("followers->Group1[1]->first", "Alice"),
        ("arr[1 + 1]", 3),
        ("arr[-2:]", [4, 5]),
        ("arr[:]", [1, 2, 3, 4, 5]),
        ("missing->a", None),
        ("missing->a->b", None),
        ("missing[0]", None),
    ],
)
def test_json_paths(expr, expected):
    assert ev(expr, NESTED) == expected


def test_out_of_range_index_is_a_runtime_error():
    assert error_of("arr[5]", NESTED) == "out of index: 5 of 5"
    assert error_of("arr[-6]", NESTED) == "out of index: -6 of 5"


def test_slice_errors_at_runtime():
    assert error_of("arr[5:]", NESTED) == "start value is out of index: 5 of 5"
    assert error_of("arr[1:9]", NESTED) == "end value is out of index: 9 of 5"
    assert error_of("arr[3:1]", NESTED) == "start cannot be greater than end. start:3  end:1"


def test_index_on_a_non_array_is_an_error():
    assert error_of("name[0]", NESTED) == "invalid operation map[string]interface {} [] int64"


# --- operators through the compiler ------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("size * 5", 15),
        ("size / 6", 0),
        ("-size / 2", -1),
        ("size % 2", 1),
        ("size / 2.0", 1.5),
        ("size + 0.5", 3.5),
        ("size - 1 * 2", 1),
        ("(size - 1) * 2", 4),
        ("size & 1", 1),
        ("size | 4", 7),
        ("size ^ 1", 2),
        ("size > 2", True),
        ("size >= 3.0", True),
        ("size = 3", True),
        ("size != 3", False),
        ("size < 3", False),
        ("color = 'red'", True),
        ("color < 's'", True),
        ("size > 2 AND color = 'red'", True),
        ("size > 5 OR color = 'red'", True),
        ("NOT (size > 5)", True),
        ("flag = true", True),
        ("flag != false", True),
        ("flag & false", False),
        ("flag | false", True),
        ("flag ^ true", False),
    ],
)
def test_operators(expr, expected):
    result = ev(expr, {"size": 3, "color": "red", "flag": True})
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("color > 2", "invalid operation string(red) > int64(2)"),
        ("2 < color", "invalid operation int64(2) < string(red)"),
        ("color + 'x'", "invalid operation string(red) + string(x)"),
        ("flag + 1", "invalid operation bool(true) + int64(1)"),
        ("flag > false", "invalid operation bool(true) > bool(false)"),
        ("size / 0", "divided by zero"),
        ("size % 0", "divided by zero"),
        ("size / 0.0", "divided by zero"),
        ("size AND true", "invalid operation int64(3) AND bool(true)"),
        ("false OR size", "invalid operation bool(false) OR int64(3)"),
        ("-color", "invalid operation -string"),
        ("NOT size", "invalid operation NOT int64"),
    ],
)
def test_operator_errors(expr, message):
    assert error_of(expr, {"size": 3, "color": "red", "flag": True}) == message


def test_the_column_op_literal_fast_path_agrees_with_the_general_path():
    # `col > 2` takes a shortcut for numbers; other values must go through compare()
    assert ev("x > 2", {"x": 2.5}) is True
    assert ev("x > 2", {"x": None}) is False
    assert error_of("x > 2", {"x": "3"}) == "invalid operation string(3) > int64(2)"
    assert error_of("x > 2", {"x": True}) == "invalid operation bool(true) > int64(2)"
    assert error_of("x > y", {"x": True, "y": 1}) == "invalid operation bool(true) > int64(1)"


def test_short_circuit_skips_the_right_side():
    assert ev("false AND 1 / 0 = 1") is False
    assert ev("true OR 1 / 0 = 1") is True
    assert error_of("true AND 1 / 0 = 1") == "divided by zero"
    assert error_of("false OR 1 / 0 = 1") == "divided by zero"


def test_int_and_float_compare_numerically():
    assert ev("a = b", {"a": 3, "b": 3.0}) is True
    assert ev("a < b", {"a": 3, "b": 3.5}) is True


# --- IN, BETWEEN, LIKE -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("size IN (1, 2, 3)", True),
        ("size IN (1, 2)", False),
        ("size NOT IN (1, 2)", True),
        ("size IN (3.0)", True),
        ("color IN ('red', 'blue')", True),
        ("size IN arr", True),
        ("4 IN arr", False),
        ("4 NOT IN arr", True),
        ("size IN nothing", False),
        ("size NOT IN nothing", True),
        ("size IN (size - 1 + 1)", True),
        ("missing IN (1, 2)", False),
        ("missing NOT IN (1, 2)", False),
    ],
)
def test_in(expr, expected):
    assert ev(expr, {"size": 3, "color": "red", "arr": [1, 2, 3]}) is expected


def test_in_errors():
    assert error_of("color IN (1, 2)", {"color": "red"}) == (
        "evaluate in expression error: invalid operation string(red) = int64(1)"
    )
    assert error_of("1 IN x", {"x": "abc"}).startswith("the right side of IN should be an array")


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("size BETWEEN 1 AND 3", True),
        ("size BETWEEN 3 AND 5", True),
        ("size BETWEEN 4 AND 5", False),
        ("size NOT BETWEEN 4 AND 5", True),
        ("size NOT BETWEEN 1 AND 5", False),
        ("size BETWEEN 2.5 AND 3.5", True),
        ("color BETWEEN 'a' AND 's'", True),
        ("missing BETWEEN 1 AND 5", False),
        ("missing NOT BETWEEN 1 AND 5", False),
        ("size BETWEEN missing AND 5", False),
        ("size NOT BETWEEN 1 AND missing", False),
    ],
)
def test_between_is_inclusive_and_false_with_null(expr, expected):
    assert ev(expr, {"size": 3, "color": "red"}) is expected


def test_between_type_mismatch_is_an_error():
    assert error_of("color BETWEEN 1 AND 5", {"color": "red"}) == "invalid operation string(red) >= int64(1)"


# eKuiper's xsql TestLike, row by row; the pattern of the last query is a column. Its
# `LIKE "str\\_ng"` query is left out: eKuiper doubles every backslash of the pattern
# into the regexp, so there `\_` matches a backslash and an underscore, while spec §4.3
# (followed here) reads `\_` as a literal underscore; see test_like_escapes below.
LIKE_QUERIES = [
    'a LIKE "string"',
    'b LIKE "an_ther"',
    'a NOT LIKE "string1"',
    'a LIKE "str%"',
    "a LIKE b",
]
LIKE_ROWS = [
    ({"a": "string1", "b": 12},
     [False, "LIKE operator left operand expects string, but found 12", False, True,
      "invalid LIKE pattern, must be a string but got 12"]),
    ({"a": "string2", "b": "another"}, [False, True, True, True, False]),
    ({"a": "str\\_ng", "b": "str_ng"}, [False, False, True, True, False]),
    ({"a": "str_ng", "b": "str_ng"}, [False, False, True, True, True]),
]


@pytest.mark.parametrize(("msg", "results"), LIKE_ROWS)
def test_like_as_in_ekuiper(msg, results):
    for sql, expected in zip(LIKE_QUERIES, results, strict=True):
        if isinstance(expected, str):
            assert error_of(sql, msg) == expected, sql
        else:
            assert ev(sql, msg) is expected, sql


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("str_ng", "str\\_ng", True),
        ("string", "str\\_ng", False),
        ("100%", "100\\%", True),
        ("1000", "100\\%", False),
        ("a\\b", "a\\\\b", True),
    ],
)
def test_like_escapes(value, pattern, expected):
    # the pattern comes from a column, so no string-literal unescaping is involved
    assert ev("v LIKE p", {"v": value, "p": pattern}) is expected
    assert ev("v NOT LIKE p", {"v": value, "p": pattern}) is (not expected)


def test_like_with_a_null_left_side_is_an_error():
    assert error_of("x LIKE 'a%'", {}) == "LIKE operator left operand expects string, but found <nil>"
    assert error_of("x LIKE p", {"p": "a%"}) == "LIKE operator left operand expects string, but found <nil>"


def test_like_pattern_can_be_any_string_expression():
    assert ev("name LIKE concat(prefix, '%')", {"name": "Tom Anderson", "prefix": "Tom"}) is True
    assert ev("name NOT LIKE concat(prefix, '%')", {"name": "Tom Anderson", "prefix": "Ann"}) is True


# --- CASE -----------------------------------------------------------------------------------

# eKuiper's xsql TestCase: four queries over seven rows
CASE_QUERIES = [
    "CASE a WHEN 32 THEN 1 ELSE 0 END",
    "CASE a WHEN 72 THEN 1 WHEN 32 THEN 0 END",
    "CASE WHEN a > 70 THEN 1 WHEN a > 30 AND a < 70 THEN 0 ELSE -1 END",
    "CASE WHEN a > 30 THEN 1 END",
]
CASE_ROWS = [
    ({"a": 32.0, "b": 72.0}, [1, 0, 0, 1]),
    ({"a": 32, "b": 72}, [1, 0, 0, 1]),
    ({"a": "32", "b": "72"}, [
        "evaluate case expression error: invalid operation string(32) = int64(32)",
        "evaluate case expression error: invalid operation string(32) = int64(72)",
        "evaluate case expression error: invalid operation string(32) > int64(70)",
        "evaluate case expression error: invalid operation string(32) > int64(30)",
    ]),
    ({"a": 55.0, "b": 55}, [0, None, 0, 1]),
    ({"a": 55, "b": 0.0}, [0, None, 0, 1]),
    ({"c": "nothing"}, [0, None, -1, None]),
    ({"a": 12, "c": "nothing"}, [0, None, -1, None]),
]


@pytest.mark.parametrize(("msg", "results"), CASE_ROWS)
def test_case_as_in_ekuiper(msg, results):
    for sql, expected in zip(CASE_QUERIES, results, strict=True):
        if isinstance(expected, str):
            assert error_of(sql, msg) == expected, sql
        else:
            assert ev(sql, msg) == expected, sql


def test_case_takes_the_first_true_branch_and_skips_non_boolean_conditions():
    assert ev("CASE WHEN size > 1 THEN 'a' WHEN size > 2 THEN 'b' END", {"size": 3}) == "a"
    # a WHEN that is not exactly true (here a string) is not taken
    assert ev("CASE WHEN color THEN 1 ELSE 2 END", {"color": "red"}) == 2
    assert ev("CASE color WHEN 'red' THEN size * 2 END", {"color": "red", "size": 4}) == 8


def test_case_evaluates_only_the_chosen_result():
    assert ev("CASE WHEN true THEN 1 ELSE 1 / 0 END") == 1


# --- function calls -------------------------------------------------------------------------


def test_scalar_functions_and_case_insensitive_names():
    assert ev("upper(color)", {"color": "red"}) == "RED"
    assert ev("UPPER(color)", {"color": "red"}) == "RED"
    assert ev("Abs(-3)") == 3
    assert ev("upper(missing)") is None
    assert ev("concat('a', missing, 'b')") == "ab"


def test_unknown_function_and_wrong_arity_are_plan_errors():
    assert plan_error("nofunc(a)") == "function nofunc not found"
    assert plan_error("abs(a, b)") == "abs: Expect 1 arguments but found 2."
    assert plan_error("abs()") == "abs: Expect 1 arguments but found 0."


def test_set_returning_functions_only_as_select_fields():
    assert plan_error("unnest(arr) = 1") == "function unnest is only allowed as a SELECT field"


def test_window_bounds_are_zero_without_a_window():
    state = RuleState(window_start=100, window_end=200)
    c = compiler(state=state)
    start = c.compile(parse_expr("window_start()"))
    end = c.compile(parse_expr("window_end()"))
    assert (start(Row({})), end(Row({}))) == (0, 0)
    state.has_window = True
    assert (start(Row({})), end(Row({}))) == (100, 200)
    state.window_end = 300
    assert end(Row({})) == 300


def test_window_bounds_take_no_arguments():
    assert plan_error("window_start(1)") == "Expect 0 arguments but found 1."


def test_event_time_is_the_row_timestamp_or_the_window_end_for_a_group():
    state = RuleState(window_end=5000, has_window=True)
    c = compiler(state=state)
    assert c.compile(parse_expr("event_time()"))(Row({}, ts=1234)) == 1234
    grouped = c.compile(parse_expr("event_time()"), group=True)
    assert grouped(Group([Row({}, ts=1)])) == 5000


def test_meta_reads_row_metadata():
    meta = {"topic": "mock", "device": {"name": "d1"}}
    assert ev("meta(topic)", meta=meta) == "mock"
    assert ev("mqtt(topic)", meta=meta) == "mock"
    assert ev("meta(*)", meta=meta) == meta
    assert ev("meta(device)->name", meta=meta) == "d1"
    assert ev("meta(missing)", meta=meta) is None
    assert ev("meta(topic)") is None


def test_row_number_reads_the_rule_state():
    state = RuleState(row_number=4)
    c = compiler(state=state)
    assert c.compile(parse_expr("row_number()"))(Row({})) == 4


def test_function_errors_propagate_at_runtime():
    with pytest.raises((EvalError, FunctionError)):
        ev("abs(color)", {"color": "x"})


# --- aliases --------------------------------------------------------------------------------


def test_alias_references_are_inlined():
    c = compiler(aliases={"a": "size + 1"})
    assert c.compile(parse_expr("a * 2"))(Row({"size": 3})) == 8


def test_alias_with_the_name_of_a_column_means_the_column_inside_its_own_field():
    # select size + 1 as size, size + 1 as b  →  size=4, b=5 for size=3
    c = compiler(aliases={"size": "size + 1", "b": "size + 1"})
    own = c.compile_field(ast.Field(parse_expr("size + 1"), "size"))
    other = c.compile_field(ast.Field(parse_expr("size + 1"), "b"))
    row = Row({"size": 3})
    assert own(row) == 4
    assert other(row) == 5
    # outside SELECT (WHERE, ORDER BY) the name means the alias
    assert c.compile(parse_expr("size"))(row) == 4


def test_qualified_names_never_mean_an_alias():
    c = compiler(aliases={"size": "size + 1"})
    assert c.compile(parse_expr("demo.size"))(Row({"size": 3})) == 3


def test_alias_cycle_is_a_plan_error():
    c = compiler(aliases={"a": "b + 1", "b": "a + 1"})
    with pytest.raises(PlanError, match="referenced in a cycle"):
        c.compile_field(ast.Field(parse_expr("b + 1"), "a"))


def test_aggregate_detection_sees_through_aliases():
    c = compiler(aliases={"c": "count(*)", "s": "size * 2", "t": "event_time()"})
    assert c.is_aggregate(parse_expr("c > 1")) is True
    assert c.is_aggregate(parse_expr("s > 1")) is False
    assert c.is_aggregate(parse_expr("max(size)")) is True
    assert c.needs_group(parse_expr("t")) is True
    assert c.is_aggregate(parse_expr("t")) is False


# --- group mode and aggregates --------------------------------------------------------------


def test_group_mode_reads_non_aggregates_from_the_first_row():
    c = compiler()
    g = Group([Row({"color": "red", "size": 1}), Row({"color": "blue", "size": 5})])
    assert c.compile(parse_expr("color"), group=True)(g) == "red"
    assert c.compile(parse_expr("count(*)"), group=True)(g) == 2
    assert c.compile(parse_expr("sum(size)"), group=True)(g) == 6
    assert c.compile(parse_expr("sum(size) + size"), group=True)(g) == 7
    assert c.compile(parse_expr("color"), group=True)(Group([])) is None


def test_aggregate_without_a_group_is_over_the_current_row():
    c = compiler()
    row = Row({"size": 7})
    assert c.compile(parse_expr("count(*)"))(row) == 1
    assert c.compile(parse_expr("sum(size)"))(row) == 7
    assert c.compile(parse_expr("avg(size)"))(row) == 7
    assert c.compile(parse_expr("max(size) * 2"))(row) == 14


def test_aggregate_filter_clause():
    c = compiler()
    g = Group([Row({"size": 1}), Row({"size": 5}), Row({"size": 7})])
    fn = c.compile(parse_expr("count(*) FILTER (WHERE size > 2)"), group=True)
    assert fn(g) == 2


# --- analytic functions ---------------------------------------------------------------------


def test_analytic_calls_get_a_slot_and_read_the_row_cache():
    c = compiler()
    fn = c.compile(parse_expr("lag(size) + 1"))
    assert len(c.analytics) == 1
    call = c.analytics[0]
    assert call.fdef.kind is FuncKind.ANALYTIC
    assert call.slot == 0
    assert call.partition == [] and call.when is None
    # the AnalyticStep fills the cache before WHERE; the expression only reads it
    assert fn(Row({"size": 9}, cache=[41])) == 42


def test_analytic_over_clause_is_compiled():
    c = compiler()
    c.compile(parse_expr("lag(size) OVER (PARTITION BY color WHEN size > 1)"))
    call = c.analytics[0]
    assert [p(Row({"color": "red"})) for p in call.partition] == ["red"]
    assert call.when(Row({"size": 2})) is True
    assert call.when(Row({"size": 1})) is False


def test_no_agg_state_functions_read_before_where_outside_where():
    state = RuleState()
    state.fctx.shared.update(last_hit_count=5)
    c = compiler(state=state)
    fn = c.compile(parse_expr("last_hit_count()"))
    assert c.uses_last_hit is True
    assert len(c.analytics) == 1  # precomputed per row like an analytic function
    assert c.analytics[0].fdef.impl({}, [], True) == 5
    assert fn(Row({}, cache=[5])) == 5
    c.in_where = True
    live = c.compile(parse_expr("last_hit_count()"))
    state.fctx.shared["last_hit_count"] = 6
    assert live(Row({})) == 6


# --- joins ----------------------------------------------------------------------------------


def joined(*msgs: dict | None, emitters=("demo", "s2")) -> JoinedRow:
    parts = [None if m is None else Row(m, emitter=e) for m, e in zip(msgs, emitters)]
    return JoinedRow(parts)


def join_compiler(left_cols=None, right_cols=None) -> Compiler:
    return compiler(SourceInfo("demo", columns=left_cols), SourceInfo("s2", alias="b", columns=right_cols))


def test_join_qualified_and_unqualified_references():
    c = join_compiler()
    row = joined({"id": 1, "v": "left"}, {"id": 1, "v": "right", "w": "only right"})
    assert c.compile(parse_expr("demo.v"))(row) == "left"
    assert c.compile(parse_expr("b.v"))(row) == "right"
    assert c.compile(parse_expr("s2.v"))(row) == "right"
    # unqualified: sources in FROM/JOIN order, the first that has the key wins
    assert c.compile(parse_expr("v"))(row) == "left"
    assert c.compile(parse_expr("w"))(row) == "only right"


def test_join_unqualified_null_in_the_left_source_still_wins():
    c = join_compiler()
    assert c.compile(parse_expr("v"))(joined({"v": None}, {"v": "right"})) is None


def test_join_missing_side_of_an_outer_join_gives_null():
    c = join_compiler()
    row = joined({"id": 1}, None)
    assert c.compile(parse_expr("b.id"))(row) is None
    assert c.compile(ast.Wildcard(stream="b"))(row) is None


def test_join_unqualified_column_uses_the_schemas():
    c = join_compiler({"id": ast.DataType("BIGINT")}, {"w": ast.DataType("STRING")})
    row = joined({"id": 1, "w": "not in schema"}, {"w": "right"})
    assert c.compile(parse_expr("w"))(row) == "right"
    with pytest.raises(PlanError, match=r"^unknown field nope$"):
        c.compile(parse_expr("nope"))
    with pytest.raises(PlanError, match=r"^unknown field w$"):
        c.compile(parse_expr("demo.w"))


def test_join_wildcard_merges_with_the_leftmost_source_winning():
    c = join_compiler()
    row = joined({"id": 1, "v": "left"}, {"id": 2, "w": "x"})
    star = c.compile(ast.Wildcard())(row)
    assert star == {"id": 1, "v": "left", "w": "x"}
    assert c.compile(ast.Wildcard(stream="b"))(row) == {"id": 2, "w": "x"}


def test_join_meta_by_stream():
    c = join_compiler()
    row = JoinedRow([Row({}, meta={"topic": "t1"}), Row({}, meta={"topic": "t2"})])
    assert c.compile(parse_expr("meta(topic)"))(row) == "t1"
    assert c.compile(parse_expr("meta(b.topic)"))(row) == "t2"


def test_source_row_expressions_place_the_row_in_its_slot():
    # analytic arguments and window conditions run on one source's row, before the join
    c = join_compiler()
    fn = c.compile_source_row(parse_expr("b.w"))
    assert fn(Row({"w": "x"}, emitter="s2")) == "x"
    assert fn(Row({"w": "x"}, emitter="demo")) is None
    both = c.compile_source_row(parse_expr("v"))
    assert both(Row({"v": 1}, emitter="demo")) == 1
    assert both(Row({"v": 2}, emitter="s2")) == 2
    # an unknown emitter counts as the first source, as the runtime does
    assert c.compile_source_row(parse_expr("demo.v"))(Row({"v": 3}, emitter="")) == 3
    # a joined row passes through unchanged
    assert fn(joined({"v": 1}, {"w": "y"})) == "y"


def test_source_row_expressions_in_a_single_stream_rule_are_plain():
    c = compiler()
    node = parse_expr("size + 1")
    assert c.compile_source_row(node)(Row({"size": 1})) == 2


def test_analytic_values_in_a_join_come_from_the_source_rows():
    c = join_compiler()
    fn = c.compile(parse_expr("lag(demo.v)"))
    call = c.analytics[0]
    assert call.args[0](Row({"v": "a"}, emitter="demo")) == "a"
    left = Row({"v": "a"}, emitter="demo", cache=["from left"])
    right = Row({"w": 1}, emitter="s2", cache=["from right"])
    assert fn(JoinedRow([left, right])) == "from left"
    assert fn(JoinedRow([None, right])) == "from right"


# --- eKuiper's String() of expressions, used in Select errors -------------------------------


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        ("size * 5", "binaryExpr:{ s.size * 5 }"),
        ("s.size + 1.5", "binaryExpr:{ s.size + 1.5 }"),
        ("(size - 1) / 2", "binaryExpr:{ binaryExpr:{ s.size - 1 } / 2 }"),
        ("abs(size)", "Call:{ name:abs, args:[s.size] }"),
        ("UPPER(color)", "Call:{ name:upper, args:[s.color] }"),
        ("size > true", "binaryExpr:{ s.size > true }"),
    ],
)
def test_go_string_single_source(expr, text):
    assert go_string(parse_expr(expr), [SourceInfo("s")]) == text


def test_go_string_in_a_join_does_not_invent_a_stream():
    sources = [SourceInfo("a"), SourceInfo("b")]
    assert go_string(parse_expr("x * 2"), sources) == "binaryExpr:{ x * 2 }"
    assert go_string(parse_expr("b.x * 2"), sources) == "binaryExpr:{ b.x * 2 }"


def test_unsupported_node_is_a_plan_error():
    c = compiler()
    with pytest.raises(PlanError, match="only allowed in GROUP BY"):
        c.compile(ast.Window("TUMBLINGWINDOW", [ast.TimeUnit("SS"), ast.IntegerLiteral(1)]))
