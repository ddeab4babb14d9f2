"""The memory sink: publishes results to an in-process topic for other rules."""

from __future__ import annotations

from arrokoth.io.memory_bus import bus
from arrokoth.io.sinks.base import Sink, SinkConfigError, _prop

ROW_KINDS = ("insert", "update", "upsert", "delete")


class MemorySink(Sink):
    wants_rows = True

    def __init__(self, props: dict):
        super().__init__(props)
        topic = _prop(props, "topic")
        if not isinstance(topic, str) or not topic:
            raise SinkConfigError("topic: the memory sink needs a topic")
        if "+" in topic or "#" in topic:
            raise SinkConfigError("topic: a memory sink topic cannot contain wildcards")
        self.topic = topic
        self.rowkind_field = _prop(props, "rowkindField")
        self.key_field = _prop(props, "keyField")

    def send(self, payload, data) -> None:
        rows = [r for r in (data if isinstance(data, list) else [data]) if isinstance(r, dict)]
        kinds = None
        if self.rowkind_field:
            kinds = []
            for r in rows:
                kind = str(r.get(self.rowkind_field) or "insert").lower()
                if kind not in ROW_KINDS:
                    raise SinkConfigError(f"rowkindField: invalid rowkind {kind}")
                kinds.append(kind)
        bus.publish(self.topic, rows, kinds=kinds, key_field=self.key_field)
