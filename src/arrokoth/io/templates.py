"""Sink data templates: Go's text/template language, as eKuiper's `dataTemplate` uses it.

`compile_template(text)` lexes and parses once (Go's grammar and parse errors) and turns the
tree into Python closures; `Template.render(data)` runs them with no parsing or regular
expressions per call. Values follow Go's reflection rules where a template can see them: a
missing map key is an invalid value that prints `<no value>`, numbers print in `%v` form,
comparisons need the same kind on both sides. Functions: `_template_funcs`.

This module is the public face; the engine is `_template_lex` (tokens), `_template_tree`
(parse-tree nodes), `_template_parse` (the parser and `TemplateError`), `_template_compile`
(trees to closures) and `_template_exec` (what the closures call as they run).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

from arrokoth.functions import timefmt
from arrokoth.io import _template_funcs as F
from arrokoth.io._template_compile import MAX_TEMPLATE_DEPTH, _Compiler  # noqa: F401  (re-exported)
from arrokoth.io._template_exec import _Fail
from arrokoth.io._template_parse import MAX_PAREN_DEPTH, TemplateError, _col, _Parser  # noqa: F401  (re-exported)
from arrokoth.io._template_values import MISSING

__all__ = ["Template", "TemplateError", "compile_template"]


# --- the public face ------------------------------------------------------------------------------


def _wall_clock() -> _dt.datetime:
    return _dt.datetime.now(timefmt.default_timezone())


class Template:
    """A compiled template set; `render(data)` runs the template named `name`."""

    def __init__(self, text: str, name: str, compiled: dict[str, tuple]):
        self.text = text
        self.name = name
        self._compiled = compiled
        self._run, self._nslots, _ = compiled[name]

    def render(self, data: Any) -> str:
        """Execute on data (the sink's rows, or one row). Raises TemplateError."""
        out: list[str] = []
        dot = MISSING if data is None else data
        frame = [dot, 0] + [None] * (self._nslots - 2)
        try:
            self._run(dot, frame, out)
        except _Fail as e:
            raise self._error(e) from None
        except RecursionError:
            raise TemplateError(f"template: {self.name}: exceeded maximum template depth") from None
        return "".join(out)

    def _error(self, e: _Fail) -> TemplateError:
        pos = e.node.pos
        line = self.text.count("\n", 0, pos) + 1
        col = _col(self.text, pos)
        where = f"{self.name}:{line}:{col}"
        msg = f'template: {where}: executing "{e.exec_name or self.name}" at <{e.node}>: {e.msg}'
        return TemplateError(msg, line, col)


def compile_template(
    text: str, name: str = "sink", *, now: Callable[[], _dt.datetime] | None = None
) -> Template:
    """Parse and compile a Go text/template; raises TemplateError with Go's parse messages.

    `now` supplies the time for `now` and the date functions (a rule's clock); the default
    is the wall clock in the configured zone.
    """
    try:
        trees = _Parser(text, name, F.FUNCS).parse()
    except RecursionError:
        raise TemplateError(f"template: {name}: max expression depth exceeded") from None
    compiled = _Compiler(trees, now or _wall_clock).compile_all()
    return Template(text, name, compiled)
