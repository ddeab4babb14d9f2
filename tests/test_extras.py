"""A rule that needs a connector whose extra is not installed is refused at creation, and
the message names the extra to install."""

from __future__ import annotations

import sys

import pytest

from arrokoth.engine import EngineError

pytestmark = pytest.mark.anyio

# (the client library's module, the extra, a stream, an action)
CASES = [
    ("gmqtt", "mqtt", 'TYPE="mqtt", DATASOURCE="t"', {"mqtt": {"server": "tcp://127.0.0.1:1883", "topic": "t"}}),
    ("redis", "redis", 'TYPE="redisSub", DATASOURCE="c"', {"redis": {"addr": "127.0.0.1:6379", "key": "k"}}),
    ("sqlalchemy", "sql", 'TYPE="sql", DATASOURCE="t", CONF_KEY="default"',
     {"sql": {"url": "sqlite:/tmp/x.db", "table": "t"}}),
    ("websockets", "websocket", 'TYPE="websocket", DATASOURCE="/ws"', {"websocket": {"path": "/ws"}}),
    ("gmqtt", "edgex", 'TYPE="edgex"', {"edgex": {"server": "127.0.0.1", "port": 1883}}),
    ("pynng", "nng", 'TYPE="neuron"', {"neuron": {"url": "tcp://127.0.0.1:7081", "raw": True}}),
    ("zmq", "zmq", 'TYPE="zmq", DATASOURCE="t"', {"zmq": {"server": "tcp://127.0.0.1:5563"}}),
]


def without(monkeypatch, module: str) -> None:
    """Make `module` (and its submodules) fail to import, as when the extra is missing."""
    for name in [n for n in sys.modules if n == module or n.startswith(module + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize(("module", "extra", "stream", "action"), CASES, ids=[c[1] + "-" + c[2][6:14] for c in CASES])
async def test_a_missing_extra_is_named_when_the_rule_is_created(engine, monkeypatch, module, extra, stream, action):
    engine.create_stream("CREATE STREAM demo () WITH (TYPE=\"memory\", DATASOURCE=\"demo\")")
    engine.create_stream(f"CREATE STREAM s () WITH ({stream})")
    without(monkeypatch, module)
    with pytest.raises(EngineError, match=rf"pip install 'arrokoth\[{extra}\]'"):
        await engine.create_rule({"id": "src", "sql": "SELECT * FROM s", "actions": [{"log": {}}]})
    with pytest.raises(EngineError, match=rf"pip install 'arrokoth\[{extra}\]'"):
        await engine.create_rule({"id": "act", "sql": "SELECT * FROM demo", "actions": [action]})
    assert engine.rules == {}


@pytest.mark.parametrize(("module", "extra", "typ"), [("redis", "redis", "redis"), ("sqlalchemy", "sql", "sql")])
async def test_a_lookup_table_names_its_missing_extra(engine, monkeypatch, module, extra, typ):
    engine.create_stream("CREATE STREAM demo () WITH (TYPE=\"memory\", DATASOURCE=\"demo\")")
    engine.create_stream(f'CREATE TABLE t () WITH (TYPE="{typ}", KIND="lookup", DATASOURCE="t", CONF_KEY="default")')
    without(monkeypatch, module)
    with pytest.raises(EngineError, match=rf"pip install 'arrokoth\[{extra}\]'"):
        await engine.create_rule({"id": "r", "sql": "SELECT * FROM demo INNER JOIN t ON demo.id = t.id",
                                  "actions": [{"log": {}}]})
