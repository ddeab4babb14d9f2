"""Array functions (spec 10.10), called through the registry as the engine does."""

from __future__ import annotations

import pytest

from arrokoth.functions import builtins
from arrokoth.functions.registry import FunctionError, registry
from arrokoth.sql import ast

builtins.load()


def call(name: str, *args):
    fdef = registry.get(name)
    if fdef.null_in_null_out and any(a is None for a in args):
        return None  # the planner short-circuits
    return fdef.impl(*args)


def same(a, b) -> bool:
    return type(a) is type(b) and a == b


def test_cardinality():
    assert call("cardinality", []) == 0
    assert call("cardinality", [1, 2, 3, 4, 5]) == 5
    assert call("cardinality", None) == 0
    assert call("array_cardinality", [1, None, 3]) == 2
    assert call("array_cardinality", None) == 0
    with pytest.raises(FunctionError, match="first argument should be array of interface"):
        call("array_cardinality", "a")


def test_array_create():
    assert call("array_create", 1, None, "a") == [1, "a"]
    assert call("array_create", None) is None
    assert call("array_create") is None


def test_positions():
    assert call("array_position", [1, 2, 3, 2], 2) == 1
    assert call("array_last_position", [1, 2, 3, 2], 2) == 3
    assert call("array_position", [1, 2], 5) == -1
    assert call("array_position", None, 1) == -1
    assert call("array_last_position", None, 1) == -1
    assert call("array_position", [1.0, 2.0], 2) == 1  # ints and floats compare by value
    assert call("array_position", [True, 1], 1) == 1  # booleans are not numbers
    assert call("array_position", [[1], {"a": 1}], {"a": 1}) == 1
    with pytest.raises(FunctionError, match="first argument should be array"):
        call("array_position", "a", 1)


def test_element_at():
    assert call("element_at", [1, 2, 3], 0) == 1
    assert call("element_at", [1, 2, 3], -1) == 3
    assert call("element_at", {"a": 1}, "a") == 1
    assert call("element_at", {"a": 1}, "b") is None
    assert call("element_at", None, 1) is None
    with pytest.raises(FunctionError, match="index out of range"):
        call("element_at", [1, 2, 3], 3)
    with pytest.raises(FunctionError, match="index out of range"):
        call("element_at", [1, 2, 3], -4)
    with pytest.raises(FunctionError, match="second argument should be string"):
        call("element_at", {"a": 1}, 1)


def test_contains():
    assert call("array_contains", [1, 2], 2) is True
    assert call("array_contains", [1, 2], 3) is False
    assert call("array_contains", None, 3) is False
    assert call("array_contains_any", [1, 2], [3, 2]) is True
    assert call("array_contains_any", [1, 2], [3]) is False
    assert call("array_contains_any", None, [3]) is False
    with pytest.raises(FunctionError, match="second argument should be array"):
        call("array_contains_any", [1], 1)


def test_remove_and_sets():
    assert call("array_remove", [1, 2, 1, 3], 1) == [2, 3]
    assert call("array_remove", None, 1) is None
    assert call("array_intersect", [1, 1, 2, 3], [3, 1, 1, 4]) == [3, 1]
    assert call("array_union", [1, 2, 2], [2, 3]) == [1, 2, 3]
    assert call("array_union", None, [2, 2]) == [2]
    assert call("array_except", [1, 2, 2, 3], [3]) == [1, 2]
    assert call("array_except", [1, 2], None) == [1, 2]
    assert call("array_except", None, [1]) is None
    assert call("array_intersect", None, [1]) is None


def test_max_min():
    assert same(call("array_max", [1, None, 3, 2]), 3)
    assert same(call("array_min", [1, None, 3, 2]), 1)
    assert same(call("array_max", [1.5, 0.5]), 1.5)
    assert call("array_max", ["b", "a"]) == "b"
    assert call("array_min", [None]) is None
    assert call("array_max", []) is None
    with pytest.raises(FunctionError, match=r"requires float64 but found int64\(1\)"):
        call("array_max", [1.5, 1])
    with pytest.raises(FunctionError, match=r"found invalid arg bool\(true\)"):
        call("array_min", [True])


