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
def version() -> None:
    """Print the version."""
    from arrokoth import __version__

    typer.echo(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
