"""AST nodes for eKuiper's SQL dialect.

Every node is a plain dataclass with value equality, so `parse(print(ast)) == ast`
can be checked directly. Parentheses the user wrote are kept as `Paren` nodes so
that printing gives back the original text.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class Node:
    """Base class of every AST node."""

    __slots__ = ()


class Expr(Node):
    __slots__ = ()


# --- literals ---------------------------------------------------------------------


@dataclass(slots=True)
class IntegerLiteral(Expr):
    value: int


@dataclass(slots=True)
class NumberLiteral(Expr):
    value: float
    text: str = field(default="", compare=False)  # the source spelling, used by the printer


@dataclass(slots=True)
class StringLiteral(Expr):
    value: str
    quote: str = field(default='"', compare=False)


@dataclass(slots=True)
class BooleanLiteral(Expr):
    value: bool


@dataclass(slots=True)
class TimeUnit(Expr):
    """A window time unit: DD, HH, MI, SS or MS (stored upper-case)."""

    unit: str
    text: str = field(default="", compare=False)


# --- references -------------------------------------------------------------------


@dataclass(slots=True)
class FieldRef(Expr):
    """A column, optionally qualified by a stream (`demo.size`)."""

    name: str
    stream: str | None = None


@dataclass(slots=True)
class Wildcard(Expr):
    """`*`, `stream.*`, `* EXCEPT(a, b)`, `* REPLACE(expr AS c, ...)`."""

    stream: str | None = None
    except_: list[str] = field(default_factory=list)
    replace: list[Field] = field(default_factory=list)


@dataclass(slots=True)
class MetaRef(Expr):
    """`meta(key)`, `meta(stream.key)`, `meta(*)`, `meta(a.b.c)`; `mqtt(key)` too.

    `path` holds the key and any nested keys; `['*']` means the whole metadata map.
    """

    path: list[str]
    stream: str | None = None
    func: str = "meta"


# --- operators --------------------------------------------------------------------


@dataclass(slots=True)
class Paren(Expr):
    expr: Expr


@dataclass(slots=True)
class UnaryExpr(Expr):
    op: str  # "-" or "NOT"
    expr: Expr


@dataclass(slots=True)
class BinaryExpr(Expr):
    """Arithmetic, bitwise, comparison and logical operators.

    `op` is one of + - * / % & | ^ = != < <= > >= AND OR.
    """

    op: str
    lhs: Expr
    rhs: Expr


@dataclass(slots=True)
class Arrow(Expr):
    """`expr->key`: a key of a nested object."""

    expr: Expr
    key: str


@dataclass(slots=True)
class Index(Expr):
    """`expr[index]`."""

    expr: Expr
    index: Expr


@dataclass(slots=True)
class Slice(Expr):
    """`expr[start:end]`; either bound may be missing."""

    expr: Expr
    start: Expr | None
    end: Expr | None


@dataclass(slots=True)
class Between(Expr):
    expr: Expr
    low: Expr
    high: Expr
    negated: bool = False


@dataclass(slots=True)
class In(Expr):
    """`expr [NOT] IN (a, b, ...)` (values is a list) or `expr [NOT] IN arrayExpr`."""

    expr: Expr
    values: list[Expr] | Expr
    negated: bool = False


@dataclass(slots=True)
class Like(Expr):
    expr: Expr
    pattern: Expr
    negated: bool = False


@dataclass(slots=True)
class When(Node):
    cond: Expr
    result: Expr


@dataclass(slots=True)
class Case(Expr):
    """`CASE [value] WHEN .. THEN .. [ELSE ..] END`."""

    value: Expr | None
    whens: list[When]
    else_: Expr | None = None


@dataclass(slots=True)
class Over(Node):
    """`OVER (PARTITION BY a, b WHEN cond)` on an analytic function or a window."""

    partition_by: list[Expr] = field(default_factory=list)
    when: Expr | None = None


@dataclass(slots=True)
class Call(Expr):
    """A function call. `name` keeps the spelling of the SQL; lookups lower-case it."""

    name: str
    args: list[Expr] = field(default_factory=list)
    over: Over | None = None
    filter: Expr | None = None  # aggregate FILTER (WHERE cond)


WINDOW_KINDS = (
    "TUMBLINGWINDOW",
    "HOPPINGWINDOW",
    "SLIDINGWINDOW",
    "SESSIONWINDOW",
    "COUNTWINDOW",
    "STATEWINDOW",
)


@dataclass(slots=True)
class Window(Expr):
    """A window function in GROUP BY.

    `kind` is the upper-case window name (see WINDOW_KINDS), `name` the spelling used.
    `args` hold the raw arguments: a TimeUnit first for time windows.
    """

    kind: str
    args: list[Expr]
    filter: Expr | None = None
    over: Over | None = None
    name: str = field(default="", compare=False)


# --- SELECT -----------------------------------------------------------------------


@dataclass(slots=True)
class Field(Node):
    expr: Expr
    alias: str | None = None
    invisible: bool = False


@dataclass(slots=True)
class Source(Node):
    name: str
    alias: str | None = None


JOIN_KINDS = ("INNER", "LEFT", "RIGHT", "FULL", "CROSS")


@dataclass(slots=True)
class Join(Node):
    kind: str  # one of JOIN_KINDS
    source: Source
    on: Expr | None = None
    spelling: str = field(default="", compare=False)  # "JOIN", "INNER JOIN", "LEFT OUTER JOIN"...


@dataclass(slots=True)
class SortField(Node):
    expr: Expr
    descending: bool = False
    explicit: bool = field(default=False, compare=False)  # ASC/DESC was written


@dataclass(slots=True)
class Select(Node):
    fields: list[Field]
    source: Source
    joins: list[Join] = field(default_factory=list)
    where: Expr | None = None
    group_by: list[Expr] = field(default_factory=list)
    having: Expr | None = None
    order_by: list[SortField] = field(default_factory=list)
    limit: int | None = None

    @property
    def window(self) -> Window | None:
        for expr in self.group_by:
            if isinstance(expr, Window):
                return expr
        return None

    @property
    def dimensions(self) -> list[Expr]:
        return [e for e in self.group_by if not isinstance(e, Window)]


# --- DDL --------------------------------------------------------------------------


@dataclass(slots=True)
class DataType(Node):
    """A column type: BIGINT, FLOAT, STRING, DATETIME, BOOLEAN, BYTEA, ARRAY(t), STRUCT(..)."""

    name: str  # upper-case
    element: DataType | None = None  # ARRAY
    fields: list[Column] = field(default_factory=list)  # STRUCT


@dataclass(slots=True)
class Column(Node):
    name: str
    type: DataType
    default: Expr | None = None


@dataclass(slots=True)
class Option(Node):
    """A WITH option. `value` is a str, or a bool for a bare TRUE/FALSE."""

    name: str  # upper-case
    value: str | bool


@dataclass(slots=True)
class CreateStream(Node):
    """CREATE STREAM or CREATE TABLE (`kind` is "STREAM" or "TABLE")."""

    kind: str
    name: str
    columns: list[Column]
    options: list[Option] = field(default_factory=list)

    @property
    def schemaless(self) -> bool:
        return not self.columns

    def option(self, name: str, default: str | bool | None = None) -> str | bool | None:
        name = name.upper()
        for opt in self.options:
            if opt.name == name:
                return opt.value
        return default


@dataclass(slots=True)
class DropStream(Node):
    kind: str
    name: str


@dataclass(slots=True)
class ShowStreams(Node):
    kind: str  # "STREAMS" or "TABLES"


@dataclass(slots=True)
class DescribeStream(Node):
    kind: str
    name: str


@dataclass(slots=True)
class ExplainStream(Node):
    kind: str
    name: str


Statement = Select | CreateStream | DropStream | ShowStreams | DescribeStream | ExplainStream


def walk(node: Node):
    """Yield `node` and every node below it, depth first, parents before children."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        children = []
        for name in current.__dataclass_fields__:  # type: ignore[attr-defined]
            value = getattr(current, name)
            if isinstance(value, Node):
                children.append(value)
            elif isinstance(value, list):
                children.extend(v for v in value if isinstance(v, Node))
        stack.extend(reversed(children))
