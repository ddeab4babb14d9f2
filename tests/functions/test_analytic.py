"""Analytic (stateful) functions, called through the registry as the engine does."""

from __future__ import annotations

import pytest

import arrokoth.functions.analytic  # noqa: F401 - registers the analytic functions
from arrokoth.functions.analytic import changed_cols_apply
from arrokoth.functions.registry import FuncKind, FunctionContext, FunctionError, registry
from arrokoth.sql import ast


def run(name: str, rows: list[list], valid: list[bool] | None = None, state: dict | None = None) -> list:
    """Feed rows (each the evaluated argument list) through one call site."""
    fdef = registry.get(name)
    assert fdef.kind is FuncKind.ANALYTIC
    state = {} if state is None else state
    valid = valid or [True] * len(rows)
    return [fdef.impl(state, values, ok) for values, ok in zip(rows, valid)]


def validate(name: str, *args) -> None:
    registry.get(name).validate(list(args))


# --- lag -----------------------------------------------------------------------------------


def test_lag_default_offset():
    assert run("lag", [[3], [6], [2]]) == [None, 3, 6]


def test_lag_offset_and_default():
    # conformance TestLagFuncs: lag(a, 2, "a10")
    rows = [[v, 2, "a10"] for v in ("a1", "a2", "a1", "a1")]
    assert run("lag", rows) == ["a10", "a10", "a1", "a2"]


def test_lag_offset_zero_is_always_null():
    assert run("lag", [[1, 0], [2, 0]]) == [None, None]


def test_lag_ignores_nulls_by_default():
    # a null neither enters the history nor advances it; its row still sees the last value
    assert run("lag", [[1], [None], [2], [3]]) == [None, 1, 1, 2]


def test_lag_keeps_nulls_when_asked():
    rows = [[v, 1, None, False] for v in (1, None, 2, 3)]
    assert run("lag", rows) == [None, 1, None, 2]


def test_lag_over_when():
    # rows failing WHEN return the pending value and do not consume the offset
    rows = [[v, 1, 0] for v in (10, 20, 30, 40)]
    assert run("lag", rows, valid=[True, False, True, True]) == [0, 10, 10, 30]


def test_lag_partitions_have_separate_state():
    # conformance TestLagPartition: lag(size) over (partition by color)
    data = [("red", 3), ("blue", 6), ("blue", 2), ("yellow", 4), ("red", 1)]
    states: dict[str, dict] = {}
    lag = registry.get("lag").impl
    out = [lag(states.setdefault(color, {}), [size], True) for color, size in data]
    assert out == [None, None, 6, None, 3]


def test_lag_alias_sequence():
    # conformance TestAnalyzeFuncAlias2: lag(size, 1, 0)
    assert run("lag", [[s, 1, 0] for s in (3, 6, 2, 4, 1)]) == [0, 3, 6, 2, 4]


def test_lag_runtime_errors():
    with pytest.raises(FunctionError, match="cannot convert float64"):
        run("lag", [[1, 1.5]])
    with pytest.raises(FunctionError, match="The fourth arg is not a bool"):
        run("lag", [[1, 1, None, 3]])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "expect one two or three args but got 0"),
        ([ast.FieldRef("a")] * 5, "expect one two or three args but got 5"),
        ([ast.FieldRef("a"), ast.NumberLiteral(1.5)], "Expect int type for parameter 2"),
        ([ast.FieldRef("a"), ast.FieldRef("b")], "Expect int type for parameter 2"),
        ([ast.FieldRef("a"), ast.StringLiteral("1")], "Expect int type for parameter 2"),
        ([ast.FieldRef("a"), ast.IntegerLiteral(-1)], "the index should not be a nagtive integer"),
        (
            [ast.FieldRef("a"), ast.UnaryExpr("-", ast.IntegerLiteral(2))],
            "the index should not be a nagtive integer",
        ),
        (
            [ast.FieldRef("a"), ast.IntegerLiteral(1), ast.IntegerLiteral(0), ast.StringLiteral("x")],
            "Expect bool type for parameter 4",
        ),
    ],
)
def test_lag_validation(args, message):
    with pytest.raises(FunctionError) as e:
        validate("lag", *args)
    assert str(e.value) == message


def test_lag_validation_accepts():
    validate("lag", ast.FieldRef("a"))
    validate(
        "lag", ast.FieldRef("a"), ast.IntegerLiteral(0), ast.StringLiteral("d"), ast.BooleanLiteral(False)
    )


# --- latest --------------------------------------------------------------------------------


def test_latest():
    assert run("latest", [[None, 9], [1, 9], [None, 9], [2, 9]]) == [9, 1, 1, 2]
    assert run("latest", [[None], [None]]) == [None, None]


def test_latest_over_when():
    assert run("latest", [[1], [2], [3]], valid=[True, False, True]) == [1, 1, 3]
    assert run("latest", [[5, 0]], valid=[False]) == [0]


def test_latest_validation():
    with pytest.raises(FunctionError, match="expect one or two args but got 3"):
        validate("latest", ast.FieldRef("a"), ast.FieldRef("b"), ast.FieldRef("c"))


