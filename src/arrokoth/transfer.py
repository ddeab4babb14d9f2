"""Data import and export (spec §7): the export document, full and partial imports and
the legacy ruleset. The v2 YAML document is in `_transfer_yaml`, the register of
asynchronous imports in `_transfer_tasks`.

Everything here works on an `Engine` through its public methods (streams, tables and rules
go through the same paths as the REST handlers) and on its store for the confKeys, which
live under ``sources.<type>``, ``sinks.<type>`` and ``connections.<type>``.

The export document is eKuiper's ``Configuration``: twelve sections, each an object of
name → string. Schemas come from the engine's schema registry (`arrokoth.schemas`). A
section Arrokoth has no component for yet (native and portable plugins, services, JS
scripts) exports as ``{}``; importing items into it reports a per-item error instead of
dropping them silently.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from arrokoth.engine import NS_RULES, NS_STREAMS, NS_TABLES, Engine, EngineError
from arrokoth.functions import jsonvalue
from arrokoth.rules import RuleDef, RuleDefError, validate_id
from arrokoth.sql import SqlSyntaxError, ast, parse

log = logging.getLogger("arrokoth.transfer")

SECTIONS = (
    "streams", "tables", "rules", "nativePlugins", "portablePlugins", "sourceConfig", "sinkConfig",
    "connectionConfig", "Service", "Schema", "uploads", "scripts",
)
# export section → confKey kind (the store namespace prefix)
CONF_SECTIONS = {"sourceConfig": "sources", "sinkConfig": "sinks", "connectionConfig": "connections"}
# sections with no component in Arrokoth yet: what an imported item is told
UNSUPPORTED = {
    "nativePlugins": "native plugins are not supported by Arrokoth",
    "portablePlugins": "portable plugins are not supported by Arrokoth yet",
    "Service": "external services are not supported by Arrokoth yet",
    "scripts": "JavaScript functions are not supported by Arrokoth yet",
}
PROCESS_ERROR = "process error"
NS_IMPORT_STATUS = "import_status"
FETCH_TIMEOUT = 300.0  # eKuiper's download timeout (5 min)
STATUS_SECTIONS = ("streams", "tables", "rules", "sourceConfig", "sinkConfig", "connectionConfig", "Schema", "uploads")


class TransferError(Exception):
    """An import that fails as a whole; `message` is eKuiper's error text."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ImportCancelled(Exception):
    pass


def empty_document() -> dict[str, dict[str, str]]:
    return {s: {} for s in SECTIONS}


# --- Go's encoding/json, where the bytes are visible ------------------------------------

_HTML_ESCAPES = (
    (b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"),
    ("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"),
)


def go_json(value: Any, *, sort_keys: bool = False) -> bytes:
    """json.Marshal: Go escapes <, > and & (they can only occur inside strings here)."""
    out = jsonvalue.encode(value, sort_keys=sort_keys)
    for raw, escaped in _HTML_ESCAPES:
        out = out.replace(raw, escaped)
    return out


def _os_error(e: Exception) -> str:
    """An OS error as Go words it: `no such file or directory`."""
    text = getattr(e, "strerror", None) or str(e)
    return text[:1].lower() + text[1:]


def _go_char(c: str) -> str:
    return "'\\''" if c == "'" else f"'{c}'"


def go_json_error(e: Exception, data: bytes | str) -> str:
    """msgspec's decode error in the words of Go's json.Unmarshal."""
    msg = str(e)
    if "truncated" in msg:
        return "unexpected end of JSON input"
    raw = data.encode() if isinstance(data, str) else data
    pos = None
    if "(byte " in msg:
        try:
            pos = int(msg.rsplit("(byte ", 1)[1].rstrip(")"))
        except ValueError:
            pos = None
    trailing = "trailing characters" in msg
    if pos is not None and trailing:
        pos -= 1  # msgspec counts past the first trailing byte
    if pos is None or not 0 <= pos < len(raw):
        return msg
    c = raw[pos:pos + 4].decode("utf-8", "replace")[:1]
    if trailing:
        return f"invalid character {_go_char(c)} after top-level value"
    if "object keys must be strings" in msg or "trailing comma in object" in msg:
        return f"invalid character {_go_char(c)} looking for beginning of object key string"
    if "expected ':'" in msg:
        return f"invalid character {_go_char(c)} after object key"
    if "expected ',' or '}'" in msg:
        return f"invalid character {_go_char(c)} after object key:value pair"
    if "expected ',' or ']'" in msg:
        return f"invalid character {_go_char(c)} after array element"
    return f"invalid character {_go_char(c)} looking for beginning of value"


def go_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _go_map(errors: dict[str, str]) -> str:
    """fmt's %v of a map[string]string."""
    return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(errors.items())) + "]"


