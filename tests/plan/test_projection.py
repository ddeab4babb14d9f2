"""SELECT field lists: output names (spec §4.1) and the projection of rows into output objects."""

from __future__ import annotations

import pytest

from arrokoth.functions import builtins
from arrokoth.functions.registry import registry
from arrokoth.plan.compiler import Compiler, PlanError, RuleState, SourceInfo
from arrokoth.plan.projection import Projection, SelectError, SrfError, aliases_of, output_names
from arrokoth.plan.rows import Group, JoinedRow, Row
from arrokoth.sql import ast, parse

builtins.load()


def fields_of(sql: str) -> list[ast.Field]:
    stmt = parse(sql)
    assert isinstance(stmt, ast.Select)
    return stmt.fields


def names(select_list: str) -> list[str | None]:
    return output_names(fields_of(f"SELECT {select_list} FROM s"))


def projection(sql: str, *, group: bool = False, send_nil: bool = False, sources=None) -> Projection:
    stmt = parse(sql)
    srcs = sources or [SourceInfo(stmt.source.name, stmt.source.alias)]
    c = Compiler(registry, srcs, RuleState(), aliases=aliases_of(stmt.fields))
    return Projection(c, stmt.fields, group=group, send_nil=send_nil)


def project(sql: str, msg: dict, **kw) -> dict:
    return projection(sql, **kw).project(Row(msg))


# --- output names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("select_list", "expected"),
    [
        ("size", ["size"]),
        ("s.size", ["size"]),
        ("size * 5", ["kuiper_field_0"]),
        ("upper(color)", ["upper"]),
        ("UPPER(color)", ["upper"]),
        ("count(*)", ["count"]),
        ("lag(size)", ["lag"]),
        ("window_start()", ["window_start"]),
        ("acc_sum(size)", ["acc_sum"]),
        ("changed_col(true, size)", ["changed_col"]),
        ("size AS s", ["s"]),
        ("size * 5 AS big", ["big"]),
        ("1", ["kuiper_field_0"]),
        ("'text'", ["kuiper_field_0"]),
        ("CASE WHEN size > 1 THEN 1 END", ["kuiper_field_0"]),
        ("a->b", ["kuiper_field_0"]),
        ("a[0]", ["kuiper_field_0"]),
        ("a[1:2]", ["kuiper_field_0"]),
        ("upper(color)->k", ["kuiper_field_0"]),
        ("(size)", ["kuiper_field_0"]),
        ("meta(topic)", ["meta"]),
        ("mqtt(topic)", ["mqtt"]),
        ("*", [None]),
    ],
)
def test_output_names(select_list, expected):
    assert names(select_list) == expected


def test_kuiper_field_counts_only_unnamed_expressions_in_select_order():
    assert names("size * 2, color, 1, abs(size), size + 1 AS s, a->b, *, 'x'") == [
        "kuiper_field_0", "color", "kuiper_field_1", "abs", "s", "kuiper_field_2", None, "kuiper_field_3",
    ]


def test_invisible_fields_still_take_their_name_and_number():
    assert names("size * 2 INVISIBLE, size * 3") == ["kuiper_field_0", "kuiper_field_1"]


def test_aliases_of():
    fields = fields_of("SELECT size AS a, color, size * 2 AS b FROM s")
    assert {k: type(v).__name__ for k, v in aliases_of(fields).items()} == {"a": "FieldRef", "b": "BinaryExpr"}


# --- projecting rows ------------------------------------------------------------------------


def test_projection_names_values():
    out = project("SELECT size*5, color, upper(color), demo.size, 1, size + 1 AS s FROM demo", {"size": 3, "color": "red"})
    assert out == {"kuiper_field_0": 15, "color": "red", "upper": "RED", "size": 3, "kuiper_field_1": 1, "s": 4}


def test_alias_with_the_name_of_a_column():
    # spec §4.1: `select size + 1 as size, size + 1 as b` gives size=4, b=5 for size=3
    assert project("SELECT size + 1 AS size, size + 1 AS b FROM demo", {"size": 3}) == {"size": 4, "b": 5}


