"""Every CLI command is documented in README.md, so an undocumented command fails the suite."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from arrokoth.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"


def command_names() -> list[str]:
    names = []
    for cmd in app.registered_commands:
        # typer names a command after its function, with dashes for underscores
        names.append(cmd.name or cmd.callback.__name__.replace("_", "-"))
    for group in app.registered_groups:
        names.append(group.name or group.typer_instance.info.name)
    return names


def documented(name: str, text: str) -> bool:
    """The name appears in a heading, or as `arrokoth <name>` (with any arguments) in backticks."""
    word = rf"(?<![\w-]){re.escape(name)}(?![\w-])"
    heading = re.search(rf"^#+ .*{word}", text, re.MULTILINE)
    mention = re.search(rf"`arrokoth {re.escape(name)}(?:\s[^`]*)?`", text)
    return bool(heading or mention)


def test_there_are_commands():
    assert "replay" in command_names()


@pytest.mark.parametrize("name", command_names())
def test_command_is_documented_in_the_readme(name: str):
    assert documented(name, README.read_text()), f"`arrokoth {name}` is not documented in README.md"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("## Testing a rule offline: `arrokoth replay`", True),
        ("# replay", True),
        ("Run `arrokoth replay FILE... --check` to compare.", True),
        ("Run `arrokoth replay`.", True),
        ("the replay machinery", False),
        ("## Replaying", False),
        ("`arrokoth replayer`", False),
        ("`arrokoth` replay", False),
        ("## replay-all", False),
    ],
)
def test_documented_recognises_headings_and_mentions(text: str, expected: bool):
    assert documented("replay", text) is expected
