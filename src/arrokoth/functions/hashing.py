"""Hashing functions (spec section 10.7): nil in, nil out; lowercase hex digests."""

from __future__ import annotations

import hashlib
import zlib

from arrokoth.functions.registry import registry
from arrokoth.functions.string import string_args
from arrokoth.functions.values import to_string_always


def _data(x) -> bytes:
    t = type(x)
    if t is bytes or t is bytearray:
        return bytes(x)
    return to_string_always(x).encode()


def _register(name: str) -> None:
    def impl(x):
        return hashlib.new(name, _data(x)).hexdigest()

    impl.__name__ = f"fn_{name}"
    registry.function(name, args=1, null_in_null_out=True, validate=string_args(0))(impl)


for _name in ("md5", "sha1", "sha256", "sha384", "sha512"):
    _register(_name)


@registry.function("crc32", args=1, null_in_null_out=True, validate=string_args(0))
def fn_crc32(x):
    """IEEE CRC-32 as Go's `%x` prints it: lowercase hex without leading zeros."""
    return format(zlib.crc32(_data(x)), "x")
