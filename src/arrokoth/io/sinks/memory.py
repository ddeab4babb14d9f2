"""The memory sink: publishes results to an in-process topic for other rules."""

from __future__ import annotations

from arrokoth.io.memory_bus import bus
from arrokoth.io.sinks.base import Sink, SinkConfigError, _prop


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
        rows = data if isinstance(data, list) else [data]
        bus.publish(self.topic, [r for r in rows if isinstance(r, dict)])
