"""JSON path functions (spec 10.8)."""

from __future__ import annotations

import pytest

from arrokoth.functions import builtins
from arrokoth.functions.jsonpath import evaluate
from arrokoth.functions.registry import FunctionError, registry
from arrokoth.sql import ast

builtins.load()

DOC = {
    "name": {"first": "Tom", "last": "Anderson"},
    "age": 37,
    "children": ["Sara", "Alex", "Jack"],
    "fav.movie": "Deer Hunter",
    "friends": [
        {"first": "Dale", "last": "Murphy", "age": 44},
        {"first": "Roger", "last": "Craig", "age": 68},
        {"first": "Jane", "last": "Murphy", "age": 47},
    ],
}


def call(name: str, *args):
    fdef = registry.get(name)
    if fdef.null_in_null_out and any(a is None for a in args):
        return None
    return fdef.impl(*args)


def test_definite_paths_give_the_value():
    assert call("json_path_query", DOC, "$.age") == 37
    assert call("json_path_query", DOC, "$.name.first") == "Tom"
    assert call("json_path_query", DOC, "$.friends[0].first") == "Dale"
    assert call("json_path_query", DOC, "$.friends[-1].first") == "Jane"
    assert call("json_path_query", DOC, '$["fav.movie"]') == "Deer Hunter"
    assert call("json_path_query", DOC, "$.friends[0][last]") == "Murphy"
    assert call("json_path_query", DOC, "$.children") == ["Sara", "Alex", "Jack"]


def test_wildcards_and_filters_give_all_matches():
    assert call("json_path_query", DOC, "$.friends[*].first") == ["Dale", "Roger", "Jane"]
    assert call("json_path_query", DOC, "$.friends[? @.age>60].first") == ["Roger"]
    assert call("json_path_query", DOC, "$.friends[? (@.age>45 && @.last == 'Murphy')].first") == ["Jane"]
    assert call("json_path_query", DOC, '$.friends[?(@.first=="Dale" || @.age<45)].age') == [44]
    assert call("json_path_query", DOC, "$.friends[? !(@.age>45)].first") == ["Dale"]
    assert call("json_path_query", DOC, "$.children[0:2]") == ["Sara", "Alex"]
    assert call("json_path_query", DOC, "$.children[0,2]") == ["Sara", "Jack"]
    # object members are visited in key order, as PaesslerAG/jsonpath does
    assert call("json_path_query", DOC, "$..first") == ["Dale", "Roger", "Jane", "Tom"]
    assert call("json_path_query", DOC, "$.friends[? @.first =~ '^R'].age") == [68]


def test_col_may_be_a_json_string():
    assert call("json_path_query", '{"a": [{"b": 1}, {"b": 2}]}', "$.a[*].b") == [1.0, 2.0]


def test_missing_key_is_an_error_for_definite_paths():
    with pytest.raises(FunctionError, match="unknown key nope"):
        call("json_path_query", DOC, "$.nope")
    assert call("json_path_query", DOC, "$.friends[*].nope") == []


def test_query_first():
    assert call("json_path_query_first", DOC, "$.friends[*].first") == "Dale"
    assert call("json_path_query_first", DOC, "$.friends[? @.age>100]") is None
    assert call("json_path_query_first", DOC, "$.age") == 37


def test_exists():
    assert call("json_path_exists", DOC, "$.friends[? @.age>30]") is True
    assert call("json_path_exists", DOC, "$.friends[? @.age>100]") is False
    assert call("json_path_exists", DOC, "$.nope") is False
    assert call("json_path_exists", None, "$.a") is False


def test_nulls():
    assert call("json_path_query", None, "$.a") is None
    assert call("json_path_query_first", None, "$.a") is None


def test_arrays_at_the_root():
    assert evaluate("$[1]", [1, 2, 3]) == 2
    assert evaluate("$[*]", [1, 2, 3]) == [1, 2, 3]


def test_validation():
    fdef = registry.get("json_path_query")
    with pytest.raises(FunctionError, match="Expect string type for parameter 2"):
        fdef.validate([ast.FieldRef("a"), ast.IntegerLiteral(1)])
    with pytest.raises(FunctionError):
        fdef.validate([ast.FieldRef("a"), ast.StringLiteral("a.b")])
    fdef.validate([ast.FieldRef("a"), ast.StringLiteral("$.a[? @.b>1]")])
    with pytest.raises(FunctionError, match="invalid jsonPath"):
        fdef.impl(DOC, 1)
