"""The memory source: rows that memory sinks publish to a topic (wildcards allowed)."""

from __future__ import annotations

from arrokoth.io.memory_bus import bus
from arrokoth.io.sources.base import Source


class MemorySource(Source):
    _token: int | None = None

    async def start(self) -> None:
        topic = self.stream.datasource
        self._token = bus.subscribe(topic, self._on_rows)
        self.connected()

    def _on_rows(self, topic: str, rows: list[dict]) -> None:
        self.publish_rows(rows, {"topic": topic})

    async def stop(self) -> None:
        if self._token is not None:
            bus.unsubscribe(self._token)
            self._token = None
