"""Sink types by name: the built-ins register through the same call plugins use."""

from __future__ import annotations

import pytest

from arrokoth.io.sinks import registry
from arrokoth.io.sinks.base import Sink, SinkConfigError
from arrokoth.io.sinks.log import LogSink
from arrokoth.io.sinks.memory import MemorySink
from arrokoth.io.sinks.nop import NopSink


def test_builtins_are_registered():
    assert {"log", "nop", "memory"} <= set(registry.sink_types())
    assert registry.sink_class("log") is LogSink
    assert registry.sink_class("nop") is NopSink
    assert registry.sink_class("memory") is MemorySink


def test_sink_types_are_sorted():
    types = registry.sink_types()
    assert types == sorted(types)


@pytest.mark.parametrize("name", ["LOG", "Log", "lOg"])
def test_lookup_is_case_insensitive(name: str):
    assert registry.sink_class(name) is LogSink


def test_unknown_type_is_a_config_error_naming_it():
    with pytest.raises(SinkConfigError, match="sink type nosuch not found"):
        registry.sink_class("nosuch")


def test_register_sink_adds_a_type_under_its_lowercase_name():
    class Custom(Sink):
        def send(self, payload, data):
            pass

    registry.register_sink("TestCustomSink", Custom)
    try:
        assert registry.sink_class("testcustomsink") is Custom
        assert "testcustomsink" in registry.sink_types()
    finally:
        registry._SINKS.pop("testcustomsink", None)
    assert "testcustomsink" not in registry.sink_types()


def test_classes_build_sinks_from_props():
    sink = registry.sink_class("memory")({"topic": "t"})
    assert isinstance(sink, MemorySink)
    assert sink.topic == "t"
