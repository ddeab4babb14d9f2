"""The nop sink: drops everything (optionally logs it). Useful for benchmarks."""

from __future__ import annotations

from arrokoth.io.sinks.base import Sink, _prop, log


class NopSink(Sink):
    def __init__(self, props: dict):
        super().__init__(props)
        self.log = bool(_prop(props, "log", False))

    def send(self, payload: bytes | None, data) -> None:
        if self.log:
            # decoded as the log sink does; %s of bytes would log the b'...' repr
            log.info("sink result for nop: %s", (payload or b"").decode("utf-8", "replace"))
