"""A small parser for the .proto syntax of message schemas, into `FileDescriptorProto`s.

It reads proto2 and proto3 files: messages (nested), enums, fields with labels and the
`default`, `json_name` and `packed` options, `map<K, V>` (as protoc does: a nested
`XxxEntry` message), `oneof`, proto3 `optional` (a synthetic oneof), `package` and
`import`. Services, file/message/enum options, `reserved`, `extensions` and `extend`
are read and ignored; groups and editions are refused with a `ProtoSyntaxError`. Type
names are left as written: the descriptor pool resolves them by protobuf's scoping rules.
"""

from __future__ import annotations

import re
from typing import Any

from arrokoth.io.formats.json import FormatError

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<num>[-+]?(?:0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)(?![\w.]))
  | (?P<ident>\.?[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)
  | (?P<sym>[{}\[\]()<>;=,:])
    """,
    re.VERBOSE | re.DOTALL,
)

_SCALARS = {
    "double": 1, "float": 2, "int64": 3, "uint64": 4, "int32": 5, "fixed64": 6, "fixed32": 7, "bool": 8,
    "string": 9, "bytes": 12, "uint32": 13, "sfixed32": 15, "sfixed64": 16, "sint32": 17, "sint64": 18,
}
_LABELS = {"optional": 1, "required": 2, "repeated": 3}


class ProtoSyntaxError(FormatError):
    pass


def _tokens(text: str, file: str) -> list[tuple[str, str, int]]:
    out = []
    pos, line = 0, 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ProtoSyntaxError(f"{file}:{line}: unexpected character {text[pos]!r}")
        kind = m.lastgroup
        value = m.group()
        if kind != "ws":
            out.append((kind, value, line))
        line += value.count("\n")
        pos = m.end()
    return out


def _unquote(s: str) -> str:
    body = s[1:-1]
    return body.encode("latin-1", "backslashreplace").decode("unicode_escape") if "\\" in body else body


def _camel(name: str) -> str:
    out, upper = [], True
    for ch in name:
        if ch == "_":
            upper = True
        elif upper:
            out.append(ch.upper())
            upper = False
        else:
            out.append(ch)
    return "".join(out)


class _Parser:
    def __init__(self, text: str, file: str):
        self.toks = _tokens(text, file)
        self.i = 0
        self.file = file

    # token helpers
    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.toks[j][1] if j < len(self.toks) else ""

    def line(self) -> int:
        j = min(self.i, len(self.toks) - 1)
        return self.toks[j][2] if self.toks else 1

    def error(self, message: str) -> ProtoSyntaxError:
        return ProtoSyntaxError(f"{self.file}:{self.line()}: {message}")

    def next(self) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise self.error("unexpected end of file")
        kind, value, _ = self.toks[self.i]
        self.i += 1
        return kind, value

    def expect(self, value: str) -> None:
        _, got = self.next()
        if got != value:
            self.i -= 1
            raise self.error(f"expected {value!r} but found {got!r}")

    def ident(self, what: str) -> str:
        kind, value = self.next()
        if kind != "ident":
            self.i -= 1
            raise self.error(f"expected {what} but found {value!r}")
        return value

    def accept(self, value: str) -> bool:
        if self.peek() == value:
            self.i += 1
            return True
        return False

    def skip_statement(self) -> None:
        """Skip to the end of a statement: `;` or a balanced `{…}` block."""
        depth = 0
        while True:
            _, value = self.next()
            if value == "{":
                depth += 1
            elif value == "}":
                depth -= 1
                if depth <= 0:
                    return
            elif value == ";" and depth == 0:
                return

    def constant(self) -> str:
        kind, value = self.next()
        if kind == "str":
            text = _unquote(value)
            while self.i < len(self.toks) and self.toks[self.i][0] == "str":
                text += _unquote(self.next()[1])  # adjacent strings concatenate
            return text
        if value == "{":
            self.i -= 1
            self.skip_statement()
            return ""
        return value

    # grammar
    def parse(self, fdp) -> None:
        fdp.syntax = "proto2"
        first = True
        while self.i < len(self.toks):
            word = self.peek()
            if word == ";":
                self.i += 1
            elif word == "syntax":
                self.i += 1
                self.expect("=")
                syntax = self.constant()
                if syntax not in ("proto2", "proto3"):
                    raise self.error(f"unsupported syntax {syntax!r}")
                if not first:
                    raise self.error("syntax must be the first statement")
                fdp.syntax = syntax
                self.expect(";")
            elif word == "edition":
                raise self.error("protobuf editions are not supported; use syntax = \"proto3\"")
            elif word == "package":
                self.i += 1
                fdp.package = self.ident("a package name").lstrip(".")
                self.expect(";")
            elif word == "import":
                self.i += 1
                if self.peek() in ("public", "weak"):
                    self.i += 1
                kind, value = self.next()
                if kind != "str":
                    raise self.error("expected the file name of the import")
                fdp.dependency.append(_unquote(value))
                self.expect(";")
            elif word == "option":
                self.skip_statement()
            elif word == "message":
                self.i += 1
                self.message(fdp.message_type.add(), fdp.syntax)
            elif word == "enum":
                self.i += 1
                self.enum(fdp.enum_type.add())
            elif word in ("service", "extend"):
                self.skip_statement()
            else:
                raise self.error(f"unexpected {word!r} at the top level")
            first = False

    def message(self, msg, syntax: str) -> None:
        msg.name = self.ident("a message name")
        self.expect("{")
        synthetic: list[tuple[Any, str]] = []
        while not self.accept("}"):
            word = self.peek()
            if word == ";":
                self.i += 1
            elif word == "message":
                self.i += 1
                self.message(msg.nested_type.add(), syntax)
            elif word == "enum":
                self.i += 1
                self.enum(msg.enum_type.add())
            elif word in ("option", "reserved", "extensions", "extend"):
                self.skip_statement()
            elif word == "oneof":
                self.i += 1
                index = len(msg.oneof_decl)
                msg.oneof_decl.add(name=self.ident("a oneof name"))
                self.expect("{")
                while not self.accept("}"):
                    if self.peek() == "option":
                        self.skip_statement()
                    elif self.accept(";"):
                        pass
                    else:
                        f = self.field(msg, syntax, label=1)
                        f.oneof_index = index
            elif word == "map" and self.peek(1) == "<":
                self.map_field(msg, syntax)
            elif word == "group" or (word in _LABELS and self.peek(1) == "group"):
                raise self.error("proto2 groups are not supported")
            else:
                label = None
                if word in _LABELS and self.peek(1) not in ("=",):
                    label = _LABELS[word]
                    self.i += 1
                f = self.field(msg, syntax, label=label or 1)
                if label == 1 and syntax == "proto3":
                    synthetic.append((f, f.name))
        # proto3 `optional`: a synthetic oneof per field, after the real oneofs
        for f, name in synthetic:
            f.proto3_optional = True
            f.oneof_index = len(msg.oneof_decl)
            msg.oneof_decl.add(name=f"_{name}")

    def field(self, msg, syntax: str, *, label: int):
        type_name = self.ident("a field type")
        f = msg.field.add()
        f.name = self.ident("a field name")
        self.expect("=")
        f.number = self._number()
        f.label = label
        if type_name in _SCALARS:
            f.type = _SCALARS[type_name]
        else:
            f.type_name = type_name
        self.field_options(f)
        self.expect(";")
        return f

    def _number(self) -> int:
        kind, value = self.next()
        try:
            if len(value) > 1 and value.startswith("0") and value.isdigit():
                return int(value, 8)  # proto's octal literals
            return int(value, 0)
        except ValueError:
            raise self.error(f"expected a number but found {value!r}") from None

    def field_options(self, f) -> None:
        if not self.accept("["):
            return
        while True:
            name = self.peek()
            if name == "(":
                depth = 0
                while True:  # a custom option name: (foo.bar).baz
                    _, v = self.next()
                    depth += v == "("
                    depth -= v == ")"
                    if depth == 0 and self.peek() == "=":
                        break
            else:
                name = self.ident("an option name")
            self.expect("=")
            value = self.constant()
            if name == "default":
                f.default_value = value
            elif name == "json_name":
                f.json_name = value
            elif name == "packed":
                f.options.packed = value == "true"
            if self.accept("]"):
                return
            self.expect(",")

    def map_field(self, msg, syntax: str) -> None:
        self.expect("map")
        self.expect("<")
        key_type = self.ident("a map key type")
        self.expect(",")
        value_type = self.ident("a map value type")
        self.expect(">")
        name = self.ident("a field name")
        self.expect("=")
        number = self._number()
        entry = msg.nested_type.add(name=_camel(name) + "Entry")
        entry.options.map_entry = True
        for fname, fnumber, ftype in (("key", 1, key_type), ("value", 2, value_type)):
            ef = entry.field.add(name=fname, number=fnumber, label=1)
            if ftype in _SCALARS:
                ef.type = _SCALARS[ftype]
            else:
                ef.type_name = ftype
        f = msg.field.add(name=name, number=number, label=3, type_name=entry.name)
        self.field_options(f)
        self.expect(";")

    def enum(self, en) -> None:
        en.name = self.ident("an enum name")
        self.expect("{")
        while not self.accept("}"):
            word = self.peek()
            if word in ("option", "reserved"):
                self.skip_statement()
            elif self.accept(";"):
                pass
            else:
                value = en.value.add(name=self.ident("an enum value name"))
                self.expect("=")
                value.number = self._number()
                if self.accept("["):
                    self.i -= 1
                    self.skip_options()
                self.expect(";")

    def skip_options(self) -> None:
        self.expect("[")
        depth = 1
        while depth:
            _, v = self.next()
            depth += v == "["
            depth -= v == "]"


def parse_into(fdp, text: str, file: str) -> None:
    """Fill a `descriptor_pb2.FileDescriptorProto` from a .proto text."""
    _Parser(text, file).parse(fdp)


def imports(text: str, file: str) -> list[str]:
    """The files a .proto text imports."""
    toks = _tokens(text, file)
    out = []
    for i, (kind, value, _) in enumerate(toks):
        if kind == "ident" and value == "import" and (i == 0 or toks[i - 1][1] in (";", "}")):
            j = i + 1
            if j < len(toks) and toks[j][1] in ("public", "weak"):
                j += 1
            if j < len(toks) and toks[j][0] == "str":
                out.append(_unquote(toks[j][1]))
    return out
