"""A small CBOR (RFC 8949) codec, enough for EdgeX's binary events.

EdgeX device services send events that carry Binary readings as CBOR (`contentType`
application/cbor), and eKuiper's edgex sink encodes an AddEventRequest with a Binary
reading as CBOR too. No CBOR package is a dependency of the core, so this module holds
the few dozen lines both directions need: integers, byte and text strings (definite and
indefinite), arrays, maps, tags (bignums become ints; other tags yield their content),
simple values and half, single and double floats.
"""

from __future__ import annotations

import struct
from typing import Any


class CborError(ValueError):
    """The bytes are not one well-formed CBOR data item."""


_BREAK = object()


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise CborError("unexpected end of CBOR data")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def argument(self, info: int) -> int | None:
        """The head's argument; None for an indefinite length."""
        if info < 24:
            return info
        if info == 24:
            return self.take(1)[0]
        if info == 25:
            return int.from_bytes(self.take(2), "big")
        if info == 26:
            return int.from_bytes(self.take(4), "big")
        if info == 27:
            return int.from_bytes(self.take(8), "big")
        if info == 31:
            return None
        raise CborError(f"invalid additional information {info}")

    def item(self) -> Any:
        head = self.take(1)[0]
        major, info = head >> 5, head & 0x1F
        if major == 7:
            return self._simple(info)
        arg = self.argument(info)
        if major == 0:
            return _definite(arg)
        if major == 1:
            return -1 - _definite(arg)
        if major in (2, 3):
            raw = self.take(arg) if arg is not None else self._chunks(major)
            if major == 2:
                return raw
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise CborError("invalid UTF-8 in a CBOR text string") from None
        if major == 4:
            if arg is None:
                out = []
                while (x := self.item()) is not _BREAK:
                    out.append(x)
                return out
            return [self._value() for _ in range(arg)]
        if major == 5:
            out_map: dict = {}
            count = 0
            while arg is None or count < arg:
                key = self.item()
                if key is _BREAK:
                    if arg is None:
                        break
                    raise CborError("unexpected break in a CBOR map")
                out_map[_key(key)] = self._value()
                count += 1
            return out_map
        # major 6: a tag
        content = self._value()
        if arg in (2, 3) and isinstance(content, bytes):
            n = int.from_bytes(content, "big")
            return n if arg == 2 else -1 - n
        return content

    def _value(self) -> Any:
        x = self.item()
        if x is _BREAK:
            raise CborError("unexpected break in CBOR data")
        return x

    def _chunks(self, major: int) -> bytes:
        parts = []
        while True:
            head = self.take(1)[0]
            if head == 0xFF:
                return b"".join(parts)
            if head >> 5 != major or head & 0x1F == 31:
                raise CborError("invalid chunk in an indefinite-length CBOR string")
            parts.append(self.take(_definite(self.argument(head & 0x1F))))

    def _simple(self, info: int) -> Any:
        if info == 20:
            return False
        if info == 21:
            return True
        if info in (22, 23):
            return None
        if info == 25:
            return struct.unpack(">e", self.take(2))[0]
        if info == 26:
            return struct.unpack(">f", self.take(4))[0]
        if info == 27:
            return struct.unpack(">d", self.take(8))[0]
        if info == 31:
            return _BREAK
        if info == 24:
            self.take(1)
            return None
        if info < 20:
            return None
        raise CborError(f"invalid simple value {info}")


def _definite(arg: int | None) -> int:
    if arg is None:
        raise CborError("an indefinite length where it is not allowed")
    return arg


def _key(key: Any) -> Any:
    # Go decodes map keys of any type; a Python dict needs hashable ones
    if isinstance(key, list):
        return tuple(key)
    if isinstance(key, dict):
        raise CborError("a map as a CBOR map key")
    return key


def loads(data: bytes) -> Any:
    """The one CBOR data item that `data` holds."""
    reader = _Reader(bytes(data))
    value = reader._value()
    if reader.pos != len(reader.data):
        raise CborError("extra data after the CBOR data item")
    return value


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | info]) + n.to_bytes(size, "big")
    raise CborError(f"integer {n} does not fit CBOR's 64 bits")


def dumps(value: Any) -> bytes:
    """`value` (None, bool, int, float, str, bytes, lists and dicts of them) as CBOR."""
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def _encode(v: Any, out: bytearray) -> None:
    if v is None:
        out.append(0xF6)
    elif v is True or v is False:
        out.append(0xF5 if v else 0xF4)
    elif isinstance(v, int):
        out += _head(0, v) if v >= 0 else _head(1, -1 - v)
    elif isinstance(v, float):
        out += b"\xfb" + struct.pack(">d", v)
    elif isinstance(v, str):
        raw = v.encode("utf-8")
        out += _head(3, len(raw)) + raw
    elif isinstance(v, bytes | bytearray | memoryview):
        raw = bytes(v)
        out += _head(2, len(raw)) + raw
    elif isinstance(v, list | tuple):
        out += _head(4, len(v))
        for x in v:
            _encode(x, out)
    elif isinstance(v, dict):
        out += _head(5, len(v))
        for k, x in v.items():
            _encode(k, out)
            _encode(x, out)
    else:
        _encode(str(v), out)
