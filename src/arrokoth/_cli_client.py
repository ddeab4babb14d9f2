"""CLI commands that drive a server through its REST API, in the spirit of eKuiper's
`kuiper` CLI: `arrokoth create stream demo '(...) WITH (...)'`, `arrokoth show rules`,
`arrokoth getstatus rule r1`, `arrokoth import data.json`, `arrokoth connection list`..."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

ServerOpt = Annotated[
    str, typer.Option("--server", envvar="ARROKOTH_SERVER", help="Base URL of the server.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print raw JSON, for scripts.")]
TokenOpt = Annotated[str | None, typer.Option("--token", envvar="ARROKOTH_TOKEN", help="JWT for servers with authentication.")]
DEFAULT_SERVER = "http://127.0.0.1:9081"

KINDS = ("stream", "table", "rule")


@contextmanager
def _client(server: str, token: str | None):
    from arrokoth.client import Client, EKuiperError

    try:
        with Client(server, token=token) as client:
            yield client
    except EKuiperError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None


def _print(value: Any, as_json: bool) -> None:
    if value is None:
        return
    if isinstance(value, str) and not as_json:
        typer.echo(value)
        return
    if as_json:
        typer.echo(json.dumps(value))
        return
    from rich.console import Console
    from rich.json import JSON

    Console().print(JSON(json.dumps(value)))


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*["" if v is None else str(v) for v in r])
    Console().print(table)


def _kind(kind: str) -> str:
    kind = kind.lower().rstrip("s")
    if kind not in KINDS:
        raise typer.BadParameter(f"expected one of {', '.join(KINDS)}")
    return kind


def _read(definition: str | None, file: Path | None) -> str:
    if file is not None:
        try:
            return file.read_text(encoding="utf-8")
        except OSError as e:
            raise typer.BadParameter(f"cannot read {file}: {e.strerror}") from None
    if definition is None:
        raise typer.BadParameter("give the definition as an argument or with -f FILE")
    return definition


def create(
    kind: Annotated[str, typer.Argument(help="stream, table or rule")],
    name: Annotated[str, typer.Argument(help="Name of the stream/table, or id of the rule.")],
    definition: Annotated[str | None, typer.Argument(help="Stream/table: the part after the name; rule: JSON.")] = None,
    file: Annotated[Path | None, typer.Option("-f", "--file", help="Read the definition from a file.")] = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a stream, table or rule."""
    kind = _kind(kind)
    text = _read(definition, file).strip()
    with _client(server, token) as client:
        if kind == "rule":
            try:
                rule = json.loads(text)
            except json.JSONDecodeError as e:
                raise typer.BadParameter(f"the rule is not valid JSON: {e}") from None
            if isinstance(rule, dict):
                rule.setdefault("id", name)
            result = client.create_rule(rule)
        else:
            sql = text if text.upper().startswith("CREATE") else f"CREATE {kind.upper()} {name} {text}"
            result = client.create_stream(sql) if kind == "stream" else client.create_table(sql)
    _print(result, as_json)