# --- changed_col / had_changed -------------------------------------------------------------


def test_changed_col():
    rows = [[True, v] for v in (1, 1, None, 2, 2.0, 2.0)]
    # 2.0 is a change from 2: eKuiper compares with reflect.DeepEqual
    assert run("changed_col", rows) == [1, None, None, 2, 2.0, None]


def test_changed_col_not_ignoring_null():
    rows = [[False, v] for v in (None, 1, None, None)]
    # a first null equals the missing state; later nulls are changes
    assert run("changed_col", rows) == [None, 1, None, None]
    state: dict = {}
    run("changed_col", rows[:3], state=state)
    assert state["value"] is None


def test_changed_col_wildcard_compares_rows():
    # conformance TestChangedFuncs: changed_col(true, *)
    rows = [
        {"a": "a1", "b": "b1"},
        {"a": "a1", "c": "c1"},
        {"a": "a1", "c": "c1"},
        {"a": "a1", "b": "b2", "c": "c2"},
    ]
    assert run("changed_col", [[True, r] for r in rows]) == [rows[0], rows[1], None, rows[3]]


def test_changed_col_over_when_and_errors():
    assert run("changed_col", [[True, 1], [True, 2], [True, 2]], valid=[True, False, True]) == [1, None, 2]
    with pytest.raises(FunctionError, match="first arg is not a bool but got 1"):
        run("changed_col", [[1, 1]])
    with pytest.raises(FunctionError, match="Expect boolean type for parameter 1"):
        validate("changed_col", ast.StringLiteral("t"), ast.FieldRef("a"))
    with pytest.raises(FunctionError, match="Expect 2 arguments but found 1."):
        validate("changed_col", ast.BooleanLiteral(True))


def test_had_changed():
    temps = [(23, 88), (23, 88), (25, 88), (25, 90), (25, None), (25, 90)]
    rows = [[True, t, h] for t, h in temps]
    assert run("had_changed", rows) == [True, False, True, True, False, False]
    rows = [[False, t, h] for t, h in temps]
    assert run("had_changed", rows) == [True, False, True, True, True, True]


def test_had_changed_over_when_and_errors():
    assert run("had_changed", [[True, 1], [True, 2], [True, 2]], valid=[True, False, True]) == [
        True,
        False,
        True,
    ]
    with pytest.raises(FunctionError, match="expect more than one arg but got 1"):
        validate("had_changed", ast.BooleanLiteral(True))
    with pytest.raises(FunctionError, match="Expect bool type for parameter 1"):
        validate("had_changed", ast.IntegerLiteral(1), ast.FieldRef("a"))


# --- acc_* ---------------------------------------------------------------------------------

SIZES = [3, 6, 2, 4, 1]
RED = [True, False, False, False, True]  # OVER (WHEN color = "red")


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("acc_sum", [3.0, 9.0, 11.0, 15.0, 16.0]),
        ("acc_count", [1, 2, 3, 4, 5]),
        ("acc_min", [3.0, 3.0, 2.0, 2.0, 1.0]),
        ("acc_max", [3.0, 6.0, 6.0, 6.0, 6.0]),
        ("acc_avg", [3.0, 4.5, 11 / 3, 3.75, 3.2]),
    ],
)
def test_acc_running(name, want):
    out = run(name, [[s] for s in SIZES])
    assert out == pytest.approx(want)
    assert all(type(x) is (int if name == "acc_count" else float) for x in out)


@pytest.mark.parametrize(
    ("name", "want"),
    [
        # conformance TestAccAggSql2, 3 and 5
        ("acc_sum", [3.0, 3.0, 3.0, 3.0, 4.0]),
        ("acc_min", [3.0, 3.0, 3.0, 3.0, 1.0]),
        ("acc_count", [1, 1, 1, 1, 2]),
        ("acc_max", [3.0, 3.0, 3.0, 3.0, 3.0]),
        ("acc_avg", [3.0, 3.0, 3.0, 3.0, 2.0]),
    ],
)
def test_acc_over_when(name, want):
    assert run(name, [[s] for s in SIZES], valid=RED) == want


def test_acc_nothing_accumulated_yet():
    for name, zero in (
        ("acc_sum", 0.0),
        ("acc_min", 0.0),
        ("acc_max", 0.0),
        ("acc_avg", 0.0),
        ("acc_count", 0),
    ):
        (out,) = run(name, [[1]], valid=[False])
        assert out == zero and type(out) is type(zero)


@pytest.mark.parametrize(
    ("name", "rows", "want"),
    [
        # eKuiper's TestAccumulateAggCond vectors: (value, startCond, resetCond)
        ("acc_avg", [[1, False, False], [1, True, False], [1, False, False], [1, False, True], [1, False, False]],
         [0.0, 1.0, 1.0, 1.0, 0.0]),
        ("acc_min", [[1, False, False], [5, True, False], [4, False, False], [3, False, True], [2, False, False]],
         [0.0, 5.0, 4.0, 3.0, 0.0]),
        ("acc_sum", [[1, False, False], [1, True, False], [1, False, False], [1, False, True], [1, False, False]],
         [0.0, 1.0, 2.0, 3.0, 0.0]),
        ("acc_count", [[1, False, False], [1, True, False], [1, False, False], [1, False, True], [1, False, False]],
         [0, 1, 2, 3, 0]),
    ],
)  # fmt: skip
def test_acc_start_and_reset(name, rows, want):
    assert run(name, rows) == want


