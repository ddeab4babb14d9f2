"""String functions (spec 10.5), called through the registry as the engine does."""

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


def validate(name: str, *nodes) -> None:
    fdef = registry.get(name)
    fdef.check_arity(len(nodes))
    if fdef.validate:
        fdef.validate(list(nodes))


S = ast.StringLiteral
I = ast.IntegerLiteral  # noqa: E741


def test_concat():
    assert call("concat", "a", "b", "c") == "abc"
    assert call("concat", "a", None, "c") == "ac"
    assert call("concat", "n", 1, 2.5, True) == "n12.5true"
    assert call("concat", [1, 2], None, [3]) == [1, 2, 3]
    assert call("concat", None) == ""
    with pytest.raises(FunctionError, match="Expect string type for parameter 2"):
        validate("concat", S("a"), I(1))
    with pytest.raises(FunctionError):
        validate("concat")


def test_endswith_startswith():
    assert call("endswith", "mya", "ya") is True
    assert call("endswith", "mya", "myc") is False
    assert call("endswith", None, "myc") is False
    assert call("endswith", "mya", None) is False
    assert call("startswith", "mya", "my") is True
    assert call("startswith", "mya", "ya") is False
    assert call("startswith", None, "a") is False
    with pytest.raises(FunctionError, match="Expect string type for parameter 2"):
        validate("startswith", S("a"), I(1))


def test_indexof():
    assert call("indexof", "mya", "a") == 2
    assert call("indexof", "mya", "z") == -1
    assert call("indexof", None, "a") == -1
    assert call("indexof", "中a", "a") == 3  # a byte offset, as Go's strings.Index


def test_length_and_numbytes():
    assert call("length", "中国") == 2
    assert call("length", "myc") == 3
    assert call("length", None) == 0
    assert call("length", [1, 2, 3]) == 3
    assert call("length", {"a": 1}) == 1
    assert call("length", 123) == 3
    assert call("numbytes", "中国") == 6
    assert call("numbytes", "ya") == 2


def test_case_and_trim():
    assert call("lower", "NYCNicks") == "nycnicks"
    assert call("upper", "NYCNicks") == "NYCNICKS"
    assert call("lower", None) is None
    assert call("trim", " \ttrimme\n ") == "trimme"
    assert call("ltrim", " \ttrimme\n ") == "trimme\n "
    assert call("rtrim", " \ttrimme\n ") == " \ttrimme"
    assert call("reverse", "abc") == "cba"
    assert call("reverse", None) is None
    for name in ("lower", "upper", "trim", "ltrim", "rtrim", "reverse"):
        assert registry.get(name).null_in_null_out
        with pytest.raises(FunctionError, match="Expect string type for parameter 1"):
            validate(name, I(1))


def test_pad_adds_n_spaces():
    assert call("rpad", "NYCNicks", 3) == "NYCNicks   "
    assert call("lpad", "NYCNicks", 2) == "  NYCNicks"
    assert call("lpad", None, 2) is None
    with pytest.raises(FunctionError, match="Expect int type for parameter 2"):
        validate("lpad", S("a"), S("2"))
    with pytest.raises(FunctionError, match="negative Repeat count"):
        call("rpad", "a", -1)


def test_substring():
    assert call("substring", "NYCNicks", 3) == "Nicks"
    assert call("substring", "NYCNicks", 3, 5) == "Ni"
    assert call("substring", "NYCNicks", 3, 100) == "Nicks"
    assert call("substring", "NYCNicks", 88, 100) == ""
    assert call("substring", "NYCNicks", 100) == ""
    assert call("substring", None, 3, 100) is None
    with pytest.raises(FunctionError, match="start index must be a positive number"):
        call("substring", "abc", -1)
    with pytest.raises(FunctionError, match="start index must be smaller than end index"):
        call("substring", "abc", 2, 1)


def test_substring_validation():
    with pytest.raises(FunctionError, match="The start index should not be a nagtive integer."):
        validate("substring", S("abc"), ast.UnaryExpr("-", I(1)))
    with pytest.raises(FunctionError, match="The end index should be larger than start index."):
        validate("substring", S("abc"), I(3), I(1))
    with pytest.raises(FunctionError, match="Expect int type for parameter 2"):
        validate("substring", S("abc"), S("1"))
    with pytest.raises(FunctionError, match="Expect string type for parameter 1"):
        validate("substring", I(1), I(1))
    validate("substring", ast.FieldRef("a"), ast.FieldRef("b"), I(4))


def test_split_value():
    assert call("split_value", "test/device001/message", "/", 0) == "test"
    assert call("split_value", "test/device001/message", "/", 1) == "device001"
    assert call("split_value", "test/device001/message", "/", 2) == "message"
    assert call("split_value", "/test/device001/message", "/", 0) == ""
    assert call("split_value", "/test/device001/message", "/", 3) == "message"
    assert call("split_value", None, "/", 2) is None
    with pytest.raises(FunctionError, match=r"4 out of index array \(size = 4\)"):
        call("split_value", "/a/b/c", "/", 4)
    with pytest.raises(FunctionError, match="The index should not be a nagtive integer."):
        validate("split_value", S("a"), S("/"), ast.UnaryExpr("-", I(1)))


def test_regexp_matches():
    assert call("regexp_matches", "seafood", "foo.*") is True
    assert call("regexp_matches", "seafood", "^foo") is False
    assert call("regexp_matches", None, "foo.*") is False
    assert call("regexp_matches", "abc1", "[[:digit:]]$") is True
    assert call("regexp_matches", "abc\n", "c$") is False  # Go's $ is the end of text
    with pytest.raises(FunctionError, match="error parsing regexp"):
        call("regexp_matches", "a", "(a")


def test_regexp_replace_uses_go_templates():
    assert call("regexp_replace", "-ab-axxb-", "a(x*)b", "REP") == "-REP-REP-"
    assert call("regexp_replace", "-ab-axxb-", "a(x*)b", "${1}W") == "-W-xxW-"
    assert call("regexp_replace", "-ab-axxb-", "a(x*)b", "$1W") == "---"
    assert call("regexp_replace", "-ab-axxb-", "a(?P<x>x*)b", "[$x]") == "-[]-[xx]-"
    assert call("regexp_replace", "-ab-", "a(x*)b", "$$") == "-$-"
    assert call("regexp_replace", "-ab-axxb-", "a(x*)b", None) is None


def test_regexp_substr():
    assert call("regexp_substr", "seafood", "foo.*") == "food"
    assert call("regexp_substr", "seafood", "bar") is None
    assert call("regexp_substr", None, "foo.*") is None


def test_format():
    assert call("format", 12332.1234567, 4, "en_US") == "12,332.1235"
    assert call("format", 12332.1234567, 4) == "12,332.1235"
    assert call("format", 1234567, 0) == "1,234,567"
    assert call("format", -1234.5, 2) == "-1,234.50"
    assert call("format", 0.5, 1) == "0.5"
    with pytest.raises(FunctionError, match="not support for the specific locale"):
        call("format", 1, 1, "fr_FR")
    with pytest.raises(FunctionError, match="Expect int type for parameter 2"):
        validate("format", I(1), S("a"))


def test_chr():
    assert call("chr", 0) == 0
    assert call("chr", 97) == 97
    assert call("chr", "a") == 97
    assert call("chr", 65.7) == 65
    with pytest.raises(
        FunctionError, match="Only bigint, float and string type can be convert to char type."
    ):
        call("chr", [1])
    with pytest.raises(FunctionError, match="Expect int type for parameter 1"):
        validate("chr", ast.NumberLiteral(1.5))
