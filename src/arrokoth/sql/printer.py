"""Canonical SQL printer: `to_sql(node)` turns any AST node back into text.

Keywords come out upper-case with single spaces around binary operators (`a + b`)
and none around `->`, `[..]` and calls (`a->b`, `a[0]`, `f(x, y)`). Literals keep
their spelling where the AST remembers it (string quotes, number text, window names).
A parsed tree prints without added parentheses; for a tree built by hand the printer
adds the parentheses its shape needs, so the text always reads back as the same tree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import ast
from .tokens import needs_quoting

__all__ = ["to_sql"]

_OR, _AND, _NOT, _COMPARE, _ADD, _MUL, _NEG, _ATOM = 10, 20, 25, 30, 40, 50, 60, 70
_BINARY = {
    "OR": _OR,
    "AND": _AND,
    "+": _ADD,
    "-": _ADD,
    "|": _ADD,
    "^": _ADD,
    "*": _MUL,
    "/": _MUL,
    "%": _MUL,
    "&": _MUL,
}
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def to_sql(node: ast.Node) -> str:
    """Print a statement, an expression or any other node as canonical SQL."""
    printer = _PRINTERS.get(type(node))
    if printer is None:
        raise TypeError(f"cannot print {type(node).__name__}")
    return printer(node)


def ident(name: str) -> str:
    return f"`{name}`" if needs_quoting(name) else name


def string(value: str, quote: str = '"') -> str:
    if quote not in ("'", '"'):
        quote = '"'
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch == quote:
            out.append("\\" + ch)
        elif ch < " " or ch == "\x7f":
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return quote + "".join(out) + quote


# --- precedence -----------------------------------------------------------------------


def _precedence(node: ast.Node) -> int:
    if isinstance(node, ast.BinaryExpr):
        return _BINARY.get(node.op.upper(), _COMPARE)
    if isinstance(node, ast.UnaryExpr):
        return _NOT if node.op.upper() == "NOT" else _NEG
    if isinstance(node, ast.In | ast.Between | ast.Like):
        return _COMPARE
    if isinstance(node, ast.Index | ast.Slice | ast.Arrow):
        return _MUL
    return _ATOM


def _left(node: ast.Expr, level: int) -> str:
    """An operand to the left of an operator of `level` (operators are left-associative)."""
    text = to_sql(node)
    return f"({text})" if _precedence(node) < level else text


def _right(node: ast.Expr, level: int) -> str:
    """An operand in a slot that holds operators of `level` and tighter.

    NOT may open any slot that admits comparisons, because its operand stops at the
    first AND or OR; it only has to be wrapped where a comparison could not stand.
    """
    text = to_sql(node)
    if isinstance(node, ast.UnaryExpr) and node.op.upper() == "NOT":
        return f"({text})" if level > _COMPARE else text
    return f"({text})" if _precedence(node) < level else text


def _list(nodes: list[Any]) -> str:
    return ", ".join(to_sql(n) for n in nodes)


# --- expressions ----------------------------------------------------------------------


def _binary(node: ast.BinaryExpr) -> str:
    level = _precedence(node)
    return f"{_left(node.lhs, level)} {node.op.upper()} {_right(node.rhs, level + 10)}"


def _unary(node: ast.UnaryExpr) -> str:
    if node.op.upper() == "NOT":
        return f"NOT {_right(node.expr, _COMPARE)}"
    operand = _right(node.expr, _NEG)
    # "--" would start a comment.
    return f"- {operand}" if operand.startswith("-") else f"-{operand}"


def _in(node: ast.In) -> str:
    values = f"({_list(node.values)})" if isinstance(node.values, list) else _right(node.values, _ADD)
    return f"{_left(node.expr, _COMPARE)} {'NOT IN' if node.negated else 'IN'} {values}"


def _between(node: ast.Between) -> str:
    op = "NOT BETWEEN" if node.negated else "BETWEEN"
    return f"{_left(node.expr, _COMPARE)} {op} {_right(node.low, _ADD)} AND {_right(node.high, _ADD)}"


def _like(node: ast.Like) -> str:
    op = "NOT LIKE" if node.negated else "LIKE"
    return f"{_left(node.expr, _COMPARE)} {op} {_right(node.pattern, _ADD)}"


def _slice(node: ast.Slice) -> str:
    start = "" if node.start is None else to_sql(node.start)
    end = "" if node.end is None else to_sql(node.end)
    return f"{_left(node.expr, _MUL)}[{start}:{end}]"


def _case(node: ast.Case) -> str:
    parts = ["CASE"]
    if node.value is not None:
        parts.append(to_sql(node.value))
    parts.extend(to_sql(w) for w in node.whens)
    if node.else_ is not None:
        parts.append(f"ELSE {to_sql(node.else_)}")
    parts.append("END")
    return " ".join(parts)


def _suffixes(filter_: ast.Expr | None, over: ast.Over | None) -> str:
    text = ""
    if filter_ is not None:
        text += f" FILTER (WHERE {to_sql(filter_)})"
    if over is not None:
        text += " " + _over(over)
    return text


def _over(node: ast.Over) -> str:
    parts = []
    if node.partition_by:
        parts.append(f"PARTITION BY {_list(node.partition_by)}")
    if node.when is not None:
        parts.append(f"WHEN {to_sql(node.when)}")
    return f"OVER ({' '.join(parts)})"


def _call(node: ast.Call) -> str:
    return f"{ident(node.name)}({_list(node.args)}){_suffixes(node.filter, node.over)}"


def _window(node: ast.Window) -> str:
    name = node.name if node.name.upper() == node.kind else node.kind
    return f"{name}({_list(node.args)}){_suffixes(node.filter, node.over)}"


def _time_unit(node: ast.TimeUnit) -> str:
    return node.text if node.text.upper() == node.unit else node.unit


def _meta(node: ast.MetaRef) -> str:
    path = [p if p == "*" else ident(p) for p in node.path]
    if node.stream is not None:
        path.insert(0, ident(node.stream))
    return f"{node.func.lower()}({'.'.join(path)})"


def _field_ref(node: ast.FieldRef) -> str:
    return ident(node.name) if node.stream is None else f"{ident(node.stream)}.{ident(node.name)}"


def _wildcard(node: ast.Wildcard) -> str:
    text = "*" if node.stream is None else f"{ident(node.stream)}.*"
    if node.except_:
        text += f" EXCEPT({', '.join(ident(n) for n in node.except_)})"
    if node.replace:
        text += f" REPLACE({_list(node.replace)})"
    return text


def _number(node: ast.NumberLiteral) -> str:
    return node.text or repr(node.value)


# --- SELECT ---------------------------------------------------------------------------


def _field(node: ast.Field) -> str:
    text = to_sql(node.expr)
    if node.alias is not None:
        text += f" AS {ident(node.alias)}"
    if node.invisible:
        text += " INVISIBLE"
    return text


def _source(node: ast.Source) -> str:
    return ident(node.name) if node.alias is None else f"{ident(node.name)} AS {ident(node.alias)}"


def _join(node: ast.Join) -> str:
    words = node.spelling.upper().split()
    if (
        not words
        or words[-1] != "JOIN"
        or words[0] not in (node.kind, "JOIN" if node.kind == "INNER" else "")
    ):
        words = [node.kind, "JOIN"]
    text = f"{' '.join(words)} {_source(node.source)}"
    return text if node.on is None else f"{text} ON {to_sql(node.on)}"


def _sort_field(node: ast.SortField) -> str:
    text = to_sql(node.expr)
    if node.descending:
        return text + " DESC"
    return text + " ASC" if node.explicit else text


def _select(node: ast.Select) -> str:
    parts = [f"SELECT {_list(node.fields)} FROM {_source(node.source)}"]
    parts.extend(_join(j) for j in node.joins)
    if node.where is not None:
        parts.append(f"WHERE {to_sql(node.where)}")
    if node.group_by:
        parts.append(f"GROUP BY {_list(node.group_by)}")
    if node.having is not None:
        parts.append(f"HAVING {to_sql(node.having)}")
    if node.order_by:
        parts.append(f"ORDER BY {_list(node.order_by)}")
    if node.limit is not None:
        parts.append(f"LIMIT {node.limit}")
    return " ".join(parts)


# --- DDL ------------------------------------------------------------------------------


def _data_type(node: ast.DataType) -> str:
    if node.element is not None:
        return f"{node.name.upper()}({to_sql(node.element)})"
    if node.name.upper() == "STRUCT":
        return f"STRUCT({_list(node.fields)})"
    return node.name.upper()


def _column(node: ast.Column) -> str:
    text = f"{ident(node.name)} {to_sql(node.type)}"
    return text if node.default is None else f"{text} DEFAULT {to_sql(node.default)}"


def _option(node: ast.Option) -> str:
    value = node.value if isinstance(node.value, str) else str(node.value).lower()
    return f"{node.name.upper()}={string(value) if isinstance(node.value, str) else value}"


def _create(node: ast.CreateStream) -> str:
    return (
        f"CREATE {node.kind.upper()} {ident(node.name)} ({_list(node.columns)}) WITH ({_list(node.options)})"
    )


_PRINTERS: dict[type, Callable[[Any], str]] = {
    ast.IntegerLiteral: lambda n: str(n.value),
    ast.NumberLiteral: _number,
    ast.StringLiteral: lambda n: string(n.value, n.quote),
    ast.BooleanLiteral: lambda n: "true" if n.value else "false",
    ast.TimeUnit: _time_unit,
    ast.FieldRef: _field_ref,
    ast.Wildcard: _wildcard,
    ast.MetaRef: _meta,
    ast.Paren: lambda n: f"({to_sql(n.expr)})",
    ast.UnaryExpr: _unary,
    ast.BinaryExpr: _binary,
    ast.Arrow: lambda n: f"{_left(n.expr, _MUL)}->{ident(n.key)}",
    ast.Index: lambda n: f"{_left(n.expr, _MUL)}[{to_sql(n.index)}]",
    ast.Slice: _slice,
    ast.Between: _between,
    ast.In: _in,
    ast.Like: _like,
    ast.When: lambda n: f"WHEN {to_sql(n.cond)} THEN {to_sql(n.result)}",
    ast.Case: _case,
    ast.Over: _over,
    ast.Call: _call,
    ast.Window: _window,
    ast.Field: _field,
    ast.Source: _source,
    ast.Join: _join,
    ast.SortField: _sort_field,
    ast.Select: _select,
    ast.DataType: _data_type,
    ast.Column: _column,
    ast.Option: _option,
    ast.CreateStream: _create,
    ast.DropStream: lambda n: f"DROP {n.kind.upper()} {ident(n.name)}",
    ast.ShowStreams: lambda n: f"SHOW {n.kind.upper()}",
    ast.DescribeStream: lambda n: f"DESCRIBE {n.kind.upper()} {ident(n.name)}",
    ast.ExplainStream: lambda n: f"EXPLAIN {n.kind.upper()} {ident(n.name)}",
}
