"""Schemathesis over the OpenAPI document of a real `arrokoth serve`: no 5xx, no crash.

Every operation gets generated requests (valid and invalid bodies, odd path ids); the
server must answer each with something other than a 5xx and keep serving.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from arrokoth.server.app import all_routes
from arrokoth.server.openapi import document

from .conftest import Server

SCHEMA = schemathesis.openapi.from_dict(document(all_routes()))
# /stop would end the server under test
OPERATIONS = [op.ok() for op in SCHEMA.get_all_operations() if op.ok().path != "/stop"]


@pytest.fixture(scope="module")
def live(tmp_path_factory, free_port):
    server = Server(tmp_path_factory.mktemp("schemathesis"), free_port)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_server_errors(live, operation):
    @given(case=operation.as_strategy())
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        case.call_and_validate(base_url=live.url, checks=[not_a_server_error], timeout=30)

    check()
    assert httpx.get(f"{live.url}/ping", timeout=5).status_code == 200
