"""Fixtures for the REST API tests: a real Engine on an in-memory store, and an HTTP
client that drives the real ASGI app in-process."""

from __future__ import annotations

import httpx
import pytest

from arrokoth.server.app import create_app


@pytest.fixture
async def api(engine):
    app = create_app(engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client
