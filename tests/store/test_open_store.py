from __future__ import annotations

import pytest

from arrokoth.store import SqliteStore, StoreError, open_store
from arrokoth.store.redis import RedisStore


@pytest.mark.parametrize("spec", ["sqlite", "", None, "  sqlite  "])
def test_default_is_sqlite_in_the_data_dir(tmp_path, spec):
    with open_store(spec, tmp_path / "data") as store:
        assert isinstance(store, SqliteStore)
        store.set("ns", "k", 1)
    assert (tmp_path / "data" / "arrokoth.db").is_file()


def test_sqlite_absolute_path_ignores_data_dir(tmp_path):
    path = tmp_path / "elsewhere" / "my.db"
    with open_store(f"sqlite:{path}", tmp_path / "data") as store:
        store.set("ns", "k", 1)
    assert path.is_file()
    assert not (tmp_path / "data").exists()


def test_sqlite_relative_path_is_under_data_dir(tmp_path):
    with open_store("sqlite:sub/my.db", tmp_path) as store:
        store.set("ns", "k", 1)
    assert (tmp_path / "sub" / "my.db").is_file()


def test_sqlite_in_memory():
    with open_store("sqlite::memory:", None) as store:
        assert isinstance(store, SqliteStore)
        store.set("ns", "k", "v")
        assert store.get("ns", "k") == "v"


def test_redis_url(redis_server):
    with open_store(redis_server.url(3), "/nonexistent") as store:
        assert isinstance(store, RedisStore)
        store.set("ns", "k", {"a": 1})
        assert store.get("ns", "k") == {"a": 1}
        store.clear("ns")


@pytest.mark.parametrize(
    ("spec", "data_dir", "message"),
    [
        ("mysql://h/db", "/tmp", "unknown store 'mysql://h/db'"),
        ("sqlite:", "/tmp", "names no file"),
        ("sqlite", None, "data directory"),
        ("sqlite:rel.db", None, "data directory"),
    ],
)
def test_bad_specs(spec, data_dir, message):
    with pytest.raises(StoreError, match=message):
        open_store(spec, data_dir)
