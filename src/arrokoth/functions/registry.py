"""The one function registry: built-ins and plugins register here alike.

A function is described by a `FunctionDef`. How its `impl` is called depends on its kind:

* ``SCALAR``: ``impl(*values)`` with the evaluated arguments; with ``needs_context``
  ``impl(ctx, *values)`` where ctx is a `FunctionContext`.
* ``AGGREGATE``: ``impl(columns)`` where ``columns[i]`` is the list of the i-th
  argument's values over the rows of the group (for ``*`` the row messages);
  constant arguments are lists too. With ``needs_context``: ``impl(ctx, columns)``.
* ``ANALYTIC``: ``impl(state, values, valid)``; ``state`` is a dict owned by one call
  site (and one partition), ``values`` the evaluated arguments, ``valid`` whether
  ``OVER (WHEN ...)`` holds (True without WHEN). Returns the function's value.
* ``SRF`` / ``MULTI``: scalar-like, resolved specially by the planner (unnest, extract,
  changed_cols).
* ``WINDOW``: row_number and friends, computed by the planner.

Validation at rule creation: arity from ``min_args``/``max_args`` and an optional
``validate(args)`` that receives the argument AST nodes and raises `FunctionError`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class FunctionError(Exception):
    """A function failed on its input; the message is eKuiper's wording."""


class FuncKind(enum.Enum):
    SCALAR = "scalar"
    AGGREGATE = "aggregate"
    ANALYTIC = "analytic"
    SRF = "srf"
    MULTI = "multi"
    WINDOW = "window"


@dataclass(slots=True)
class FunctionDef:
    name: str
    kind: FuncKind
    impl: Callable[..., Any]
    min_args: int = 0
    max_args: int | None = None  # None: unlimited
    validate: Callable[[list], None] | None = None
    needs_context: bool = False
    null_in_null_out: bool = False  # any null argument makes the result null
    incremental: bool = False  # aggregate supports incremental computation
    aliases: tuple[str, ...] = ()
    doc: str = ""
    plugin: str | None = None  # name of the plugin that registered it
    extra: dict = field(default_factory=dict)

    def check_arity(self, n: int) -> None:
        if n < self.min_args or (self.max_args is not None and n > self.max_args):
            if self.min_args == self.max_args:
                want = f"{self.min_args}"
            elif self.max_args is None:
                want = f"at least {self.min_args}"
            else:
                want = f"{self.min_args} to {self.max_args}"
            raise FunctionError(f"Expect {want} arguments but found {n}.")


@dataclass(slots=True)
class FunctionContext:
    """What context-aware functions can read: the clock, the rule, properties."""

    clock: Any = None  # runtime.clock.Clock
    rule_id: str = ""
    rule_start: int = 0
    props: dict = field(default_factory=dict)
    timezone: Any = None  # a tzinfo; None means the local zone
    state_store: Any = None  # keyed state for get_keyed_state
    shared: dict = field(default_factory=dict)  # per call-site scratch space (e.g. compress method)

    def now_ms(self) -> int:
        if self.clock is None:
            import time

            return int(time.time() * 1000)
        return self.clock.now_ms()


class Registry:
    """Name → FunctionDef. Names are case-insensitive for built-ins."""

    def __init__(self) -> None:
        self._functions: dict[str, FunctionDef] = {}

    def add(self, fdef: FunctionDef, *, replace: bool = False) -> FunctionDef:
        for name in (fdef.name, *fdef.aliases):
            key = name.lower() if fdef.plugin is None else name
            if key in self._functions and not replace:
                raise ValueError(f"function {name} is already registered")
            self._functions[key] = fdef
        return fdef

    def remove(self, name: str) -> None:
        fdef = self._functions.get(name) or self._functions.get(name.lower())
        if fdef is None:
            return
        for alias in (fdef.name, *fdef.aliases):
            self._functions.pop(alias, None)
            self._functions.pop(alias.lower(), None)

    def get(self, name: str) -> FunctionDef | None:
        # plugin function names are case-sensitive, built-ins are not
        return self._functions.get(name) or self._functions.get(name.lower())

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def names(self) -> list[str]:
        return sorted(self._functions)

    def function(
        self,
        name: str,
        kind: FuncKind = FuncKind.SCALAR,
        *,
        args: int | tuple[int, int | None] = 0,
        **kwargs: Any,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: ``@registry.function("abs", args=1, null_in_null_out=True)``.

        ``args`` is an exact count or a ``(min, max)`` pair, max None for unlimited.
        """
        lo, hi = (args, args) if isinstance(args, int) else args

        def decorate(impl: Callable[..., Any]) -> Callable[..., Any]:
            self.add(FunctionDef(name=name, kind=kind, impl=impl, min_args=lo, max_args=hi, **kwargs))
            return impl

        return decorate


#: The process-wide registry; `arrokoth.functions` fills it with the built-ins.
registry = Registry()
