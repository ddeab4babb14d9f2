"""SqliteStore specifics: the file, durability, threads. The shared contract is in test_base.py."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

from arrokoth.store import SqliteStore, StoreError


def test_creates_parent_directories(tmp_path):
    path = tmp_path / "a" / "b" / "c" / "arrokoth.db"
    with SqliteStore(path) as store:
        store.set("ns", "k", 1)
    assert path.is_file()


def test_values_survive_reopen(tmp_path):
    path = tmp_path / "arrokoth.db"
    rule = '{"id":"r1",   "sql":"SELECT * FROM demo","actions":[{"log":{}}]}'
    with SqliteStore(path) as store:
        store.set("rules", "r1", rule)
        store.set("rule_state", "r1", {"triggered": False})
        store.set_many("sources.mqtt", {"c1": {"qos": 1}, "c2": {"qos": 2}})
        store.set("gone", "k", 1)
        store.delete("gone", "k")
    with SqliteStore(path) as store:
        assert store.get("rules", "r1") == rule
        assert store.get("rule_state", "r1") == {"triggered": False}
        assert store.items("sources.mqtt") == {"c1": {"qos": 1}, "c2": {"qos": 2}}
        assert store.namespaces() == ["rule_state", "rules", "sources.mqtt"]


def test_uses_wal_and_full_sync(sqlite_store):
    db = sqlite_store._conn
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


CHILD = textwrap.dedent(
    """
    import sys
    from arrokoth.store import SqliteStore

    store = SqliteStore(sys.argv[1])
    store.set("rules", "r1", sys.argv[2])
    store.set_many("sources.mqtt", {"c1": {"qos": 1}, "c2": {"qos": 2}})
    print("done", flush=True)
    sys.stdin.read()  # hold the store open until killed
    """
)


def test_acknowledged_write_survives_sigkill(tmp_path):
    path = tmp_path / "arrokoth.db"
    rule = '{"id":"r1","sql":"SELECT 1","actions":[{"log":{}}]}'
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), rule],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout.readline() == "done\n"
        child.send_signal(signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL
    with SqliteStore(path) as store:
        assert store.get("rules", "r1") == rule
        assert store.items("sources.mqtt") == {"c1": {"qos": 1}, "c2": {"qos": 2}}


def test_concurrent_writes_from_threads(sqlite_store):
    def work(t: int) -> None:
        for i in range(50):
            sqlite_store.set(f"ns{t % 3}", f"t{t}-{i:02d}", {"t": t, "i": i})
            if i % 10 == 0:
                sqlite_store.set_many("batch", {f"t{t}-{i:02d}-{j}": j for j in range(5)})
            sqlite_store.keys(f"ns{t % 3}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(8)))
    total = sum(len(sqlite_store.keys(f"ns{n}")) for n in range(3))
    assert total == 8 * 50
    assert sqlite_store.get("ns1", "t4-49") == {"t": 4, "i": 49}
    assert len(sqlite_store.keys("batch")) == 8 * 5 * 5


def test_two_stores_on_one_file_see_each_other(tmp_path):
    path = tmp_path / "arrokoth.db"
    with SqliteStore(path) as a, SqliteStore(path) as b:
        a.set("ns", "k", "from a")
        assert b.get("ns", "k") == "from a"
        assert b.delete("ns", "k")
        assert not a.has("ns", "k")


def test_in_memory_store():
    with SqliteStore(":memory:") as store:
        store.set("ns", "k", [1])
        assert store.get("ns", "k") == [1]


def test_refuses_a_file_from_a_newer_schema(tmp_path):
    path = tmp_path / "arrokoth.db"
    SqliteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(StoreError, match="schema 99"):
        SqliteStore(path)


def test_a_file_that_is_not_sqlite_is_a_store_error(tmp_path):
    path = tmp_path / "arrokoth.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        SqliteStore(path)
