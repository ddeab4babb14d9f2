"""Counters a rule keeps while it runs; the REST status reports them."""

from __future__ import annotations


class RuleMetrics:
    __slots__ = ("records_in", "records_out", "exceptions", "last_exception", "last_exception_time", "started")

    def __init__(self) -> None:
        self.records_in = 0
        self.records_out = 0
        self.exceptions = 0
        self.last_exception = ""
        self.last_exception_time = 0
        self.started = 0

    def start(self, now_ms: int) -> None:
        self.started = now_ms

    def exception(self, message: str, now_ms: int) -> None:
        self.exceptions += 1
        self.last_exception = message
        self.last_exception_time = now_ms
