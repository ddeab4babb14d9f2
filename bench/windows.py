"""Event-time tumbling window throughput and memory.

`SELECT count(*), avg(temperature) FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)` with
`isEventTime: true` over 1,000,000 JSON events (1,000 per second of event time, a few
out of order within the tolerance). Prints events/s on one core and the peak memory
the run allocated (tracemalloc, in a second run: tracing slows Python down). The tumbling
window keeps accumulators rather than rows, so memory does not grow with the window.

    python bench/windows.py [--events N]
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc

from arrokoth.io.formats.json import JsonDecoder
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.builder import attach, build_rule
from arrokoth.runtime.clock import RealClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse

SQL = "SELECT count(*), avg(temperature) FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)"
DDL = 'CREATE STREAM demo (temperature FLOAT, ts BIGINT) WITH (DATASOURCE="demo", FORMAT="json", TIMESTAMP="ts")'


def run(events: int, trace: bool) -> tuple[float, int, int]:
    rnd = random.Random(3)
    base = 1_700_000_000_000
    payloads = []
    for i in range(events):
        ts = base + i + (rnd.randint(-5, 0) if i % 10 == 0 else 0)
        payloads.append(b'{"temperature": %d.%d, "ts": %d}' % (rnd.randint(0, 100), rnd.randint(0, 9), ts))
    stream = StreamDef.from_ast(parse(DDL), DDL)
    clock = RealClock()
    feed = StreamFeed(stream, clock)
    windows = []
    options = {"isEventTime": True, "lateTolerance": "10ms"}
    rule = build_rule("bench", SQL, {"demo": stream}, windows.append, clock, options)
    attach(rule, {"demo": feed})
    rule.start()
    decode = JsonDecoder(stream).decode
    publish_many = feed.publish_many
    del rnd
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    for p in payloads:
        publish_many(decode(p))
    elapsed = time.perf_counter() - t0
    peak = 0
    if trace:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return events / elapsed, peak, len(windows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    rate, _, n = run(args.events, trace=False)
    print(f"events: {args.events}, windows emitted: {n}")
    print(f"throughput: {rate:,.0f} events/s (target >= 300,000)")
    _, peak, _ = run(args.events, trace=True)
    print(f"peak memory allocated while processing: {peak / 1024:.0f} KB")


if __name__ == "__main__":
    main()
