"""Source types by name. Built-ins register here the way plugins will."""

from __future__ import annotations

from arrokoth.io.sources.base import Source, SourceConfigError

_SOURCES: dict[str, type[Source]] = {}


def register_source(name: str, cls: type[Source]) -> None:
    _SOURCES[name.lower()] = cls


def source_class(name: str) -> type[Source]:
    cls = _SOURCES.get(name.lower())
    if cls is None:
        raise SourceConfigError(f"source type {name} not found")
    return cls


def source_types() -> list[str]:
    return sorted(_SOURCES)


def _register_builtins() -> None:
    from arrokoth.io.sources.edgex import EdgexSource
    from arrokoth.io.sources.file import FileSource
    from arrokoth.io.sources.httppull import HttpPullSource
    from arrokoth.io.sources.httppush import HttpPushSource
    from arrokoth.io.sources.memory import MemorySource
    from arrokoth.io.sources.mqtt import MqttSource
    from arrokoth.io.sources.neuron import NeuronSource
    from arrokoth.io.sources.redissub import RedisSubSource
    from arrokoth.io.sources.simulator import SimulatorSource
    from arrokoth.io.sources.sql import SqlSource
    from arrokoth.io.sources.websocket import WebsocketSource
    from arrokoth.io.sources.zmq import ZmqSource

    register_source("memory", MemorySource)
    register_source("file", FileSource)
    register_source("simulator", SimulatorSource)
    register_source("httppull", HttpPullSource)
    register_source("httppush", HttpPushSource)
    register_source("mqtt", MqttSource)
    register_source("neuron", NeuronSource)
    register_source("zmq", ZmqSource)
    register_source("edgex", EdgexSource)
    register_source("sql", SqlSource)
    register_source("redisSub", RedisSubSource)
    register_source("websocket", WebsocketSource)


_register_builtins()
