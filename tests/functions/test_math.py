"""Math functions (spec 10.4), called through the registry as the engine does."""

from __future__ import annotations

import math

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


def validate(name: str, *nodes) -> None:
    fdef = registry.get(name)
    fdef.check_arity(len(nodes))
    if fdef.validate:
        fdef.validate(list(nodes))


def same(a, b) -> bool:
    return type(a) is type(b) and a == b


UNARY = [
    "acos",
    "asin",
    "atan",
    "cos",
    "cosh",
    "cot",
    "degrees",
    "exp",
    "floor",
    "ceil",
    "ceiling",
    "ln",
    "radians",
    "sin",
    "sinh",
    "sqrt",
    "tan",
    "tanh",
    "abs",
    "sign",
    "bitnot",
]


@pytest.mark.parametrize(
    "name",
    UNARY + ["atan2", "bitand", "bitor", "bitxor", "log", "mod", "power", "pow", "round", "trunc", "conv"],
)
def test_nil_in_nil_out(name):
    assert registry.get(name).null_in_null_out
    assert call(name, *([None] * registry.get(name).min_args)) is None


def test_abs_keeps_type():
    assert same(call("abs", -1), 1)
    assert same(call("abs", -1.1), 1.1)
    with pytest.raises(FunctionError, match="only float64 & int type are supported"):
        call("abs", "a")
    with pytest.raises(FunctionError):
        call("abs", True)


@pytest.mark.parametrize(
    ("name", "arg", "want"),
    [
        ("acos", 1, 0.0),
        ("asin", 1, 1.5707963267948966),
        ("atan", 1, 0.7853981633974483),
        ("cos", 0, 1.0),
        ("cosh", 0, 1.0),
        ("exp", 1.2, 3.3201169227365472),
        ("sinh", 0, 0.0),
        ("sqrt", 4, 2.0),
        ("tan", 0, 0.0),
        ("tanh", 1, 0.7615941559557649),
        ("sin", 0, 0.0),
        ("ln", math.e, 1.0),
        ("degrees", math.pi, 180.0),
        ("radians", 180, math.pi),
        ("cot", 1.0, 1 / math.tan(1.0)),
    ],
)
def test_float_functions(name, arg, want):
    got = call(name, arg)
    assert type(got) is float
    assert got == pytest.approx(want)


def test_nan_results_are_null():
    assert call("acos", 2) is None
    assert call("sqrt", -1) is None
    assert call("ln", -1) is None


def test_cot_of_zero_is_an_error():
    with pytest.raises(FunctionError, match="out-of-range error"):
        call("cot", 0)


def test_strings_are_an_error():
    with pytest.raises(FunctionError, match=r"cannot convert string\(a\) to float64"):
        call("sin", "a")


def test_atan2():
    assert call("atan2", 1, 1) == pytest.approx(0.7853981633974483)


def test_ceil_floor_return_floats():
    assert same(call("ceil", 1.6), 2.0)
    assert same(call("ceiling", 1.2), 2.0)
    assert same(call("floor", 1.6), 1.0)
    assert same(call("floor", 3), 3.0)


def test_round():
    assert same(call("round", 42.4382, 2), 42.44)
    assert same(call("round", 10.2), 10.0)
    assert same(call("round", 2.5), 3.0)
    assert same(call("round", -2.5), -3.0)
    assert same(call("round", 1234.5, -2), 1200.0)
    assert same(call("round", 0.49999999999999994), 0.0)
    assert same(call("round", 5), 5.0)
    assert call("round", 1.5, 400) == 1.5


def test_log():
    assert same(call("log", 10), 1.0)
    assert call("log", 2, 8) == pytest.approx(3.0)
    assert call("log", 0) is None
    assert call("log", -1) is None
    assert call("log", 2, 0) is None


def test_mod_and_power_are_floats():
    assert same(call("mod", 10, 3), 1.0)
    assert same(call("mod", -7, 3), -1.0)
    assert call("mod", 1, 0) is None
    assert same(call("power", 2, 3), 8.0)
    assert same(call("pow", 2, 0.5), math.sqrt(2))


def test_sign_is_int():
    assert [call("sign", x) for x in (-3.5, 0, 7)] == [-1, 0, 1]
    assert type(call("sign", 2.0)) is int


def test_pi_and_rand():
    assert call("pi") == math.pi
    r = call("rand")
    assert type(r) is float and 0 <= r < 1


def test_bit_functions():
    assert call("bitand", 1, 1) == 1
    assert call("bitor", 1, 1) == 1
    assert call("bitxor", 1, 1) == 0
    assert call("bitand", 12, 10) == 8
    assert call("bitor", 12, 10) == 14
    assert call("bitxor", 12, 10) == 6
    assert call("bitnot", 0) == -1
    assert call("bitand", 4.0, 5) == 4
    with pytest.raises(FunctionError, match="Expect int type for the first operand but got 1.5"):
        call("bitand", 1.5, 1)
    with pytest.raises(FunctionError, match="Expect int type for the second operand but got a"):
        call("bitor", 1, "a")
    with pytest.raises(FunctionError, match="Expect int type for operand but got true"):
        call("bitnot", True)


def test_trunc():
    assert same(call("trunc", 3.1415, 2), 3.14)
    assert same(call("trunc", 3, 2), 3.0)
    assert same(call("trunc", -3.789, 1), -3.7)
    assert same(call("trunc", 3.789, -4), 3.0)  # d is clamped to 0..34
    with pytest.raises(FunctionError, match="Only int and float type can be truncated."):
        call("trunc", "1", 2)
    with pytest.raises(FunctionError, match="The 2nd parameter must be int value."):
        call("trunc", 1.5, 1.5)


def test_conv():
    assert call("conv", "a", 16, 2) == "1010"
    assert call("conv", "6E", 18, 8) == "172"
    assert call("conv", "-17", 10, -18) == "-H"
    assert call("conv", "-17", 10, 18) == "2D3FGB0B9CG4BD1H"
    assert call("conv", 255, 10, 16) == "FF"
    assert call("conv", "zz", 16, 10) == "0"
    assert call("conv", "10", 1, 10) is None


def test_validation():
    with pytest.raises(FunctionError, match="Expect number - float or int type for parameter 1"):
        validate("abs", ast.StringLiteral("a"))
    with pytest.raises(FunctionError, match="Expect number - float or int type for parameter 2"):
        validate("atan2", ast.IntegerLiteral(1), ast.BooleanLiteral(True))
    with pytest.raises(FunctionError, match="Expect int type for parameter 1"):
        validate("bitand", ast.NumberLiteral(1.5), ast.IntegerLiteral(1))
    with pytest.raises(FunctionError, match="Expect int type for parameter 2"):
        validate("conv", ast.StringLiteral("a"), ast.StringLiteral("16"), ast.IntegerLiteral(2))
    with pytest.raises(FunctionError, match="Expect 1 arguments but found 2."):
        validate("sin", ast.IntegerLiteral(1), ast.IntegerLiteral(2))
    with pytest.raises(FunctionError, match="Expect 0 arguments but found 1."):
        validate("pi", ast.IntegerLiteral(1))
    with pytest.raises(FunctionError):
        validate("round", ast.IntegerLiteral(1), ast.IntegerLiteral(2), ast.IntegerLiteral(3))
    # field references are checked at runtime only
    validate("abs", ast.FieldRef("a"))
    validate("round", ast.FieldRef("a"), ast.IntegerLiteral(2))
    validate("bitnot", ast.UnaryExpr("-", ast.IntegerLiteral(1)))