def test_acc_count_docs_example():
    # acc_count(a, a > 1, a < 0)
    a = [1, 2, 1, 3, -1, 1]
    assert run("acc_count", [[x, x > 1, x < 0] for x in a]) == [0, 1, 2, 3, 4, 0]


def test_acc_nulls_and_errors():
    assert run("acc_sum", [[1], [None], [2]]) == [1.0, 1.0, 3.0]
    assert run("acc_count", [[1], [None], ["x"]]) == [1, 1, 2]
    for name in ("acc_sum", "acc_min", "acc_max", "acc_avg"):
        with pytest.raises(FunctionError, match="the value should be number"):
            run(name, [["1"]])
        with pytest.raises(FunctionError, match="the value should be number"):
            run(name, [[True]])
    # eKuiper's min, max and avg reject a null too
    with pytest.raises(FunctionError, match="the value should be number"):
        run("acc_min", [[None]])
    with pytest.raises(FunctionError, match="onBegin should be boolean"):
        run("acc_sum", [[1, 1, False]])
    with pytest.raises(FunctionError, match="onReset should be boolean"):
        run("acc_sum", [[1, True, None]])


def test_acc_error_leaves_state():
    state: dict = {}
    run("acc_max", [[4]], state=state)
    with pytest.raises(FunctionError):
        run("acc_max", [["x"]], state=state)
    assert run("acc_max", [[2]], state=state) == [4.0]


def test_acc_validation():
    with pytest.raises(FunctionError, match=r"Expect 1/3 arguments but found 2\."):
        validate("acc_sum", ast.FieldRef("a"), ast.FieldRef("b"))
    validate("acc_avg", ast.FieldRef("a"), ast.BooleanLiteral(True), ast.BooleanLiteral(False))


# --- changed_cols --------------------------------------------------------------------------


def test_changed_cols_apply():
    # conformance TestChangedColsFunc: changed_cols("", true, a, b, c)
    rows = [
        {"a": "a1", "b": "b1", "c": "c1"},
        {"a": "a1", "b": "b2", "c": "c1"},
        {"a": "a1", "c": "c1"},
        {"a": "a1", "b": "b2", "c": "c2"},
    ]
    state: dict = {}
    out = [changed_cols_apply(state, "", True, [(k, r.get(k)) for k in "abc"]) for r in rows]
    assert out == [{"a": "a1", "b": "b1", "c": "c1"}, {"b": "b2"}, {}, {"c": "c2"}]


def test_changed_cols_apply_prefix_and_nulls():
    state: dict = {}
    assert changed_cols_apply(state, "tt_", False, [("color", "red"), ("size", None)]) == {"tt_color": "red"}
    assert changed_cols_apply(state, "tt_", False, [("color", "red"), ("size", 3)]) == {"tt_size": 3}
    assert changed_cols_apply(state, "tt_", False, [("color", None), ("size", 3)]) == {"tt_color": None}
    assert state == {"color": None, "size": 3}
    with pytest.raises(FunctionError, match="first arg is not a string"):
        changed_cols_apply(state, 1, True, [])
    with pytest.raises(FunctionError, match="second arg is not a bool"):
        changed_cols_apply(state, "", "true", [])


def test_changed_cols_registration():
    fdef = registry.get("changed_cols")
    assert fdef.kind is FuncKind.MULTI and fdef.min_args == 3
    with pytest.raises(FunctionError, match="expect more than two args but got 2"):
        validate("changed_cols", ast.StringLiteral(""), ast.BooleanLiteral(True))
    with pytest.raises(FunctionError, match="Expect string type for parameter 1"):
        validate("changed_cols", ast.IntegerLiteral(1), ast.BooleanLiteral(True), ast.FieldRef("a"))
    with pytest.raises(FunctionError, match="Expect bool type for parameter 2"):
        validate("changed_cols", ast.StringLiteral(""), ast.StringLiteral("t"), ast.FieldRef("a"))
    validate("changed_cols", ast.StringLiteral("c_"), ast.BooleanLiteral(False), ast.Wildcard())


# --- planner-maintained values -------------------------------------------------------------


def test_row_number_is_a_window_function():
    fdef = registry.get("row_number")
    assert fdef.kind is FuncKind.WINDOW and fdef.max_args == 0
    with pytest.raises(FunctionError, match="Expect 0 arguments but found 1."):
        validate("row_number", ast.FieldRef("a"))


def test_last_hit_readers():
    for name in ("last_hit_count", "last_hit_time"):
        fdef = registry.get(name)
        assert fdef.kind is FuncKind.SCALAR and fdef.needs_context and fdef.extra["no_agg"]
        assert fdef.impl(FunctionContext()) == 0
        assert fdef.impl(FunctionContext(shared={name: 7})) == 7