def _section_key(key: str, names: tuple[str, ...]) -> str | None:
    if key in names:
        return key
    lower = key.lower()
    return next((n for n in names if n.lower() == lower), None)


def parse_string_maps(data: bytes | str, names: tuple[str, ...], struct: str) -> dict[str, dict[str, str]]:
    """Decode a JSON object of `name → {string → string}` sections as json.Unmarshal into a
    Go struct of map[string]string fields does: keys match case-insensitively, unknown keys
    are ignored, null leaves a section empty. Raises TransferError with Go's error text."""
    try:
        obj = jsonvalue.loads(data)
    except jsonvalue.DecodeError as e:
        raise TransferError(go_json_error(e, data)) from None
    if obj is None:
        return {n: {} for n in names}
    if not isinstance(obj, dict):
        raise TransferError(f"json: cannot unmarshal {go_kind(obj)} into Go value of type {struct}")
    out: dict[str, dict[str, str]] = {n: {} for n in names}
    for key, value in obj.items():
        name = _section_key(key, names)
        if name is None or value is None:
            continue
        where = f"Go struct field {struct.rsplit('.', 1)[-1]}.{name}"
        if not isinstance(value, dict):
            raise TransferError(f"json: cannot unmarshal {go_kind(value)} into {where} of type map[string]string")
        for k, v in value.items():
            if v is not None and not isinstance(v, str):
                raise TransferError(f"json: cannot unmarshal {go_kind(v)} into {where} of type string")
            out[name][k] = v or ""
    return out


# --- reading an import file ---------------------------------------------------------------

async def read_uri(uri: str, timeout: float = FETCH_TIMEOUT) -> bytes:
    """The bytes at a `file://` or `http(s)://` address, with eKuiper's error texts."""
    try:
        parts = urlsplit(uri)
    except ValueError as e:
        raise TransferError(f'parse "{uri}": {e}') from None
    scheme = parts.scheme.lower()
    if not scheme and not uri.startswith("/"):
        raise TransferError(f'parse "{uri}": invalid URI for request')
    if scheme == "file":
        path = Path(unquote(parts.path))
        try:
            st = await asyncio.to_thread(path.stat)
        except (OSError, ValueError) as e:
            raise TransferError(f"stat {path}: {_os_error(e)}") from None
        import stat

        if not stat.S_ISREG(st.st_mode):
            raise TransferError(f"{path} is not a regular file")
        try:
            return await asyncio.to_thread(path.read_bytes)
        except OSError as e:
            raise TransferError(f"open {path}: {_os_error(e)}") from None
    if scheme in ("http", "https"):
        import httpx

        try:
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
                resp = await client.get(uri)
        except httpx.HTTPError as e:
            raise TransferError(f'Get "{uri}": {e or type(e).__name__}') from None
        if resp.status_code != 200:
            raise TransferError(f"cannot download the file with status: {resp.status_code} {resp.reason_phrase}")
        return resp.content
    raise TransferError(f"unsupported url scheme {scheme}")


def check_source(content: Any, file: Any, *, suffix: str = "") -> tuple[str, str]:
    """The `content` and `file` of an import body, exactly one of them set."""
    content = content if isinstance(content, str) else ""
    file = file if isinstance(file, str) else ""
    if content and file:
        raise TransferError(f"Invalid body: Cannot specify both content and file{suffix}")
    if not content and not file:
        raise TransferError(f"Invalid body: must specify content or file{suffix}")
    return content, file


