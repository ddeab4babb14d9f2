"""eKuiper's operator semantics on runtime values (spec §4.2, §4.3), one function at a time."""

from __future__ import annotations

import datetime as dt

import pytest

from arrokoth.functions.values import EvalError
from arrokoth.plan import operators as ops

ALL_COMPARISONS = ["=", "!=", "<", "<=", ">", ">="]


# --- compare ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "a", "b", "expected"),
    [
        ("=", 3, 3.0, True),
        ("!=", 3, 3.5, True),
        ("<", 2, 2.5, True),
        ("<=", 2.0, 2, True),
        (">", -1, -1.5, True),
        (">=", 1, 2, False),
        ("<", "apple", "banana", True),
        (">", "b", "abc", True),
        ("=", "x", "x", True),
        ("!=", "x", "y", True),
        ("=", True, True, True),
        ("!=", True, False, True),
        ("=", False, True, False),
    ],
)
def test_compare_same_kind_values(op, a, b, expected):
    assert ops.compare(op, a, b) is expected


@pytest.mark.parametrize("op", ALL_COMPARISONS)
@pytest.mark.parametrize("other", [None, 0, 1.5, "", "x", True, False, [1], {"a": 1}])
def test_compare_with_null_is_false_either_side(op, other):
    assert ops.compare(op, None, other) is False
    assert ops.compare(op, other, None) is False


@pytest.mark.parametrize(
    ("op", "a", "b", "message"),
    [
        (">", "blue", 2, "invalid operation string(blue) > int64(2)"),
        ("<", 2.5, "a", "invalid operation float64(2.5) < string(a)"),
        ("=", True, 1, "invalid operation bool(true) = int64(1)"),
        ("=", 0, False, "invalid operation int64(0) = bool(false)"),
        ("<", True, False, "invalid operation bool(true) < bool(false)"),
        ("=", [1], [1], "invalid operation []interface {}([1]) = []interface {}([1])"),
        ("=", {"a": 1}, 1, "invalid operation map[string]interface {}(map[a:1]) = int64(1)"),
    ],
)
def test_compare_type_mismatch_is_an_error_in_ekuiper_wording(op, a, b, message):
    with pytest.raises(EvalError) as exc:
        ops.compare(op, a, b)
    assert str(exc.value) == message


def test_compare_datetime_with_datetime_epoch_ms_and_string():
    t = dt.datetime(2021, 6, 1, 12, 0, 0, tzinfo=dt.UTC)
    ms = int(t.timestamp() * 1000)
    assert ops.compare("=", t, t) is True
    assert ops.compare("=", t, ms) is True
    assert ops.compare("<", t, ms + 1) is True
    assert ops.compare(">", ms + 1, t) is True
    assert ops.compare("<", t, "2021-06-01T12:00:01.000Z") is True
    assert ops.compare(">=", "2021-06-01T12:00:00.000Z", t) is True


def test_compare_datetime_with_an_unparseable_string_is_an_error():
    t = dt.datetime(2021, 6, 1, tzinfo=dt.UTC)
    with pytest.raises(EvalError, match=r"^invalid operation time\.Time\(.*\) < string\(not a date\)$"):
        ops.compare("<", t, "not a date")


# --- arithmetic ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "a", "b", "expected"),
    [
        ("+", 2, 3, 5),
        ("-", 2, 3, -1),
        ("*", -4, 3, -12),
        ("/", 7, 2, 3),
        ("/", -7, 2, -3),
        ("/", 7, -2, -3),
        ("/", -7, -2, 3),
        ("/", 3, 6, 0),
        ("%", 7, 3, 1),
        ("%", -7, 3, -1),
        ("%", 7, -3, 1),
        ("%", -7, -3, -1),
        ("&", 6, 3, 2),
        ("|", 6, 3, 7),
        ("^", 6, 3, 5),
    ],
)
def test_int_arithmetic_stays_int_and_truncates_toward_zero(op, a, b, expected):
    result = ops.arithmetic(op, a, b)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    ("op", "a", "b", "expected"),
    [
        ("+", 1, 2.5, 3.5),
        ("-", 2.5, 1, 1.5),
        ("*", 2, 1.5, 3.0),
        ("/", 7, 2.0, 3.5),
        ("/", 7.0, 2, 3.5),
        ("%", 7, 2.5, 2.0),
        ("%", -7.5, 2, -1.5),
        ("+", 1.0, 2.0, 3.0),
    ],
)
def test_arithmetic_with_a_float_is_float(op, a, b, expected):
    result = ops.arithmetic(op, a, b)
    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize(("op", "b"), [("/", 0), ("%", 0), ("/", 0.0), ("%", 0.0)])
