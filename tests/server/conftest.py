"""Fixtures for the REST API tests: a real Engine on an in-memory store, and an HTTP
client that drives the real ASGI app in-process."""

from __future__ import annotations

import httpx
import pytest

from arrokoth.config import Config
from arrokoth.engine import Engine
from arrokoth.server.app import create_app
from arrokoth.store import open_store


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def engine(tmp_path):
    eng = Engine(Config({"basic": {"httpServerIp": "127.0.0.1", "httpServerPort": 0}}, data_dir=tmp_path),
                 open_store("sqlite::memory:"))
    await eng.open()
    yield eng
    await eng.close()


@pytest.fixture
async def api(engine):
    app = create_app(engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client