def test_repeat_and_sequence():
    assert call("repeat", "a", 3) == ["a", "a", "a"]
    assert call("repeat", "a", 0) == []
    with pytest.raises(FunctionError, match="second argument should be int"):
        call("repeat", "a", "3")
    assert call("sequence", 1, 5) == [1, 2, 3, 4, 5]
    assert call("sequence", 5, 1) == [5, 4, 3, 2, 1]
    assert call("sequence", 1, 10, 3) == [1, 4, 7, 10]
    assert call("sequence", 1, 9, 3) == [1, 4, 7]
    with pytest.raises(FunctionError, match="invalid step: should not be zero"):
        call("sequence", 1, 2, 0)
    with pytest.raises(FunctionError, match="Expect two or three arguments but found 1."):
        registry.get("sequence").validate([ast.IntegerLiteral(1)])


def test_flatten_distinct():
    assert call("array_flatten", [[1, 2], [3], 4]) == [1, 2, 3, 4]
    assert call("array_flatten", [[[1]], [2]]) == [[1], 2]
    assert call("array_distinct", [1, 2, 1, "a", "a", None, None]) == [1, 2, "a", None]
    assert call("array_distinct", [[1], [1]]) == [[1], [1]]


def test_array_map():
    assert call("array_map", "upper", ["a", "b"]) == ["A", "B"]
    assert call("array_map", "abs", [-1, 2, None]) == [1, 2, None]
    with pytest.raises(FunctionError, match="unknown built-in function: nope."):
        call("array_map", "nope", [1])
    with pytest.raises(FunctionError, match="first argument should be a scalar function."):
        call("array_map", "count", [1])
    with pytest.raises(FunctionError, match="validate atan2 arguments failed"):
        call("array_map", "atan2", [1])


def test_array_join():
    assert call("array_join", ["a", "b", "c"], ":") == "a:b:c"
    assert call("array_join", ["a", None, "c"], ":", "x") == "a:x:c"
    assert call("array_join", ["a", None, "c"], ":") == "a:c"
    assert call("array_join", [1, 2.5, True], "-") == "1-2.5-true"
    with pytest.raises(FunctionError, match="array elements should be string"):
        call("array_join", [[1]], ",")


def test_shuffle_sort_concat():
    arr = [1, 2, 3, 4, 5]
    shuffled = call("array_shuffle", arr)
    assert sorted(shuffled) == arr and arr == [1, 2, 3, 4, 5]
    assert call("array_sort", ["b", 10, "a", 9, 1.5]) == [1.5, 9, 10, "a", "b"]
    assert call("array_concat", [1], None, [2, 3]) == [1, 2, 3]
    assert call("array_concat", None) == []
    with pytest.raises(FunctionError, match="array elements should be array"):
        call("array_concat", [1], 2)


def test_kvpair_array_to_obj():
    assert call("kvpair_array_to_obj", [{"key": "a", "value": 1}, {"key": "b", "value": None}]) == {
        "a": 1,
        "b": None,
    }
    with pytest.raises(FunctionError, match="array item should be key-value pair"):
        call("kvpair_array_to_obj", [{"key": "a"}])
    with pytest.raises(FunctionError, match="array item should be map"):
        call("kvpair_array_to_obj", [1])


@pytest.mark.parametrize(
    "name",
    [
        "element_at",
        "array_intersect",
        "array_max",
        "array_min",
        "repeat",
        "sequence",
        "array_flatten",
        "array_distinct",
        "array_map",
        "array_join",
        "array_shuffle",
        "array_sort",
        "kvpair_array_to_obj",
    ],
)
def test_nil_in_nil_out(name):
    assert registry.get(name).null_in_null_out
