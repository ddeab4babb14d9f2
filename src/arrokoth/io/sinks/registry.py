"""Sink types by name. Built-ins register here the way plugins will."""

from __future__ import annotations

from arrokoth.io.sinks.base import Sink, SinkConfigError

_SINKS: dict[str, type[Sink]] = {}


def register_sink(name: str, cls: type[Sink]) -> None:
    _SINKS[name.lower()] = cls


def sink_class(name: str) -> type[Sink]:
    cls = _SINKS.get(name.lower())
    if cls is None:
        raise SinkConfigError(f"sink type {name} not found")
    return cls


def sink_types() -> list[str]:
    return sorted(_SINKS)


def _register_builtins() -> None:
    from arrokoth.io.sinks.edgex import EdgexSink
    from arrokoth.io.sinks.file import FileSink
    from arrokoth.io.sinks.influx import InfluxSink
    from arrokoth.io.sinks.log import LogSink
    from arrokoth.io.sinks.memory import MemorySink
    from arrokoth.io.sinks.mqtt import MqttSink
    from arrokoth.io.sinks.neuron import NeuronSink
    from arrokoth.io.sinks.nop import NopSink
    from arrokoth.io.sinks.redis import RedisSink
    from arrokoth.io.sinks.redispub import RedisPubSink
    from arrokoth.io.sinks.rest import RestSink
    from arrokoth.io.sinks.sql import SqlSink
    from arrokoth.io.sinks.websocket import WebsocketSink
    from arrokoth.io.sinks.zmq import ZmqSink

    register_sink("log", LogSink)
    register_sink("nop", NopSink)
    register_sink("memory", MemorySink)
    register_sink("file", FileSink)
    register_sink("rest", RestSink)
    register_sink("mqtt", MqttSink)
    register_sink("neuron", NeuronSink)
    register_sink("zmq", ZmqSink)
    register_sink("edgex", EdgexSink)
    register_sink("sql", SqlSink)
    register_sink("redis", RedisSink)
    register_sink("redisPub", RedisPubSink)
    register_sink("influx", InfluxSink)
    register_sink("websocket", WebsocketSink)


_register_builtins()
