"""The schema registry (`/schemas/{type}`, spec §8): named physical schemas for formats.

A schema is stored in the store under the namespace ``schemas.<type>`` (key: its name,
value: ``{"type","name","content","version"}``) and written to
``<data_dir>/schemas/<type>/<name>.proto``, eKuiper's layout, so that a protoc can read it.
The store is the truth: a missing file is written again from it when the registry opens.

Only `protobuf` schemas are installed. `custom` (Go plugins, `soFile`) is a known type that
lists empty and refuses new schemas, since Arrokoth cannot load Go shared objects.

The registry of an engine is `registry_for(engine)`; creating it makes its schemas visible
to the protobuf format (`arrokoth.io.formats.protobuf.add_schema_provider`).
"""

from __future__ import annotations

import logging
import os
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arrokoth.engine import EngineError
from arrokoth.functions import jsonvalue
from arrokoth.io.formats.json import FormatError
from arrokoth.io.formats.protobuf import add_schema_provider, compile_schema

if TYPE_CHECKING:
    from arrokoth.engine import Engine
    from arrokoth.store.base import Store

log = logging.getLogger("arrokoth.schemas")

NS_PREFIX = "schemas."
# installable types and their file extension
EXTENSIONS = {"protobuf": ".proto"}
KNOWN_TYPES = ("protobuf", "custom")


def _ci(obj: dict, name: str, default: Any = None) -> Any:
    if name in obj:
        return obj[name]
    lname = name.lower()
    return next((v for k, v in obj.items() if isinstance(k, str) and k.lower() == lname), default)


def _text(obj: dict, name: str) -> str:
    v = _ci(obj, name, "")
    if v is None:
        return ""
    if not isinstance(v, str):
        raise EngineError(f"Invalid body: Error decoding schema json: {name} must be a string")
    return v


