"""The compiler of sink data templates: parse trees to Python closures (`arrokoth.io.templates`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from arrokoth.io import _template_funcs as F
from arrokoth.io._template_builtins import truth
from arrokoth.io._template_exec import (
    _BREAK,
    _COMPARE,
    _CONTINUE,
    _Break,
    _Continue,
    _converter,
    _Fail,
    _fail,
    _field,
    _last_node,
    _print,
)
from arrokoth.io._template_tree import (
    ActionNode,
    BoolNode,
    ChainNode,
    CommandNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    IfNode,
    ListNode,
    NilNode,
    NumberNode,
    PipeNode,
    RangeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
    WithNode,
    _BranchNode,
    _Literal,
)
from arrokoth.io._template_values import MISSING, FuncError, fmt_v, go_quote, go_type

MAX_TEMPLATE_DEPTH = 100  # Go allows 100000 nested {{template}} calls; Python's stack does not


class _Compiler:
    """Turns one template set's trees into closures: `run(dot, frame, out)` for nodes that
    write, `ev(dot, frame)` for values. A frame is `[$, depth, var slots...]`; variables get
    slots by lexical scope, which matches Go's push/pop variable stack."""

    def __init__(self, trees: dict[str, ListNode], now: Callable):
        self.now = now
        self.trees = trees
        self.compiled: dict[str, tuple] = {}
        self.scope: list[tuple[str, int]] = []
        self.nslots = 2

    def compile_all(self) -> dict[str, tuple]:
        for name, root in self.trees.items():
            self.scope, self.nslots = [], 2
            run = self.list(root)
            self.compiled[name] = (run, self.nslots, name)
        return self.compiled

    # statements
    def list(self, lst: ListNode) -> Callable:
        runs = [self.node(n) for n in lst.nodes]
        if len(runs) == 1:
            return runs[0]

        def run(dot: Any, fr: list, out: list) -> None:
            for r in runs:
                r(dot, fr, out)

        return run

    def node(self, n: Any) -> Callable:
        t = type(n)
        if t is TextNode:
            text = n.text

            def run_text(dot: Any, fr: list, out: list) -> None:
                out.append(text)

            return run_text
        if t is ActionNode:
            pipe = self.pipe(n.pipe)
            if n.pipe.decl:
                return lambda dot, fr, out: pipe(dot, fr)

            def run_action(dot: Any, fr: list, out: list) -> None:
                out.append(_print(pipe(dot, fr)))

            return run_action
        if t is IfNode or t is WithNode:
            return self.if_with(n, t is WithNode)
        if t is RangeNode:
            return self.range(n)
        if t is TemplateNode:
            return self.template(n)
        exc = _BREAK if n.word == "break" else _CONTINUE

        def run_jump(dot: Any, fr: list, out: list) -> None:
            raise exc

        return run_jump

    def if_with(self, n: _BranchNode, is_with: bool) -> Callable:
        mark = len(self.scope)
        pipe = self.pipe(n.pipe)
        after_pipe = len(self.scope)
        body = self.list(n.list)
        del self.scope[after_pipe:]
        other = self.list(n.else_list) if n.else_list is not None else None
        del self.scope[mark:]

        def run(dot: Any, fr: list, out: list) -> None:
            v = pipe(dot, fr)
            if truth(v):
                body(v if is_with else dot, fr, out)
            elif other is not None:
                other(dot, fr, out)

        return run

    def range(self, n: RangeNode) -> Callable:
        mark = len(self.scope)
        pipe = self.pipe(n.pipe)
        after_pipe = len(self.scope)
        decl = n.pipe.decl
        slots = [self.lookup(v.ident[0]) for v in decl]
        elem_slot = slots[-1] if slots else None
        index_slot = slots[0] if len(slots) > 1 else None
        body = self.list(n.list)
        del self.scope[after_pipe:]
        other = self.list(n.else_list) if n.else_list is not None else None
        del self.scope[mark:]
        last = _last_node(n.pipe)
        ndecl = len(decl)

        def run(dot: Any, fr: list, out: list) -> None:
            v = pipe(dot, fr)
            if isinstance(v, dict):
                items: Any = F._sorted_items(v)
            elif isinstance(v, list | tuple | bytes | bytearray):
                items = enumerate(v)
            elif type(v) is int:
                if ndecl > 1:
                    raise _Fail(last, f"can't use {v} to iterate over more than one variable")
                items = ((None, i) for i in range(v))
            elif v is MISSING:
                items = ()
            else:
                raise _Fail(last, f"range can't iterate over {fmt_v(v)}")
            ran = False
            for i, e in items:
                ran = True
                if elem_slot is not None:
                    fr[elem_slot] = e
                if index_slot is not None:
                    fr[index_slot] = i
                try:
                    body(e, fr, out)
                except _Continue:
                    pass
                except _Break:
                    break
            if not ran and other is not None:
                other(dot, fr, out)

        return run

    def template(self, n: TemplateNode) -> Callable:
        pipe = self.pipe(n.pipe) if n.pipe is not None else None
        name = n.name
        compiled = self.compiled

        def run(dot: Any, fr: list, out: list) -> None:
            d = pipe(dot, fr) if pipe is not None else MISSING
            tree = compiled.get(name)
            if tree is None:
                raise _Fail(n, f"template {go_quote(name)} not defined")
            depth = fr[1] + 1
            if depth > MAX_TEMPLATE_DEPTH:
                raise _Fail(n, f"exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})")
            body, nslots, exec_name = tree
            frame = [d, depth] + [None] * (nslots - 2)
            try:
                body(d, frame, out)
            except _Fail as e:
                if e.exec_name is None:
                    e.exec_name = exec_name
                raise

        return run

    # variables
    def lookup(self, name: str) -> int | None:
        for var, slot in reversed(self.scope):
            if var == name:
                return slot
        return 0 if name == "$" else None

    def slot_of(self, name: str) -> int:
        slot = self.nslots
        self.nslots += 1
        self.scope.append((name, slot))
        return slot

    # values
    def pipe(self, pipe: PipeNode) -> Callable:
        cmds = pipe.cmds
        first = self.command(cmds[0], False)
        rest = [self.command(c, True) for c in cmds[1:]]
        setters = []
        for v in pipe.decl:
            name = v.ident[0]
            slot = self.lookup(name) if pipe.is_assign else self.slot_of(name)
            if slot is None:
                setters.append(_fail(v, f"undefined variable: {name}"))
            else:
                setters.append(slot)

        if not rest and not setters:

            def ev1(dot: Any, fr: list) -> Any:
                v = first(dot, fr)
                return MISSING if v is None else v

            return ev1

        def ev(dot: Any, fr: list) -> Any:
            v = first(dot, fr)
            if v is None:
                v = MISSING
            for c in rest:
                v = c(dot, fr, v)
                if v is None:
                    v = MISSING
            for s in setters:
                if type(s) is int:
                    fr[s] = v
                else:
                    s()
            return v

        return ev

    def command(self, cmd: CommandNode, has_final: bool) -> Callable:
        word = cmd.args[0]
        t = type(word)
        extra = len(cmd.args) > 1 or has_final
        if t is IdentifierNode:
            return self.call(word.ident, word, cmd, cmd.args[1:], has_final)
        if t is FieldNode or t is VariableNode or t is ChainNode:
            ev = self.chain(word, extra)
        elif extra:
            ev = _fail(word, f"can't give argument to non-function {word}")
        elif t is PipeNode:
            ev = self.pipe(word)
        elif t is NilNode:
            ev = _fail(word, "nil is not a command")
        else:
            ev = self.literal(word)
        if has_final:
            return lambda dot, fr, final: ev(dot, fr)
        return ev

    def literal(self, node: _Literal) -> Callable:
        t = type(node)
        if t is DotNode:
            return lambda dot, fr: dot
        value = node.value
        if t is NumberNode and type(value) is str:
            return _fail(node, value)
        return lambda dot, fr: value

    def chain(self, node: Any, has_args: bool = False) -> Callable:
        """A field, variable or chain node: .a.b, $x.a, (pipe).a."""
        t = type(node)
        if t is FieldNode:
            names = node.ident
            base: Callable | None = None
        elif t is VariableNode:
            name = node.ident[0]
            slot = self.lookup(name)
            names = node.ident[1:]
            if slot is None:
                return _fail(node, f"undefined variable: {name}")
            if not names:
                if has_args:
                    return _fail(node, f"can't give argument to non-function {node}")
                return lambda dot, fr: fr[slot]
            base = lambda dot, fr: fr[slot]  # noqa: E731
        else:
            if type(node.node) is NilNode:
                return _fail(node, f"indirection through explicit nil in {node}")
            base = self.arg(node.node, "any_raw")
            names = node.fields
        last = names[-1]
        inner = names[:-1]
        if base is None and not inner and not has_args:

            def field1(dot: Any, fr: list) -> Any:
                if type(dot) is dict:
                    return dot.get(last, MISSING)
                return _field(dot, last, node, fr)

            return field1

        def ev(dot: Any, fr: list) -> Any:
            r = dot if base is None else base(dot, fr)
            for name in inner:
                r = r.get(name, MISSING) if type(r) is dict else _field(r, name, node, fr)
            return _field(r, last, node, fr, has_args)

        return ev

    def arg(self, node: Any, kind: str) -> Callable:
        """An argument converted to a parameter kind, as Go's evalArg/validateType do."""
        t = type(node)
        if isinstance(node, _Literal) and t is not DotNode:
            return self.const_arg(node, kind)
        if t is IdentifierNode:
            raw = self.call(node.ident, node, node, [], False)
        elif t is PipeNode:
            raw = self.pipe(node)
        elif t is DotNode:
            raw = lambda dot, fr: dot  # noqa: E731
        else:
            raw = self.chain(node)
        if kind in ("val", "any_raw"):
            return raw
        conv = _converter(kind, node)
        return lambda dot, fr: conv(raw(dot, fr))

    def const_arg(self, node: _Literal, kind: str) -> Callable:
        t = type(node)
        if kind in ("any", "val", "any_raw"):
            if t is NilNode:
                value = MISSING if kind == "val" else None
            elif t is NumberNode and type(node.value) is str:
                return _fail(node, node.value)
            else:
                value = node.value
            return lambda dot, fr: value
        expected = F.PARAM_TYPES[kind]
        if t is NilNode:
            if kind == "map":
                return lambda dot, fr: None
            return _fail(node, f"cannot assign nil to {expected}")
        if kind == "str" and t is StringNode:
            value = node.value
        elif kind == "int" and t is NumberNode and node.as_int is not None:
            value = node.as_int
        elif kind == "f64" and t is NumberNode and node.as_float is not None:
            value = node.as_float
        elif kind == "bool" and t is BoolNode:
            value = node.value
        elif kind in ("str", "int", "f64", "bool"):
            what = {"str": "string", "int": "integer", "f64": "float", "bool": "bool"}[kind]
            return _fail(node, f"expected {what}; found {node}")
        else:
            return _fail(node, f"can't handle {node} for arg of type {expected}")
        return lambda dot, fr: value

    def call(self, name: str, ident: Any, cmd: Any, args: list, has_final: bool) -> Callable:
        if name in F.SPECIAL:
            ev = self.special(name, ident, cmd, args, has_final)
        else:
            ev = self.function(name, ident, cmd, args, has_final)
        return ev

    def function(self, name: str, ident: Any, cmd: Any, args: list, has_final: bool) -> Callable:
        impl, params, var = F.FUNCS[name]
        if params[:1] == ("$now",):
            now = self.now
            base_impl = impl
            impl = lambda *a: base_impl(now, *a)  # noqa: E731
            params = params[1:]
        nin = len(args) + has_final
        if var is not None and nin < len(params):
            msg = f"wrong number of args for {name}: want at least {len(params)} got {len(args)}"
            return _fail(ident, msg)
        if var is None and nin != len(params):
            return _fail(ident, f"wrong number of args for {name}: want {len(params)} got {nin}")
        kinds = [params[i] if i < len(params) else var for i in range(nin)]
        evs = [self.arg(a, k) for a, k in zip(args, kinds)]
        final_conv = _converter(kinds[-1], cmd) if has_final else None

        def invoke(argv: list) -> Any:
            try:
                return impl(*argv)
            except FuncError as e:
                raise _Fail(cmd, f"error calling {name}: {e}") from None
            except _Fail:
                raise
            except Exception as e:  # a Go panic inside a function becomes its error
                raise _Fail(cmd, f"error calling {name}: {e}") from None

        if has_final:

            def call_final(dot: Any, fr: list, final: Any) -> Any:
                return invoke([e(dot, fr) for e in evs] + [final_conv(final)])

            return call_final

        if len(evs) == 1:
            e0 = evs[0]
            return lambda dot, fr: invoke([e0(dot, fr)])
        return lambda dot, fr: invoke([e(dot, fr) for e in evs])

    def special(self, name: str, ident: Any, cmd: Any, args: list, has_final: bool) -> Callable:
        """and/or (short-circuit), call, and the comparisons (which know literal int types)."""
        nin = len(args) + has_final
        if name in ("and", "or", "call", "eq") and nin < 1:
            return _fail(ident, f"wrong number of args for {name}: want at least 1 got {len(args)}")
        if name in ("ne", "lt", "le", "gt", "ge") and nin != 2:
            return _fail(ident, f"wrong number of args for {name}: want 2 got {nin}")
        evs = [self.arg(a, "val") for a in args]
        types = [("int" if type(a) is NumberNode and type(a.value) is int else None) for a in args]
        if has_final:
            types.append(None)
        if name in ("and", "or"):
            want = name == "or"

            def logic(dot: Any, fr: list, final: Any = MISSING) -> Any:
                v = MISSING
                for e in evs:
                    v = e(dot, fr)
                    if truth(v) == want:
                        return v
                return final if has_final else v

            return logic if has_final else (lambda dot, fr: logic(dot, fr))
        if name == "call":
            callee = str(args[0]) if args else "<pipeline>"

            def call(dot: Any, fr: list, final: Any = MISSING) -> Any:
                fn = evs[0](dot, fr) if evs else final
                for e in evs[1:]:
                    e(dot, fr)
                if fn is None or fn is MISSING:
                    raise _Fail(cmd, "error calling call: call of nil")
                raise _Fail(cmd, f"error calling call: non-function {callee} of type {go_type(fn)}")

            return call if has_final else (lambda dot, fr: call(dot, fr))
        compare = _COMPARE[name]

        def cmp(dot: Any, fr: list, final: Any = MISSING) -> Any:
            vals = [e(dot, fr) for e in evs]
            if has_final:
                vals.append(final)
            try:
                return compare(vals, types)
            except FuncError as e:
                raise _Fail(cmd, f"error calling {name}: {e}") from None

        return cmp if has_final else (lambda dot, fr: cmp(dot, fr))
