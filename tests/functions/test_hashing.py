"""Hashing functions (spec 10.7)."""

from __future__ import annotations

import pytest

from arrokoth.functions import builtins
from arrokoth.functions.registry import FunctionError, registry
from arrokoth.sql import ast

builtins.load()

FOX = "The quick brown fox jumps over the lazy dog"


@pytest.mark.parametrize(
    ("name", "digest"),
    [
        ("md5", "9e107d9d372bb6826bd81d3542a419d6"),
        ("sha1", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
        ("sha256", "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"),
        (
            "sha384",
            "ca737f1014a48f4c0b6dd43cb177b0afd9e5169367544c494011e3317dbf9a509cb1e5dc1e85a941bbee3d7f2afbc9b1",
        ),
        (
            "sha512",
            "07e547d9586f6a73f73fbac0435ed76951218fb7d0c8d788a309d785436bbb642e93a252a954f23912547d1e8a3b5ed6"
            "e1bfd7097821233fa0538f3db854fee6",
        ),
        ("crc32", "414fa339"),
    ],
)
def test_digests(name, digest):
    fdef = registry.get(name)
    assert fdef.null_in_null_out
    assert fdef.impl(FOX) == digest


def test_crc32_has_no_leading_zeros():
    # Go prints the checksum with %x, so a small value stays short
    value = registry.get("crc32").impl("a")
    assert value == format(int(value, 16), "x")


def test_non_strings_hash_their_text():
    assert registry.get("md5").impl(12) == registry.get("md5").impl("12")
    assert registry.get("sha1").impl(b"abc") == registry.get("sha1").impl("abc")


def test_validation():
    with pytest.raises(FunctionError, match="Expect string type for parameter 1"):
        registry.get("md5").validate([ast.IntegerLiteral(1)])
