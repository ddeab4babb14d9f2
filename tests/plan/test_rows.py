"""What compiled expressions run on: one Row, a JoinedRow of several, a Group of rows."""

from __future__ import annotations

from arrokoth.plan.rows import Group, JoinedRow, Row


def test_row_holds_message_metadata_timestamp_and_emitter():
    r = Row({"a": 1}, 1500, {"topic": "t"}, "demo")
    assert (r.msg, r.ts, r.meta, r.emitter, r.cache) == ({"a": 1}, 1500, {"topic": "t"}, "demo", None)
    assert repr(r) == "Row(demo@1500: {'a': 1})"


def test_joined_row_merges_with_the_leftmost_source_winning():
    j = JoinedRow([Row({"id": 1, "a": "left"}), Row({"id": 2, "b": "right"}), Row({"id": 3, "a": "third", "c": 0})])
    assert j.merged() == {"id": 1, "a": "left", "b": "right", "c": 0}


def test_joined_row_skips_unmatched_sides():
    j = JoinedRow([None, Row({"id": 2, "b": "right"})], ts=7)
    assert j.merged() == {"id": 2, "b": "right"}
    assert j.ts == 7
    assert j.cache is None


def test_joined_row_metadata_is_the_first_present_parts():
    j = JoinedRow([None, Row({}, meta={"topic": "b"}), Row({}, meta={"topic": "c"})])
    assert j.meta == {"topic": "b"}
    assert JoinedRow([None, None]).meta is None


def test_group_first_row_and_key():
    rows = [Row({"a": 1}), Row({"a": 2})]
    g = Group(rows, key=("red",))
    assert g.first is rows[0]
    assert g.key == ("red",)
    assert Group([]).first is None
    assert repr(g) == "Group(('red',), 2 rows)"
