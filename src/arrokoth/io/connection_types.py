"""The connection types the pool knows, registered by name.

`mqtt` and `edgex` (eKuiper's edgex message-bus props) hold one `MqttSession` that every
source and sink selecting the connection shares: sources add their subscriptions to it,
sinks publish through it, and its status is the connection's. The other types hold the
connection-level props their connectors copy (the engine puts them under a rule node's own
props), and tell their status by a ping of the remote end with the connector's own
connectivity check: `sql`, `redis`, `websocket` (the client side; a server-side endpoint is
Arrokoth's own listener), `nng` (Neuron) and `httppush` (the listener's method; nothing
remote to reach).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from arrokoth.io._edgex_conn import CONNECTION_PROPS as EDGEX_CONNECTION_PROPS
from arrokoth.io._mqtt_client import (
    CONNECTION_PROPS,
    MqttConfigError,
    MqttSettings,
    require_gmqtt,
)
from arrokoth.io._mqtt_session import MqttSession
from arrokoth.io.connections import Connection, ConnectionType, register_connection_type
from arrokoth.io.props import prop


def check_known(props: dict, known: frozenset[str], typ: str) -> None:
    unknown = sorted(k for k in props if not isinstance(k, str) or k.lower() not in known)
    if unknown:
        raise ValueError(f"{', '.join(map(str, unknown))}: not a property of a {typ} connection "
                         f"(expected {', '.join(sorted(known))})")


class SessionConnection(ConnectionType):
    """A broker session shared by the sources and sinks that select the connection."""

    def __init__(self, typ: str, known: frozenset[str], settings_of: Callable[[dict], MqttSettings]):
        self.typ = typ
        self.known = known
        self.settings_of = settings_of

    def check(self, props: dict) -> None:
        check_known(props, self.known, self.typ)
        try:
            require_gmqtt()
            self.settings_of(props)
        except MqttConfigError as e:
            raise ValueError(str(e)) from None

    async def open(self, conn: Connection) -> None:
        session = MqttSession(self.settings_of(conn.props), name=f"connection {conn.id}")
        session.add_status_listener(conn.report)
        conn.client = session
        await session.start()  # dials in the background: creating never waits for the broker

    async def close(self, conn: Connection) -> None:
        session, conn.client = conn.client, None
        if session is not None:
            await session.stop()


def _edgex_settings(props: dict) -> MqttSettings:
    from arrokoth.io._edgex_conn import EdgexConfigError, bus_settings

    try:
        return bus_settings(props).mqtt
    except EdgexConfigError as e:
        raise MqttConfigError(str(e)) from None


register_connection_type("mqtt", SessionConnection("mqtt", CONNECTION_PROPS, MqttSettings.parse))
register_connection_type("edgex", SessionConnection("edgex", EDGEX_CONNECTION_PROPS, _edgex_settings))


PingFn = Callable[[dict, float], Awaitable[None]]


class PropsConnection(ConnectionType):
    """A connection that holds props and pings the remote end to tell its status."""

    stateful = False

    def __init__(self, typ: str, known: tuple[str, ...], ping: Callable[[], PingFn | None],
                 validate: Callable[[dict], object] | None = None):
        self.typ = typ
        self.known = frozenset(k.lower() for k in known)
        self._ping = ping  # resolved late: the connector modules load their client libraries
        self._validate = validate

    def check(self, props: dict) -> None:
        check_known(props, self.known, self.typ)
        if self._validate is not None:
            try:
                self._validate(props)
            except ValueError:
                raise
            except Exception as e:  # noqa: BLE001 - each connector has its own config error
                raise ValueError(str(e)) from None

    async def ping(self, conn: Connection) -> None:
        ping = self._ping()
        if ping is not None:
            from arrokoth.io.connectivity import DEFAULT_TIMEOUT

            await ping(dict(conn.props), DEFAULT_TIMEOUT)


def _sql_ping() -> PingFn:
    from arrokoth.io.sinks.sql import SqlSink

    return SqlSink.ping


def _redis_ping() -> PingFn:
    from arrokoth.io.sinks.redis import RedisSink

    return RedisSink.ping


def _websocket_ping() -> PingFn:
    from arrokoth.io.sinks.websocket import WebsocketSink

    return WebsocketSink.ping


def _nng_ping() -> PingFn:
    from arrokoth.io import _nng

    return _nng.ping


_TLS = ("insecureSkipVerify", "certificationPath", "privateKeyPath", "rootCaPath", "certificationRaw",
        "privateKeyRaw", "rootCARaw", "tlsMinVersion")


def _sql_check(props: dict) -> None:
    from arrokoth.io._sql import target_of

    target_of(props, ValueError)


def _redis_check(props: dict) -> None:
    from arrokoth.io._redis_client import RedisSettings, db_number

    RedisSettings.parse(props, address=("addr", "address"), db=db_number(prop(props, "db", 0), "db", "redis"))


def _websocket_check(props: dict) -> None:
    from arrokoth.io._websocket import WsTarget, check_path

    if WsTarget.parse(props, check_path(str(prop(props, "path", "")), "path")) is None:
        raise ValueError("addr: a websocket connection is a client of a server at addr (host:port)")


def _nng_check(props: dict) -> None:
    from arrokoth.io._nng import check_url

    check_url(prop(props, "url"))


def _httppush_check(props: dict) -> None:
    method = str(prop(props, "method", "POST") or "POST").upper()
    if method not in ("POST", "PUT"):
        raise ValueError(f"method: expected POST or PUT but got {method}")


register_connection_type("sql", PropsConnection("sql", ("dburl", "url"), _sql_ping, _sql_check))
register_connection_type("redis", PropsConnection(
    "redis", ("addr", "address", "username", "password", "db"), _redis_ping, _redis_check))
register_connection_type("websocket", PropsConnection(
    "websocket", ("addr", "path", "scheme", *_TLS), _websocket_ping, _websocket_check))
register_connection_type("nng", PropsConnection("nng", ("url",), _nng_ping, _nng_check))
register_connection_type("httppush", PropsConnection("httppush", ("method",), lambda: None, _httppush_check))
