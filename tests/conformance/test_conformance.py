"""Every case of ../shared/conformance, replayed through `arrokoth replay`'s machinery.

A case that fails must be listed in expected_failures.txt with a one-line reason; a
listed case that passes fails the run too, so the list stays true.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest

from arrokoth.replay import compare, diff, replay_file

HERE = Path(__file__).parent
CORPUS = Path(os.environ.get("ARROKOTH_CONFORMANCE", HERE.parents[2] / "shared" / "conformance"))
CASES = sorted(glob.glob(str(CORPUS / "*.json")))


def _expected_failures() -> dict[str, str]:
    out = {}
    for line in (HERE / "expected_failures.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        assert reason.strip(), f"{name}: every expected failure needs a reason"
        out[name] = reason.strip()
    return out


EXPECTED_FAILURES = _expected_failures()


def test_corpus_is_present():
    assert len(CASES) >= 160, f"conformance corpus not found under {CORPUS}"


def test_expected_failures_are_few_and_real():
    names = {Path(c).name for c in CASES}
    assert len(EXPECTED_FAILURES) <= 5
    for name in EXPECTED_FAILURES:
        assert name in names, f"{name} is listed but is not a case"


@pytest.mark.parametrize("path", CASES, ids=[Path(c).stem for c in CASES])
def test_case(path: str):
    name = Path(path).name
    result = replay_file(path)
    ok = result.error is None and compare(result.emissions, result.expected)
    if name in EXPECTED_FAILURES:
        assert not ok, f"{name} passes now: remove it from expected_failures.txt"
        return
    assert result.error is None, result.error
    assert ok, "\n" + diff(result.emissions, result.expected)
