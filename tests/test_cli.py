"""The `arrokoth` command, run as a real subprocess on temporary case files.

Each distinct invocation runs once (module-scoped fixtures) and several tests read its result,
which keeps the number of interpreter start-ups small.
"""

from __future__ import annotations

import glob
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from arrokoth import __version__

ROOT = Path(__file__).resolve().parents[1]
START = 1_541_152_486_000
DEMO = 'CREATE STREAM demo (a BIGINT) WITH (DATASOURCE="demo", TYPE="mock")'


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.out.splitlines()]


def arrokoth(*args: str, cwd: Path | None = None, entry_point: bool = False) -> Run:
    cmd = (
        [str(Path(sys.executable).with_name("arrokoth"))]
        if entry_point
        else [sys.executable, "-m", "arrokoth.cli"]
    )
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=120)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def case(sql: str, data: list, expected=None) -> dict:
    c: dict = {
        "streams": [DEMO],
        "rule": {"sql": sql},
        "inputs": {"demo": [{"timestamp": START + 10 * (i + 1), "data": d} for i, d in enumerate(data)]},
    }
    if expected is not None:
        c["expected"] = expected
    return c


CASES = {
    "good.json": case("SELECT a FROM demo", [{"a": 1}, {"a": 2}], expected=[[{"a": 1}], [{"a": 2.0}], []]),
    "floats.json": case("SELECT a / 2.0 AS h FROM demo", [{"a": 6}], expected=[[{"h": 3}]]),
    "mismatch.json": case("SELECT a FROM demo", [{"a": 1}, {"a": 2}], expected=[[{"a": 1}], [{"a": 3}]]),
    "badsql.json": case("SELEC a FROM demo", [{"a": 1}], expected=[]),
    "noexpected.json": case("SELECT a FROM demo", [{"a": 1}]),
    "notjson.json": "{ this is not json",
    # a timestamp no calendar can hold: the engine cannot run it, whatever the reason it gives
    "crash.json": {
        "streams": [DEMO],
        "rule": {"sql": "SELECT count(*) AS c FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)"},
        "inputs": {"demo": [{"timestamp": 10**18, "data": {"a": 1}}]},
        "expected": [],
    },
}


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("cases")
    paths = {}
    for name, content in CASES.items():
        p = d / name
        p.write_text(content if isinstance(content, str) else json.dumps(content))
        paths[name] = str(p)
    return paths


@pytest.fixture(scope="module")
def plain(cases) -> Run:
    return arrokoth("replay", cases["good.json"], cases["floats.json"], cases["mismatch.json"])


@pytest.fixture(scope="module")
def checked_ok(cases) -> Run:
    return arrokoth("replay", "--check", cases["good.json"], cases["floats.json"])


@pytest.fixture(scope="module")
def checked_mixed(cases) -> Run:
    names = [
        "good.json",
        "mismatch.json",
        "badsql.json",
        "noexpected.json",
        "notjson.json",
        "crash.json",
        "floats.json",
    ]
    return arrokoth("replay", "--check", *[cases[n] for n in names])


# --- without --check --------------------------------------------------------------------


def test_replay_prints_one_json_line_per_case(plain: Run, cases):
    assert plain.code == 0
    assert plain.err == ""
    assert plain.lines == [
        {"case": cases["good.json"], "emissions": [[{"a": 1}], [{"a": 2}]]},
        {"case": cases["floats.json"], "emissions": [[{"h": 3}]]},
        # without --check `expected` is not looked at: a mismatch still exits 0
        {"case": cases["mismatch.json"], "emissions": [[{"a": 1}], [{"a": 2}]]},
    ]


def test_replay_lines_are_compact_go_json(plain: Run, cases):
    # float 3.0 prints as 3, as eKuiper's sink would write it
    assert plain.out.splitlines()[1] == json.dumps(
        {"case": cases["floats.json"], "emissions": [[{"h": 3}]]}, separators=(",", ":")
    )


def test_replay_of_a_case_that_cannot_run_prints_an_error_and_fails(cases):
    run = arrokoth("replay", cases["badsql.json"], cases["good.json"])
    assert run.code == 1
    [bad, good] = run.lines
    assert bad["case"] == cases["badsql.json"]
    assert "SELEC" in bad["error"]
    assert "emissions" not in bad
    assert good["emissions"] == [[{"a": 1}], [{"a": 2}]]


# --- with --check -----------------------------------------------------------------------


def test_check_passes_when_every_case_matches(checked_ok: Run):
    assert checked_ok.code == 0
    assert checked_ok.err == "2 passed, 0 failed\n"
    assert len(checked_ok.lines) == 2


def test_check_fails_and_reports(checked_mixed: Run):
    assert checked_mixed.code == 1
    assert checked_mixed.err.splitlines()[-1] == "2 passed, 5 failed"


def test_check_prints_a_diff_per_mismatch_on_stderr(checked_mixed: Run, cases):
    err = checked_mixed.err.splitlines()
    i = err.index(f"MISMATCH {cases['mismatch.json']}")
    assert err[i + 1 : i + 4] == [
        "  emission 1:",
        '    expected: [{"a":3}]',
        '    actual:   [{"a":2}]',
    ]
    assert "MISMATCH " + cases["good.json"] not in checked_mixed.err


def test_check_still_prints_every_case_on_stdout(checked_mixed: Run, cases):
    lines = checked_mixed.lines
    assert [line["case"] for line in lines] == [
        cases[n]
        for n in [
            "good.json",
            "mismatch.json",
            "badsql.json",
            "noexpected.json",
            "notjson.json",
            "crash.json",
            "floats.json",
        ]
    ]
    by_case = {line["case"]: line for line in lines}
    assert by_case[cases["mismatch.json"]] == {
        "case": cases["mismatch.json"],
        "emissions": [[{"a": 1}], [{"a": 2}]],
    }


@pytest.mark.parametrize("name", ["badsql.json", "notjson.json", "crash.json"])
def test_check_reports_a_case_that_cannot_run(checked_mixed: Run, cases, name: str):
    by_case = {line["case"]: line for line in checked_mixed.lines}
    line = by_case[cases[name]]
    assert set(line) == {"case", "error"}
    assert line["error"]
    assert f"ERROR {cases[name]}: " in checked_mixed.err


def test_check_needs_an_expectation(checked_mixed: Run, cases):
    assert f"{cases['noexpected.json']}: no `expected` to check against" in checked_mixed.err


def test_check_fails_on_a_single_bad_case(cases):
    run = arrokoth("replay", "--check", cases["badsql.json"])
    assert run.code != 0
    assert [set(line) for line in run.lines] == [{"case", "error"}]
    assert run.err.endswith("0 passed, 1 failed\n")


def test_the_examples_pass_their_own_check():
    examples = sorted(glob.glob(str(ROOT / "examples" / "*.json")))
    assert examples
    run = arrokoth("replay", "--check", *examples, cwd=ROOT)
    assert run.code == 0, run.err
    assert run.err == f"{len(examples)} passed, 0 failed\n"


# --- the command itself -----------------------------------------------------------------


def test_replay_needs_files():
    run = arrokoth("replay")
    assert run.code == 2
    assert run.out == ""


def test_the_entry_point_runs_and_prints_the_version():
    run = arrokoth("version", entry_point=True)
    assert run.code == 0
    assert run.out == f"{__version__}\n"


def test_no_arguments_prints_help():
    run = arrokoth()
    assert "replay" in run.out + run.err
    assert "Usage" in run.out + run.err
