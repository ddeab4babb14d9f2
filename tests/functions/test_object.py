"""Object functions (spec 10.11), called through the registry as the engine does."""

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


O = {"a": 1, "b": {"c": 2, "d": 3}, "e": None}  # noqa: E741


def test_keys_values_items():
    assert sorted(call("keys", O)) == ["a", "b", "e"]
    assert len(call("values", O)) == 3
    assert sorted(call("items", {"a": 1, "b": 2})) == [["a", 1], ["b", 2]]
    assert call("items", {}) is None
    assert call("keys", None) is None
    with pytest.raises(FunctionError, match="the argument should be map"):
        call("keys", [1])


def test_object_and_zip():
    assert call("object", ["a", "b"], [1, 2]) == {"a": 1, "b": 2}
    assert call("object", [], []) is None
    with pytest.raises(FunctionError, match="the length of the arguments should be same"):
        call("object", ["a"], [1, 2])
    with pytest.raises(FunctionError, match=r"first argument should be \[\]string"):
        call("object", [1], [1])
    assert call("zip", [["a", 1], ["b", 2], None]) == {"a": 1, "b": 2}
    with pytest.raises(FunctionError, match="the first element in the list item should be string"):
        call("zip", [[1, 2]])


def test_object_concat():
    assert call("object_concat", {"a": 1, "b": 2}, {"b": 3}, None) == {"a": 1, "b": 3}
    with pytest.raises(FunctionError, match="the argument should be map"):
        call("object_concat", {"a": 1}, 1)


def test_object_construct():
    assert call("object_construct", "a", 1, "b", None, "c", "x") == {"a": 1, "c": "x"}
    assert call("object_construct") == {}
    fdef = registry.get("object_construct")
    with pytest.raises(FunctionError, match="the args must be key value pairs"):
        fdef.validate([ast.StringLiteral("a")])
    with pytest.raises(FunctionError, match="Expect string type for parameter 3"):
        fdef.validate(
            [ast.StringLiteral("a"), ast.IntegerLiteral(1), ast.IntegerLiteral(2), ast.IntegerLiteral(1)]
        )
    with pytest.raises(FunctionError, match="key 1 is not a string"):
        call("object_construct", 1, 2)


def test_erase_and_pick():
    assert call("erase", O, "a") == {"b": {"c": 2, "d": 3}, "e": None}
    assert call("erase", O, ["a", "b"]) == {"e": None}
    with pytest.raises(FunctionError, match="the argument should be slice or string"):
        call("erase", O, 1)
    assert call("object_pick", O, "a") == {"a": 1}
    assert call("object_pick", O, "a", "e") == {"a": 1, "e": None}
    assert call("object_pick", O, ["a", "b.c"]) == {"a": 1, "b": {"c": 2}}
    assert call("object_pick", O, "b.c", "b.d") == {"b": {"c": 2, "d": 3}}
    assert call("object_pick", O, "x.y") == {}
    assert call("object_pick", None, "a") is None


def test_object_size_and_kvpairs():
    assert call("object_size", O) == 3
    assert call("object_size", None) == 0
    pairs = call("obj_to_kvpair_array", {"a": 1})
    assert pairs == [{"key": "a", "value": 1}]
    assert call("kvpair_array_to_obj", pairs) == {"a": 1}
