"""The connection pool: named connections shared by rules, and the anonymous ones rules open.

A `Connection` is one long-lived client (an MQTT session, a database, ...) keyed by id.
*Named* connections come from `POST /connections`, `etc/connections/connection.yaml` or an
import; they dial at once, independently of rules, and stay until dropped. *Anonymous*
connections are the clients that sources and sinks without a `connectionSelector` open for
themselves; they are listed (with `?forceAll=true`) but read-only, and leave the pool with
their owner.

What a connection type does lives in a `ConnectionType` registered by name (`mqtt`, `sql`,
...): checking props (a type or props it cannot use are refused at creation, where eKuiper
accepts them and stays `connecting`), opening the client and reporting its status, closing
it, and for clients without a live link of their own (sql, redis), a `ping` that `GET`
runs to tell whether the remote end is there.

Rules reference named connections: the engine attaches a reference per rule node using
one when the rule starts and detaches it when the rule stops, and the pool refuses to
update or drop a referenced connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

log = logging.getLogger("arrokoth.connections")

CONNECTED, CONNECTING, DISCONNECTED = 1, 0, -1
STATUS_NAMES = {CONNECTED: "connected", CONNECTING: "connecting", DISCONNECTED: "disconnected"}


class PoolError(Exception):
    """A pool operation is refused; the message is eKuiper's (or says what is wrong)."""


class ReadOnlyConnection(PoolError):
    """An anonymous connection cannot be updated or dropped by hand."""


class Connection:
    """One client in the pool, with its live status and the rule nodes that use it."""

    def __init__(self, id: str, typ: str, props: dict, *, named: bool):
        self.id = id
        self.typ = typ
        self.props = props
        self.named = named
        self.status = CONNECTING
        self.err = ""
        self.refs: list[str] = []
        self.client: Any = None  # what the type opened: an MqttSession, settings, ...

    def report(self, status: int, message: str = "") -> None:
        """The client's status changed; `message` says why when it is not connected."""
        self.status = status
        if status == CONNECTED:
            self.err = ""
        elif message:
            self.err = message

    def to_json(self) -> dict:
        """eKuiper's ConnectionResponse, fields in its order."""
        out: dict[str, Any] = {"id": self.id, "typ": self.typ, "props": self.props,
                               "isNamed": self.named, "status": STATUS_NAMES[self.status]}
        if self.err and self.status != CONNECTED:
            out["err"] = self.err
        if self.refs:
            out["refCount"] = len(self.refs)
        return out


class ConnectionType:
    """What the pool knows of one type of connection. Subclasses override what they need."""

    #: the client keeps a live link and reports it; False: GET pings the remote end
    stateful = True

    def check(self, props: dict) -> None:
        """Raise ValueError naming the property the type cannot use."""

    async def open(self, conn: Connection) -> None:
        """Open the client without waiting for the remote end; report status on `conn`."""
        conn.client = dict(conn.props)

    async def close(self, conn: Connection) -> None:
        pass

    async def ping(self, conn: Connection) -> None:
        """Stateless types: reach the remote end once; raise with the reason when it fails."""


_TYPES: dict[str, ConnectionType] = {}


def register_connection_type(typ: str, kind: ConnectionType) -> None:
    _TYPES[typ.lower()] = kind


def connection_types() -> list[str]:
    return sorted(_TYPES)


def connection_type(typ: str) -> ConnectionType:
    kind = _TYPES.get(typ.lower()) if isinstance(typ, str) else None
    if kind is None:
        raise PoolError(f"unknown connection type {typ!r}: expected one of {', '.join(connection_types())}")
    return kind


