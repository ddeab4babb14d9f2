"""`arrokoth replay`'s machinery: running a case on a virtual clock, and comparing with `expected`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from arrokoth.functions import jsonvalue
from arrokoth.replay import ReplayResult, compare, diff, replay_file, run_case

START = 1_541_152_486_000  # 2018-11-02 09:54:46.000 UTC, the corpus' usual rule start
DEMO = 'CREATE STREAM demo (a BIGINT, color STRING) WITH (DATASOURCE="demo", TYPE="mock")'
OTHER = 'CREATE STREAM other () WITH (DATASOURCE="other", TYPE="mock")'


def case(sql: str, inputs: dict, *, streams=(DEMO,), options=None, **extra) -> dict:
    rule: dict = {"sql": sql}
    if options is not None:
        rule["options"] = options
    return {"streams": list(streams), "rule": rule, "inputs": inputs, **extra}


def items(*pairs) -> list[dict]:
    return [{"timestamp": START + offset, "data": data} for offset, data in pairs]


# --- run_case -------------------------------------------------------------------------


def test_one_emission_per_input_for_a_plain_rule():
    result = run_case(
        case(
            "SELECT a, color FROM demo WHERE a > 1",
            {
                "demo": items(
                    (10, {"a": 1, "color": "red"}),
                    (20, {"a": 2, "color": "blue"}),
                    (30, {"a": 3}),
                )
            },
        ),
        "inline",
    )
    assert result.error is None
    assert result.case == "inline"
    assert result.emissions == [[{"a": 2, "color": "blue"}], [{"a": 3}]]


def test_mock_rows_keep_ints_and_floats():
    result = run_case(
        case("SELECT a / 2 AS half FROM demo", {"demo": items((10, {"a": 3}), (20, {"a": 3.0}))})
    )
    assert result.emissions == [[{"half": 1}], [{"half": 1.5}]]
    assert type(result.emissions[0][0]["half"]) is int


def test_inputs_of_all_streams_are_merged_in_timestamp_order():
    sql = "SELECT * FROM demo INNER JOIN other ON demo.a = other.a GROUP BY TUMBLINGWINDOW(ss, 1)"
    result = run_case(
        case(
            sql,
            {
                "demo": items((100, {"a": 1, "color": "red"}), (900, {"a": 9})),
                "other": items((50, {"a": 1, "x": "o"}), (1500, {"a": 2})),
            },
            streams=(DEMO, OTHER),
        )
    )
    assert result.error is None
    assert result.emissions == [[{"a": 1, "color": "red", "x": "o"}]]


def test_window_fires_on_the_virtual_clock_and_trailing_empty_windows_are_trimmed():
    # windows end at :47, :48 and :49; only the first holds rows, and the input at :49.5
    # closes nothing more (nothing fires after the last input)
    sql = "SELECT count(*) AS c FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)"
    result = run_case(case(sql, {"demo": items((100, {"a": 1}), (200, {"a": 2}), (3500, {"a": 3}))}))
    assert result.error is None
    assert result.emissions == [[{"c": 2}]]


def test_empty_windows_in_the_middle_are_kept():
    sql = "SELECT count(*) AS c FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)"
    result = run_case(case(sql, {"demo": items((100, {"a": 1}), (2100, {"a": 2}), (3100, {"a": 3}))}))
    assert result.emissions == [[{"c": 1}], [], [{"c": 1}]]


def test_rule_as_a_plain_sql_string():
    result = run_case(
        {"streams": [DEMO], "rule": "SELECT a FROM demo", "inputs": {"demo": items((5, {"a": 7}))}}
    )
    assert result.emissions == [[{"a": 7}]]


def test_options_are_applied():
    sql = "SELECT a FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)"
    ts_stream = (
        'CREATE STREAM demo (a BIGINT, ts BIGINT) WITH (DATASOURCE="demo", TYPE="mock", TIMESTAMP="ts")'
    )
    inputs = {"demo": items((100, {"a": 1, "ts": START + 100}), (200, {"a": 2, "ts": START + 1200}))}
    event = run_case(case(sql, inputs, streams=(ts_stream,), options={"isEventTime": True}))
    processing = run_case(case(sql, inputs, streams=(ts_stream,)))
    assert event.error is None and processing.error is None
    # by event time the second row closes the first window; by processing time nothing fires
    assert event.emissions == [[{"a": 1}]]
    assert processing.emissions == []


def test_expected_is_carried_on_the_result():
    result = run_case(case("SELECT a FROM demo", {"demo": []}, expected=[[{"a": 1}]]))
    assert result.expected == [[{"a": 1}]]
    assert result.emissions == []


def test_to_json_spells_numbers_like_go():
    result = ReplayResult(
        "c.json", emissions=[[{"f": 3.0, "g": 1e21, "t": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)}]]
    )
    assert jsonvalue.encode(result.to_json()) == (
        b'{"case":"c.json","emissions":[[{"f":3,"g":1e+21,"t":"2020-01-01T00:00:00Z"}]]}'
    )
    assert ReplayResult("c.json", error="boom").to_json() == {"case": "c.json", "error": "boom"}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (case("SELEC a FROM demo", {}), "SELECT"),
        (case("SELECT a FROM nowhere", {}), "nowhere"),
        (case("SELECT a FROM demo", {"ghost": items((1, {"a": 1}))}), "unknown stream ghost"),
        (case("SELECT a FROM demo", {}, streams=("SELECT 1 FROM demo",)), ""),
        (case("SELECT a FROM demo", {}, streams=('CREATE STREAM demo () WITH (NOPE="x")',)), "NOPE"),
        (case("SELECT a FROM demo", {}, options={"isEventTime": "maybe"}), "isEventTime"),
        (case("SELECT a FROM demo", {"demo": [{"data": {"a": 1}}]}), "timestamp"),
        (case("SELECT a FROM demo", {"demo": [{"timestamp": "soon", "data": {"a": 1}}]}), "timestamp"),
        (case("SELECT a FROM demo", {"demo": [{"timestamp": START, "data": 3}]}), "data"),
        (case("SELECT a FROM demo", {"demo": [{"timestamp": START}]}), "data"),
        (case("SELECT a FROM demo", {"demo": {"timestamp": START}}), "demo"),
        (case("SELECT a FROM demo", []), "inputs"),
        ({"streams": DEMO, "rule": "SELECT a FROM demo", "inputs": {}}, "streams"),
        ({"streams": [DEMO], "rule": {"options": {}}, "inputs": {}}, "sql"),
        ({"streams": [DEMO], "rule": {"sql": "SELECT a FROM demo", "options": []}, "inputs": {}}, "options"),
    ],
)
def test_a_case_that_cannot_run_gives_an_error_result(bad: dict, message: str):
    result = run_case(bad, "bad")
    assert result.error is not None
    assert message in result.error
    assert result.emissions == []
    assert result.to_json() == {"case": "bad", "error": result.error}


def test_null_data_is_an_input():
    # the corpus feeds `"data": null` (a nil message) to some operator cases
    result = run_case(case("SELECT abs(-2) AS b FROM demo", {"demo": [{"timestamp": START, "data": None}]}))
    assert result.error is None
    assert result.emissions == [[{"b": 2}]]


# --- replay_file ----------------------------------------------------------------------


def write(tmp_path: Path, name: str, content) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_replay_file_runs_a_case_file(tmp_path: Path):
    path = write(
        tmp_path, "ok.json", case("SELECT a FROM demo", {"demo": items((1, {"a": 5}))}, expected=[[{"a": 5}]])
    )
    result = replay_file(path)
    assert result.case == path
    assert result.error is None
    assert result.emissions == [[{"a": 5}]]
    assert compare(result.emissions, result.expected)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"streams": [', ""),
        ("[1, 2]", "one JSON object"),
        ({"rule": "SELECT 1", "inputs": {}}, "streams"),
        ({"streams": [], "inputs": {}}, "rule"),
        ({"streams": [], "rule": "x"}, "inputs"),
    ],
)
def test_a_malformed_file_gives_an_error_result(tmp_path: Path, content, message: str):
    path = write(tmp_path, "bad.json", content)
    result = replay_file(path)
    assert result.error is not None
    assert message in result.error
    assert result.case == path


def test_a_missing_file_gives_an_error_result(tmp_path: Path):
    result = replay_file(str(tmp_path / "absent.json"))
    assert result.error is not None
    assert "absent.json" in result.error


# --- compare --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        ([[{"a": 3.0}]], [[{"a": 3}]]),
        ([[{"a": 3}]], [[{"a": 3.0}]]),
        ([[{"a": 0.1 + 0.2}]], [[{"a": 0.3}]]),
        ([[{"a": 1e21}]], [[{"a": 1e21 * (1 + 1e-12)}]]),
        ([[{"a": 1e-13}]], [[{"a": 0}]]),
        ([[{"a": [1, {"b": 2.0}]}]], [[{"a": [1.0, {"b": 2}]}]]),
        ([[{"a": 1}], []], [[{"a": 1}]]),
        ([[{"a": 1}]], [[{"a": 1}], [], []]),
        ([[], []], []),
        ([], [[]]),
        ([[{}]], [[{}]]),
        ([[{"t": dt.datetime(2020, 1, 2, tzinfo=dt.UTC)}]], [[{"t": "2020-01-02T00:00:00Z"}]]),
        ([[{"b": b"hi"}]], [[{"b": "aGk="}]]),
        ([[{"ok": True}]], [[{"ok": True}]]),
    ],
)
def test_compare_matches(actual: list, expected: list):
    assert compare(actual, expected)


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        ([[{"a": 1.0}]], [[{"a": 1.001}]]),
        ([[{"a": 1}]], [[{"a": 2}]]),
        ([[{"a": 1}]], [[{"a": "1"}]]),
        ([[{"ok": True}]], [[{"ok": 1}]]),
        ([[{"n": 0}]], [[{"n": False}]]),
        ([[{"a": 1}]], [[{"a": 1, "b": 2}]]),
        ([[{"a": 1, "b": 2}]], [[{"a": 1}]]),
        ([[], [{"a": 1}]], [[{"a": 1}]]),
        ([[{"a": 1}]], [[{"a": 1}], [{"a": 1}]]),
        ([[{"a": 1}, {"a": 2}]], [[{"a": 2}, {"a": 1}]]),
        ([[{"a": [1, 2]}]], [[{"a": [1, 2, 3]}]]),
        ([[{}]], [[]]),
    ],
)
def test_compare_mismatches(actual: list, expected: list):
    assert not compare(actual, expected)


def test_compare_does_not_modify_its_arguments():
    actual, expected = [[{"a": 1}], []], [[{"a": 1}], []]
    assert compare(actual, expected)
    assert actual == [[{"a": 1}], []]
    assert expected == [[{"a": 1}], []]


# --- diff -----------------------------------------------------------------------------


def test_diff_names_each_differing_emission():
    text = diff([[{"a": 1}], [{"b": 2}], [{"c": 3}]], [[{"a": 1}], [{"b": 9}], [{"c": 3}]])
    assert text.splitlines() == [
        "  emission 1:",
        '    expected: [{"b":9}]',
        '    actual:   [{"b":2}]',
    ]


def test_diff_shows_missing_and_extra_emissions():
    assert "emission 1:" in diff([[{"a": 1}]], [[{"a": 1}], [{"a": 2}]])
    extra = diff([[{"a": 1}], [{"a": 2}]], [[{"a": 1}]]).splitlines()
    assert extra == ["  emission 1:", "    expected: (none)", '    actual:   [{"a":2}]']
    missing = diff([], [[{"a": 1}]]).splitlines()
    assert missing == ["  emission 0:", '    expected: [{"a":1}]', "    actual:   (none)"]


def test_diff_sorts_keys_and_spells_numbers_like_go():
    text = diff([[{"z": 3.0, "a": 1e21}]], [[{"z": 4, "a": 1}]])
    assert '    actual:   [{"a":1e+21,"z":3}]' in text.splitlines()


def test_diff_leaves_out_trailing_empty_emissions_as_compare_does():
    text = diff([[{"a": 1}], [], []], [[{"a": 2}]])
    assert text.splitlines() == ["  emission 0:", '    expected: [{"a":2}]', '    actual:   [{"a":1}]']


def test_diff_of_matching_emissions_is_empty():
    assert diff([[{"a": 3.0}], []], [[{"a": 3}]]) == ""
