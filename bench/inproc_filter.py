"""In-process throughput of `SELECT * FROM demo WHERE temperature > 50`.

1,000,000 pre-encoded JSON messages go through the real path: JSON decode (as eKuiper's
converter decodes), the stream feed, the compiled rule, the sink's JSON encoding, and a
nop sink. Prints messages per second on one core.

    python bench/inproc_filter.py [--messages N]
"""

from __future__ import annotations

import argparse
import random
import time

from arrokoth.io.formats.json import JsonDecoder
from arrokoth.io.sinks.base import SinkNode
from arrokoth.io.sinks.nop import NopSink
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.builder import attach, build_rule
from arrokoth.runtime.clock import RealClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse

SQL = "SELECT * FROM demo WHERE temperature > 50"
DDL = 'CREATE STREAM demo () WITH (DATASOURCE="demo", FORMAT="json")'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()

    rnd = random.Random(42)
    payloads = [
        b'{"temperature": %d, "humidity": %d}' % (rnd.randint(0, 100), rnd.randint(0, 100))
        for _ in range(args.messages)
    ]
    stream = StreamDef.from_ast(parse(DDL), DDL)
    clock = RealClock()
    sink = SinkNode(NopSink({}), {})
    rule = build_rule("bench", SQL, {"demo": stream}, sink.collect, clock)
    feed = StreamFeed(stream, clock)
    attach(rule, {"demo": feed})
    rule.start()
    decode = JsonDecoder(stream).decode
    publish_many = feed.publish_many

    t0 = time.perf_counter()
    for payload in payloads:
        publish_many(decode(payload))
    elapsed = time.perf_counter() - t0

    rate = args.messages / elapsed
    print(f"messages:     {args.messages}")
    print(f"matched:      {sink.count}")
    print(f"elapsed:      {elapsed:.3f} s")
    print(f"throughput:   {rate:,.0f} msg/s (target >= 500,000)")


if __name__ == "__main__":
    main()
