"""The memory lookup table keeps the latest row per KEY from what is published on its topic."""

from __future__ import annotations

import pytest

from arrokoth.io.lookup.memory import MemoryLookupTable
from arrokoth.io.memory_bus import bus
from arrokoth.io.sinks.base import SinkNode
from arrokoth.io.sinks.memory import MemorySink


@pytest.fixture
def table():
    t = MemoryLookupTable("lk", "test/lookup/t", "id")
    yield t
    t.close()


def msgs(t: MemoryLookupTable) -> list[dict]:
    return [r.msg for r in t.rows()]


def sink(props: dict) -> SinkNode:
    return SinkNode(MemorySink(props), props)


def test_a_key_is_required():
    with pytest.raises(ValueError, match="lookup table lk needs a KEY option"):
        MemoryLookupTable("lk", "test/lookup/nokey", "")


def test_it_starts_empty_and_is_not_loaded(table):
    assert table.rows() == []
    assert table.lookup(1) is None


def test_plain_rows_are_upserts_by_key(table):
    bus.publish("test/lookup/t", [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}])
    bus.publish("test/lookup/t", [{"id": 1, "v": "c"}])
    assert msgs(table) == [{"id": 1, "v": "c"}, {"id": 2, "v": "b"}]
    row = table.lookup(2)
    assert row.msg == {"id": 2, "v": "b"}
    assert row.emitter == "lk"


def test_other_topics_are_ignored(table):
    bus.publish("test/lookup/other", [{"id": 1}])
    assert table.rows() == []


def test_rowkinds_insert_update_upsert_and_delete(table):
    bus.publish("test/lookup/t", [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}], kinds=["insert", "insert"], key_field="id")
    bus.publish("test/lookup/t", [{"id": 1, "v": "A"}], kinds=["update"], key_field="id")
    bus.publish("test/lookup/t", [{"id": 3, "v": "c"}], kinds=["upsert"], key_field="id")
    bus.publish("test/lookup/t", [{"id": 2}], kinds=["delete"], key_field="id")
    assert msgs(table) == [{"id": 1, "v": "A"}, {"id": 3, "v": "c"}]


def test_an_update_of_an_unknown_key_inserts_it(table):
    # eKuiper's memory store handles insert, update and upsert alike (Table.add)
    bus.publish("test/lookup/t", [{"id": 9, "v": "z"}], kinds=["update"], key_field="id")
    assert msgs(table) == [{"id": 9, "v": "z"}]


def test_delete_of_an_unknown_key_is_a_no_op(table):
    bus.publish("test/lookup/t", [{"id": 1}], kinds=["insert"], key_field="id")
    bus.publish("test/lookup/t", [{"id": 5}], kinds=["delete"], key_field="id")
    assert msgs(table) == [{"id": 1}]


def test_rows_are_stored_under_the_table_key_and_deleted_by_the_sink_key_field(table):
    # the sink names its own key field; a delete looks the table up with that field's value
    bus.publish("test/lookup/t", [{"id": 1, "code": 7}], kinds=["insert"], key_field="code")
    assert table.lookup(1).msg == {"id": 1, "code": 7}
    bus.publish("test/lookup/t", [{"code": 1}], kinds=["delete"], key_field="code")
    assert table.rows() == []


def test_an_unhashable_key_is_skipped_without_failing_the_publisher(table):
    bus.publish("test/lookup/t", [{"id": [1, 2]}, {"id": 3}])
    assert msgs(table) == [{"id": 3}]


def test_a_memory_sink_with_rowkind_field_drives_the_table(table):
    node = sink({"topic": "test/lookup/t", "rowkindField": "action", "keyField": "id"})
    node.collect([{"id": 1, "v": 1, "action": "insert"}, {"id": 2, "v": 2, "action": "upsert"}])
    node.collect([{"id": 1, "action": "delete"}])
    node.collect([{"id": 2, "v": 20, "action": "update"}])
    assert msgs(table) == [{"id": 2, "v": 20, "action": "update"}]


def test_a_memory_sink_without_rowkind_field_upserts(table):
    node = sink({"topic": "test/lookup/t"})
    node.collect([{"id": 1, "v": 1}])
    node.collect([{"id": 1, "v": 2}])
    assert msgs(table) == [{"id": 1, "v": 2}]


def test_close_stops_following_the_topic(table):
    table.close()
    bus.publish("test/lookup/t", [{"id": 1}])
    assert table.rows() == []


def test_rows_is_a_snapshot(table):
    bus.publish("test/lookup/t", [{"id": 1}])
    rows = table.rows()
    bus.publish("test/lookup/t", [{"id": 2}])
    assert [r.msg for r in rows] == [{"id": 1}]
