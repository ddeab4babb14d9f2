"""Property tests of eKuiper's number and null rules (spec §4.3), through compiled expressions.

Every expression is compiled once per example over a schemaless stream and evaluated on a
`Row` whose message holds the generated values; `n` is always absent (null).
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from arrokoth.functions import builtins
from arrokoth.functions.registry import registry
from arrokoth.functions.values import EvalError
from arrokoth.plan import operators as ops
from arrokoth.plan.compiler import Compiler, RuleState, SourceInfo
from arrokoth.plan.rows import Row
from arrokoth.sql import ast, parse_expr

builtins.load()
# each example compiles its expression; no deadline, so a slow machine does not flake
prop = settings(max_examples=150, deadline=None)

COMPARISONS = ["=", "!=", "<", "<=", ">", ">="]
ARITHMETIC = ["+", "-", "*", "/", "%"]
BITWISE = ["&", "|", "^"]

# int64 values well inside the range, so Go and Python agree without overflow
ints = st.integers(min_value=-(2**40), max_value=2**40)
floats = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
numbers = st.one_of(ints, floats)
scalars = st.one_of(st.none(), ints, floats, st.text(max_size=5), st.booleans())
values = st.one_of(scalars, st.lists(ints, max_size=3), st.dictionaries(st.text(max_size=3), ints, max_size=2))


def compile_expr(text: str):
    return Compiler(registry, [SourceInfo("demo")], RuleState()).compile(parse_expr(text))


def ev(text: str, **msg):
    return compile_expr(text)(Row(msg))


# --- comparisons ----------------------------------------------------------------------------


@given(op=st.sampled_from(COMPARISONS), x=values)
@prop
def test_any_comparison_with_null_is_false(op, x):
    assert ev(f"x {op} n", x=x) is False
    assert ev(f"n {op} x", x=x) is False
    assert ops.compare(op, None, x) is False
    assert ops.compare(op, x, None) is False


@given(op=st.sampled_from(COMPARISONS))
@prop
def test_null_compared_with_null_is_false(op):
    assert ev(f"n {op} m") is False


@given(op=st.sampled_from(COMPARISONS), a=numbers, b=numbers)
@prop
def test_numbers_compare_numerically_whatever_their_kind(op, a, b):
    expected = {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    assert ev(f"a {op} b", a=a, b=b) is expected


@given(a=ints)
@prop
def test_an_int_equals_the_same_float(a):
    assert ev("a = b", a=a, b=float(a)) is (float(a) == a)


@given(op=st.sampled_from(COMPARISONS), b=st.booleans(), x=numbers)
@prop
def test_bool_never_compares_with_a_number(op, b, x):
    with pytest.raises(EvalError, match=r"^invalid operation bool\("):
        ev(f"b {op} x", b=b, x=x)
    with pytest.raises(EvalError, match=r"(?s)^invalid operation (int64|float64)\(.*\) .* bool\("):
        ev(f"x {op} b", b=b, x=x)


@given(op=st.sampled_from(["<", "<=", ">", ">="]), a=st.booleans(), b=st.booleans())
@prop
def test_booleans_only_support_equality(op, a, b):
    assert ev("a = b", a=a, b=b) is (a == b)
    assert ev("a != b", a=a, b=b) is (a != b)
    with pytest.raises(EvalError, match=r"^invalid operation bool\("):
        ev(f"a {op} b", a=a, b=b)


@given(op=st.sampled_from(COMPARISONS), s=st.text(max_size=4), x=numbers)
@prop
def test_string_never_compares_with_a_number(op, s, x):
    with pytest.raises(EvalError) as exc:
        ev(f"s {op} x", s=s, x=x)
    assert str(exc.value).startswith(f"invalid operation string({s}) {op} ")


# --- AND / OR -------------------------------------------------------------------------------

booleans_or_null = st.sampled_from([True, False, None])


@given(x=booleans_or_null)
@prop
def test_and_with_null_is_false(x):
    assert ev("x AND n", x=x) is False
    assert ev("n AND x", x=x) is False


@given(x=booleans_or_null)
@prop
def test_or_with_null_is_false_unless_short_circuited(x):
    # `true OR ...` returns before the null is seen; everything else with a null is false
    assert ev("x OR n", x=x) is (x is True)
    assert ev("n OR x", x=x) is False


@given(a=st.booleans(), b=st.booleans())
@prop
def test_and_or_on_booleans(a, b):
    assert ev("a AND b", a=a, b=b) is (a and b)
    assert ev("a OR b", a=a, b=b) is (a or b)


@given(a=st.one_of(numbers, st.text(max_size=3)))
@prop
def test_and_or_reject_non_booleans(a):
    with pytest.raises(EvalError, match=r"(?s)^invalid operation .* AND bool\(true\)$"):
        ev("a AND true", a=a)
    with pytest.raises(EvalError, match=r"(?s)^invalid operation bool\(false\) OR "):
        ev("false OR a", a=a)


@given(a=numbers)
@prop
def test_short_circuit_never_evaluates_the_right_side(a):
    assert ev("false AND a / 0 = 1", a=a) is False
    assert ev("true OR a / 0 = 1", a=a) is True


# --- arithmetic -----------------------------------------------------------------------------


@given(op=st.sampled_from(ARITHMETIC), x=values)
@prop
def test_arithmetic_with_null_is_null(op, x):
    assert ev(f"x {op} n", x=x) is None
    assert ev(f"n {op} x", x=x) is None


@given(op=st.sampled_from(BITWISE), x=st.one_of(st.none(), ints, st.booleans()))
@prop
def test_bitwise_with_null_is_false(op, x):
    assert ev(f"x {op} n", x=x) is False
    assert ev(f"n {op} x", x=x) is False


@given(x=st.one_of(st.none(), ints))
@prop
def test_negating_null_is_null(x):
    assert ev("-n") is None
    assert ev("-x", x=x) == (None if x is None else -x)


@given(a=ints, b=ints.filter(lambda v: v != 0))
@prop
def test_int_division_truncates_toward_zero(a, b):
    q = ev("a / b", a=a, b=b)
    assert type(q) is int
    assert q == int(Fraction(a, b))  # int() of a Fraction truncates toward zero


@given(a=ints, b=ints.filter(lambda v: v != 0))
@prop
def test_int_remainder_takes_the_dividends_sign(a, b):
    r = ev("a % b", a=a, b=b)
    q = ev("a / b", a=a, b=b)
    assert type(r) is int
    assert q * b + r == a
    assert abs(r) < abs(b)
    assert r == 0 or (r > 0) == (a > 0)


@given(op=st.sampled_from(["+", "-", "*"]), a=ints, b=ints)
@prop
def test_int_op_int_stays_int(op, a, b):
    result = ev(f"a {op} b", a=a, b=b)
    assert type(result) is int
    assert result == {"+": a + b, "-": a - b, "*": a * b}[op]


@given(op=st.sampled_from(ARITHMETIC), a=ints, b=floats, swap=st.booleans())
@prop
def test_int_op_float_is_float(op, a, b, swap):
    lhs, rhs = (b, a) if swap else (a, b)
    assume(not (op in "/%" and rhs == 0))
    result = ev(f"l {op} r", l=lhs, r=rhs)
    assert type(result) is float
    fl, fr = float(lhs), float(rhs)
    expected = {"+": fl + fr, "-": fl - fr, "*": fl * fr, "/": fl / fr if fr else 0.0, "%": math.fmod(fl, fr) if fr else 0.0}[op]
    assert result == expected


@given(op=st.sampled_from(["/", "%"]), a=numbers, zero=st.sampled_from([0, 0.0]))
@prop
def test_division_by_zero_is_an_error(op, a, zero):
    with pytest.raises(EvalError, match="^divided by zero$"):
        ev(f"a {op} z", a=a, z=zero)


@given(op=st.sampled_from(ARITHMETIC + BITWISE), b=st.booleans(), x=numbers, swap=st.booleans())
@prop
def test_bool_is_never_a_number_in_arithmetic(op, b, x, swap):
    lhs, rhs = (x, b) if swap else (b, x)
    with pytest.raises(EvalError, match=r"^invalid operation "):
        ev(f"l {op} r", l=lhs, r=rhs)


@given(op=st.sampled_from(ARITHMETIC), s=st.text(max_size=4), x=st.one_of(numbers, st.text(max_size=4)))
@prop
def test_there_is_no_string_arithmetic(op, s, x):
    with pytest.raises(EvalError) as exc:
        ev(f"s {op} x", s=s, x=x)
    assert str(exc.value).startswith(f"invalid operation string({s}) {op} ")


@given(a=ints, b=ints)
@prop
def test_bitwise_on_ints(a, b):
    assert ev("a & b", a=a, b=b) == a & b
    assert ev("a | b", a=a, b=b) == a | b
    assert ev("a ^ b", a=a, b=b) == a ^ b


# --- JSON paths on null ---------------------------------------------------------------------


# the f_ prefix keeps generated keys clear of keywords such as IN or AS
@given(key=st.from_regex(r"f_[a-z0-9_]{0,6}", fullmatch=True), more=st.booleans())
@prop
def test_arrow_on_null_is_null(key, more):
    path = f"n->{key}" + ("->x" if more else "")
    assert ev(path) is None
    assert ops.arrow(None, key) is None


@given(i=st.integers(-5, 5))
@prop
def test_index_and_slice_on_null_are_null(i):
    assert ev(f"n[{i}]") is None
    assert ev("n[1:]") is None


@given(arr=st.lists(ints, max_size=6), i=st.integers(-8, 8))
@prop
def test_index_in_range_or_the_out_of_index_error(arr, i):
    n = len(arr)
    if -n <= i < n:
        assert ev(f"arr[{i}]", arr=arr) == arr[i]
    else:
        with pytest.raises(EvalError) as exc:
            ev(f"arr[{i}]", arr=arr)
        assert str(exc.value) == f"out of index: {i} of {n}"


# --- IN and BETWEEN with null ---------------------------------------------------------------


@given(items=st.lists(st.one_of(st.none(), ints), max_size=4), negated=st.booleans())
@prop
def test_in_with_a_null_left_side_is_false(items, negated):
    keyword = "NOT IN" if negated else "IN"
    assert ev(f"n {keyword} arr", arr=items) is False
    literal = ", ".join("n" if v is None else str(v) for v in items) or "1"
    assert ev(f"n {keyword} ({literal})") is False


@given(x=ints, items=st.lists(ints, max_size=4))
@prop
def test_in_means_equal_to_some_element(x, items):
    assert ev("x IN arr", x=x, arr=items) is (x in items)
    assert ev("x NOT IN arr", x=x, arr=items) is (x not in items)
    assert ev("x IN arr", x=float(x), arr=items) is (x in items)


@given(x=st.one_of(st.none(), ints), lo=st.one_of(st.none(), ints), hi=st.one_of(st.none(), ints), negated=st.booleans())
@prop
def test_between_with_null_is_false(x, lo, hi, negated):
    assume(None in (x, lo, hi))
    keyword = "NOT BETWEEN" if negated else "BETWEEN"
    assert ev(f"x {keyword} lo AND hi", x=x, lo=lo, hi=hi) is False


@given(x=numbers, lo=numbers, hi=numbers)
@prop
def test_between_is_inclusive(x, lo, hi):
    inside = lo <= x <= hi
    assert ev("x BETWEEN lo AND hi", x=x, lo=lo, hi=hi) is inside
    assert ev("x NOT BETWEEN lo AND hi", x=x, lo=lo, hi=hi) is (not inside)
    assert ev("x BETWEEN x AND x", x=x) is True


# --- LIKE -----------------------------------------------------------------------------------

# the alphabet holds the wildcards, the escape and regexp metacharacters
like_text = st.text(alphabet="ab%_\\.*+?()[]^$|\n", max_size=8)


def escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like(value: str, pattern: str) -> bool:
    """Run `v LIKE p` both ways the compiler builds it: a constant pattern and a column."""
    dynamic = ev("v LIKE p", v=value, p=pattern)
    node = ast.Like(ast.FieldRef("v"), ast.StringLiteral(pattern))
    constant = Compiler(registry, [SourceInfo("demo")], RuleState()).compile(node)(Row({"v": value}))
    negated = ev("v NOT LIKE p", v=value, p=pattern)
    assert dynamic is constant
    assert negated is (not dynamic)
    return dynamic


@given(s=like_text)
@prop
def test_an_escaped_string_matches_itself_only(s):
    assert like(s, escape(s)) is True
    assert like(s + "a", escape(s)) is False
    assert like("a" + s, escape(s)) is False


@given(s=like_text)
@prop
def test_percent_matches_any_run(s):
    assert like(s, "%") is True
    assert like(s, "%%") is True


@given(s=like_text, extra=st.integers(1, 3))
@prop
def test_underscore_matches_exactly_one_character(s, extra):
    assert like(s, "_" * len(s)) is True
    assert like(s, "_" * (len(s) + extra)) is False
    if s:
        assert like(s, "_" * (len(s) - 1)) is False


@given(s=like_text, data=st.data())
@prop
def test_prefix_and_suffix_patterns_are_anchored(s, data):
    cut = data.draw(st.integers(0, len(s)))
    assert like(s, escape(s[:cut]) + "%") is True
    assert like(s, "%" + escape(s[cut:])) is True


@given(s=like_text, part=like_text)
@prop
def test_infix_pattern_is_containment(s, part):
    assert like(s, "%" + escape(part) + "%") is (part in s)


@given(x=st.one_of(st.none(), numbers, st.booleans(), st.lists(ints, max_size=2)))
@prop
def test_like_needs_a_string_on_the_left(x):
    with pytest.raises(EvalError, match="^LIKE operator left operand expects string, but found "):
        ev("x LIKE '%'", x=x)
    with pytest.raises(EvalError, match="^LIKE operator left operand expects string, but found "):
        ev("x LIKE p", x=x, p="%")
