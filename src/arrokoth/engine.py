"""The facade every entry point calls: streams, tables, rules, config keys, import/export.

The engine owns the definitions (persisted in the store), the running rules, one
`StreamFeed` per stream and one source per stream that some running rule reads.
Errors are `EngineError`s carrying eKuiper's error code and HTTP status, so the REST
layer only formats them.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from arrokoth import rule_metrics
from arrokoth.config import Config
from arrokoth.functions import jsonvalue
from arrokoth.io import http_listener
from arrokoth.io.lookup.base import KeyedLookup, LookupConfigError
from arrokoth.io.lookup.memory import MemoryLookupTable
from arrokoth.io.lookup.registry import lookup_class, lookup_types
from arrokoth.io.props import MissingExtra, prop
from arrokoth.io.sinks.base import SinkConfigError, SinkNode
from arrokoth.io.sinks.cache import remove_rule_caches
from arrokoth.io.sinks.registry import sink_class
from arrokoth.io.sources.base import Source, SourceConfigError
from arrokoth.io.sources.registry import source_class
from arrokoth.named_connections import SELECTOR, NamedConnections
from arrokoth.plan.streams import StreamDef, StreamDefError
from arrokoth.rules import RuleDef, RuleDefError, check_version, validate_id
from arrokoth.runtime.builder import RuleError, attach, build_rule, detach, lookups_by_index, plan_sql
from arrokoth.runtime.clock import Clock, RealClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.runtime.rule import RuleRuntime
from arrokoth.sql import SqlSyntaxError, ast, parse, to_sql
from arrokoth.store.base import Store

log = logging.getLogger("arrokoth.engine")

NS_STREAMS = "streams"
NS_TABLES = "tables"
NS_RULES = "rules"
NS_RULE_STATE = "rule_state"


class EngineError(Exception):
    """An error with eKuiper's code; status 404 only for code 1002 (not found)."""

    def __init__(self, message: str, code: int = 1000, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status if status is not None else (404 if code == 1002 else 400)


def _kind_word(kind: str) -> str:
    return "Table" if kind == "table" else "Stream"


@dataclass
class RuleEntry:
    definition: RuleDef
    runtime: RuleRuntime | None = None
    sinks: list[SinkNode] = field(default_factory=list)
    status: str = "stopped"
    message: str = ""
    last_start: int = 0
    last_stop: int = 0
    started_once: bool = False
    topo: dict | None = None
    #: each source's node name (`<stream>`, or `<connection>/<datasource>`), fixed at start
    source_nodes: list[str] = field(default_factory=list)
    #: (props, reference) of each node of the running rule that uses a named connection
    conn_refs: list[tuple[dict, str]] = field(default_factory=list)


class Engine:
    def __init__(self, config: Config, store: Store, clock: Clock | None = None):
        self.config = config
        self.store = store
        self.clock = clock or RealClock()
        self.started_at = time.time()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.cpu_at_start = usage.ru_utime + usage.ru_stime
        self.streams: dict[str, StreamDef] = {}
        self.rules: dict[str, RuleEntry] = {}
        self.feeds: dict[str, StreamFeed] = {}
        self.sources: dict[str, Source] = {}
        self.lookup_tables: dict[str, MemoryLookupTable | KeyedLookup] = {}
        self._lock = asyncio.Lock()
        self.http_listener = http_listener.configure(config.get("basic.httpServerIp"), config.get("basic.httpServerPort"))
        from arrokoth.ruletest import RuleTests

        self.rule_tests = RuleTests(self)
        self.connections = NamedConnections(self)

    # --- lifecycle ---------------------------------------------------------------

    async def open(self) -> None:
        """Load the stored definitions and start the rules that were running."""
        from arrokoth.schemas import registry_for

        registry_for(self)  # protobuf streams need their schemas before rules restart
        await self.connections.open()  # rules that select a named connection need it open
        for ns, kind in ((NS_STREAMS, "stream"), (NS_TABLES, "table")):
            for name, sql in self.store.items(ns).items():
                try:
                    self.streams[name] = self._parse_stream(sql, kind)[1]
                except EngineError as e:
                    log.error("cannot load %s %s: %s", kind, name, e.message)
        for rule_id, text in self.store.items(NS_RULES).items():
            try:
                definition = RuleDef.parse(text)
            except RuleDefError as e:
                log.error("cannot load rule %s: %s", rule_id, e)
                continue
            self.rules[rule_id] = RuleEntry(definition)
        for rule_id, entry in self.rules.items():
            if entry.definition.triggered:
                try:
                    await self._start(entry)
                except EngineError as e:
                    entry.status = "stopped by error"
                    entry.message = e.message
                    log.error("cannot restart rule %s: %s", rule_id, e.message)

    async def close(self) -> None:
        await self.rule_tests.close()
        for entry in self.rules.values():
            await self._stop(entry, "canceled manually", persist=False)
        for source in list(self.sources.values()):
            await source.stop()
        self.sources.clear()
        for name in list(self.lookup_tables):
            self._forget_lookup(name)
        await self.connections.close()
        await self.http_listener.close()
        self.store.close()

    # --- streams and tables ------------------------------------------------------

    def _parse_stream(self, sql: str, kind: str | None) -> tuple[ast.CreateStream, StreamDef]:
        try:
            stmt = parse(sql)
        except SqlSyntaxError as e:
            raise EngineError(str(e), 3000) from None
        if not isinstance(stmt, ast.CreateStream):
            raise EngineError("the statement must be CREATE STREAM or CREATE TABLE", 3000)
        try:
            return stmt, StreamDef.from_ast(stmt, sql)
        except StreamDefError as e:
            raise EngineError(str(e), 3000) from None

    def exec_stream_statement(self, sql: str) -> str:
        """POST /streams and /tables: any stream statement; results joined by newlines."""
        try:
            stmt = parse(sql)
        except SqlSyntaxError as e:
            raise EngineError(f"Stream command error: {e}", 3000) from None
        if isinstance(stmt, ast.CreateStream):
            return self.create_stream(sql, stmt)
        if isinstance(stmt, ast.ShowStreams):
            kind = "table" if stmt.kind == "TABLES" else "stream"
            names = self.list_streams(kind)
            return "\n".join(names) if names else f"No {kind} definitions are found."
        if isinstance(stmt, ast.DescribeStream):
            return jsonvalue.dumps(self.describe_stream(stmt.name, stmt.kind.lower()))
        if isinstance(stmt, ast.ExplainStream):
            d = self._get_stream(stmt.name, stmt.kind.lower(), "explain")
            return d.sql
        if isinstance(stmt, ast.DropStream):
            return self.drop_stream(stmt.name, stmt.kind.lower())
        raise EngineError("Stream command error: only stream and table statements are allowed here", 3000)

    def create_stream(self, sql: str, stmt: ast.CreateStream | None = None) -> str:
        if stmt is None:
            stmt, d = self._parse_stream(sql, None)
        else:
            d = self._parse_stream(sql, None)[1]
        word = _kind_word(d.kind)
        try:
            validate_id(d.name)
        except RuleDefError as e:
            raise EngineError(str(e)) from None
        if d.name in self.streams:
            raise EngineError(f"Stream command error: Create {word.lower()} fails: Item {d.name} already exists.", 3000)
        self._check_source_type(d)
        self.streams[d.name] = d
        if d.options.get("TEMP") not in (True, "true"):
            self.store.set(NS_TABLES if d.kind == "table" else NS_STREAMS, d.name, sql)
        return f"{word} {d.name} is created."

    def _check_source_type(self, d: StreamDef) -> None:
        if d.kind == "table" and d.lookup:
            if d.type not in lookup_types():
                raise EngineError(f"lookup table type {d.type} is not supported", 3000)
            if d.type == "memory" and not d.option("KEY"):
                raise EngineError("lookup table must have a KEY option", 3000)

    def replace_stream(self, name: str, sql: str, kind: str) -> str:
        stmt, d = self._parse_stream(sql, kind)
        word = _kind_word(kind)
        if d.name != name:
            raise EngineError(f"Replace {name} fails: the sql statement must update the {name} source.", 3000)
        if d.kind != kind:
            raise EngineError(f"{word} {name} is not found", 1002)
        old = self.streams.get(name)
        if old is not None:
            if old.shared != d.shared:
                raise EngineError(f"Replace {name} fails: the SHARED option cannot be changed", 3000)
            new_v, old_v = d.option("VERSION"), old.option("VERSION")
            if old_v and not new_v > old_v:
                raise EngineError(f"Replace {name} fails: the version {new_v} is not greater than {old_v}", 3000)
        if d.options.get("TEMP") in (True, "true"):
            raise EngineError(f"Replace {name} fails: TEMP is not allowed in a replace", 3000)
        self._check_source_type(d)
        self.streams[name] = d
        self._forget_lookup(name)
        self.store.set(NS_TABLES if kind == "table" else NS_STREAMS, name, sql)
        return f"{word} {name} is replaced."

    def _get_stream(self, name: str, kind: str, verb: str = "describe") -> StreamDef:
        d = self.streams.get(name)
        if d is None or d.kind != kind:
            raise EngineError(f"{verb} {kind} error: {_kind_word(kind)} {name} is not found.", 3000)
        return d

    def list_streams(self, kind: str, table_kind: str | None = None) -> list[str]:
        out = []
        for name, d in sorted(self.streams.items()):
            if d.kind != kind:
                continue
            if table_kind == "lookup" and not d.lookup:
                continue
            if table_kind == "scan" and d.lookup:
                continue
            out.append(name)
        return out

    def stream_details(self, kind: str, table_kind: str | None = None) -> list[dict]:
        return [
            {"name": n, "type": self.streams[n].type, "format": self.streams[n].format}
            for n in self.list_streams(kind, table_kind)
        ]

    def describe_stream(self, name: str, kind: str) -> dict:
        d = self.streams.get(name)
        if d is None or d.kind != kind:
            raise EngineError(
                f"describe {kind} error: Describe {kind} fails, {name} is not found.", 3000
            )
        from arrokoth.streams_json import describe

        return describe(d)

    def stream_schema(self, name: str, kind: str) -> dict | None:
        d = self.streams.get(name)
        if d is None or d.kind != kind:
            raise EngineError(f"get schema error: {_kind_word(kind)} {name} is not found.", 3000)
        from arrokoth.streams_json import schema

        return schema(d, self._referenced(name))

    def drop_stream(self, name: str, kind: str, force: bool = False) -> str:
        d = self.streams.get(name)
        if d is None:
            raise EngineError(f"delete {kind} error: {kind} {name} is not found", 1002)
        if not force:
            for entry in self.rules.values():
                if name in self._sql_streams(entry.definition.sql):
                    raise EngineError(f"{d.kind} {name} has been referenced by other rules")
        del self.streams[name]
        self._forget_lookup(name)
        self.store.delete(NS_TABLES if d.kind == "table" else NS_STREAMS, name)
        return f"{_kind_word(d.kind)} {name} is dropped."

    def _sql_streams(self, sql: str) -> list[str]:
        """The streams and tables a rule's SQL reads, in FROM/JOIN order."""
        try:
            stmt = parse(sql)
        except SqlSyntaxError:
            return []
        if not isinstance(stmt, ast.Select):
            return []
        return [stmt.source.name] + [j.source.name for j in stmt.joins]

    # --- rules -------------------------------------------------------------------

    def _plan_check(self, definition: RuleDef) -> None:
        """Plan the rule and build its sinks without starting anything."""
        from arrokoth.plan.options import OptionError, RuleOptions

        try:
            options = RuleOptions.from_dict(self._options_for(definition.options))
            if options.concurrency < 0:
                raise OptionError(f"invalidConcurrency:{options.concurrency}")
        except OptionError as e:
            raise EngineError(f"Rule {definition.id} has invalid options: {e}.") from None
        try:
            plan = plan_sql(definition.sql, self.streams, options)
            # lookup tables are constructed (their properties checked) and their joins checked
            lookups_by_index(plan, self._lookups_for_sql(definition.sql))
        except (RuleError, SqlSyntaxError) as e:
            raise EngineError(str(e)) from None
        for index, s in enumerate(plan.sources):
            d = plan.streams[index]
            if d.kind == "table" and d.lookup:
                continue  # lookup tables are served by the engine, not by a source plugin
            try:
                # constructing a source checks its properties; it connects only on start
                source_class(d.type)(d, self._source_props(d), StreamFeed(d, self.clock))
            except SourceConfigError as e:
                raise EngineError(f"fail to create source of stream {s.name}: {e}") from None
        self._sink_nodes(definition)

    def _options_for(self, rule_options: dict) -> dict:
        """A rule's options over the configured defaults, key by key."""
        options = self.config.rule_defaults
        options.update(rule_options)
        return options

    def _sink_nodes(self, definition: RuleDef) -> list[SinkNode]:
        nodes = []
        for action in definition.actions:
            (typ, props), = action.items()
            try:
                props = self._sink_props(typ, props)
                nodes.append(SinkNode(
                    sink_class(typ)(props), props, clock=self.clock, data_dir=self.config.data_dir,
                    rule_id=definition.id, sink_type=typ, index=len(nodes),
                    defaults=self.config.values.get("sink") or {},
                ))
            except SinkConfigError as e:
                raise EngineError(f"fail to create sink {typ}: {e}") from None
        return nodes

    async def create_rule(self, body: str | bytes | dict) -> str:
        try:
            definition = RuleDef.parse(body)
        except RuleDefError as e:
            raise EngineError(f"invalid rule json: {e}") from None
        async with self._lock:
            if definition.id in self.rules:
                raise EngineError(f"rule {definition.id} already exists")
            self._plan_check(definition)
            entry = RuleEntry(definition)
            self.rules[definition.id] = entry
            self._persist(entry)
            if definition.triggered:
                await self._start_or_record(entry)
        return f"Rule {definition.id} was created successfully."

    async def upsert_rule(self, rule_id: str, body: str | bytes | dict) -> str:
        try:
            definition = RuleDef.parse(body, path_id=rule_id)
        except RuleDefError as e:
            raise EngineError(f"Update rule error: Invalid rule json: {e}") from None
        async with self._lock:
            old = self.rules.get(rule_id)
            try:
                check_version(old.definition if old else None, definition)
            except RuleDefError as e:
                raise EngineError(f"Update rule error: {e}") from None
            try:
                self._plan_check(definition)
            except EngineError as e:
                raise EngineError(f"Update rule error: {e.message}") from None
            if old is not None:
                await self._stop(old, "stopped by update", persist=False)
            entry = RuleEntry(definition)
            if old is not None:
                entry.last_start, entry.last_stop = old.last_start, old.last_stop
            self.rules[rule_id] = entry
            self._persist(entry)
            if definition.triggered:
                await self._start_or_record(entry)
        return f"Rule {rule_id} was updated successfully."

    def _persist(self, entry: RuleEntry) -> None:
        if not entry.definition.temp:
            self.store.set(NS_RULES, entry.definition.id, entry.definition.text)

    def _entry(self, rule_id: str, message: str) -> RuleEntry:
        entry = self.rules.get(rule_id)
        if entry is None:
            raise EngineError(message, 1002)
        return entry

    def get_rule(self, rule_id: str) -> str:
        return self._entry(rule_id, f"Describe rule error: Rule {rule_id} is not found.").definition.text

    async def delete_rule(self, rule_id: str) -> str:
        async with self._lock:
            entry = self.rules.get(rule_id)
            if entry is None:
                raise EngineError(f"Delete rule error: rule {rule_id} not found")
            await self._stop(entry, "canceled manually", persist=False)
            del self.rules[rule_id]
            self.store.delete(NS_RULES, rule_id)
            remove_rule_caches(self.config.data_dir, rule_id)
        return f"Rule {rule_id} is dropped."

    async def start_rule(self, rule_id: str) -> str:
        entry = self._entry(
            rule_id, f"start rule error: Rule {rule_id} is not found in registry, please check if it is created"
        )
        async with self._lock:
            self._set_triggered(entry, True)
            await self._start_or_record(entry)
        return f"Rule {rule_id} was started"

    async def stop_rule(self, rule_id: str) -> str:
        entry = self._entry(rule_id, f"stop rule error: Rule {rule_id} is not found in registry")
        async with self._lock:
            self._set_triggered(entry, False)
            await self._stop(entry, "canceled manually")
        return f"Rule {rule_id} was stopped."

    async def restart_rule(self, rule_id: str) -> str:
        entry = self._entry(rule_id, f"restart rule error: Rule {rule_id} is not found in registry")
        async with self._lock:
            await self._stop(entry, "canceled manually", persist=False)
            self._set_triggered(entry, True)
            await self._start_or_record(entry)
        return f"Rule {rule_id} was restarted"

    def _set_triggered(self, entry: RuleEntry, triggered: bool) -> None:
        if entry.definition.triggered != triggered:
            entry.definition.triggered = triggered
            entry.definition.touch()
            self._persist(entry)

    async def _start_or_record(self, entry: RuleEntry) -> None:
        """Start the rule; a failure after planning shows as `stopped by error`."""
        try:
            await self._start(entry)
        except EngineError as e:
            entry.status = "stopped by error"
            entry.message = e.message

    async def _start(self, entry: RuleEntry) -> None:
        if entry.runtime is not None:
            return
        definition = entry.definition
        sinks = self._sink_nodes(definition)
        # a sink whose destination is down does not fail the start: its node reconnects
        await asyncio.gather(*(node.start() for node in sinks))

        def emit(rows: list[dict], sinks: list[SinkNode] = sinks) -> None:
            for node in sinks:
                try:
                    node.collect(rows)
                except Exception as e:  # noqa: BLE001 - a failing sink must not stop the rule
                    node.record_exception(e)

        try:
            runtime = build_rule(
                definition.id, definition.sql, self.streams, emit, self.clock, self._options_for(definition.options),
                lookups=self._lookups_for_sql(definition.sql),
            )
        except (RuleError, SqlSyntaxError) as e:
            await asyncio.gather(*(node.stop() for node in sinks))
            raise EngineError(str(e)) from None
        for s in runtime.plan.sources:
            if s.name not in self.feeds:
                self.feeds[s.name] = StreamFeed(self.streams[s.name], self.clock)
        attach(runtime, self.feeds)
        runtime.start()
        entry.runtime = runtime
        entry.sinks = sinks
        entry.status = "running"
        entry.message = ""
        entry.last_start = self.clock.now_ms()
        entry.started_once = True
        entry.source_nodes = [self._source_node(s.name) for s in runtime.plan.sources]
        entry.topo = rule_metrics.topology(entry)
        try:
            self._attach_connections(entry, runtime)
            for index, s in enumerate(runtime.plan.sources):
                if index not in runtime.lookups:
                    await self._ensure_source(s.name)
        except EngineError as e:
            # a source that cannot start: undo the run so nothing stays attached or open
            await self._stop(entry, e.message, persist=False)
            raise

    def _attach_connections(self, entry: RuleEntry, runtime: RuleRuntime) -> None:
        """Reference the named connections the rule's sources and sinks select (§4.1 refCount)."""
        rid = entry.definition.id
        for s, node in zip(runtime.plan.sources, entry.source_nodes):
            d = self.streams[s.name]
            if not (d.kind == "table" and d.lookup):
                entry.conn_refs.append((self._source_props(d), f"{rid}_{node}_0"))
        for i, sink in enumerate(entry.sinks):
            entry.conn_refs.append((sink.props, f"{rid}_{sink.sink_type}_{i}_0"))
        for props, ref in entry.conn_refs:
            self.connections.attach(props, ref)

    def _lookups_for_sql(self, sql: str) -> dict[str, Callable | KeyedLookup]:
        """The lookup tables a rule reads, by name, created on first use: a memory table's
        `rows()`, or the KeyedLookup itself, which the rule queries by key (a bound
        `rows(keys, values)` would look to the runtime like a table to read whole)."""
        out = {}
        for name in self._sql_streams(sql):
            d = self.streams.get(name)
            if d is not None and d.kind == "table" and d.lookup:
                table = self.lookup_tables.get(name)
                if table is None:
                    table = self.lookup_tables[name] = self._new_lookup(d)
                out[name] = table if isinstance(table, KeyedLookup) else table.rows
        return out

    def _new_lookup(self, d: StreamDef) -> MemoryLookupTable | KeyedLookup:
        """A lookup table for the definition `d`; its properties are checked, nothing connects."""
        if d.type == "memory":
            return MemoryLookupTable(d.name, d.datasource, d.option("KEY"))
        props = self._source_props(d)
        try:
            return KeyedLookup(lookup_class(d.type)(d, props), props)
        except (LookupConfigError, MissingExtra) as e:
            raise EngineError(f"fail to create lookup table {d.name}: {e}") from None

    def _forget_lookup(self, name: str) -> None:
        table = self.lookup_tables.pop(name, None)
        if table is not None:
            try:
                table.close()
            except Exception:  # noqa: BLE001 - a remote end failing at close loses nothing
                log.exception("closing lookup table %s", name)

    async def _ensure_source(self, name: str) -> None:
        if name in self.sources:
            return
        d = self.streams[name]
        try:
            cls = source_class(d.type)
            source = cls(d, self._source_props(d), self.feeds[name])
            await source.start()
        except SourceConfigError as e:
            raise EngineError(f"cannot start source {name}: {e}") from None
        self.sources[name] = source

    def _source_props(self, d: StreamDef) -> dict:
        from arrokoth.confkeys import source_props

        return self.connections.resolve(source_props(self, d))

    def _sink_props(self, typ: str, props: dict) -> dict:
        """An action's props over its `resourceId` confKey, over its named connection."""
        from arrokoth.confkeys import shipped

        rid = props.get("resourceId")
        if rid:
            sections = {k: dict(v) for k, v in shipped("sinks", typ.lower()).items()}
            sections.update(self.store.items(f"sinks.{typ.lower()}"))
            if isinstance(rid, str) and rid in sections:
                props = {**sections[rid], **props}
            else:  # as a source's missing CONF_KEY: the action's own props, with a warning
                log.warning("resource %s of sink %s is not found; using the action's properties", rid, typ)
        return self.connections.resolve(props)

    def _source_node(self, name: str) -> str:
        """A source's node name: `<connection>/<datasource>` when it selects a named connection."""
        from arrokoth.confkeys import source_props

        d = self.streams.get(name)
        selector = prop(source_props(self, d), SELECTOR) if d is not None else None
        return f"{selector}/{d.datasource}" if selector else name

    async def _stop(self, entry: RuleEntry, message: str, *, persist: bool = True) -> None:
        runtime = entry.runtime
        if runtime is None:
            if entry.status != "stopped by error":
                entry.status = "stopped"
            return
        detach(runtime, self.feeds)
        runtime.stop()
        for props, ref in entry.conn_refs:
            self.connections.detach(props, ref)
        entry.conn_refs = []
        # each sink sends its pending batch, keeps its cache on disk and closes
        await asyncio.gather(*(node.stop() for node in entry.sinks))
        entry.runtime = None
        entry.status = "stopped"
        entry.message = message
        entry.last_stop = self.clock.now_ms()
        entry.final_metrics = rule_metrics.metrics(self, entry, runtime)  # type: ignore[attr-defined]
        for name, feed in list(self.feeds.items()):
            if feed.subscribers == 0:
                source = self.sources.pop(name, None)
                if source is not None:
                    await source.stop()

    # --- status ------------------------------------------------------------------

    def list_rules(self) -> list[dict]:
        return [
            {
                "id": rid,
                "name": e.definition.name or rid,
                "status": e.status,
                "tags": e.definition.tags,
                "trace": False,
                "version": e.definition.version,
            }
            for rid, e in sorted(self.rules.items())
        ]

    def rule_status(self, rule_id: str) -> tuple[dict, dict]:
        entry = self._entry(rule_id, f"get rule status error: Rule {rule_id} is not found")
        header = {
            "status": entry.status,
            "message": entry.message,
            "lastStartTimestamp": entry.last_start,
            "lastStopTimestamp": entry.last_stop,
            "nextStartTimestamp": 0,
        }
        if entry.runtime is not None:
            metrics = rule_metrics.metrics(self, entry, entry.runtime)
        else:
            metrics = getattr(entry, "final_metrics", {}) if entry.started_once else {}
        return header, metrics

    def all_status(self) -> dict:
        out = {}
        for rid, e in sorted(self.rules.items()):
            item: dict[str, Any] = {"status": e.status}
            if e.runtime is not None:
                item["last_exception"] = e.runtime.metrics.last_exception
                item["exceptions_total"] = e.runtime.metrics.exceptions
            out[rid] = item
        return out

    def rule_topo(self, rule_id: str) -> dict:
        entry = self._entry(rule_id, f"get rule topo error: Rule {rule_id} is not found.")
        if entry.topo is None:
            raise EngineError(
                f"get rule topo error: Fail to get rule {rule_id}'s topo, make sure the rule has been started before",
                1001,
            )
        return entry.topo

    def explain_rule(self, rule_id: str) -> str:
        entry = self._entry(rule_id, f"explain rules error: Rule {rule_id} is not found.")
        try:
            plan = plan_sql(entry.definition.sql, self.streams, self._options_for(entry.definition.options))
        except RuleError as e:
            raise EngineError(f"explain rules error: {e}") from None
        sel = plan.select
        # eKuiper's logical plan, top-down: each node one level deeper than its parent
        chain = [("ProjectPlan", "Fields:[ " + ", ".join(to_sql(f) for f in sel.fields if not f.invisible) + " ]")]
        if sel.order_by:
            chain.append(("OrderPlan", "SortFields:[ " + ", ".join(to_sql(o) for o in sel.order_by) + " ]"))
        if sel.having is not None:
            chain.append(("HavingPlan", f"Condition:{{ {to_sql(sel.having)} }}"))
        if sel.dimensions or plan.aggregate:
            chain.append(("AggregatePlan", "Dimension:{ " + ", ".join(to_sql(d) for d in sel.dimensions) + " }"))
        if sel.where is not None:
            chain.append(("FilterPlan", f"Condition:{{ {to_sql(sel.where)} }}"))
        if sel.joins:
            chain.append(("JoinPlan", "Joins:[ " + ", ".join(
                f"{j.kind} JOIN {j.source.name}" + (f" ON {to_sql(j.on)}" if j.on is not None else "") for j in sel.joins
            ) + " ]"))
        if sel.window is not None:
            chain.append(("WindowPlan", f"{{ window:{to_sql(sel.window)} }}"))
        if plan.analytics:
            chain.append(("AnalyticFuncsPlan", f"Funcs:{len(plan.analytics)}"))
        lines = []
        for depth, (op, info) in enumerate(chain):
            lines.append("\t" * depth + jsonvalue.encode({"op": f"{op}_{depth}", "info": info}).decode())
        depth = len(chain)
        for i, source in enumerate(plan.sources):
            info = f"StreamName: {source.name}"
            if source.columns:
                info += ", StreamFields:[ " + ", ".join(source.columns) + " ]"
            lines.append("\t" * depth + jsonvalue.encode({"op": f"DataSourcePlan_{depth + i}", "info": info}).decode())
        return "\n".join(lines)

    def validate_rule(self, body: str | bytes | dict) -> dict:
        try:
            definition = RuleDef.parse(body)
        except RuleDefError as e:
            raise EngineError(f"invalid rule json: {e}", status=422) from None
        try:
            plan = plan_sql(definition.sql, self.streams, self._options_for(definition.options))
        except (RuleError, SqlSyntaxError) as e:
            raise EngineError(str(e), status=422) from None
        return {"sources": [s.name for s in plan.sources], "valid": True}

    def rule_schema(self, rule_id: str) -> dict:
        """The output columns of a rule and, where the streams declare them, their types."""
        entry = self._entry(rule_id, f"get rule schema error: Rule {rule_id} is not found.")
        try:
            plan = plan_sql(entry.definition.sql, self.streams, self._options_for(entry.definition.options))
        except RuleError as e:
            raise EngineError(f"get rule schema error: {e}") from None
        from arrokoth.plan.projection import output_names
        from arrokoth.streams_json import schema as stream_schema

        fields = plan.select.fields
        out: dict[str, Any] = {}
        for f, name in zip(fields, output_names(fields)):
            if f.invisible:
                continue
            if name is None:  # a wildcard: every column of the streams it covers
                for source, d in zip(plan.sources, plan.streams):
                    if f.expr.stream in (None, source.ref):
                        for col, typ in stream_schema(d, self._referenced(source.name)).items():
                            out.setdefault(col, typ)
                continue
            typ = None
            if isinstance(f.expr, ast.FieldRef):
                for d in plan.streams:
                    if d.columns and f.expr.name in d.columns:
                        typ = stream_schema(d)[f.expr.name]
                        break
            out[name] = typ
        return out

    def _referenced(self, stream: str) -> list[str]:
        """Columns the rules reading a schemaless stream refer to."""
        names: list[str] = []
        for entry in self.rules.values():
            try:
                stmt = parse(entry.definition.sql)
            except SqlSyntaxError:
                continue
            if isinstance(stmt, ast.Select) and stream in self._sql_streams(entry.definition.sql):
                names.extend(n.name for n in ast.walk(stmt) if isinstance(n, ast.FieldRef))
        return names

    def scan_tables(self, rule_id: str) -> list[dict]:
        """The scan-table rows a running rule's join holds right now."""
        entry = self._entry(rule_id, f"rule {rule_id} is not found")
        window = entry.runtime.window if entry.runtime is not None else None
        tables = getattr(window, "tables", None)
        if not tables:
            raise EngineError(f"rule {rule_id} has no join with a scan table")
        rows = [{"emitter": row.emitter, "content": row.msg} for q in tables.values() for row in q]
        if not rows:
            raise EngineError(f"the scan tables of rule {rule_id} are empty")
        return rows

    async def reset_state(self, rule_id: str, state_type: Any, params: Any) -> str:
        entry = self._entry(rule_id, f"reset rule state error: Rule {rule_id} is not found.")
        if state_type != 1:
            raise EngineError(f"unknown stateType:{state_type if isinstance(state_type, int) else 0}")
        if entry.runtime is None:
            raise EngineError(f"rule {rule_id} is not running")
        stream = params.get("streamName") if isinstance(params, dict) else None
        if stream not in self._sql_streams(entry.definition.sql):
            raise EngineError(f"stream {stream} is not a source of rule {rule_id}")
        raise EngineError(f"the source of stream {stream} is not rewindable")

    # --- tags --------------------------------------------------------------------

    def set_tags(self, rule_id: str, tags: list[str], mode: str) -> None:
        entry = self._entry(rule_id, f"rule {rule_id} not found")
        current = list(entry.definition.tags or [])
        if mode == "replace":
            current = list(dict.fromkeys(tags))
        elif mode == "add":
            current = list(dict.fromkeys(current + tags))
        else:
            current = [t for t in current if t not in tags]
        entry.definition.tags = current
        entry.definition.touch()
        self._persist(entry)

    def match_tags(self, tags: list[str]) -> list[str]:
        return [
            rid for rid, e in sorted(self.rules.items())
            if all(t in (e.definition.tags or []) for t in tags)
        ]

    async def bulk(self, tags: list[str], start: bool) -> list[dict]:
        ids = self.match_tags(tags) if tags else []
        if not ids:
            raise EngineError(f"bulk {'start' if start else 'stop'} failed: no matching rules")
        out = []
        for rid in ids:
            try:
                await (self.start_rule(rid) if start else self.stop_rule(rid))
                out.append({"ruleId": rid, "success": True})
            except EngineError as e:
                out.append({"ruleId": rid, "success": False, "error": e.message})
        return out


__all__ = ["Engine", "EngineError", "RuleEntry", "to_sql"]
