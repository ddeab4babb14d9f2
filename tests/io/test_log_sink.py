"""The log sink writes each payload to the engine log."""

from __future__ import annotations

import logging

import pytest

from arrokoth.io.sinks.base import SinkNode
from arrokoth.io.sinks.log import LogSink


def test_payloads_are_logged_at_info(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="arrokoth.sink")
    SinkNode(LogSink({}), {}).collect([{"a": 1, "s": "é"}])
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("arrokoth.sink", logging.INFO, 'sink result: [{"a":1,"s":"é"}]')
    ]


def test_a_missing_payload_logs_empty(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="arrokoth.sink")
    LogSink({}).send(None, [])
    assert [r.getMessage() for r in caplog.records] == ["sink result: "]
