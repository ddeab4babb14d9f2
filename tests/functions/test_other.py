"""Other functions (spec 10.12), called through the registry as the engine does."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from arrokoth.functions import builtins
from arrokoth.functions.registry import FunctionContext, FunctionError, registry
from arrokoth.sql import ast

builtins.load()


class FakeClock:
    def __init__(self) -> None:
        self.slept: list[float] = []

    def now_ms(self) -> int:
        return 1541152486013

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def call(name: str, *args):
    fdef = registry.get(name)
    if fdef.null_in_null_out and any(a is None for a in args):
        return None  # the planner short-circuits
    return fdef.impl(*args)


def test_isnull():
    assert call("isnull", None) is True
    assert call("isnull", []) is False
    assert call("isnull", 0) is False


def test_coalesce():
    assert call("coalesce", "foo", "bar", "2") == "foo"
    assert call("coalesce", None, "dd", "1") == "dd"
    assert call("coalesce", None, None, "2") == "2"
    assert call("coalesce", None, None, None) is None
    with pytest.raises(FunctionError):
        registry.get("coalesce").check_arity(0)


def test_newuuid():
    value = call("newuuid")
    assert uuid.UUID(value).version == 4
    assert value != call("newuuid")


def test_rule_functions_read_the_context():
    ctx = FunctionContext(clock=FakeClock(), rule_id="rule1", rule_start=1541152486000, props={"p": "v"})
    assert registry.get("tstamp").impl(ctx) == 1541152486013
    assert registry.get("rule_id").impl(ctx) == "rule1"
    assert registry.get("rule_start").impl(ctx) == 1541152486000
    assert registry.get("props").impl(ctx, "p") == "v"
    assert registry.get("props").impl(ctx, "missing") is None
    with pytest.raises(FunctionError, match="invalid input 12: must be property name of string type"):
        registry.get("props").impl(ctx, 12)


def test_get_keyed_state():
    fdef = registry.get("get_keyed_state")
    ctx = FunctionContext(state_store={"a": "12", "t": 0, "f": "1.5"})
    assert fdef.impl(ctx, "a", "bigint", 0) == 12
    assert fdef.impl(ctx, "f", "float", 0.0) == 1.5
    assert fdef.impl(ctx, "a", "string", "") == "12"
    assert fdef.impl(ctx, "t", "datetime", None) == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert fdef.impl(ctx, "missing", "float", 20.0) == 20.0
    assert fdef.impl(FunctionContext(), "a", "float", 20.0) == 20.0
    with pytest.raises(FunctionError, match="Expect 3 arguments but found 1."):
        fdef.validate([ast.StringLiteral("foo")])
    with pytest.raises(FunctionError, match="expect one of following value for the 2nd parameter"):
        fdef.validate([ast.StringLiteral("foo"), ast.StringLiteral("bar"), ast.StringLiteral("barz")])
    fdef.validate([ast.StringLiteral("foo"), ast.StringLiteral("bigint"), ast.StringLiteral("barz")])


def test_delay_sleeps_on_the_clock():
    clock = FakeClock()
    fdef = registry.get("delay")
    assert fdef.impl(FunctionContext(clock=clock), 10, "bar") == "bar"
    assert clock.slept == [0.01]
    assert fdef.impl(FunctionContext(), 0, "x") == "x"
    with pytest.raises(FunctionError, match=r"cannot convert string\(bar\) to int"):
        fdef.impl(FunctionContext(clock=clock), "bar", "bar")
    with pytest.raises(FunctionError):
        fdef.validate([ast.StringLiteral("1s"), ast.StringLiteral("1s")])
    fdef.validate([ast.IntegerLiteral(1000), ast.StringLiteral("1s")])


def test_bypass():
    assert call("bypass", 3) == 3
    assert call("bypass", None) is None
