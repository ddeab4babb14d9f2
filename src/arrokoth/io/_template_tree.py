"""The parse tree of sink data templates: Go's text/template/parse/node.go
(`arrokoth.io.templates`)."""

from __future__ import annotations

from typing import Any

from arrokoth.io._template_values import go_quote

# --- parse tree (Go's text/template/parse/node.go; str() is Go's String()) -----------------------


class _Node:
    __slots__ = ("pos",)

    def __init__(self, pos: int):
        self.pos = pos


class ListNode(_Node):
    __slots__ = ("nodes",)

    def __init__(self, pos: int):
        super().__init__(pos)
        self.nodes: list = []

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


class TextNode(_Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str):
        super().__init__(pos)
        self.text = text

    def __str__(self) -> str:
        return self.text


class PipeNode(_Node):
    __slots__ = ("is_assign", "decl", "cmds")

    def __init__(self, pos: int):
        super().__init__(pos)
        self.is_assign = False
        self.decl: list[VariableNode] = []
        self.cmds: list[CommandNode] = []

    def __str__(self) -> str:
        s = ""
        if self.decl:
            s = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return s + " | ".join(str(c) for c in self.cmds)


class CommandNode(_Node):
    __slots__ = ("args",)

    def __init__(self, pos: int):
        super().__init__(pos)
        self.args: list = []

    def __str__(self) -> str:
        return " ".join(f"({a})" if type(a) is PipeNode else str(a) for a in self.args)


class ActionNode(_Node):
    __slots__ = ("pipe",)

    def __init__(self, pos: int, pipe: PipeNode):
        super().__init__(pos)
        self.pipe = pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


class IdentifierNode(_Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str):
        super().__init__(pos)
        self.ident = ident

    def __str__(self) -> str:
        return self.ident


class VariableNode(_Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, name: str):
        super().__init__(pos)
        self.ident = name.split(".")

    def __str__(self) -> str:
        return ".".join(self.ident)


class FieldNode(_Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, name: str):
        super().__init__(pos)
        self.ident = name[1:].split(".")

    def __str__(self) -> str:
        return "".join("." + i for i in self.ident)


class ChainNode(_Node):
    __slots__ = ("node", "fields")

    def __init__(self, pos: int, node: Any):
        super().__init__(pos)
        self.node = node
        self.fields: list[str] = []

    def __str__(self) -> str:
        s = f"({self.node})" if type(self.node) is PipeNode else str(self.node)
        return s + "".join("." + f for f in self.fields)


class _Literal(_Node):
    __slots__ = ("text", "value")

    def __init__(self, pos: int, text: str, value: Any = None):
        super().__init__(pos)
        self.text = text
        self.value = value

    def __str__(self) -> str:
        return self.text


class DotNode(_Literal):
    __slots__ = ()


class NilNode(_Literal):
    __slots__ = ()


class BoolNode(_Literal):
    __slots__ = ()


class StringNode(_Literal):
    __slots__ = ()


class NumberNode(_Literal):
    """`value` is the ideal constant: an int, a float, or an error message for `overflows int`.
    `as_int` / `as_float` are the value where Go can use the text as an int / a float."""

    __slots__ = ("as_int", "as_float")


class _BranchNode(_Node):
    __slots__ = ("pipe", "list", "else_list")
    keyword = ""

    def __init__(self, pos: int, pipe: PipeNode, lst: ListNode, else_list: ListNode | None):
        super().__init__(pos)
        self.pipe, self.list, self.else_list = pipe, lst, else_list

    def __str__(self) -> str:
        s = f"{{{{{self.keyword} {self.pipe}}}}}{self.list}"
        if self.else_list is not None:
            s += f"{{{{else}}}}{self.else_list}"
        return s + "{{end}}"


class IfNode(_BranchNode):
    __slots__ = ()
    keyword = "if"


class RangeNode(_BranchNode):
    __slots__ = ()
    keyword = "range"


class WithNode(_BranchNode):
    __slots__ = ()
    keyword = "with"


class TemplateNode(_Node):
    __slots__ = ("name", "pipe")

    def __init__(self, pos: int, name: str, pipe: PipeNode | None):
        super().__init__(pos)
        self.name, self.pipe = name, pipe

    def __str__(self) -> str:
        tail = f" {self.pipe}" if self.pipe is not None else ""
        return f"{{{{template {go_quote(self.name)}{tail}}}}}"


class _Keyword(_Node):
    __slots__ = ("word",)

    def __init__(self, pos: int, word: str):
        super().__init__(pos)
        self.word = word

    def __str__(self) -> str:
        return "{{" + self.word + "}}"