@pytest.mark.parametrize("a", [1, 1.5])
def test_division_and_remainder_by_zero_are_errors(op, a, b):
    with pytest.raises(EvalError) as exc:
        ops.arithmetic(op, a, b)
    assert str(exc.value) == "divided by zero"


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "%"])
@pytest.mark.parametrize("other", [1, 2.5, "s", True, None])
def test_arithmetic_with_null_is_null(op, other):
    assert ops.arithmetic(op, None, other) is None
    assert ops.arithmetic(op, other, None) is None


@pytest.mark.parametrize("op", ["&", "|", "^"])
@pytest.mark.parametrize("other", [1, True, None])
def test_bitwise_with_null_is_false(op, other):
    # spec §4.3: "Bitwise ops with null give false" (not null as for arithmetic)
    assert ops.arithmetic(op, None, other) is False
    assert ops.arithmetic(op, other, None) is False


@pytest.mark.parametrize(
    ("op", "a", "b", "expected"),
    [("&", True, False, False), ("&", True, True, True), ("|", False, True, True), ("|", False, False, False),
     ("^", True, True, False), ("^", True, False, True)],
)
def test_bitwise_on_booleans_is_logical(op, a, b, expected):
    assert ops.arithmetic(op, a, b) is expected


@pytest.mark.parametrize(
    ("op", "a", "b", "message"),
    [
        ("+", "a", "b", "invalid operation string(a) + string(b)"),
        ("+", True, 1, "invalid operation bool(true) + int64(1)"),
        ("*", 2, False, "invalid operation int64(2) * bool(false)"),
        ("-", True, False, "invalid operation bool(true) - bool(false)"),
        ("&", 1, 2.0, "invalid operation int64(1) & float64(2)"),
        ("|", 1.5, 2.5, "invalid operation float64(1.5) | float64(2.5)"),
        ("+", "1", 1, "invalid operation string(1) + int64(1)"),
    ],
)
def test_arithmetic_type_mismatch_errors(op, a, b, message):
    with pytest.raises(EvalError) as exc:
        ops.arithmetic(op, a, b)
    assert str(exc.value) == message


# --- logical operands ---------------------------------------------------------------------


def test_logical_operand_passes_booleans_and_turns_null_into_false():
    assert ops.logical_operand(True, "AND", 1, True) is True
    assert ops.logical_operand(False, "OR", 1, True) is False
    assert ops.logical_operand(None, "OR", True, True) is False


def test_logical_operand_error_keeps_the_operand_order():
    with pytest.raises(EvalError, match=r"^invalid operation int64\(3\) AND bool\(true\)$"):
        ops.logical_operand(3, "AND", True, True)
    with pytest.raises(EvalError, match=r"^invalid operation bool\(true\) OR string\(x\)$"):
        ops.logical_operand("x", "OR", True, False)


# --- IN -----------------------------------------------------------------------------------


def test_in_list_uses_equality_with_numeric_widening():
    assert ops.in_list(3, [1, 2, 3.0]) is True
    assert ops.in_list(2.0, [1, 2]) is True
    assert ops.in_list("b", ["a", "b"]) is True
    assert ops.in_list(4, [1, 2, 3]) is False
    assert ops.in_list(1, []) is False


def test_in_list_null_left_side_and_null_elements():
    assert ops.in_list(None, [None, 1]) is False
    assert ops.in_list(1, [None, 1]) is True
    assert ops.in_list(2, [None, 1]) is False


def test_in_list_type_mismatch_is_an_error():
    # elements compare with `=`, and string = int is an error in eKuiper
    with pytest.raises(EvalError) as exc:
        ops.in_list("blue", [1, 2])
    assert str(exc.value) == "evaluate in expression error: invalid operation string(blue) = int64(1)"


def test_in_list_stops_at_the_first_match():
    assert ops.in_list("blue", ["blue", 1]) is True


# --- LIKE ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("string1", "string", False),  # anchored: no partial match
        ("string1", "str%", True),
        ("another", "an_ther", True),
        ("anther", "an_ther", False),
        ("str_ng", "str\\_ng", True),
        ("string", "str\\_ng", False),
        ("50%", "50\\%", True),
        ("500", "50\\%", False),
        ("a\\b", "a\\\\b", True),
        ("", "%", True),
        ("", "_", False),
        ("abc", "%b%", True),
        ("abc", "%d%", False),
        ("a.c", "a.c", True),
        ("abc", "a.c", False),  # regex metacharacters are literal
        ("a+", "a+", True),
        ("aa", "a+", False),
        ("line1\nline2", "line1%", True),  # % spans newlines
        ("x", "X", False),  # case-sensitive
    ],
)
def test_like_patterns(value, pattern, expected):
    assert ops.like(value, pattern) is expected
    assert (ops.like_regex(pattern).fullmatch(value) is not None) is expected