def show(
    kind: Annotated[str, typer.Argument(help="streams, tables or rules")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List streams, tables or rules."""
    kind = _kind(kind)
    with _client(server, token) as client:
        if kind == "rule":
            rules = client.list_rules()
            if as_json:
                _print(rules, True)
            else:
                _table("rules", ["id", "name", "status", "tags"],
                       [[r["id"], r["name"], r["status"], ",".join(r.get("tags") or [])] for r in rules])
            return
        details = client.stream_details() if kind == "stream" else client.table_details()
        if as_json:
            _print([d["name"] for d in details], True)
        else:
            _table(f"{kind}s", ["name", "type", "format"], [[d["name"], d["type"], d["format"]] for d in details])


def describe(
    kind: Annotated[str, typer.Argument(help="stream, table or rule")],
    name: Annotated[str, typer.Argument()],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the definition of a stream, table or rule."""
    kind = _kind(kind)
    with _client(server, token) as client:
        fetch: Callable[[str], Any] = {
            "stream": client.describe_stream, "table": client.describe_table, "rule": client.get_rule,
        }[kind]
        _print(fetch(name), as_json)


def drop(
    kind: Annotated[str, typer.Argument(help="stream, table or rule")],
    name: Annotated[str, typer.Argument()],
    force: Annotated[bool, typer.Option("--force", help="Drop a stream even if rules use it.")] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Drop a stream, table or rule."""
    kind = _kind(kind)
    with _client(server, token) as client:
        if kind == "rule":
            result = client.delete_rule(name)
        elif kind == "stream":
            result = client.drop_stream(name, force=force)
        else:
            result = client.drop_table(name, force=force)
    _print(result, as_json)


def _rule_action(action: str) -> Callable[..., None]:
    def command(
        kind: Annotated[str, typer.Argument(help="rule")],
        rule_id: Annotated[str, typer.Argument()],
        server: ServerOpt = DEFAULT_SERVER,
        token: TokenOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        if _kind(kind) != "rule":
            raise typer.BadParameter(f"{action} works on rules")
        with _client(server, token) as client:
            method = {"start": client.start_rule, "stop": client.stop_rule, "restart": client.restart_rule,
                      "getstatus": client.rule_status}[action]
            _print(method(rule_id), as_json)

    command.__doc__ = {"start": "Start a rule.", "stop": "Stop a rule.", "restart": "Restart a rule.",
                       "getstatus": "Show a rule's status and metrics."}[action]
    return command


def import_(
    file: Annotated[Path, typer.Argument(help="An export document (JSON).")],
    partial: Annotated[bool, typer.Option("--partial", help="Upsert instead of replacing everything.")] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import streams, tables, rules and configuration (replaces everything unless --partial)."""
    import time

    from rich.progress import Progress

    content = _read(None, file)
    with _client(server, token) as client, Progress(transient=True, disable=as_json or not sys.stderr.isatty()) as bar:
        task = bar.add_task("importing", total=None)
        job = client.async_import(content=content, partial=partial)
        deadline = time.monotonic() + 600
        while True:
            state = client.async_task(job["id"])
            bar.update(task, description=f"importing: {state.get('status')}")
            if state.get("status") in ("finish", "error", "cancel") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    if state.get("status") != "finish":
        typer.echo(f"error: import {state.get('status')}: {state.get('message')}", err=True)
        raise typer.Exit(1)
    _print(state if as_json else "import finished", as_json)


def export(
    file: Annotated[Path, typer.Argument(help="Where to write the export document.")],
    rule: Annotated[list[str] | None, typer.Option("--rule", help="Only these rules and what they use.")] = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export streams, tables, rules and configuration to a file."""
    from rich.progress import Progress

    with _client(server, token) as client, Progress(transient=True, disable=as_json or not sys.stderr.isatty()) as bar:
        task = bar.add_task("exporting", total=2)
        document = client.export_data(rule or None)
        bar.advance(task)
        tmp = file.with_name(file.name + ".part")
        tmp.write_text(json.dumps(document, indent=1), encoding="utf-8")
        os.replace(tmp, file)
        bar.advance(task)
    counts = {k: len(v) for k, v in document.items() if isinstance(v, dict) and v}
    _print(counts if as_json else f"exported to {file}: " + ", ".join(f"{n} {k}" for k, n in counts.items()), as_json)


# --- named connections (`arrokoth connection ...`) ----------------------------------------------

connection_app = typer.Typer(
    name="connection",
    help="Named connections that rules share (create, update, show, list, drop, check).",
    no_args_is_help=True,
)

PropsOpt = Annotated[str | None, typer.Option("--props", help='The props as a JSON object: \'{"server": "tcp://h:1883"}\'.')]
PropOpt = Annotated[
    list[str] | None,
    typer.Option("-p", "--prop", help="One prop as KEY=VALUE (repeatable); VALUE is JSON when it parses, else text."),
]
PropsFileOpt = Annotated[Path | None, typer.Option("-f", "--file", help="Read the props (a JSON object) from a file.")]
CHECK_KINDS = ("source", "sink", "lookup")


def _props(props: str | None, file: Path | None, pairs: list[str] | None) -> dict:
    """The props of a connection or a check: `-f FILE`, then `--props JSON`, then each `-p KEY=VALUE`."""
    out: dict = {}
    for what, text in (("the props file", _read(None, file) if file is not None else None), ("--props", props)):
        if text is None:
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            raise typer.BadParameter(f"{what} is not valid JSON: {e}") from None
        if not isinstance(value, dict):
            raise typer.BadParameter(f"{what} must be a JSON object")
        out.update(value)
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r}: expected KEY=VALUE")
        try:
            out[key] = json.loads(text)
        except json.JSONDecodeError:
            out[key] = text
    return out


@connection_app.command("create")
def connection_create(
    conn_id: Annotated[str, typer.Argument(metavar="id", help="The connection's id.")],
    typ: Annotated[str, typer.Argument(metavar="type", help="The connection type, e.g. mqtt.")],
    props: PropsOpt = None,
    prop: PropOpt = None,
    file: PropsFileOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a named connection; it dials in the background (see `connection show`)."""
    body = _props(props, file, prop)
    with _client(server, token) as client:
        _print(client.create_connection(conn_id, typ, body), as_json)


@connection_app.command("update")
def connection_update(
    conn_id: Annotated[str, typer.Argument(metavar="id", help="The connection's id.")],
    typ: Annotated[str, typer.Argument(metavar="type", help="The connection type (it may change).")],
    props: PropsOpt = None,
    prop: PropOpt = None,
    file: PropsFileOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace a connection's type and props (refused while running rules use it)."""
    body = _props(props, file, prop)
    with _client(server, token) as client:
        _print(client.update_connection(conn_id, typ, body), as_json)


@connection_app.command("show")
def connection_show(
    conn_id: Annotated[str, typer.Argument(metavar="id", help="The connection's id.")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one connection: its props, status, last error and how many rule nodes use it."""
    with _client(server, token) as client:
        _print(client.get_connection(conn_id), as_json)


@connection_app.command("list")
def connection_list(
    all_: Annotated[bool, typer.Option("--all", help="Also the anonymous connections rules opened.")] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the named connections with their status (--all adds the anonymous ones)."""
    with _client(server, token) as client:
        conns = client.list_connections(force_all=all_)
    if as_json:
        _print(conns, True)
        return
    _table("connections", ["id", "type", "status", "refCount", "named", "error"],
           [[c.get("id"), c.get("typ"), c.get("status"), c.get("refCount", 0),
             "yes" if c.get("isNamed") else "no", c.get("err")] for c in conns])


@connection_app.command("drop")
def connection_drop(
    conn_id: Annotated[str, typer.Argument(metavar="id", help="The connection's id.")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Drop a named connection (refused while running rules use it; an unknown id is fine)."""
    with _client(server, token) as client:
        _print(client.delete_connection(conn_id), as_json)


@connection_app.command("check")
def connection_check(
    kind: Annotated[str, typer.Argument(help="source, sink or lookup")],
    typ: Annotated[str, typer.Argument(metavar="type", help="The connector type, e.g. mqtt.")],
    props: PropsOpt = None,
    prop: PropOpt = None,
    file: PropsFileOpt = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check once that a connector's props reach its remote end (exit 1 with the reason if not)."""
    kind = kind.lower().rstrip("s")
    if kind not in CHECK_KINDS:
        raise typer.BadParameter(f"expected one of {', '.join(CHECK_KINDS)}")
    body = _props(props, file, prop)
    with _client(server, token) as client:
        check = {"source": client.check_source_connection, "sink": client.check_sink_connection,
                 "lookup": client.check_lookup_connection}[kind]
        check(typ, body)
    _print("ok", as_json)


def register(app: typer.Typer) -> None:
    app.command("create")(create)
    app.command("show")(show)
    app.command("describe")(describe)
    app.command("drop")(drop)
    for action in ("start", "stop", "restart", "getstatus"):
        app.command(action)(_rule_action(action))
    app.command("import")(import_)
    app.command("export")(export)
    app.add_typer(connection_app)
