"""The v2 YAML export document (`GET /v2/data/export`, `POST /v2/data/import`).

eKuiper's ``MetaConfiguration``: confKeys keyed ``<kind>.<type>.<key>`` with their props,
the optional plugin/service/schema/upload sections, then ``streams``/``tables`` as
``{name: {sql: …}}`` and ``rules`` as rule objects. Sections come in the struct's order;
all but ``streams`` and ``rules`` are left out when empty.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from arrokoth.engine import NS_RULES, NS_STREAMS, NS_TABLES, EngineError
from arrokoth.functions import jsonvalue
from arrokoth.transfer import CONF_SECTIONS, TransferError

if TYPE_CHECKING:
    from arrokoth.transfer import DataTransfer

_RULE_ORDER = ("triggered", "id", "name", "sql", "graph", "actions", "options")
# YAML section → what an item of a section Arrokoth has no component for is told
_UNSUPPORTED = {
    "service": ("service", "external services are not supported by Arrokoth yet"),
    "schema": ("schema", "schemas are not supported by Arrokoth yet"),
    "portablePlugins": ("portable plugin", "portable plugins are not supported by Arrokoth yet"),
}


def _sorted(value: Any) -> Any:
    """yaml.v3 writes map keys sorted."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _rule_object(text: str) -> Any:
    try:
        obj = jsonvalue.loads(text)
    except jsonvalue.DecodeError:
        return text
    if not isinstance(obj, dict):
        return obj
    out: dict[str, Any] = {"triggered": obj.get("triggered", True)}
    for key in _RULE_ORDER[1:]:
        if obj.get(key) not in (None, "", [], {}):
            out[key] = _sorted(obj[key])
    for key in sorted(obj):
        if key not in out:
            out[key] = _sorted(obj[key])
    return out


def export_yaml(t: DataTransfer) -> str:
    import yaml

    doc: dict[str, Any] = {}
    for section, kind in CONF_SECTIONS.items():
        items: dict[str, Any] = {}
        for ns in t.store.namespaces():
            if ns.startswith(f"{kind}."):
                for key, props in t.store.items(ns).items():
                    items[f"{ns}.{key}"] = _sorted(props)
        if items:
            doc[section] = dict(sorted(items.items()))
    uploads = {}
    for name, text in t._export_uploads().items():
        uploads[name] = jsonvalue.loads(text)
    if uploads:
        doc["uploads"] = uploads
    doc["streams"] = {name: {"sql": sql} for name, sql in t.store.items(NS_STREAMS).items()}
    tables = {name: {"sql": sql} for name, sql in t.store.items(NS_TABLES).items()}
    if tables:
        doc["tables"] = tables
    doc["rules"] = {rid: _rule_object(text) for rid, text in t.store.items(NS_RULES).items()}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=math.inf, indent=4,
                          default_flow_style=False)


def _yaml_error(e: Exception) -> str:
    problem = getattr(e, "problem", None) or str(e)
    mark = getattr(e, "problem_mark", None)
    return f"yaml: line {mark.line + 1}: {problem}" if mark is not None else f"yaml: {problem}"


def _mapping(doc: dict, name: str) -> dict:
    value = doc.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TransferError(f"yaml: unmarshal errors: {name} must be a mapping")
    return value


async def import_yaml(t: DataTransfer, data: bytes | str) -> None:
    """Write confKeys, uploads, then replace streams, tables and rules; stop at the first error."""
    import asyncio

    import yaml

    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError as e:
        raise TransferError(_yaml_error(e)) from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise TransferError("yaml: unmarshal errors: the document must be a mapping")
    for section in CONF_SECTIONS:
        for key, props in _mapping(doc, section).items():
            parts = str(key).split(".")
            if len(parts) != 3:
                raise TransferError(f"{key} isn't valid conf key")
            kind, typ, name = parts
            if kind not in CONF_SECTIONS.values():
                raise TransferError(f"write conf {key} failed, err:unknown configuration kind {kind}")
            if props is not None and not isinstance(props, dict):
                raise TransferError(f"write conf {key} failed, err:the properties must be a mapping")
            t.store.set(f"{kind}.{typ.lower()}", name, jsonvalue.loads(jsonvalue.encode(props or {})))
    uploads = {}
    for key, fc in _mapping(doc, "uploads").items():
        fc = fc if isinstance(fc, dict) else {}
        uploads[str(key)] = jsonvalue.dumps(
            {"name": fc.get("name", ""), "content": fc.get("content", ""), "file": fc.get("filePath", "")})
    errors = await t._import_uploads(uploads, asyncio_checkpoint)
    if errors:
        raise TransferError("\n".join(f"import upload {k} failed, err:{v}" for k, v in errors.items()))
    for section, (what, message) in _UNSUPPORTED.items():
        items = _mapping(doc, section)
        if items:
            raise TransferError("\n".join(f"import {what} {k} failed, err:{message}" for k in items))
    for kind in ("stream", "table"):
        for name, value in _mapping(doc, f"{kind}s").items():
            await asyncio.sleep(0)
            sql = value.get("sql") if isinstance(value, dict) else None
            try:
                if not isinstance(sql, str):
                    raise EngineError("the sql of the definition is missing")
                if name in t.engine.streams:
                    t.engine.drop_stream(name, kind, force=True)
                t.engine.create_stream(sql)
            except EngineError as e:
                raise TransferError(f"replace stream {name} failed, err:{e.message}") from None
    for rule_id, rule in _mapping(doc, "rules").items():
        await asyncio.sleep(0)
        try:
            if not isinstance(rule, dict):
                raise EngineError("the rule must be a mapping")
            rule = dict(rule)
            rule.setdefault("id", rule_id)
            if rule_id in t.engine.rules:
                await t.engine.delete_rule(rule_id)
            await t.engine.create_rule(jsonvalue.dumps(rule))
        except EngineError as e:
            raise TransferError(f"replace rule {rule_id} failed, err:{e.message}") from None


async def asyncio_checkpoint() -> None:
    import asyncio

    await asyncio.sleep(0)
