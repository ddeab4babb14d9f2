from __future__ import annotations

from collections.abc import Iterator

import pytest

from arrokoth.store import SqliteStore, Store
from arrokoth.store.redis import RedisStore


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "data" / "arrokoth.db") as store:
        yield store


@pytest.fixture
def redis_store(redis_server) -> Iterator[RedisStore]:
    with RedisStore(redis_server.url()) as store:
        store._client.flushdb()
        yield store


@pytest.fixture(params=["sqlite", "redis"])
def store(request) -> Store:
    """Each backend in turn, for the behaviour every `Store` must share."""
    return request.getfixturevalue(f"{request.param}_store")
