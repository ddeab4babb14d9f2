"""Every route of the app is in the OpenAPI document and in docs/rest-api.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from arrokoth.server import openapi
from arrokoth.server.app import all_routes

DOC = Path(__file__).resolve().parents[2] / "docs" / "rest-api.md"
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
# a route line of the page: "- `METHOD /path` — what it does"
_DOC_LINE = re.compile(r"^- `([A-Z]+) (/[^`\s]*)` — \S", re.MULTILINE)


def route_keys() -> list[tuple[str, str]]:
    """(method, path) of every route; `{name:path}` converters shown as `{name}`."""
    keys = []
    for route in all_routes():
        path = _PARAM.sub(r"{\1}", route.path)
        for method in sorted(route.methods or ()):
            if method != "HEAD":  # Starlette adds HEAD to every GET route
                keys.append((method, path))
    return keys


def documented() -> list[tuple[str, str]]:
    return _DOC_LINE.findall(DOC.read_text(encoding="utf-8"))


def test_there_are_routes():
    keys = route_keys()
    assert ("POST", "/rules") in keys
    assert ("DELETE", "/config/uploads/{name}") in keys
    assert len(keys) == len(set(keys)), "a (method, path) is routed twice"


@pytest.mark.parametrize(("method", "path"), [k for k in route_keys() if k[1] != "/openapi.json"])
def test_route_is_in_the_openapi_document(method, path):
    doc = openapi.document(all_routes())
    assert method.lower() in doc["paths"].get(path, {}), f"{method} {path} is missing from /openapi.json"
    op = doc["paths"][path][method.lower()]
    assert op["summary"], f"{method} {path} has no summary: give its handler a docstring"
    assert [p["name"] for p in op.get("parameters", [])] == _PARAM.findall(path)


def test_openapi_document_has_no_extra_operations():
    doc = openapi.document(all_routes())
    listed = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert listed == {k for k in route_keys() if k[1] != "/openapi.json"}


@pytest.mark.parametrize(("method", "path"), route_keys())
def test_route_is_documented(method, path):
    assert (method, path) in documented(), f"`{method} {path}` has no line in docs/rest-api.md"


def test_documented_routes_exist():
    """A line for a route that does not exist is stale."""
    keys = set(route_keys())
    stale = [f"{m} {p}" for m, p in documented() if (m, p) not in keys]
    assert not stale, f"docs/rest-api.md documents routes that do not exist: {stale}"


def test_one_line_per_route():
    lines = documented()
    dupes = {k for k in lines if lines.count(k) > 1}
    assert not dupes, f"routes documented twice: {sorted(dupes)}"
