"""Configuration keys of sources, sinks and connections (`/metadata/.../confKeys`).

Read-only defaults ship in `arrokoth/etc/<kind>/<type>.yaml` (eKuiper's
`etc/sources/mqtt.yaml` layout: a `default` section and named sections); keys written
through the API live in the store under the namespace `<kind>.<type>` and win over the
shipped ones. A stream reads `default`, then its CONF_KEY section, then its EXTRA JSON.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from importlib import resources as _resources
from typing import TYPE_CHECKING, Any

from arrokoth.functions import jsonvalue

log = logging.getLogger("arrokoth.confkeys")

if TYPE_CHECKING:
    from arrokoth.engine import Engine
    from arrokoth.plan.streams import StreamDef

KINDS = ("sources", "sinks", "connections")


def _types(kind: str) -> list[str]:
    if kind in ("sources", "sinks"):
        from arrokoth.metadata import registered

        return registered(kind)
    return []


_FILE_NAME = re.compile(r"[A-Za-z0-9_\-]{1,100}")


@lru_cache(maxsize=256)
def shipped(kind: str, typ: str) -> dict[str, dict]:
    """The read-only sections of the shipped yaml file (empty when there is none)."""
    import yaml

    # connection types come unchecked from request paths: only plain names can name a file
    if not _FILE_NAME.fullmatch(typ):
        return {}
    path = _resources.files("arrokoth") / "etc" / kind / f"{typ}.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {k: dict(v or {}) for k, v in data.items()}


def check_type(kind: str, typ: str) -> None:
    from arrokoth.engine import EngineError

    if kind == "connections":
        # eKuiper does not check connection types: named connections of any `typ` live here (spec 4.4)
        return
    if typ.lower() not in _types(kind):
        raise EngineError(f"This plugin was not found:{kind}.{typ}", 5000)


def check_key(key: str) -> None:
    from arrokoth.engine import EngineError
    from arrokoth.rules import RuleDefError, validate_id

    try:
        validate_id(key)
    except RuleDefError as e:
        raise EngineError(f"Invalid confKey: {e}", 5000) from None


def view(engine: Engine, kind: str, typ: str) -> dict[str, dict]:
    """GET /metadata/<kind>/yaml/<type>: shipped keys merged with stored ones."""
    check_type(kind, typ)
    out = {k: dict(v) for k, v in shipped(kind, typ.lower()).items()}
    out.update(engine.store.items(f"{kind}.{typ.lower()}"))
    return out


def put(engine: Engine, kind: str, typ: str, key: str, props: Any) -> None:
    from arrokoth.engine import EngineError

    check_key(key)
    check_type(kind, typ)
    if not isinstance(props, dict):
        raise EngineError("the confKey body must be a JSON object of properties", 5000)
    engine.store.set(f"{kind}.{typ.lower()}", key, props)


def delete(engine: Engine, kind: str, typ: str, key: str) -> None:
    check_type(kind, typ)
    engine.store.delete(f"{kind}.{typ.lower()}", key)


def resources(engine: Engine) -> dict:
    """GET /metadata/resources: per kind, one `{confKey: type}` object per type with stored keys."""
    out: dict[str, Any] = {}
    for kind in ("sources", "sinks"):
        items = []
        for typ in _types(kind):
            keys = sorted(engine.store.keys(f"{kind}.{typ}"))
            if keys:
                items.append({key: typ for key in keys})
        out[kind] = items or None
    return out


def resource(engine: Engine, source_type: str | None) -> dict:
    """GET /metadata/resource: every source confKey (shipped and stored), optionally only those
    whose `sourceType` property equals `source_type`."""
    out: dict[str, dict] = {}
    for typ in _types("sources"):
        sections = {k: dict(v) for k, v in shipped("sources", typ).items()}
        sections.update(engine.store.items(f"sources.{typ}"))
        for key, props in sections.items():
            if source_type and (not isinstance(props, dict) or props.get("sourceType") != source_type):
                continue
            out.setdefault(typ, {})[key] = props
    return out


def source_props(engine: Engine, stream: StreamDef) -> dict:
    """The properties a stream's source runs with."""
    from arrokoth.engine import EngineError

    typ = stream.type
    sections = {k: dict(v) for k, v in shipped("sources", typ).items()}
    sections.update(engine.store.items(f"sources.{typ}"))
    props = dict(sections.get("default", {}))
    key = stream.option("CONF_KEY")
    if key and key != "default":
        if key in sections:
            props.update(sections[key])
        else:
            # as eKuiper: a missing key falls back to the defaults, with a warning
            log.warning("conf key %s of source %s is not found; using its default properties", key, typ)
    extra = stream.option("EXTRA")
    if extra:
        try:
            more = jsonvalue.loads(extra)
        except jsonvalue.DecodeError as e:
            raise EngineError(f"EXTRA of stream {stream.name} is not valid JSON: {e}") from None
        if not isinstance(more, dict):
            raise EngineError(f"EXTRA of stream {stream.name} must be a JSON object")
        props.update(more)
    return props
