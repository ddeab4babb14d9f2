"""The connection types the pool knows, registered by name.

`mqtt` holds one `MqttSession` that every source and sink selecting the connection shares:
sources add their subscriptions to it, sinks publish through it, and its status is the
connection's. The other types hold the connection-level props their connectors copy, and
tell their status by a ping of the remote end.
"""

from __future__ import annotations

from arrokoth.io._mqtt_client import (
    CONNECTION_PROPS,
    MqttConfigError,
    MqttSession,
    MqttSettings,
    require_gmqtt,
)
from arrokoth.io.connections import Connection, ConnectionType, register_connection_type


def check_known(props: dict, known: frozenset[str], typ: str) -> None:
    unknown = sorted(k for k in props if not isinstance(k, str) or k.lower() not in known)
    if unknown:
        raise ValueError(f"{', '.join(map(str, unknown))}: not a property of a {typ} connection "
                         f"(expected {', '.join(sorted(known))})")


class MqttConnection(ConnectionType):
    def check(self, props: dict) -> None:
        check_known(props, CONNECTION_PROPS, "mqtt")
        try:
            require_gmqtt()
            MqttSettings.parse(props)
        except MqttConfigError as e:
            raise ValueError(str(e)) from None

    async def open(self, conn: Connection) -> None:
        session = MqttSession(MqttSettings.parse(conn.props), name=f"connection {conn.id}")
        session.add_status_listener(conn.report)
        conn.client = session
        await session.start()  # dials in the background: creating never waits for the broker

    async def close(self, conn: Connection) -> None:
        session, conn.client = conn.client, None
        if session is not None:
            await session.stop()


register_connection_type("mqtt", MqttConnection())
