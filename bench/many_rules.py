"""Many rules on one shared stream.

300 rules `SELECT temperature FROM demo WHERE temperature > 20` read one stream; every
decoded event is handed to all of them by direct calls. Prints rule evaluations per
second (events x rules / time), once with a counting sink and once with each rule's
results JSON-encoded into a nop sink. Then creates 10,000 such rules and prints the
memory each one costs (tracemalloc, after a GC).

    python bench/many_rules.py [--rules 300] [--events 20000] [--memory-rules 10000]
"""

from __future__ import annotations

import argparse
import gc
import random
import time
import tracemalloc

from arrokoth.io.formats.json import JsonDecoder
from arrokoth.io.sinks.base import SinkNode
from arrokoth.io.sinks.nop import NopSink
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.builder import attach, build_rule
from arrokoth.runtime.clock import RealClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse

SQL = "SELECT temperature FROM demo WHERE temperature > 20"
DDL = 'CREATE STREAM demo () WITH (DATASOURCE="demo", FORMAT="json", SHARED="true")'


def make_rules(n: int, stream: StreamDef, feed: StreamFeed, clock, emit_factory) -> list:
    rules = []
    for i in range(n):
        rule = build_rule(f"rule{i}", SQL, {"demo": stream}, emit_factory(), clock)
        attach(rule, {"demo": feed})
        rule.start()
        rules.append(rule)
    return rules


def throughput(n_rules: int, events: int, encode: bool) -> float:
    stream = StreamDef.from_ast(parse(DDL), DDL)
    clock = RealClock()
    feed = StreamFeed(stream, clock)
    counter = [0]

    def counting():
        def emit(rows):
            counter[0] += 1

        return emit

    def nop():
        return SinkNode(NopSink({}), {}).collect

    make_rules(n_rules, stream, feed, clock, nop if encode else counting)
    rnd = random.Random(1)
    payloads = [b'{"temperature": %d, "humidity": %d}' % (rnd.randint(0, 100), rnd.randint(0, 100)) for _ in range(events)]
    decode = JsonDecoder(stream).decode
    publish_many = feed.publish_many
    t0 = time.perf_counter()
    for p in payloads:
        publish_many(decode(p))
    elapsed = time.perf_counter() - t0
    return events * n_rules / elapsed


def memory_per_rule(n_rules: int) -> float:
    stream = StreamDef.from_ast(parse(DDL), DDL)
    clock = RealClock()
    feed = StreamFeed(stream, clock)
    # warm up caches (function registry, parser tables) before measuring
    make_rules(10, stream, feed, clock, lambda: (lambda rows: None))
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    rules = make_rules(n_rules, stream, feed, clock, lambda: (lambda rows: None))
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(rules) == n_rules
    return (after - before) / n_rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=300)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--memory-rules", type=int, default=10_000)
    args = parser.parse_args()
    rate = throughput(args.rules, args.events, encode=False)
    print(f"rules: {args.rules}, events: {args.events}")
    print(f"rule evaluations/s (counting sink):  {rate:,.0f} (target >= 1,500,000)")
    rate = throughput(args.rules, args.events // 4, encode=True)
    print(f"rule evaluations/s (json + nop sink): {rate:,.0f}")
    per_rule = memory_per_rule(args.memory_rules)
    print(f"memory per rule with {args.memory_rules} rules: {per_rule / 1024:.1f} KB (target <= 50 KB)")


if __name__ == "__main__":
    main()
