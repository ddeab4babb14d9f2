"""A stream joined with a Redis lookup table, with and without eKuiper's lookup cache.

Starts a redis-server on a free loopback port (Debian's `redis-server` must be installed),
stores 1,000 device records as JSON strings, and runs

    SELECT demo.temperature, devices.site FROM demo INNER JOIN devices ON demo.id = devices.id

over events whose `id` cycles through the 1,000 devices. Prints joined rows per second,
once querying Redis for every row and once with `lookup.cache` on (every key found in the
cache after its first lookup).

    python bench/lookup_join.py [--events 100000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import tempfile
import time

import redis

from arrokoth.io.lookup.base import KeyedLookup
from arrokoth.io.lookup.redis import RedisLookupTable
from arrokoth.plan.streams import StreamDef
from arrokoth.runtime.builder import attach, build_rule
from arrokoth.runtime.clock import RealClock
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import parse

DEVICES = 1000
SQL = "SELECT demo.temperature, devices.site FROM demo INNER JOIN devices ON demo.id = devices.id"
STREAM = 'CREATE STREAM demo () WITH (DATASOURCE="demo", FORMAT="json")'
TABLE = 'CREATE TABLE devices () WITH (DATASOURCE="0", TYPE="redis", KIND="lookup")'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(workdir: str) -> tuple[subprocess.Popen, int]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed: apt-get install -y redis-server")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", workdir], stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise SystemExit("redis-server did not start") from None
            time.sleep(0.02)
    for i in range(DEVICES):
        client.set(str(i), json.dumps({"id": i, "site": f"site{i % 7}"}))
    return proc, port


def run(port: int, events: int, cache: bool) -> float:
    stream = StreamDef.from_ast(parse(STREAM), STREAM)
    table = StreamDef.from_ast(parse(TABLE), TABLE)
    props = {"addr": f"127.0.0.1:{port}", "dataType": "string", "lookup": {"cache": cache, "cacheTtl": 600}}
    lookup = KeyedLookup(RedisLookupTable(table, props), props)
    clock = RealClock()
    feed = StreamFeed(stream, clock)
    joined = [0]

    def emit(rows):
        joined[0] += len(rows)

    rule = build_rule("bench", SQL, {"demo": stream, "devices": table}, emit, clock, lookups={"devices": lookup})
    attach(rule, {"demo": feed})
    rule.start()
    rows = [{"id": i % DEVICES, "temperature": 20.5} for i in range(events)]
    start = time.perf_counter()
    for row in rows:
        feed.publish_many([row], None)
    elapsed = time.perf_counter() - start
    rule.stop()
    lookup.close()
    if joined[0] != events:
        raise SystemExit(f"joined {joined[0]} rows of {events}")
    return events / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        proc, port = start_redis(workdir)
        try:
            print(f"lookup join, {args.events} events over {DEVICES} keys of a local redis-server")
            print(f"  no cache:   {run(port, args.events, cache=False):>12,.0f} rows/s (a GET per row)")
            print(f"  with cache: {run(port, args.events, cache=True):>12,.0f} rows/s (a GET per key, then hits)")
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
