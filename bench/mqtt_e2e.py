"""MQTT end to end: mosquitto → `arrokoth serve` → a rule with a nop sink.

Starts mosquitto and `arrokoth serve` (subprocesses on free loopback ports, a temporary data
directory), creates through the REST API a stream `demo` of TYPE mqtt and the rule
`SELECT * FROM demo WHERE temperature > 50` with a nop sink, then publishes JSON readings
from a separate process (a raw-socket MQTT 3.1.1 publisher, QoS 0) at a fixed rate for a
fixed time. Prints, per rate: messages received per second (the rule's
`source_demo_0_records_in_total`), the loss (published - received), the engine's CPU
(from /proc/<pid>/stat over the publishing window, in % of one core) and its RSS.

    python bench/mqtt_e2e.py --rate 10000 --seconds 10
    python bench/mqtt_e2e.py --rate 10000 50000 --seconds 10
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TOPIC = "bench/demo"
SQL = "SELECT * FROM demo WHERE temperature > 50"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# --- services ---------------------------------------------------------------------------------


def start_mosquitto(workdir: Path) -> tuple[subprocess.Popen, int]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    conf = workdir / "mosquitto.conf"
    lines = [f"listener {port} 127.0.0.1", "allow_anonymous true", "persistence false", "log_dest stderr",
             "log_type error", "log_type warning"]
    if os.geteuid() == 0:
        lines.append("user root")
    conf.write_text("\n".join(lines) + "\n")
    log = open(workdir / "mosquitto.log", "wb")  # noqa: SIM115 - lives as long as the broker
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    wait_until(lambda: accepts(port), 10, "mosquitto")
    return proc, port


def start_engine(workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cmd = [sys.executable, "-m", "arrokoth.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--data-dir", str(workdir / "data")]
    log = open(workdir / "engine.log", "wb")  # noqa: SIM115 - lives as long as the engine
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    wait_until(lambda: _ping(port), 20, "arrokoth serve")
    return proc, port


def _ping(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def rest(port: int, method: str, path: str, body: object | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read().decode()
    try:
        return json.loads(text)
    except ValueError:
        return text


def rule_status(port: int) -> dict:
    return rest(port, "GET", "/rules/bench/status")  # type: ignore[return-value]


# --- the publisher (a separate process) --------------------------------------------------------


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _packet(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + _remaining_length(len(body)) + body


def _str(s: bytes) -> bytes:
    return struct.pack("!H", len(s)) + s


def publisher(port: int, rate: int, seconds: float, result: mp.Queue) -> None:
    """QoS 0 PUBLISH packets, sent in ticks of 5 ms so that the rate holds without a
    syscall per message."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    connect = _str(b"MQTT") + bytes([4, 0x02]) + struct.pack("!H", 60) + _str(b"bench-pub")
    sock.sendall(_packet(0x10, connect))
    ack = sock.recv(4)
    if len(ack) < 4 or ack[3] != 0:
        result.put(("error", f"CONNACK refused: {ack!r}"))
        return
    rnd = random.Random(7)
    pool = []
    for i in range(4096):
        payload = json.dumps({"deviceId": f"device{i % 50}", "temperature": round(rnd.uniform(0, 100), 1),
                              "humidity": rnd.randint(10, 90), "seq": i}).encode()
        pool.append(_packet(0x30, _str(TOPIC.encode()) + payload))
    sent = 0
    start = time.perf_counter()
    end = start + seconds
    tick = 0.005
    next_tick = start
    while True:
        now = time.perf_counter()
        if now >= end:
            due = int(rate * seconds)
        else:
            due = int(rate * (now - start))
        if due > sent:
            n = due - sent
            chunk = b"".join(pool[(sent + k) % len(pool)] for k in range(n))
            sock.sendall(chunk)
            sent = due
        if now >= end:
            break
        next_tick += tick
        delay = next_tick - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    elapsed = time.perf_counter() - start
    sock.sendall(_packet(0xE0, b""))
    sock.close()
    result.put(("ok", sent, elapsed))


# --- measuring --------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[11], fields[12] are utime and stime (the 14th and 15th of the whole line)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def memory(pid: int) -> tuple[int, int]:
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    return rss, hwm