class ConnectionPool:
    """The process's connections by id."""

    PING_TIMEOUT = 5.0

    def __init__(self) -> None:
        self._conns: dict[str, Connection] = {}
        # the first pings of stateless connections: kept so that none is collected mid-flight
        # and `close` can cancel those still waiting for an answer
        self._tasks: set[asyncio.Task] = set()

    # --- named connections ---------------------------------------------------------------

    def check(self, typ: str, props: Any) -> None:
        """Raise PoolError when a connection of `typ` cannot use `props`."""
        kind = connection_type(typ)
        if not isinstance(props, dict):
            raise PoolError("props must be a JSON object")
        try:
            kind.check(props)
        except ValueError as e:
            raise PoolError(f"invalid props for a {typ} connection: {e}") from None

    async def create(self, id: str, typ: str, props: dict) -> Connection:
        """A named connection, dialling in the background."""
        if id in self._conns:
            raise PoolError(f"connection {id} already been created")
        self.check(typ, props)
        conn = Connection(id, typ.lower(), props, named=True)
        self._conns[id] = conn
        await self._open(conn)
        return conn

    async def _open(self, conn: Connection) -> None:
        kind = connection_type(conn.typ)
        try:
            await kind.open(conn)
        except Exception as e:  # noqa: BLE001 - a client that cannot even start stays listed, with why
            log.warning("connection %s: cannot open: %s", conn.id, e)
            conn.report(DISCONNECTED, str(e))
            return
        if not kind.stateful:
            task = asyncio.get_running_loop().create_task(self.refresh(conn), name=f"ping {conn.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def refresh(self, conn: Connection) -> None:
        """A stateless connection: ping it and report the result."""
        kind = connection_type(conn.typ)
        if kind.stateful:
            return
        try:
            await asyncio.wait_for(kind.ping(conn), self.PING_TIMEOUT)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            conn.report(DISCONNECTED, f"no answer within {self.PING_TIMEOUT:g}s")
        except Exception as e:  # noqa: BLE001 - any failure is the status
            conn.report(DISCONNECTED, str(e) or type(e).__name__)
        else:
            conn.report(CONNECTED)

    async def replace(self, id: str, typ: str, props: dict) -> Connection:
        conn = self._conns.get(id)
        if conn is None:
            raise PoolError(f"connection {id} not existed")
        if not conn.named:
            raise ReadOnlyConnection(f"internal connection {id} can't be edit")
        self._refuse_if_referenced(conn)
        self.check(typ, props)
        await self._close(conn)
        del self._conns[id]
        return await self.create(id, typ, props)

    async def drop(self, id: str) -> None:
        conn = self._conns.get(id)
        if conn is None:
            return  # idempotent, as eKuiper
        if not conn.named:
            raise ReadOnlyConnection(f"internal connection {id} can't be edit")
        self._refuse_if_referenced(conn)
        del self._conns[id]
        await self._close(conn)

    def _refuse_if_referenced(self, conn: Connection) -> None:
        if conn.refs:
            raise PoolError(
                f"connection {conn.id} can't be dropped due to rule references [{' '.join(conn.refs)}]")

    async def _close(self, conn: Connection) -> None:
        try:
            await connection_type(conn.typ).close(conn)
        except Exception:  # noqa: BLE001 - closing loses nothing; the entry goes either way
            log.exception("connection %s: error while closing", conn.id)

    def get(self, id: str) -> Connection:
        conn = self._conns.get(id)
        if conn is None:
            raise PoolError(f"connection {id} not existed")
        return conn

    def list(self, force_all: bool = False) -> list[Connection]:
        return [c for c in self._conns.values() if c.named or force_all]

    # --- references ----------------------------------------------------------------------

    def attach(self, id: str, ref: str) -> Connection:
        conn = self.get(id)
        if ref not in conn.refs:
            conn.refs.append(ref)
        return conn

    def detach(self, id: str, ref: str) -> None:
        conn = self._conns.get(id)
        if conn is not None:
            with contextlib.suppress(ValueError):
                conn.refs.remove(ref)

    # --- anonymous connections -------------------------------------------------------------

    def add_anonymous(self, id: str, typ: str, props: dict, client: Any, owner: str) -> Connection:
        """List a client a source or sink opened for itself (read-only; `remove_anonymous` at close)."""
        base, n = id, 1
        while id in self._conns:
            n += 1
            id = f"{base}-{n}"
        conn = Connection(id, typ, props, named=False)
        conn.client = client
        conn.refs.append(owner)
        self._conns[id] = conn
        return conn

    def remove_anonymous(self, conn: Connection) -> None:
        if self._conns.get(conn.id) is conn and not conn.named:
            del self._conns[conn.id]

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in list(self._conns.values()):
            if conn.named:
                await self._close(conn)
        self._conns.clear()


_current: ConnectionPool | None = None


def pool() -> ConnectionPool:
    """The process's pool (the engine makes a fresh one when it starts)."""
    global _current
    if _current is None:
        _current = ConnectionPool()
    return _current


def new_pool() -> ConnectionPool:
    global _current
    _current = ConnectionPool()
    return _current
