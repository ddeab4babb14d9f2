"""From rule text to a running rule: parse, plan, wire to stream feeds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from arrokoth.functions import builtins
from arrokoth.functions.registry import Registry
from arrokoth.functions.registry import registry as default_registry
from arrokoth.plan.compiler import PlanError
from arrokoth.plan.logical import RulePlan, plan_rule
from arrokoth.plan.options import OptionError, RuleOptions
from arrokoth.plan.rows import Row
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.clock import Clock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.runtime.rule import Emit, RuleRuntime
from arrokoth.sql import ast, parse


class RuleError(Exception):
    """The rule cannot be created; the message says why."""


def plan_sql(
    sql: str,
    streams: dict[str, StreamDef],
    options: RuleOptions | dict | None = None,
    registry: Registry | None = None,
) -> RulePlan:
    builtins.load()
    stmt = parse(sql)
    if not isinstance(stmt, ast.Select):
        raise RuleError("the rule SQL must be a SELECT statement")
    try:
        opts = options if isinstance(options, RuleOptions) else RuleOptions.from_dict(options)
    except OptionError as e:
        raise RuleError(str(e)) from None
    try:
        return plan_rule(stmt, streams, opts, registry or default_registry)
    except PlanError as e:
        raise RuleError(str(e)) from None


def attach(runtime: RuleRuntime, feeds: dict[str, StreamFeed]) -> None:
    """Subscribe the rule to the feeds of the streams it reads (scan tables included)."""
    event_time = runtime.plan.options.is_event_time
    for index, source in enumerate(runtime.plan.sources):
        if index in runtime.lookups:
            continue  # looked up per row, not fed
        feed = feeds[source.name]
        feed.subscribe(runtime.ingest, index, runtime.error, event_time=event_time)


def detach(runtime: RuleRuntime, feeds: dict[str, StreamFeed]) -> None:
    for source in runtime.plan.sources:
        feed = feeds.get(source.name)
        if feed is not None:
            feed.unsubscribe(runtime.ingest)


def build_rule(
    rule_id: str,
    sql: str,
    streams: dict[str, StreamDef],
    emit: Emit,
    clock: Clock,
    options: RuleOptions | dict | None = None,
    registry: Registry | None = None,
    lookups: dict[str, Callable[[], list[Row]] | Any] | None = None,
) -> RuleRuntime:
    """Plan and build a rule. `lookups` gives, by table name, each lookup table: a callable
    returning all its rows (memory), or an object queried by key (`KeyedLookup`)."""
    plan = plan_sql(sql, streams, options, registry)
    return RuleRuntime(rule_id, plan, emit, clock, lookups=lookups_by_index(plan, lookups))


def lookups_by_index(plan: RulePlan, lookups: dict[str, Any] | None) -> dict[int, Any]:
    """The plan's lookup tables by source index, checking each is joined as it can be."""
    by_index = {}
    for i, (source, d) in enumerate(zip(plan.sources, plan.streams)):
        if source.is_table and d.lookup:
            if not lookups or source.name not in lookups:
                raise RuleError(f"lookup table {source.name} has no source to look up")
            by_index[i] = lookups[source.name]
    for spec in plan.joins:
        if spec.index in by_index and not callable(by_index[spec.index]):
            name = plan.sources[spec.index].name
            if spec.kind not in ("INNER", "LEFT"):
                raise RuleError(f"join type {spec.kind} is not supported for lookup table {name}")
            if not spec.keys:
                raise RuleError(f"lookup table {name} must be joined by equality conditions on its columns, "
                                f"such as ON stream.id = {name}.id")
    return by_index
