"""The `arrokoth` command."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

app = typer.Typer(
    name="arrokoth",
    help="An edge stream-processing engine that speaks eKuiper's SQL and REST API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def replay(
    files: Annotated[list[str], typer.Argument(help="Case files to replay (JSON, the conformance-case schema).")],
    check: Annotated[bool, typer.Option("--check", help="Compare each case with its `expected` emissions.")] = False,
) -> None:
    """Replay rules over recorded inputs on a virtual clock; print one JSON line per case."""
    from arrokoth.functions import jsonvalue
    from arrokoth.replay import ReplayResult, compare, diff, replay_file

    failed = 0
    for path in files:
        try:
            result = replay_file(path)
        except Exception as e:
            # one case that crashes the engine must not hide the results of the others
            result = ReplayResult(path, error=f"internal error: {type(e).__name__}: {e}")
        sys.stdout.write(jsonvalue.encode(result.to_json()).decode() + "\n")
        if result.error is not None:
            failed += 1
            if check:
                # otherwise only the summary would count it, without saying which case
                sys.stderr.write(f"ERROR {path}: {result.error}\n")
            continue
        if check:
            if result.expected is None:
                sys.stderr.write(f"{path}: no `expected` to check against\n")
                failed += 1
            elif not compare(result.emissions, result.expected):
                failed += 1
                sys.stderr.write(f"MISMATCH {path}\n{diff(result.emissions, result.expected)}\n")
    if check:
        sys.stderr.write(f"{len(files) - failed} passed, {failed} failed\n")
    raise typer.Exit(1 if failed else 0)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default 0.0.0.0).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="REST API port (default 9081).")] = None,
    data_dir: Annotated[str, typer.Option("--data-dir", help="Where definitions and state are kept.")] = "data",
    config: Annotated[str | None, typer.Option("--config", "-c", help="A YAML configuration file.")] = None,
) -> None:
    """Run the engine and its eKuiper-compatible REST API."""
    from arrokoth.config import Config, ConfigError
    from arrokoth.server.run import run

    try:
        cfg = Config.load(config, data_dir=data_dir)
    except ConfigError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    run(cfg, host=host, port=port)


@app.command()
def version() -> None:
    """Print the version."""
    from arrokoth import __version__

    typer.echo(__version__)


def _register_client_commands() -> None:
    from arrokoth import _cli_client

    _cli_client.register(app)


_register_client_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