async def import_source(content: Any, file: Any) -> bytes:
    """The import bytes of a `{"content"}` or `{"file"}` body."""
    content, file = check_source(content, file)
    if file:
        return await read_uri(file)
    return content.encode()


# --- what a rule depends on ---------------------------------------------------------------

def sql_streams(sql: str) -> list[str]:
    """The streams and tables a rule's SELECT reads, in order."""
    try:
        stmt = parse(sql)
    except SqlSyntaxError:
        return []
    if not isinstance(stmt, ast.Select):
        return []
    return [stmt.source.name] + [j.source.name for j in stmt.joins]


@dataclass
class _Dependencies:
    streams: dict[str, None] = field(default_factory=dict)
    tables: dict[str, None] = field(default_factory=dict)
    source_keys: dict[str, list[str]] = field(default_factory=dict)
    sink_keys: dict[str, list[str]] = field(default_factory=dict)
    schemas: dict[str, None] = field(default_factory=dict)  # `<type>_<name>` keys


# --- the per-engine transfer object -------------------------------------------------------

@dataclass
class ImportResult:
    """eKuiper's ImportConfigurationStatus."""

    error: str = ""
    response: dict[str, dict[str, str]] = field(default_factory=empty_document)

    @property
    def failed_items(self) -> bool:
        return any(self.response.values())

    def to_json(self) -> dict:
        return {"ErrorMsg": self.error, "ConfigResponse": self.response}


_instances: weakref.WeakKeyDictionary[Engine, DataTransfer] = weakref.WeakKeyDictionary()


def transfer_for(engine: Engine) -> DataTransfer:
    """The one `DataTransfer` of an engine."""
    t = _instances.get(engine)
    if t is None:
        t = _instances[engine] = DataTransfer(engine)
    return t


