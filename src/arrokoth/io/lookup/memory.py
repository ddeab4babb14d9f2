"""The memory lookup table: the latest row per key, kept from a memory topic.

`CREATE TABLE t () WITH (TYPE="memory", KIND="lookup", DATASOURCE="topic", KEY="id")`
follows what memory sinks publish to `topic`: with a `rowkindField` their rows insert,
update, upsert or delete by key; without one every row is an upsert.
"""

from __future__ import annotations

from arrokoth.io.memory_bus import bus
from arrokoth.plan.rows import Row


class MemoryLookupTable:
    def __init__(self, name: str, topic: str, key: str):
        if not key:
            raise ValueError(f"lookup table {name} needs a KEY option")
        self.name = name
        self.topic = topic
        self.key = key
        self._rows: dict = {}
        self._token = bus.subscribe_updates(topic, self._update)

    def _update(self, topic: str, rows: list[dict], kinds: list[str], key_field: str | None) -> None:
        # as eKuiper's memory store (ingestMemTuple): insert, update and upsert all write
        # the row under the table's own KEY (an update of an unknown key inserts it), and
        # a delete removes the row whose key equals the sink's keyField value
        for row, kind in zip(rows, kinds):
            try:
                if kind == "delete":
                    self._rows.pop(row.get(key_field or self.key), None)
                else:
                    self._rows[row.get(self.key)] = Row(row, 0, None, self.name)
            except TypeError:
                continue  # a list or object as key: it cannot index the table (Go panics here)

    def rows(self) -> list[Row]:
        return list(self._rows.values())

    def lookup(self, key) -> Row | None:
        return self._rows.get(key)

    def close(self) -> None:
        bus.unsubscribe(self._token)
