"""SELECT field lists: output naming (spec §4.1) and the compiled projection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from arrokoth.functions.registry import FuncKind, FunctionError
from arrokoth.functions.values import EvalError
from arrokoth.plan.compiler import Compiler, PlanError, go_string
from arrokoth.sql import ast


def output_names(fields: list[ast.Field]) -> list[str | None]:
    """The output key of each field; None for wildcards (they expand)."""
    names: list[str | None] = []
    n = 0
    for f in fields:
        if f.alias is not None:
            names.append(f.alias)
            continue
        e = f.expr
        if isinstance(e, ast.Wildcard):
            names.append(None)
        elif isinstance(e, ast.FieldRef):
            names.append(e.name)
        elif isinstance(e, ast.Call):
            names.append(e.name.lower())
        elif isinstance(e, ast.MetaRef):
            names.append(e.func)
        else:
            names.append(f"kuiper_field_{n}")
            n += 1
    return names


def aliases_of(fields: list[ast.Field]) -> dict[str, ast.Expr]:
    return {f.alias: f.expr for f in fields if f.alias is not None}


class SelectError(Exception):
    """An error raised by a SELECT field, worded as eKuiper does."""


def _plain_columns(columns: list[tuple[str, str]]) -> Callable[[Any], dict]:
    """`SELECT a, b AS c FROM s`: copy columns straight out of the message."""
    if len(columns) == 1:
        (name, col), = columns

        def one_column(r: Any) -> dict:
            v = r.msg.get(col)
            return {} if v is None else {name: v}

        return one_column

    def columns_of(r: Any) -> dict:
        msg = r.msg
        out = {}
        for name, col in columns:
            v = msg.get(col)
            if v is not None:
                out[name] = v
        return out

    return columns_of


class SrfError(SelectError):
    """unnest failed; eKuiper reports it without the `run Select error` prefix."""


class Projection:
    """Turns a row (or group) into the output object(s) of one SELECT."""

    def __init__(self, compiler: Compiler, fields: list[ast.Field], *, group: bool, send_nil: bool = False):
        self.group = group
        self.send_nil = send_nil
        self.srf_name: str | None = None
        self._srf: Callable[[Any], Any] | None = None
        self._steps: list[Callable[[Any, dict], None]] = []
        self.only_wildcard = False
        names = output_names(fields)
        registry = compiler.registry
        for f, name in zip(fields, names):
            e = f.expr
            if f.invisible:
                continue
            if isinstance(e, ast.Wildcard):
                self._steps.append(self._wildcard(compiler, e, group))
                continue
            if isinstance(e, ast.Call):
                fdef = registry.get(e.name)
                if fdef is not None and fdef.kind in (FuncKind.SRF, FuncKind.MULTI):
                    self._special(compiler, e, fdef, name, group)
                    continue
            self._steps.append(self._field(compiler, f, name, group))
        self.only_wildcard = (
            len(fields) == 1 and isinstance(fields[0].expr, ast.Wildcard)
            and not fields[0].expr.except_ and not fields[0].expr.replace and not compiler.join
        )
        plain = [
            (name, f.expr.name) for f, name in zip(fields, names)
            if isinstance(f.expr, ast.FieldRef) and f.expr.name not in compiler.aliases
        ]
        if not group and not compiler.join and not send_nil and plain and len(plain) == len(fields):
            self.project = _plain_columns(plain)  # type: ignore[method-assign]

    # --- building --------------------------------------------------------------

    def _field(self, compiler: Compiler, f: ast.Field, name: str, group: bool) -> Callable[[Any, dict], None]:
        fn = compiler.compile_field(f, group=group)
        prefix = f"alias: {f.alias} " if f.alias is not None else ""
        desc = go_string(f.expr, compiler.sources)
        send_nil = self.send_nil

        def field(x: Any, out: dict) -> None:
            try:
                v = fn(x)
            except (EvalError, FunctionError) as e:
                raise SelectError(f"{prefix}expr: {desc} meet error, err:{e}") from None
            if v is not None or send_nil:
                out[name] = v

        return field

    def _wildcard(self, compiler: Compiler, w: ast.Wildcard, group: bool) -> Callable[[Any, dict], None]:
        base = compiler.compile(ast.Wildcard(stream=w.stream), group=group)
        excluded = set(w.except_)
        # each replacement is an aliased field, so its error names the expression too
        replaced = [
            (f.alias or f"kuiper_field_{i}", compiler.compile(f.expr, group=group), go_string(f.expr, compiler.sources))
            for i, f in enumerate(w.replace)
        ]
        send_nil = self.send_nil

        def wildcard(x: Any, out: dict) -> None:
            msg = base(x)
            if msg:
                for k, v in msg.items():
                    if k not in excluded and (v is not None or send_nil):
                        out[k] = v
            for name, fn, desc in replaced:
                try:
                    v = fn(x)
                except (EvalError, FunctionError) as e:
                    raise SelectError(f"alias: {name} expr: {desc} meet error, err:{e}") from None
                if v is None and not send_nil:
                    out.pop(name, None)
                else:
                    out[name] = v

        return wildcard

    def _special(self, compiler: Compiler, e: ast.Call, fdef: Any, name: str, group: bool) -> None:
        lname = e.name.lower()
        try:
            if fdef.validate is not None:
                fdef.validate(e.args)
            fdef.check_arity(len(e.args))
        except FunctionError as err:
            raise PlanError(str(err)) from None
        if lname == "unnest":
            if self._srf is not None:
                raise PlanError("select statement can only have one set-returning function")
            self.srf_name = name
            self._srf = compiler.compile(e.args[0], group=group)
            self._steps.append(lambda x, out: None)  # the expansion happens in project_all
            return
        if lname == "changed_cols":
            self._steps.append(self._changed_cols(compiler, e, group))
            return
        # extract(map) and other multi-column functions: spread the returned object
        args = [compiler.compile(a, group=group) for a in e.args]
        impl = fdef.impl

        def spread(x: Any, out: dict) -> None:
            try:
                v = impl(*[a(x) for a in args])
            except (EvalError, FunctionError) as err:
                raise SelectError(f"expr: {go_string(e, compiler.sources)} meet error, err:{err}") from None
            if type(v) is dict:
                out.update(v)

        self._steps.append(spread)

    def _changed_cols(self, compiler: Compiler, e: ast.Call, group: bool) -> Callable[[Any, dict], None]:
        from arrokoth.functions.analytic import changed_cols_apply

        prefix_fn = compiler.compile(e.args[0], group=group)
        ignore_fn = compiler.compile(e.args[1], group=group)
        parts: list[tuple[str | None, Callable[[Any], Any]]] = []
        names = output_names([ast.Field(a) for a in e.args[2:]])
        for a, n in zip(e.args[2:], names):
            parts.append((n, compiler.compile(a, group=group)))
        state: dict = {}

        def changed(x: Any, out: dict) -> None:
            named: list[tuple[str, Any]] = []
            for n, fn in parts:
                v = fn(x)
                if n is None:  # wildcard
                    named.extend((v or {}).items())
                else:
                    named.append((n, v))
            out.update(changed_cols_apply(state, prefix_fn(x), ignore_fn(x), named))

        return changed

    # --- running ---------------------------------------------------------------

    def project(self, x: Any) -> dict:
        out: dict = {}
        for step in self._steps:
            step(x, out)
        return out

    def project_all(self, x: Any) -> list[dict]:
        """The output rows of one input: one, or several when unnest expands it."""
        out = self.project(x)
        if self._srf is None:
            return [out]
        try:
            arr = self._srf(x)
        except (EvalError, FunctionError) as e:
            raise SrfError(str(e)) from None
        if type(arr) is not list:
            if arr is None:
                return []
            raise SrfError("the argument for the unnest function should be array")
        rows = []
        for item in arr:
            row = dict(out)
            if type(item) is dict:
                row.update(item)
            elif item is not None or self.send_nil:
                row[self.srf_name] = item
            rows.append(row)
        return rows