def test_like_regex_is_cached_per_pattern():
    assert ops.like_regex("ab%c_") is ops.like_regex("ab%c_")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (12, "LIKE operator left operand expects string, but found 12"),
        (3.0, "LIKE operator left operand expects string, but found 3"),
        (None, "LIKE operator left operand expects string, but found <nil>"),
        (True, "LIKE operator left operand expects string, but found true"),
    ],
)
def test_like_left_operand_must_be_a_string(value, message):
    with pytest.raises(EvalError) as exc:
        ops.like(value, "x")
    assert str(exc.value) == message


def test_like_pattern_must_be_a_string():
    with pytest.raises(EvalError) as exc:
        ops.like("string1", 12)
    assert str(exc.value) == "invalid LIKE pattern, must be a string but got 12"


# --- JSON paths: -> [] [:] ----------------------------------------------------------------


def test_arrow_reads_a_key_and_gives_null_otherwise():
    assert ops.arrow({"a": {"b": 1}}, "a") == {"b": 1}
    assert ops.arrow({"a": 1}, "missing") is None
    assert ops.arrow(None, "a") is None
    # eKuiper's project tests show `->` on a non-object giving null
    assert ops.arrow("text", "a") is None
    assert ops.arrow([1, 2], "a") is None


ARR = [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(("i", "expected"), [(0, 0), (1, 1), (5, 5), (-1, 5), (-6, 0), (2.0, 2)])
def test_index(i, expected):
    assert ops.index(ARR, i) == expected


@pytest.mark.parametrize(("i", "message"), [(6, "out of index: 6 of 6"), (-7, "out of index: -7 of 6")])
def test_index_out_of_range_is_an_error(i, message):
    with pytest.raises(EvalError) as exc:
        ops.index(ARR, i)
    assert str(exc.value) == message


def test_index_out_of_range_wording_from_the_spec():
    with pytest.raises(EvalError) as exc:
        ops.index([1, 2, 3, 4, 5], 5)
    assert str(exc.value) == "out of index: 5 of 5"


def test_index_on_null_is_null_and_on_a_non_array_an_error():
    assert ops.index(None, 0) is None
    with pytest.raises(EvalError, match=r"^invalid operation string \[\] int64$"):
        ops.index("abc", 0)
    with pytest.raises(EvalError, match=r"^invalid index type float64$"):
        ops.index(ARR, 1.5)
    with pytest.raises(EvalError, match=r"^invalid index type string$"):
        ops.index(ARR, "1")


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    # eKuiper's xsql TestArray over [0, 1, 2, 3, 4, 5]
    [
        (None, 2, [0, 1]),
        (4, None, [4, 5]),
        (-1, None, [5]),
        (0, -1, [0, 1, 2, 3, 4]),
        (-5, -1, [1, 2, 3, 4]),
        (None, None, [0, 1, 2, 3, 4, 5]),
        (1, 3, [1, 2]),
        (0, 6, [0, 1, 2, 3, 4, 5]),
        (2.0, 4.0, [2, 3]),
    ],
)
def test_slice_is_half_open_with_negative_bounds_from_the_end(start, end, expected):
    assert ops.slice_(ARR, start, end) == expected


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (6, None, "start value is out of index: 6 of 6"),
        (7, 8, "start value is out of index: 7 of 6"),
        (0, 7, "end value is out of index: 7 of 6"),
        (3, 1, "start cannot be greater than end. start:3  end:1"),
        (2, 2, "start cannot be greater than end. start:2  end:2"),
        (-7, None, "out of index: -7 of 6"),
        (0, -7, "out of index: -7 of 6"),
    ],
)
def test_slice_errors(start, end, message):
    with pytest.raises(EvalError) as exc:
        ops.slice_(ARR, start, end)
    assert str(exc.value) == message


def test_slice_of_null_is_null_and_of_a_non_array_an_error():
    assert ops.slice_(None, 0, 1) is None
    with pytest.raises(EvalError, match=r"^invalid operation int64 \[:\]$"):
        ops.slice_(5, 0, 1)
    with pytest.raises(EvalError, match=r"^invalid slice index type string$"):
        ops.slice_(ARR, "0", 1)


# --- unary --------------------------------------------------------------------------------


def test_negate():
    assert ops.negate(3) == -3
    assert ops.negate(-2.5) == 2.5
    assert ops.negate(None) is None
    with pytest.raises(EvalError, match=r"^invalid operation -string$"):
        ops.negate("x")
    with pytest.raises(EvalError, match=r"^invalid operation -bool$"):
        ops.negate(True)


def test_not():
    assert ops.not_(True) is False
    assert ops.not_(False) is True
    assert ops.not_(None) is None
    with pytest.raises(EvalError, match=r"^invalid operation NOT int64$"):
        ops.not_(1)