@pytest.mark.parametrize(
    "sql",
    ["SELECT size AS a, a + 1 AS b FROM demo", "SELECT a + 1 AS b, size AS a FROM demo"],
)
def test_aliases_can_be_referenced_in_both_directions(sql):
    assert project(sql, {"size": 3}) == {"a": 3, "b": 4}


def test_invisible_fields_are_computed_but_not_output():
    assert project("SELECT size * 2 AS d INVISIBLE, d + 1 AS e, color FROM demo", {"size": 3, "color": "c"}) == {
        "e": 7, "color": "c",
    }


def test_null_fields_are_omitted_unless_send_nil_field():
    sql = "SELECT size, missing, upper(missing) AS u FROM demo"
    assert project(sql, {"size": 3}) == {"size": 3}
    assert project(sql, {"size": 3}, send_nil=True) == {"size": 3, "missing": None, "u": None}


def test_all_null_fields_give_an_empty_object():
    assert project("SELECT a, b FROM demo", {}) == {}


def test_wildcard():
    msg = {"size": 3, "color": "red", "ts": 1}
    out = project("SELECT * FROM demo", msg)
    assert out == msg
    assert out is not msg  # the projection builds its own object


def test_wildcard_drops_null_fields_unless_send_nil_field():
    msg = {"a": None, "b": 1}
    assert project("SELECT * FROM demo", msg) == {"b": 1}
    assert project("SELECT * FROM demo", msg, send_nil=True) == {"a": None, "b": 1}


def test_wildcard_except():
    assert project("SELECT * EXCEPT(ts, nope) FROM demo", {"size": 3, "color": "red", "ts": 1}) == {
        "size": 3, "color": "red",
    }


def test_wildcard_replace_overrides_and_adds():
    out = project("SELECT * REPLACE(size * 2 AS size, 'x' AS n) FROM demo", {"size": 3, "color": "red"})
    assert out == {"size": 6, "color": "red", "n": "x"}


def test_wildcard_except_and_replace_combined_replace_wins():
    out = project("SELECT * EXCEPT(size, ts) REPLACE(size + 1 AS size) FROM demo", {"size": 3, "color": "red", "ts": 1})
    assert out == {"size": 4, "color": "red"}


def test_wildcard_replace_with_null_removes_the_column_unless_send_nil():
    sql = "SELECT * REPLACE(missing AS size) FROM demo"
    assert project(sql, {"size": 3, "color": "red"}) == {"color": "red"}
    assert project(sql, {"size": 3, "color": "red"}, send_nil=True) == {"size": None, "color": "red"}


def test_wildcard_with_more_fields():
    assert project("SELECT *, size * 2 AS d FROM demo", {"size": 3}) == {"size": 3, "d": 6}


def test_only_wildcard_flag():
    assert projection("SELECT * FROM demo").only_wildcard is True
    assert projection("SELECT * EXCEPT(a) FROM demo").only_wildcard is False
    assert projection("SELECT *, a FROM demo").only_wildcard is False
    assert projection("SELECT a FROM demo").only_wildcard is False


def test_joined_wildcard_and_stream_wildcard():
    sources = [SourceInfo("demo"), SourceInfo("s2")]
    row = JoinedRow([Row({"id": 1, "v": "l"}), Row({"id": 2, "w": "r"})])
    assert projection("SELECT * FROM demo", sources=sources).project(row) == {"id": 1, "v": "l", "w": "r"}
    assert projection("SELECT s2.*, demo.v FROM demo", sources=sources).project(row) == {"id": 2, "w": "r", "v": "l"}
    assert projection("SELECT demo.id, s2.id AS id2 FROM demo", sources=sources).project(row) == {"id": 1, "id2": 2}


def test_group_projection_takes_non_aggregates_from_the_first_row():
    p = projection("SELECT color, count(*) AS c, sum(size) FROM demo", group=True)
    g = Group([Row({"color": "red", "size": 1}), Row({"color": "blue", "size": 2})])
    assert p.project(g) == {"color": "red", "c": 2, "sum": 3}


# --- errors ---------------------------------------------------------------------------------


