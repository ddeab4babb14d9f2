"""A running rule's topology and metrics, named as eKuiper names them (spec restapi §3.4).

Nodes are `source_<stream>` (or `source_<connection>/<datasource>` for a source on a
named connection), `op_<seq>_<operator>` in planner order, and per action
`op_<type>_<i>_0_transform`, `op_<type>_<i>_1_encode` and `sink_<type>_<i>`; each
carries the nine metrics of every node, sources and sinks five connection metrics more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arrokoth.engine import Engine, RuleEntry
    from arrokoth.runtime.rule import RuleRuntime


def node_names(entry: RuleEntry, runtime: RuleRuntime) -> dict[str, list[str]]:
    plan = runtime.plan
    sources = [f"source_{node}" for node in entry.source_nodes]
    ops = []
    seq = len(sources) + 1
    names = ["decoder"]
    if plan.options.is_event_time:
        names.append("watermark")
    if plan.analytics:
        names.append("analytic")
    if plan.window is not None:
        names.append("window")
    if plan.joins:
        names.append("join")
    if plan.where is not None:
        names.append("filter")
    if plan.dimensions or plan.aggregate:
        names.append("aggregate")
    if plan.having is not None:
        names.append("having")
    if plan.order_by:
        names.append("order")
    names.append("project")
    for n in names:
        ops.append(f"op_{seq}_{n}")
        seq += 1
    sinks = []
    for i, action in enumerate(entry.definition.actions):
        typ = next(iter(action))
        ops.append(f"op_{typ}_{i}_0_transform")
        ops.append(f"op_{typ}_{i}_1_encode")
        sinks.append(f"sink_{typ}_{i}")
    return {"sources": sources, "ops": ops, "sinks": sinks}

def topology(entry: RuleEntry) -> dict:
    nodes = node_names(entry, entry.runtime)
    edges: dict[str, list[str]] = {}
    core = [o for o in nodes["ops"] if not o.endswith(("_transform", "_encode"))]
    for s in nodes["sources"]:
        edges[s] = [core[0]]
    for a, b in zip(core, core[1:]):
        edges[a] = [b]
    last = core[-1]
    edges[last] = []
    for i, sink in enumerate(nodes["sinks"]):
        typ = sink[len("sink_"):].rsplit("_", 1)[0]
        transform, encode = f"op_{typ}_{i}_0_transform", f"op_{typ}_{i}_1_encode"
        edges[last].append(transform)
        edges[transform] = [encode]
        edges[encode] = [sink]
    return {"sources": nodes["sources"], "edges": edges}

def metrics(engine: Engine, entry: RuleEntry, runtime: RuleRuntime) -> dict:
    m = runtime.metrics
    nodes = node_names(entry, runtime)
    out: dict[str, Any] = {}
    now_last = m.started

    def node(prefix: str, rin: int, rout: int, exc: int = 0, last_exc: str = "", last_exc_time: int = 0,
             conn: Any = None, is_io: bool = False, buffer: int = 0) -> None:
        values = {
            "records_in_total": rin,
            "records_out_total": rout,
            "messages_processed_total": rin,
            "process_latency_us": 0,
            "buffer_length": buffer,
            "last_invocation": now_last,
            "exceptions_total": exc,
            "last_exception": last_exc,
            "last_exception_time": last_exc_time,
        }
        if is_io:
            values.update({
                "connection_status": conn.status if conn is not None else 1,
                "connection_last_connected_time": conn.last_connected if conn is not None else m.started,
                "connection_last_disconnected_time": conn.last_disconnected if conn is not None else 0,
                "connection_last_disconnected_message": conn.last_disconnected_message if conn is not None else "",
                "connection_last_try_time": conn.last_try if conn is not None else 0,
            })
        for k, v in values.items():
            out[f"{prefix}_0_{k}"] = v

    for s, src in zip(nodes["sources"], runtime.plan.sources):
        node(s, m.records_in, m.records_in, conn=engine.sources.get(src.name), is_io=True)
    for op in nodes["ops"]:
        if op.endswith(("_transform", "_encode")):
            continue
        if op.endswith(("_filter",)):
            node(op, m.records_in, m.records_out, m.exceptions, m.last_exception, m.last_exception_time)
        elif op.endswith("_project"):
            node(op, m.records_out, m.records_out)
        else:
            node(op, m.records_in, m.records_in)
    for i, sink in enumerate(nodes["sinks"]):
        typ = sink[len("sink_"):].rsplit("_", 1)[0]
        sn = entry.sinks[i] if i < len(entry.sinks) else None
        if sn is None:
            for op in (f"op_{typ}_{i}_0_transform", f"op_{typ}_{i}_1_encode", sink):
                node(op, 0, 0, is_io=op == sink)
            continue
        # records in: result lists collected; out: messages the sink took (sendSingle
        # makes several of one list); the buffer holds the batch, the queue and the cache
        node(f"op_{typ}_{i}_0_transform", sn.records_in, sn.records_in)
        node(f"op_{typ}_{i}_1_encode", sn.records_in, sn.records_in)
        node(sink, sn.records_in, sn.count, sn.exceptions, sn.last_exception, sn.last_exception_time,
             conn=sn.connection, is_io=True, buffer=sn.buffer_length_now)
    return out

