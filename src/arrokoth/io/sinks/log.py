"""The log sink: writes each payload to the engine log."""

from __future__ import annotations

from arrokoth.io.sinks.base import Sink, log


class LogSink(Sink):
    def send(self, payload: bytes | None, data) -> None:
        log.info("sink result: %s", (payload or b"").decode("utf-8", "replace"))