def run(rate: int, seconds: float) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="arrokoth-mqtt-bench-"))
    broker = engine = None
    try:
        broker, mqtt_port = start_mosquitto(workdir)
        engine, port = start_engine(workdir)
        rest(port, "PUT", "/metadata/sources/mqtt/confKeys/bench", {"server": f"tcp://127.0.0.1:{mqtt_port}",
                                                                     "qos": 0})
        rest(port, "POST", "/streams", {"sql": f'CREATE STREAM demo () WITH (DATASOURCE="{TOPIC}", TYPE="mqtt", '
                                               f'CONF_KEY="bench", FORMAT="json")'})
        rest(port, "POST", "/rules", {"id": "bench", "sql": SQL, "actions": [{"nop": {}}]})
        wait_until(lambda: rule_status(port).get("source_demo_0_connection_status") == 1, 10, "the subscription")
        time.sleep(1.0)  # let the engine settle before the idle reading
        idle_cpu0, idle_t0 = cpu_seconds(engine.pid), time.perf_counter()
        time.sleep(1.0)
        idle = (cpu_seconds(engine.pid) - idle_cpu0) / (time.perf_counter() - idle_t0)

        result: mp.Queue = mp.Queue()
        pub = mp.Process(target=publisher, args=(mqtt_port, rate, seconds, result))
        cpu0, t0 = cpu_seconds(engine.pid), time.perf_counter()
        pub.start()
        outcome = result.get(timeout=seconds + 30)
        pub.join()
        if outcome[0] != "ok":
            raise SystemExit(outcome[1])
        _, published, pub_elapsed = outcome
        # wait for the tail: the count stops changing (or everything arrived)
        last, stable_since = -1, time.perf_counter()
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline:
            received = rule_status(port).get("source_demo_0_records_in_total", 0)
            if received >= published:
                break
            if received != last:
                last, stable_since = received, time.perf_counter()
            elif time.perf_counter() - stable_since > 1.0:
                break
            time.sleep(0.1)
        t1 = time.perf_counter()
        cpu1 = cpu_seconds(engine.pid)
        status = rule_status(port)
        received = status.get("source_demo_0_records_in_total", 0)
        rss, hwm = memory(engine.pid)
        window = t1 - t0
        return {
            "rate": rate,
            "seconds": seconds,
            "published": published,
            "publish_s": pub_elapsed,
            "received": received,
            "matched": status.get("op_3_filter_0_records_out_total", status.get("sink_nop_0_0_records_in_total")),
            "loss": published - received,
            "received_per_s": received / pub_elapsed,
            "cpu_pct": 100 * (cpu1 - cpu0) / window,
            "idle_cpu_pct": 100 * idle,
            "window_s": window,
            "rss_mb": rss / 2**20,
            "hwm_mb": hwm / 2**20,
            "exceptions": status.get("source_demo_0_exceptions_total", 0),
        }
    finally:
        for proc in (engine, broker):
            if proc is not None:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(5)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=int, nargs="+", default=[10000], help="messages per second (several: one run each)")
    ap.add_argument("--seconds", type=float, default=10.0, help="how long to publish")
    args = ap.parse_args()
    print(f"{'rate':>8} {'published':>10} {'received':>10} {'loss':>6} {'recv msg/s':>11} "
          f"{'CPU %':>6} {'idle %':>6} {'RSS MB':>7} {'peak MB':>8}")
    for rate in args.rate:
        r = run(rate, args.seconds)
        print(f"{r['rate']:>8} {r['published']:>10} {r['received']:>10} {r['loss']:>6} "
              f"{r['received_per_s']:>11.0f} {r['cpu_pct']:>6.1f} {r['idle_cpu_pct']:>6.1f} "
              f"{r['rss_mb']:>7.1f} {r['hwm_mb']:>8.1f}", flush=True)
        print(f"         ({r['matched']} matched the WHERE; CPU over {r['window_s']:.1f}s: publishing "
              f"{r['publish_s']:.1f}s plus the drain)", flush=True)


if __name__ == "__main__":
    main()