class DataTransfer:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.store = engine.store
        self._lock = asyncio.Lock()
        from arrokoth._transfer_tasks import ImportTasks

        self.tasks = ImportTasks(self)

    # --- export ----------------------------------------------------------------------

    def _conf_sections(self, kind: str, keys: dict[str, list[str]] | None = None) -> dict[str, str]:
        out = {}
        prefix = f"{kind}."
        for ns in self.store.namespaces():
            if not ns.startswith(prefix):
                continue
            typ = ns[len(prefix):]
            items = self.store.items(ns)
            if keys is not None:
                wanted = keys.get(typ, [])
                items = {k: v for k, v in items.items() if k in wanted}
            if items:
                out[typ] = go_json(items, sort_keys=True).decode()
        return out

    def export_document(self) -> dict[str, dict[str, str]]:
        """GET /data/export: everything stored."""
        doc = empty_document()
        doc["streams"] = self.store.items(NS_STREAMS)
        doc["tables"] = self.store.items(NS_TABLES)
        doc["rules"] = self.store.items(NS_RULES)
        for section, kind in CONF_SECTIONS.items():
            doc[section] = self._conf_sections(kind)
        doc["Schema"] = self._schemas().export()
        doc["uploads"] = self._export_uploads()
        return doc

    def _schemas(self):
        from arrokoth.schemas import registry_for

        return registry_for(self.engine)

    def export_rules(self, rule_ids: list[str]) -> dict[str, dict[str, str]]:
        """POST /data/export: these rules (an unknown id exports as ""), the streams and
        tables they read and the confKeys those and their sinks use; every connection."""
        doc = empty_document()
        deps = _Dependencies()
        for rule_id in rule_ids:
            text = self.store.get(NS_RULES, rule_id)
            doc["rules"][rule_id] = text if isinstance(text, str) else ""
            if not isinstance(text, str):
                continue
            try:
                rule = RuleDef.parse(text, path_id=rule_id)
            except RuleDefError:
                continue
            self._traverse(rule, deps)
        for name in deps.streams:
            doc["streams"][name] = self.store.get(NS_STREAMS, name)
        for name in deps.tables:
            doc["tables"][name] = self.store.get(NS_TABLES, name)
        doc["sourceConfig"] = self._conf_sections("sources", deps.source_keys)
        doc["sinkConfig"] = self._conf_sections("sinks", deps.sink_keys)
        doc["connectionConfig"] = self._conf_sections("connections")
        doc["Schema"] = self._schemas().export(set(deps.schemas))
        doc["uploads"] = self._export_uploads()
        return doc

    def _traverse(self, rule: RuleDef, deps: _Dependencies) -> None:
        for name in sql_streams(rule.sql):
            d = self.engine.streams.get(name)
            if d is None or not self.store.has(NS_TABLES if d.kind == "table" else NS_STREAMS, name):
                continue  # unknown or TEMP: eKuiper reads the stored definitions only
            (deps.tables if d.kind == "table" else deps.streams)[name] = None
            key = d.option("CONF_KEY")
            if key:
                deps.source_keys.setdefault(d.type, []).append(key)
            schema_id = d.option("SCHEMAID")
            if d.format == "protobuf" and schema_id:
                deps.schemas[f"protobuf_{schema_id.partition('.')[0]}"] = None
        for action in rule.actions:
            for typ, props in action.items():
                resource_id = props.get("resourceId") if isinstance(props, dict) else None
                if isinstance(resource_id, str):
                    deps.sink_keys.setdefault(typ.lower(), []).append(resource_id)
                schema_id = _ci(props, "schemaid") if isinstance(props, dict) else None
                fmt = _ci(props, "format") if isinstance(props, dict) else None
                if isinstance(schema_id, str) and schema_id and str(fmt).lower() == "protobuf":
                    deps.schemas[f"protobuf_{schema_id.partition('.')[0]}"] = None

    def export_ruleset(self) -> dict[str, dict[str, str]]:
        """POST /ruleset/export."""
        return {"streams": self.store.items(NS_STREAMS), "tables": self.store.items(NS_TABLES),
                "rules": self.store.items(NS_RULES)}

    def _uploads_dir(self) -> Path:
        return Path(self.engine.config.data_dir) / "uploads"

    def _export_uploads(self) -> dict[str, str]:
        """The text files under <data dir>/uploads as eKuiper's `{"name","content"}`."""
        base = self._uploads_dir()
        out: dict[str, str] = {}
        if not base.is_dir():
            return out
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            name = path.relative_to(base).as_posix()
            try:
                content = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                log.warning("upload %s is not a text file; it is left out of the export", name)
                continue
            out[name] = go_json({"name": name, "content": content}).decode()
        return out

    # --- import ----------------------------------------------------------------------

    async def import_document(
        self, data: bytes | str, *, partial: bool, stop: bool = False, cancel: asyncio.Event | None = None
    ) -> ImportResult:
        """POST /data/import. Without `partial` everything is wiped first (only once the
        document has parsed) and the per-item errors become the import status."""
        async with self._lock:
            try:
                doc = parse_string_maps(data, SECTIONS, "server.Configuration")
            except TransferError as e:
                return ImportResult(f"configuration unmarshal with error {e.message}", empty_document())
            checkpoint = _checkpoint(cancel)
            if not partial:
                await self._wipe(checkpoint)
            result = ImportResult()
            resp = result.response
            resp["uploads"] = await self._import_uploads(doc["uploads"], checkpoint)
            if not partial and stop and doc["nativePlugins"]:
                errors = {k: UNSUPPORTED["nativePlugins"] for k in doc["nativePlugins"]}
                return ImportResult(f"pluginImport NativePlugins import error {_go_map(errors)}", empty_document())
            # schemas before streams and rules: a protobuf stream's decoder needs its schema.
            # eKuiper installs them on a full import only with stop=1 (then restarts);
            # Arrokoth installs them live, with or without stop
            await checkpoint()
            resp["Schema"] = await self._schemas().import_section(doc["Schema"], partial=partial)
            if not partial and stop and resp["Schema"]:
                return ImportResult(f"schemaImport Schema import error {_go_map(resp['Schema'])}", empty_document())
            for section, message in UNSUPPORTED.items():
                if section == "nativePlugins" and not partial:
                    continue  # a full import installs these only with stop=1 (above)
                resp[section] = {k: message for k in doc[section]}
            for section, kind in CONF_SECTIONS.items():
                resp[section] = await self._import_conf(kind, doc[section], checkpoint)
            if doc["connectionConfig"] or not partial:  # a full import wiped the stored ones
                await self._reload_connections()
            for kind in ("stream", "table"):
                section = f"{kind}s"
                for name, sql in doc[section].items():
                    await checkpoint()
                    error = _item_error(self.engine.replace_stream, name, sql, kind)
                    if error:
                        resp[section][name] = error
            for rule_id, text in doc["rules"].items():
                await checkpoint()
                error = await self._upsert_rule(rule_id, text)
                if error:
                    resp["rules"][rule_id] = error
            if not partial:
                self._save_status(resp)
            if result.failed_items:
                result.error = PROCESS_ERROR
            return result

    async def _upsert_rule(self, rule_id: str, text: str) -> str:
        """PUT /rules/{id}'s path; the error text without the handler's prefix."""
        try:
            await self.engine.upsert_rule(rule_id, text)
        except EngineError as e:
            return e.message.removeprefix("Update rule error: ")
        except Exception as e:  # noqa: BLE001 - one broken item must not end the import
            log.exception("import: rule %s", rule_id)
            return str(e) or type(e).__name__
        return ""

    async def _wipe(self, checkpoint: Callable) -> None:
        """Drop every rule, stream, table and stored confKey."""
        for rule_id in list(self.engine.rules):
            await checkpoint()
            try:
                await self.engine.delete_rule(rule_id)
            except EngineError as e:
                log.warning("import: cannot delete rule %s: %s", rule_id, e.message)
        for name, d in list(self.engine.streams.items()):
            try:
                self.engine.drop_stream(name, d.kind, force=True)
            except EngineError as e:
                log.warning("import: cannot drop %s %s: %s", d.kind, name, e.message)
        for ns in self.store.namespaces():
            if ns.startswith(tuple(f"{kind}." for kind in CONF_SECTIONS.values())):
                self.store.clear(ns)
        self._schemas().wipe()

    async def _import_conf(self, kind: str, section: dict[str, str], checkpoint: Callable) -> dict[str, str]:
        """One JSON string of `{confKey: props}` per plugin type; keys are merged in."""
        errors: dict[str, str] = {}
        for typ, text in section.items():
            await checkpoint()
            try:
                validate_id(typ)
            except RuleDefError as e:
                errors[typ] = str(e)
                continue
            try:
                keys = jsonvalue.loads(text)
            except jsonvalue.DecodeError as e:
                errors[typ] = go_json_error(e, text)
                continue
            if keys is None:
                keys = {}
            if not isinstance(keys, dict):
                errors[typ] = f"json: cannot unmarshal {go_kind(keys)} into Go value of type meta.YamlConfigurations"
                continue
            bad = next((v for v in keys.values() if v is not None and not isinstance(v, dict)), None)
            if bad is not None:
                errors[typ] = f"json: cannot unmarshal {go_kind(bad)} into Go value of type map[string]interface {{}}"
                continue
            self.store.set_many(f"{kind}.{typ.lower()}", {k: v or {} for k, v in keys.items()})
        return errors

    async def _reload_connections(self) -> None:
        # the named-connection pool opens the stored connections it does not hold yet
        try:
            await self.engine.connections.reload()
        except Exception as e:  # noqa: BLE001 - eKuiper only logs a failing reload
            log.error("reload connection config error: %s", e)

    async def _import_uploads(self, section: dict[str, str], checkpoint: Callable) -> dict[str, str]:
        """Write each `{"name","content"|"file"}` under <data dir>/uploads."""
        errors: dict[str, str] = {}
        base = self._uploads_dir()
        for key, text in section.items():
            await checkpoint()
            try:
                fc = jsonvalue.loads(text)
            except jsonvalue.DecodeError as e:
                errors[key] = f"invalid body: Error decoding file json: {go_json_error(e, text)}"
                continue
            fc = fc if isinstance(fc, dict) else {}
            name, content, file = (_ci(fc, k) for k in ("name", "content", "file"))
            if not content and not file:
                errors[key] = "invalid body: content or FilePath is required"
                continue
            if not name or not isinstance(name, str):
                errors[key] = "invalid body: name is required"
                continue
            try:
                target = (base / name).resolve()
                if not target.is_relative_to(base.resolve()):
                    errors[key] = f"invalid file name {name}: it leaves the upload directory"
                    continue
                data = await read_uri(file) if isinstance(file, str) and file else str(content).encode()
                target.parent.mkdir(parents=True, exist_ok=True)
                await asyncio.to_thread(target.write_bytes, data)
            except TransferError as e:
                errors[key] = e.message
            except (OSError, ValueError) as e:
                errors[key] = f"open {name}: {_os_error(e)}"
        return errors

    def _save_status(self, resp: dict[str, dict[str, str]]) -> None:
        self.store.clear(NS_IMPORT_STATUS)
        self.store.set_many(NS_IMPORT_STATUS, {s: dict(resp[s]) for s in STATUS_SECTIONS if resp[s]})

    def import_status(self) -> dict[str, dict[str, str]]:
        """GET /data/import/status: the per-item errors of the last full import."""
        doc = empty_document()
        for section, errors in self.store.items(NS_IMPORT_STATUS).items():
            if section in doc and isinstance(errors, dict):
                doc[section] = errors
        return doc

    async def import_ruleset(self, data: bytes | str) -> tuple[int, int, int]:
        """POST /ruleset/import: upsert; a failing item is logged and not counted."""
        async with self._lock:
            try:
                rs = parse_string_maps(data, ("streams", "tables", "rules"), "processor.Ruleset")
            except TransferError as e:
                raise TransferError(f"invalid import file: {e.message}") from None
            counts = [0, 0, 0]
            for i, kind in enumerate(("stream", "table")):
                for name, sql in rs[f"{kind}s"].items():
                    await asyncio.sleep(0)
                    error = _item_error(self.engine.replace_stream, name, sql, kind)
                    if error:
                        log.warning("Fail to import %s %s with error: %s", kind, name, error)
                    else:
                        counts[i] += 1
            for rule_id, text in rs["rules"].items():
                await asyncio.sleep(0)
                error = await self._upsert_rule(rule_id, text)
                if error:
                    log.warning("Fail to import rule %s with error: %s", rule_id, error)
                else:
                    counts[2] += 1
            return counts[0], counts[1], counts[2]

    # --- the v2 YAML document --------------------------------------------------------

    def export_yaml(self) -> str:
        from arrokoth._transfer_yaml import export_yaml

        return export_yaml(self)

    async def import_yaml(self, data: bytes | str) -> None:
        from arrokoth._transfer_yaml import import_yaml

        async with self._lock:
            await import_yaml(self, data)


def _item_error(fn: Callable, *args: Any) -> str:
    """Run one import item; its error text, or "" when it went through."""
    try:
        fn(*args)
    except EngineError as e:
        return e.message
    except Exception as e:  # noqa: BLE001 - one broken item must not end the import
        log.exception("import: %s%r", getattr(fn, "__name__", fn), args[:1])
        return str(e) or type(e).__name__
    return ""


def _ci(obj: dict, name: str) -> Any:
    if name in obj:
        return obj[name]
    return next((v for k, v in obj.items() if isinstance(k, str) and k.lower() == name), None)


def _checkpoint(cancel: asyncio.Event | None) -> Callable:
    """Between two items: let other work run, and stop here if the import was cancelled."""

    async def checkpoint() -> None:
        await asyncio.sleep(0)
        if cancel is not None and cancel.is_set():
            raise ImportCancelled()

    return checkpoint
