"""The nop sink drops results; with `log` it writes them to the engine log first."""

from __future__ import annotations

import logging

import pytest

from arrokoth.io.sinks.base import SinkNode
from arrokoth.io.sinks.nop import NopSink


def test_nop_drops_silently(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG, logger="arrokoth.sink")
    node = SinkNode(NopSink({}), {})
    node.collect([{"a": 1}])
    assert node.count == 1
    assert caplog.records == []


@pytest.mark.parametrize("key", ["log", "LOG"])
def test_nop_with_log_logs_the_payload(caplog: pytest.LogCaptureFixture, key: str):
    caplog.set_level(logging.INFO, logger="arrokoth.sink")
    SinkNode(NopSink({key: True}), {}).collect([{"a": 1}])
    assert [r.getMessage() for r in caplog.records] == ['sink result for nop: [{"a":1}]']
