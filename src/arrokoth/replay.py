"""`arrokoth replay`: run a rule offline over recorded, timed inputs.

A case file holds stream definitions, a rule, inputs per stream with timestamps, and
optionally the emissions expected (the schema of the conformance corpus). Streams of
`TYPE="mock"` are fed from the inputs on a virtual clock, so a replay is deterministic
and takes no wall-clock time.

Timing follows eKuiper's test harness: the clock starts at the first input's second;
inputs of all streams are merged in timestamp order; before each input every timer due
by then fires; nothing fires after the last input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from arrokoth.functions import jsonvalue
from arrokoth.plan.options import OptionError
from arrokoth.plan.streams import StreamDef, StreamDefError
from arrokoth.runtime.builder import RuleError, attach, build_rule
from arrokoth.runtime.clock import VirtualClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import SqlSyntaxError, ast, parse

MOCK_META = {"topic": "mock"}


class CaseError(Exception):
    pass


@dataclass
class ReplayResult:
    case: str
    emissions: list[list[dict]] = field(default_factory=list)
    error: str | None = None
    expected: list | None = None

    def to_json(self) -> dict:
        if self.error is not None:
            return {"case": self.case, "error": self.error}
        return {"case": self.case, "emissions": jsonvalue.to_jsonable(self.emissions)}


def _load(path: str) -> dict:
    with open(path, "rb") as f:
        data = jsonvalue.loads(f.read())
    if not isinstance(data, dict):
        raise CaseError("a case file holds one JSON object")
    for key in ("streams", "rule", "inputs"):
        if key not in data:
            raise CaseError(f"the case has no {key!r}")
    return data


def _check(case: dict) -> None:
    """The shape of a case, so a malformed one gives an error result instead of a traceback."""
    streams = case.get("streams")
    if not isinstance(streams, list) or not all(isinstance(s, str) for s in streams):
        raise CaseError("'streams' must be a list of CREATE STREAM/TABLE statements")
    rule = case.get("rule")
    if isinstance(rule, dict):
        if not isinstance(rule.get("sql"), str):
            raise CaseError("the rule has no 'sql'")
        if not isinstance(rule.get("options", {}), dict):
            raise CaseError("the rule's 'options' must be an object")
    elif not isinstance(rule, str):
        raise CaseError("'rule' must be an object with 'sql' and 'options'")
    inputs = case.get("inputs")
    if not isinstance(inputs, dict):
        raise CaseError("'inputs' must be an object of stream name -> list of {timestamp, data}")
    for name, items in inputs.items():
        if not isinstance(items, list):
            raise CaseError(f"the inputs of stream {name} must be a list")
        for i, item in enumerate(items):
            ts = item.get("timestamp") if isinstance(item, dict) else None
            if type(ts) not in (int, float) or not isinstance(item.get("data", 0), dict | None):
                raise CaseError(f"input {i} of stream {name} needs a number 'timestamp' and an object 'data'")


def run_case(case: dict, name: str = "") -> ReplayResult:
    """Replay one parsed case; errors become the result's `error`."""
    result = ReplayResult(name, expected=case.get("expected"))
    try:
        _check(case)
        result.emissions = _run(case)
    except (CaseError, RuleError, SqlSyntaxError, StreamDefError, OptionError) as e:
        # OptionError: a bad rule option is a rule that cannot be created, like RuleError
        result.error = str(e)
    return result


def replay_file(path: str) -> ReplayResult:
    try:
        case = _load(path)
    except (OSError, CaseError, jsonvalue.DecodeError) as e:
        return ReplayResult(path, error=str(e))
    return run_case(case, path)


def _run(case: dict) -> list[list[dict]]:
    streams: dict[str, StreamDef] = {}
    for ddl in case["streams"]:
        stmt = parse(ddl)
        if not isinstance(stmt, ast.CreateStream):
            raise CaseError(f"not a CREATE STREAM/TABLE statement: {ddl}")
        streams[stmt.name] = StreamDef.from_ast(stmt, ddl)
    rule = case["rule"]
    sql = rule["sql"] if isinstance(rule, dict) else rule
    options = rule.get("options", {}) if isinstance(rule, dict) else {}
    inputs: dict[str, list[dict]] = case["inputs"]

    clock = VirtualClock()
    emissions: list[list[dict]] = []
    runtime = build_rule("replay", sql, streams, emissions.append, clock, options)
    order = [s.name for s in runtime.plan.sources]
    for name in inputs:
        if name not in streams:
            raise CaseError(f"inputs for unknown stream {name}")
    first = next((inputs[n][0]["timestamp"] for n in order if inputs.get(n)), 0)
    start = (int(first) // 1000) * 1000
    clock.set(start)

    feeds = {name: StreamFeed(d, clock) for name, d in streams.items()}
    attach(runtime, feeds)
    runtime.start()

    # scan tables that are not fed over time (the file table) are loaded at start
    events: list[tuple[int, int, int, str, dict]] = []
    for rank, name in enumerate(order + [n for n in inputs if n not in order]):
        for i, item in enumerate(inputs.get(name, [])):
            # `"data": null` is a nil message in the corpus: every field reads as null
            events.append((int(item["timestamp"]), i, rank, name, item["data"] or {}))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    preload = [e for e in events if streams[e[3]].kind == "table" and e[0] <= start]
    for e in preload:
        feeds[e[3]].publish(e[4], dict(MOCK_META), start)
    for ts, _, _, name, data in events:
        if streams[name].kind == "table" and ts <= start:
            continue
        clock.advance_to(ts)
        feeds[name].publish(data, dict(MOCK_META), ts)
    runtime.stop()
    while emissions and emissions[-1] == []:
        emissions.pop()
    return emissions


# --- comparing with the expectation ---------------------------------------------


def _same(a: Any, b: Any) -> bool:
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        if a == b:
            return True
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if ta is dict and tb is dict:
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if ta is list and tb is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    # same type: in Python True == 1, but a bool and a number must not match
    return ta is tb and a == b


def _trim(emissions: list) -> list:
    out = list(emissions)
    while out and out[-1] == []:
        out.pop()
    return out


def compare(actual: list, expected: list) -> bool:
    """Numbers by value; trailing empty emissions on either side are ignored."""
    return _same(jsonvalue.loads(jsonvalue.encode(_trim(actual))), _trim(expected))


def diff(actual: list, expected: list) -> str:
    """A readable, emission-by-emission difference."""
    # trailing empty emissions are trimmed as compare() does, so they are not reported
    a = jsonvalue.loads(jsonvalue.encode(_trim(actual)))
    expected = _trim(expected)
    lines = []
    for i in range(max(len(a), len(expected))):
        got = a[i] if i < len(a) else None
        want = expected[i] if i < len(expected) else None
        if got is not None and want is not None and _same(got, want):
            continue
        lines.append(f"  emission {i}:")
        lines.append(f"    expected: {jsonvalue.encode(want, sort_keys=True).decode() if want is not None else '(none)'}")
        lines.append(f"    actual:   {jsonvalue.encode(got, sort_keys=True).decode() if got is not None else '(none)'}")
    return "\n".join(lines)
