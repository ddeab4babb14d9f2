"""A rule driven by hand on a virtual clock, shared by the runtime tests.

`rule(sql, *ddl, options=...)` builds the rule, one StreamFeed per stream, attaches
and starts it at START (or at `start`). Times given to the harness are offsets from
START in ms, so `h.send("demo", {...}, at=1200)` publishes at START + 1200 after firing
every timer due by then.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import pytest

from arrokoth.functions import timefmt
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.builder import attach, build_rule
from arrokoth.runtime.clock import VirtualClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse

START = 1_541_152_486_000  # 2018-11-02 09:54:46.000 UTC, the corpus' usual rule start
DEMO = 'CREATE STREAM demo () WITH (DATASOURCE="demo", TYPE="mock")'
DEMO1 = 'CREATE STREAM demo1 () WITH (DATASOURCE="demo1", TYPE="mock")'


def stream_def(ddl: str) -> StreamDef:
    return StreamDef.from_ast(parse(ddl), ddl)


class Harness:
    def __init__(
        self,
        sql: str,
        *ddls: str,
        options: dict | None = None,
        start: int = START,
        lookups: dict | None = None,
    ):
        self.clock = VirtualClock(start)
        self.out: list[list[dict]] = []
        self.streams = {d.name: d for d in map(stream_def, ddls or (DEMO,))}
        self.rule = build_rule("test", sql, self.streams, self.out.append, self.clock, options, lookups=lookups)
        self.feeds = {name: StreamFeed(d, self.clock) for name, d in self.streams.items()}
        attach(self.rule, self.feeds)
        self.rule.start()

    def advance(self, at: int) -> None:
        self.clock.advance_to(START + at)

    def send(self, stream: str, msg: dict, at: int | None = None, meta: dict | None = None) -> None:
        if at is not None:
            self.advance(at)
        self.feeds[stream].publish(msg, meta, self.clock.now_ms())

    def take(self) -> list[list[dict]]:
        """The emissions so far, and forget them."""
        out, self.out[:] = list(self.out), []
        return out

    @property
    def metrics(self):
        return self.rule.metrics


@pytest.fixture
def rule() -> Callable[..., Harness]:
    return Harness


@pytest.fixture
def local_tz(monkeypatch):
    """Set the process' local time zone for one test (alignment reads local wall-clock fields)."""

    def set_tz(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_tz
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(autouse=True)
def _utc(monkeypatch):
    """Run every runtime test in UTC unless it asks otherwise: alignment depends on the
    zone, and so does parsing a datetime string that names none (timefmt's default zone)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(timefmt, "_default_tz", dt.UTC)
    yield
    monkeypatch.undo()
    time.tzset()
