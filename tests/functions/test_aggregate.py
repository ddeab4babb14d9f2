"""Aggregate functions, called through the registry as the engine does."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import arrokoth.functions.aggregate  # noqa: F401 - registers the aggregates
from arrokoth.functions.registry import FuncKind, FunctionContext, FunctionError, registry
from arrokoth.sql import ast


def call(name: str, *columns: list):
    fdef = registry.get(name)
    assert fdef is not None and fdef.kind is FuncKind.AGGREGATE
    return fdef.impl(list(columns))


def validate(name: str, *args) -> None:
    fdef = registry.get(name)
    fdef.validate(list(args))


def typed_equal(a, b) -> bool:
    """Equality that also requires the same Python type (1 vs 1.0 vs True)."""
    if type(a) is not type(b):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(typed_equal(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return a.keys() == b.keys() and all(typed_equal(a[k], b[k]) for k in a)
    return a == b


# --- sum / avg / count ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "col", "want"),
    [
        ("avg", [1, 2], 1),
        ("avg", [1.0, 2], 1.5),
        ("avg", [None, 1, None, 4], 2),
        ("avg", [-7, 2], -2),  # Go truncates toward zero
        ("avg", [100, 150, 200], 150),
        ("avg", [100.0, 150.0, 200.0], 150.0),
        ("avg", [1, 2.9], 1),  # int arithmetic truncates later floats
        ("avg", [], None),
        ("avg", [None, None], None),
        ("sum", [1, 2.7], 3),
        ("sum", [1.5, 2], 3.5),
        ("sum", [None, 1, 2, None], 3),
        ("sum", [], None),
        ("sum", [None], None),
        ("sum", [2**63 - 1, 1], -(2**63)),  # int64 wraps
        ("count", [1, None, "a", None], 2),
        ("count", [], 0),
        ("count", [{"a": 1}, {"a": None}], 2),  # count(*) gets the rows
    ],
)
def test_sum_avg_count(name, col, want):
    assert typed_equal(call(name, col), want)


@pytest.mark.parametrize(
    ("name", "col", "message"),
    [
        ("sum", ["a", 1], "run sum function error: found invalid arg string(a)"),
        ("avg", ["foo", "bar"], "run avg function error: found invalid arg string(foo)"),
        ("sum", [True], "run sum function error: found invalid arg bool(true)"),
        ("sum", [1, "x"], "requires int but found string(x)"),
        ("avg", [1, True], "requires int but found bool(true)"),
        ("sum", [1.5, "x"], "requires float64 but found string(x)"),
    ],
)
def test_sum_avg_errors(name, col, message):
    with pytest.raises(FunctionError) as e:
        call(name, col)
    assert str(e.value) == message


# --- min / max -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("col", "want_max", "want_min"),
    [
        ([100, 150, 200], 200, 100),
        ([100.0, 150.0, 200.0], 200.0, 100.0),
        ([None, 3, None, 1], 3, 1),
        ([1, 2.7], 2, 1),  # int type kept, float truncated
        ([1.5, 2], 2.0, 1.5),
        (["foo", "bar", "self"], "self", "bar"),  # strings compare in eKuiper
        ([], None, None),
        ([None], None, None),
    ],
)
def test_max_min(col, want_max, want_min):
    assert typed_equal(call("max", col), want_max)
    assert typed_equal(call("min", col), want_min)


@pytest.mark.parametrize(
    ("col", "message"),
    [
        ([True, False], "found invalid arg bool(true)"),
        ([{"a": 1}], "found invalid arg map[string]interface {}(map[a:1])"),
        ([1, "a"], "requires int64 but found string(a)"),
        (["a", 1], "requires string but found int64(1)"),
    ],
)
def test_max_min_errors(col, message):
    for name in ("max", "min"):
        with pytest.raises(FunctionError) as e:
            call(name, col)
        assert str(e.value) == message


# --- collect / merge_agg / last_value / deduplicate ----------------------------------------


def test_collect_keeps_nulls_and_order():
    assert call("collect", [3, None, 1]) == [3, None, 1]
    rows = [{"a": 1}, {"a": 2}]
    assert call("collect", rows) == rows
    assert call("collect", []) == []


def test_merge_agg():
    rows = [{"foo": "bar", "a": 123}, {"foo1": "bar", "a": 243}, 5, None, {"foo": "bar1", "a": 342}]
    assert call("merge_agg", rows) == {"foo": "bar1", "a": 342, "foo1": "bar"}
    assert call("merge_agg", [100, 150]) == {}
    assert call("merge_agg", []) == {}


@pytest.mark.parametrize(
    ("col", "flag", "want"),
    [
        (["foo", "bar", "self"], True, "self"),
        ([100, 3.14, 1], False, 1),
        ([100, 3.14, None], True, 3.14),
        ([100, 3.14, None], False, None),
        ([None, None], True, None),
        ([], True, None),
    ],
)
def test_last_value(col, flag, want):
    assert typed_equal(call("last_value", col, [flag] * len(col)), want)


def test_last_value_flag_must_be_bool():
    with pytest.raises(FunctionError, match=r"the second parameter requires bool but found int64\(1\)"):
        call("last_value", [1], [1])


ROWS = [
    {"a": 1, "b": "x"},
    {"a": 2, "b": "y"},
    {"a": 1, "b": "z"},
    {"a": 3, "b": "w"},
]


def test_deduplicate_all():
    keys = [r["a"] for r in ROWS]
    assert call("deduplicate", ROWS, keys, [True] * 4) == [ROWS[0], ROWS[1], ROWS[3]]


def test_deduplicate_latest():
    keys = [r["a"] for r in ROWS]
    assert call("deduplicate", ROWS, keys, [False] * 4) == ROWS[3]
    assert call("deduplicate", ROWS[:3], keys[:3], [False] * 3) is None
    # `%v` spelling decides, so 1 and 1.0 collide
    assert call("deduplicate", [{"a": 1}, {"a": 1.0}], [1, 1.0], [False, False]) is None


def test_deduplicate_needs_rows_and_bool():
    assert registry.get("deduplicate").extra["prepend_rows"] is True
    with pytest.raises(FunctionError, match="Invalid argument type found."):
        call("deduplicate", ROWS, [1, 2, 1, 3], [1, 1, 1, 1])


# --- statistics ----------------------------------------------------------------------------


@pytest.mark.parametrize("col", [[100, 150, 200], [100.0, 150.0, 200.0], [100, None, 150, 200]])
def test_stddev_var(col):
    assert call("stddev", col) == 40.824829046386306
    assert call("stddevs", col) == 50.0
    assert call("var", col) == 1666.6666666666667
    assert call("vars", col) == 2500.0


def test_stats_empty_and_errors():
    for name in ("stddev", "stddevs", "var", "vars", "median"):
        assert call(name, []) is None
        assert call(name, [None]) is None
        with pytest.raises(FunctionError) as e:
            call(name, ["foo", "bar", "self"])
        assert str(e.value) == "requires float64 slice but found []interface {}([foo bar self])"
    assert math.isnan(call("vars", [3]))  # Go divides 0 by 0


def test_median():
    assert call("median", [3, 1, 2]) == 2.0
    assert call("median", [4, 1, 3, 2]) == 2.5
    assert typed_equal(call("median", [5]), 5.0)


@pytest.mark.parametrize(
    ("col", "p", "cont", "disc"),
    [
        ([100, 150, 200], 0.5, 125.0, 150.0),
        ([100.0, 150.0, 200.0], 0.5, 125.0, 150.0),
        ([1, 2, 3, 4], 0.5, 2.0, 2.0),
        ([1, 2, 3, 4], 1, 4.0, 4.0),
        ([1, 2, 3, 4], 0.9, 3.5, 4.0),
        ([7], 0.5, 7.0, 7.0),
    ],
)
def test_percentiles(col, p, cont, disc):
    pcol = [p] * len(col)
    assert typed_equal(call("percentile_cont", col, pcol), cont)
    assert typed_equal(call("percentile_disc", col, pcol), disc)


def test_percentile_edges():
    assert call("percentile_cont", [], []) is None
    assert call("percentile_disc", [1, 2, 3], [0, 0, 0]) == 1.0
    with pytest.raises(FunctionError, match="percentile exec with error: Input is outside of range."):
        call("percentile_cont", [1, 2, 3], [0, 0, 0])
    with pytest.raises(FunctionError, match="the second parameter requires float64"):
        call("percentile_cont", [1, 2], ["x", "x"])
    with pytest.raises(FunctionError, match="Expect 2 arguments but found 1."):
        call("percentile_cont", [1, 2])


# --- hit counters --------------------------------------------------------------------------


def test_last_agg_hit_readers():
    for name in ("last_agg_hit_count", "last_agg_hit_time"):
        fdef = registry.get(name)
        assert fdef.needs_context and fdef.kind is FuncKind.AGGREGATE
        assert fdef.impl(FunctionContext(), []) == 0
        assert fdef.impl(FunctionContext(shared={name: 42}), []) == 42


# --- validation at rule creation -----------------------------------------------------------

COL = ast.FieldRef("a")


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("sum", [COL, COL], "Expect 1 arguments but found 2."),
        ("avg", [ast.StringLiteral("x")], "Expect number - float or int type for parameter 1"),
        ("max", [ast.BooleanLiteral(True)], "Expect number - float or int type for parameter 1"),
        (
            "min",
            [ast.BinaryExpr(">", COL, ast.IntegerLiteral(1))],
            "Expect number - float or int type for parameter 1",
        ),
        ("count", [], "Expect 1 arguments but found 0."),
        ("deduplicate", [COL, COL], "Expect bool type for parameter 2"),
        ("deduplicate", [COL], "Expect 2 arguments but found 1."),
        ("last_value", [COL, ast.StringLiteral("t")], "Expect bool type for parameter 2"),
        (
            "percentile_cont",
            [COL, ast.StringLiteral("x")],
            "Expect number - float or int type for parameter 2",
        ),
        ("percentile_disc", [COL, ast.NumberLiteral(1.5)], "the percentile must be a number between 0 and 1"),
        ("percentile_cont", [COL, ast.UnaryExpr("-", ast.NumberLiteral(0.5))], "the percentile must be"),
        ("last_agg_hit_count", [COL], "Expect 0 arguments but found 1."),
    ],
)
def test_validation_errors(name, args, message):
    with pytest.raises(FunctionError) as e:
        validate(name, *args)
    assert str(e.value).startswith(message)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("sum", [COL]),
        ("count", [ast.Wildcard()]),
        ("deduplicate", [COL, ast.BooleanLiteral(False)]),
        ("last_value", [ast.Wildcard(), ast.BinaryExpr("=", COL, ast.IntegerLiteral(1))]),
        ("percentile_cont", [COL, ast.NumberLiteral(0.25)]),
        ("percentile_disc", [COL, ast.IntegerLiteral(1)]),
    ],
)
def test_validation_accepts(name, args):
    validate(name, *args)


# --- incremental == batch ------------------------------------------------------------------

INCREMENTAL = ("count", "avg", "max", "min", "sum", "merge_agg", "collect", "last_value")

numbers = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
)
anything = st.one_of(
    numbers, st.booleans(), st.text(max_size=3), st.dictionaries(st.sampled_from("abc"), numbers)
)


def _outcome(fn):
    try:
        return ("ok", fn())
    except FunctionError as e:
        return ("error", str(e))


def _batch_and_incremental(name: str, rows: list[list]):
    fdef = registry.get(name)
    columns = [[row[i] for row in rows] for i in range(len(rows[0]))] if rows else [[], []]
    batch = _outcome(lambda: fdef.impl(columns))

    def incremental():
        acc = fdef.extra["incremental"]()
        half = len(rows) // 2
        for row in rows[:half]:
            acc.add(row)
        # a checkpoint taken half-way must carry on exactly
        resumed = fdef.extra["incremental"]()
        resumed.restore(acc.snapshot())
        for row in rows[half:]:
            resumed.add(row)
        return resumed.result()

    return batch, _outcome(incremental)


def test_incremental_registered():
    for name in INCREMENTAL:
        fdef = registry.get(name)
        assert fdef.incremental and "incremental" in fdef.extra
    assert not registry.get("median").incremental


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(INCREMENTAL), values=st.lists(numbers, max_size=8), flag=st.booleans())
def test_incremental_equals_batch_numbers(name, values, flag):
    rows = [[v, flag] for v in values]
    batch, inc = _batch_and_incremental(name, rows)
    assert batch[0] == inc[0]
    assert typed_equal(batch[1], inc[1])


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(INCREMENTAL), values=st.lists(anything, max_size=6), flag=st.booleans())
def test_incremental_equals_batch_any_values(name, values, flag):
    rows = [[v, flag] for v in values]
    batch, inc = _batch_and_incremental(name, rows)
    assert batch[0] == inc[0]
    assert typed_equal(batch[1], inc[1])


def test_incremental_empty_group():
    for name in INCREMENTAL:
        batch, inc = _batch_and_incremental(name, [])
        assert typed_equal(batch, inc)
