"""The README's connector examples are accepted as written: each stream is created and each
action makes a valid rule (checked at creation, without connecting to anything)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.anyio


def section() -> str:
    text = README.read_text()
    return text[text.index("## Connectors"):text.index("## Testing a rule offline")]


def blocks(lang: str) -> list[str]:
    return [line for block in re.findall(rf"```{lang}\n(.*?)```", section(), re.DOTALL)
            for line in block.splitlines() if line.strip()]


def test_every_connector_of_the_table_has_an_example():
    from arrokoth.metadata import registered

    text = " ".join(blocks("sql") + blocks("json")).lower()
    for typ in registered("sources") + registered("sinks"):
        if typ in ("memory", "simulator", "log", "nop"):
            continue
        assert f'type="{typ}"' in text or f'"{typ}":' in text, f"no README example for {typ}"


async def test_the_examples_are_accepted(engine):
    for sql in blocks("sql"):
        engine.create_stream(sql)
    for i, line in enumerate(blocks("json")):
        await engine.create_rule({"id": f"r{i}", "sql": "SELECT * FROM s1", "actions": [json.loads(line)],
                                  "triggered": False})
    rule = {"id": "lookup", "sql": "SELECT * FROM s1 INNER JOIN devices ON s1.id = devices.id",
            "actions": [{"log": {}}], "triggered": False}
    await engine.create_rule(rule)