class SchemaRegistry:
    def __init__(self, store: Store, data_dir: str | os.PathLike):
        self.store = store
        self.base = Path(data_dir) / "schemas"
        self._restore_files()
        add_schema_provider(self)

    # --- reading ---------------------------------------------------------------------

    def check_type(self, schema_type: str) -> None:
        if schema_type not in KNOWN_TYPES:
            raise EngineError(f"schema type {schema_type} not found")

    def names(self, schema_type: str) -> list[str]:
        """GET /schemas/{type}."""
        self.check_type(schema_type)
        return self.store.keys(NS_PREFIX + schema_type)

    def path(self, schema_type: str, name: str) -> Path:
        return self.base / schema_type / f"{name}{EXTENSIONS.get(schema_type, '')}"

    def _record(self, schema_type: str, name: str) -> dict | None:
        rec = self.store.get(NS_PREFIX + schema_type, name)
        return rec if isinstance(rec, dict) else None

    def describe(self, schema_type: str, name: str) -> dict:
        """GET /schemas/{type}/{name}: `{"type","name","content","file","soFile","version"}`."""
        self.check_type(schema_type)
        rec = self._record(schema_type, name)
        if rec is None:
            raise EngineError(f"schema type {schema_type}, file {name} not found", 1002)
        return {
            "type": schema_type,
            "name": name,
            "content": rec.get("content", ""),
            "file": str(self.path(schema_type, name).resolve()),
            "soFile": "",
            "version": rec.get("version", ""),
        }

    def schema_content(self, schema_type: str, name: str) -> str | None:
        """The schema text, for the formats (`SchemaProvider`)."""
        from arrokoth.store.base import StoreError

        try:
            rec = self._record(schema_type, name)
        except StoreError:  # the engine of this registry has closed its store
            return None
        return rec.get("content") if rec is not None else None

    # --- writing ---------------------------------------------------------------------

    async def _info(self, schema_type: str, body: Any, name: str | None = None) -> dict:
        """A request body checked as eKuiper's schema.Info.Validate does; `file` is fetched."""
        if not isinstance(body, dict):
            raise EngineError("Invalid body: Error decoding schema json: the body must be a JSON object")
        body_type = _text(body, "type") or schema_type
        body_name = _text(body, "name")
        if name is not None:
            if body_name == "":
                body_name = name
            if body_type != schema_type or body_name != name:
                raise EngineError("Invalid body: Type or name does not match")
        if not body_name:
            raise EngineError("Invalid body: name is required")
        from arrokoth.rules import RuleDefError, validate_id

        try:
            validate_id(body_name)
        except RuleDefError as e:
            raise EngineError(f"Invalid body: {e}") from None
        content, file = _text(body, "content"), _text(body, "file")
        if content and file:
            raise EngineError("Invalid body: cannot specify both content and file")
        if body_type == "custom":
            raise EngineError("Invalid body: custom schemas (Go plugins) are not supported by Arrokoth")
        if body_type not in EXTENSIONS:
            raise EngineError(f"Invalid body: unsupported type: {body_type}")
        if not content and not file:
            raise EngineError("Invalid body: must specify content or file")
        if file:
            content = await _fetch(file)
        return {"type": body_type, "name": body_name, "content": content, "version": _text(body, "version")}

    def _install(self, info: dict, verb: str) -> None:
        schema_type, name, content = info["type"], info["name"], info["content"]
        if schema_type == "protobuf" and _have_protobuf():
            try:
                compile_schema(name, content)
            except FormatError as e:
                raise EngineError(f"schema {verb} command error: {e}") from None
        target = self.path(schema_type, name)
        try:
            _write(target, content)
        except OSError as e:
            raise EngineError(f"schema {verb} command error: cannot write {target}: {e.strerror}") from None
        record = {"type": schema_type, "name": name, "content": content}
        if info.get("version"):
            record["version"] = info["version"]
        self.store.set(NS_PREFIX + schema_type, name, record)

    async def create(self, schema_type: str, body: Any) -> str:
        """POST /schemas/{type}."""
        self.check_type(schema_type)
        info = await self._info(schema_type, body)
        if self._record(schema_type, info["name"]) is not None:
            raise EngineError(f"schema create command error: schema {schema_type}.{info['name']} already registered")
        self._install(info, "create")
        return f"{schema_type} schema {info['name']} is created"

    async def update(self, schema_type: str, name: str, body: Any) -> str:
        """PUT /schemas/{type}/{name}: create or replace."""
        self.check_type(schema_type)
        info = await self._info(schema_type, body, name)
        self._install(info, "update")
        return f"{schema_type} schema {name} is updated"

    def upload(self, schema_type: str, name: str, content: str, version: str = "") -> bool:
        """PUT /schemas/{type}/{name}/upload; True when the schema is new."""
        self.check_type(schema_type)
        if schema_type not in EXTENSIONS:
            raise EngineError(f"unsupported type: {schema_type}")
        from arrokoth.rules import RuleDefError, validate_id

        try:
            validate_id(name)
        except RuleDefError as e:
            raise EngineError(str(e)) from None
        created = self._record(schema_type, name) is None
        self._install({"type": schema_type, "name": name, "content": content, "version": version},
                      "create" if created else "update")
        return created

    def delete(self, schema_type: str, name: str) -> str:
        """DELETE /schemas/{type}/{name}."""
        self.check_type(schema_type)
        if not self.store.delete(NS_PREFIX + schema_type, name):
            raise EngineError(f"delete {schema_type} schema {name} error: schema {schema_type}.{name} not found")
        self._remove_file(schema_type, name)
        return f"{schema_type} schema {name} is deleted"

    def _remove_file(self, schema_type: str, name: str) -> None:
        try:
            self.path(schema_type, name).unlink(missing_ok=True)
        except OSError as e:
            log.warning("cannot delete schema file of %s.%s: %s", schema_type, name, e)

    def wipe(self) -> None:
        """Remove every schema (a full data import starts with this)."""
        for schema_type in KNOWN_TYPES:
            for name in self.store.keys(NS_PREFIX + schema_type):
                self._remove_file(schema_type, name)
            self.store.clear(NS_PREFIX + schema_type)

    def _restore_files(self) -> None:
        for schema_type in EXTENSIONS:
            for name, rec in self.store.items(NS_PREFIX + schema_type).items():
                target = self.path(schema_type, name)
                if isinstance(rec, dict) and not target.is_file():
                    try:
                        _write(target, rec.get("content", ""))
                    except OSError as e:
                        log.warning("cannot write schema file %s: %s", target, e)

    # --- export / import ---------------------------------------------------------------

    def export(self, wanted: set[str] | None = None) -> dict[str, str]:
        """The `Schema` section: `<type>_<name>` → `{"type","name","content"[,"version"]}` as JSON."""
        from arrokoth.transfer import go_json

        out = {}
        for schema_type in EXTENSIONS:
            for name, rec in self.store.items(NS_PREFIX + schema_type).items():
                key = f"{schema_type}_{name}"
                if wanted is not None and key not in wanted:
                    continue
                item = {"type": schema_type, "name": name, "content": rec.get("content", "")}
                if rec.get("version"):
                    item["version"] = rec["version"]
                out[key] = go_json(item).decode()
        return out

    async def import_section(self, section: dict[str, str], *, partial: bool) -> dict[str, str]:
        """Install each item of a `Schema` section; per-item errors by key. A partial import
        installs a schema only when it is absent, as eKuiper does."""
        errors: dict[str, str] = {}
        for key, text in section.items():
            try:
                body = jsonvalue.loads(text) if text else None
            except jsonvalue.DecodeError as e:
                errors[key] = f"invalid schema json: {e}"
                continue
            if not isinstance(body, dict):
                errors[key] = "invalid schema json: expected an object"
                continue
            key_type, _, key_name = key.partition("_")
            schema_type = _ci(body, "type") or key_type
            name = _ci(body, "name") or key_name
            if not isinstance(schema_type, str) or schema_type not in KNOWN_TYPES:
                errors[key] = f"schema type {schema_type} not found"
                continue
            if partial and isinstance(name, str) and self._record(schema_type, name) is not None:
                continue
            try:
                info = await self._info(schema_type, {**body, "type": schema_type, "name": name})
                self._install(info, "create")
            except EngineError as e:
                errors[key] = e.message
        return errors


def _have_protobuf() -> bool:
    """Without the protobuf package a schema is stored unchecked; its rules fail to start."""
    import importlib.util

    try:
        return importlib.util.find_spec("google.protobuf") is not None
    except ImportError:
        return False


def _write(target: Path, content: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, target)


async def _fetch(url: str) -> str:
    from arrokoth.transfer import TransferError, read_uri

    try:
        data = await read_uri(url)
    except TransferError as e:
        raise EngineError(f"schema file error: {e.message}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise EngineError(f"schema file error: {url} is not UTF-8 text") from None


_registries: weakref.WeakKeyDictionary[Engine, SchemaRegistry] = weakref.WeakKeyDictionary()


def registry_for(engine: Engine) -> SchemaRegistry:
    """The one schema registry of an engine, created on first use."""
    reg = _registries.get(engine)
    if reg is None:
        reg = _registries[engine] = SchemaRegistry(engine.store, engine.config.data_dir)
    return reg
