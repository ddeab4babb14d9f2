"""Named connections as the REST API, the CLI and rules see them (spec restapi §4).

The pool (`arrokoth.io.connections`) holds the live clients; this module keeps the named
ones in the store (`connections.<typ>` → `{id: props}`, the namespace the connection
confKeys share), seeds them from `etc/connections/connection.yaml`, answers with eKuiper's
messages, resolves a rule's `connectionSelector` (and a sink's `resourceId`) into the
props its connectors run with, and keeps the references of the rules that use them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from arrokoth.io import connection_types as _types  # noqa: F401 - registers the built-in types
from arrokoth.io.connections import (
    Connection,
    ConnectionPool,
    PoolError,
    ReadOnlyConnection,
    connection_types,
    new_pool,
)
from arrokoth.io.props import prop

if TYPE_CHECKING:
    from arrokoth.engine import Engine

log = logging.getLogger("arrokoth.connections")

NS_PREFIX = "connections."
#: where the hash of the last connection.yaml applied is kept
NS_META = "connections_meta"
SELECTOR = "connectionSelector"


class NamedConnections:
    def __init__(self, engine: Engine):
        from arrokoth.engine import EngineError

        self._error = EngineError
        self.engine = engine
        self.pool: ConnectionPool = new_pool()

    # --- loading ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Seed from connection.yaml, then open every stored named connection."""
        self._seed_from_yaml()
        await self.reload()

    async def reload(self) -> None:
        """Make the pool's named connections the stored ones (after an import): open the new
        and changed ones, drop those no longer stored unless a rule still uses them."""
        store = self.engine.store
        stored = {cid for ns in store.namespaces() if ns.startswith(NS_PREFIX) for cid in store.keys(ns)}
        for conn in self.pool.list():
            if conn.id not in stored:
                try:
                    await self.pool.drop(conn.id)
                except PoolError as e:
                    log.error("connection %s is no longer stored but stays open: %s", conn.id, e)
        for ns in store.namespaces():
            if not ns.startswith(NS_PREFIX):
                continue
            typ = ns[len(NS_PREFIX):]
            for cid, props in store.items(ns).items():
                existing = self._get(cid)
                if existing is not None and existing.typ == typ and existing.props == props:
                    continue
                try:
                    if existing is not None:
                        await self.pool.replace(cid, typ, props)
                    else:
                        await self.pool.create(cid, typ, props)
                except PoolError as e:
                    log.error("cannot open connection %s (%s): %s", cid, typ, e)

    def _seed_from_yaml(self) -> None:
        path = Path(self.engine.config.data_dir) / "etc" / "connections" / "connection.yaml"
        if not path.is_file():
            return
        text = path.read_bytes()
        digest = hashlib.sha256(text).hexdigest()
        store = self.engine.store
        if store.get(NS_META, "yaml_hash") == digest:
            return  # applied already: a connection dropped since stays dropped
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            log.error("%s is not valid YAML: %s", path, e)
            return
        if not isinstance(doc, dict):
            log.error("%s: expected a mapping of connection types to connections", path)
            return
        for typ, conns in doc.items():
            if not isinstance(conns, dict):
                log.error("%s: %s: expected a mapping of connection ids to props", path, typ)
                continue
            ns = f"{NS_PREFIX}{str(typ).lower()}"
            for cid, props in conns.items():
                if props is not None and not isinstance(props, dict):
                    log.error("%s: %s.%s: expected a mapping of props", path, typ, cid)
                    continue
                props = dict(props or {})
                operation = str(props.pop("xOperation", "create")).lower()
                if operation == "delete":
                    store.delete(ns, str(cid))
                elif not store.has(ns, str(cid)):  # never overwrites an existing id
                    store.set(ns, str(cid), props)
        store.set(NS_META, "yaml_hash", digest)

    # --- the REST operations ---------------------------------------------------------------

    def _get(self, cid: str) -> Connection | None:
        try:
            return self.pool.get(cid)
        except PoolError:
            return None

    async def create(self, body: Any) -> None:
        cid, typ, props = self._parse(body)
        from arrokoth.rules import RuleDefError, validate_id

        try:
            validate_id(cid)
        except RuleDefError as e:
            raise self._error(f"create connection failed: {e}") from None
        if self._get(cid) is not None:
            raise self._error(f"create connection failed: connection {cid} already been created")
        try:
            await self.pool.create(cid, typ, props)
        except PoolError as e:
            raise self._error(f"create connection failed: {e}") from None
        self.engine.store.set(f"{NS_PREFIX}{typ.lower()}", cid, props)

    async def update(self, cid: str, body: Any) -> None:
        _, typ, props = self._parse(body, cid)
        old = self._get(cid)
        try:
            await self.pool.replace(cid, typ, props)
        except ReadOnlyConnection as e:
            raise self._error(str(e)) from None
        except PoolError as e:
            raise self._error(f"update connection failed: {e}") from None
        if old is not None and old.typ != typ.lower():
            self.engine.store.delete(f"{NS_PREFIX}{old.typ}", cid)
        self.engine.store.set(f"{NS_PREFIX}{typ.lower()}", cid, props)

    async def drop(self, cid: str) -> None:
        conn = self._get(cid)
        try:
            await self.pool.drop(cid)
        except ReadOnlyConnection as e:
            raise self._error(str(e)) from None
        except PoolError as e:
            raise self._error(f"drop connection failed: {e}") from None
        if conn is not None:
            self.engine.store.delete(f"{NS_PREFIX}{conn.typ}", cid)

    async def describe(self, cid: str) -> dict:
        conn = self._get(cid)
        if conn is None:
            raise self._error(f"connection {cid} not existed")
        await self._live_status(conn)
        return conn.to_json()

    async def list(self, force_all: bool = False) -> list[dict]:
        conns = self.pool.list(force_all)
        # concurrently: one unreachable end must not make the list wait once per connection
        await asyncio.gather(*(self._live_status(c) for c in conns))
        return [c.to_json() for c in conns]

    async def _live_status(self, conn: Connection) -> None:
        # a stateless connection (sql, http...) has no link to report on: ask the remote end
        # (spec §4.1). eKuiper pings only one that said connected, a disconnected one being
        # redialled in the background; the pool does not redial, so a GET pings it whatever
        # its status and a remote end that came back reads `connected` again
        if conn.named:
            await self.pool.refresh(conn)

    def _parse(self, body: Any, path_id: str | None = None) -> tuple[str, str, dict]:
        verb = "update" if path_id is not None else "create"
        if not isinstance(body, dict):
            raise self._error(f"{verb} connection failed: the body must be a JSON object")
        cid = path_id if path_id is not None else body.get("id")
        typ = body.get("typ")
        if not cid or not typ or not isinstance(cid, str) or not isinstance(typ, str):
            raise self._error(f"{verb} connection failed: connection id and type should be defined")
        props = body.get("props")
        if props is None:
            props = {}
        if not isinstance(props, dict):
            raise self._error(f"{verb} connection failed: props must be a JSON object")
        if typ.lower() not in connection_types():
            raise self._error(f"{verb} connection failed: unknown connection type {typ!r}: "
                              f"expected one of {', '.join(connection_types())}")
        return cid, typ, props

    # --- rules -----------------------------------------------------------------------------

    def resolve(self, props: dict) -> dict:
        """Props with the selected connection's props under them (the connector's own win)."""
        selector = prop(props, SELECTOR)
        if not selector:
            return props
        if not isinstance(selector, str):
            raise self._error(f"{SELECTOR}: expected a connection id but got {selector!r}")
        conn = self._get(selector)
        if conn is None:
            raise self._error(f"connection {selector} not existed")
        merged = dict(conn.props)
        merged.update(props)
        return merged

    def attach(self, props: dict, ref: str) -> None:
        selector = prop(props, SELECTOR)
        if selector:
            try:
                self.pool.attach(selector, ref)
            except PoolError as e:
                raise self._error(str(e)) from None

    def detach(self, props: dict, ref: str) -> None:
        selector = prop(props, SELECTOR)
        if selector:
            self.pool.detach(selector, ref)

    async def close(self) -> None:
        await self.pool.close()