def test_select_error_with_alias():
    p = projection("SELECT size * 5 AS c FROM s")
    with pytest.raises(SelectError) as exc:
        p.project(Row({"size": "red"}))
    assert str(exc.value) == "alias: c expr: binaryExpr:{ s.size * 5 } meet error, err:invalid operation string(red) * int64(5)"


def test_select_error_without_alias():
    p = projection("SELECT size * 5 FROM s")
    with pytest.raises(SelectError) as exc:
        p.project(Row({"size": "red"}))
    assert str(exc.value) == "expr: binaryExpr:{ s.size * 5 } meet error, err:invalid operation string(red) * int64(5)"


def test_select_error_of_a_function():
    p = projection("SELECT abs(size) AS a FROM s")
    with pytest.raises(SelectError, match=r"^alias: a expr: Call:\{ name:abs, args:\[s\.size\] \} meet error, err:"):
        p.project(Row({"size": "red"}))


def test_select_error_of_a_json_path():
    p = projection("SELECT arr[5] AS x FROM s")
    with pytest.raises(SelectError) as exc:
        p.project(Row({"arr": [1, 2, 3, 4, 5]}))
    assert str(exc.value).startswith("alias: x expr: ")
    assert str(exc.value).endswith(" meet error, err:out of index: 5 of 5")


def test_replace_error_names_alias_and_expression():
    p = projection("SELECT * REPLACE(size * 5 AS size) FROM s")
    with pytest.raises(SelectError) as exc:
        p.project(Row({"size": "red"}))
    assert str(exc.value) == (
        "alias: size expr: binaryExpr:{ s.size * 5 } meet error, err:invalid operation string(red) * int64(5)"
    )


# --- set-returning and multi-column functions -------------------------------------------------


def test_unnest_expands_one_row_per_element():
    p = projection("SELECT id, unnest(arr) AS v FROM demo")
    assert p.srf_name == "v"
    assert p.project_all(Row({"id": 1, "arr": [10, 20]})) == [{"id": 1, "v": 10}, {"id": 1, "v": 20}]


def test_unnest_without_alias_is_named_unnest_and_objects_spread():
    p = projection("SELECT id, unnest(arr) FROM demo")
    rows = p.project_all(Row({"id": 1, "arr": [3, {"a": 1, "id": 9}]}))
    assert rows == [{"id": 1, "unnest": 3}, {"id": 9, "a": 1}]


def test_unnest_null_and_empty_give_no_rows_and_null_elements_are_omitted():
    p = projection("SELECT unnest(arr) FROM demo")
    assert p.project_all(Row({"arr": None})) == []
    assert p.project_all(Row({"arr": []})) == []
    assert p.project_all(Row({"arr": [None, 1]})) == [{}, {"unnest": 1}]
    p_nil = projection("SELECT unnest(arr) FROM demo", send_nil=True)
    assert p_nil.project_all(Row({"arr": [None]})) == [{"unnest": None}]


def test_unnest_of_a_non_array_is_an_error():
    p = projection("SELECT unnest(arr) FROM demo")
    with pytest.raises(SrfError) as exc:
        p.project_all(Row({"arr": 3}))
    assert str(exc.value) == "the argument for the unnest function should be array"


def test_only_one_set_returning_function():
    with pytest.raises(PlanError, match="only have one set-returning function"):
        projection("SELECT unnest(a), unnest(b) FROM demo")


def test_project_all_without_srf_is_one_row():
    assert projection("SELECT a FROM demo").project_all(Row({"a": 1})) == [{"a": 1}]


def test_extract_spreads_an_object_into_columns():
    assert project("SELECT id, extract(m) FROM demo", {"id": 1, "m": {"x": 1, "y": 2}}) == {"id": 1, "x": 1, "y": 2}


def test_changed_cols_prefixes_the_changed_columns():
    p = projection("SELECT changed_cols('c_', true, a, b) FROM demo")
    assert p.project(Row({"a": 1, "b": 2})) == {"c_a": 1, "c_b": 2}
    assert p.project(Row({"a": 1, "b": 3})) == {"c_b": 3}
    assert p.project(Row({"a": 1, "b": 3})) == {}
