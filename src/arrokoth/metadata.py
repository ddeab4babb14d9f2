"""Metadata of connectors, functions and operators, in the shapes eKuiper's UI reads (`/metadata/...`).

Each connector type is described declaratively: the built-ins by a YAML file in
`arrokoth/etc/metadata/<sources|sinks>/<type>.yaml`, plugins by `register_source_meta` /
`register_sink_meta`. A registered type without a description still gets a generic entry
(its properties guessed from its shipped `default` confKey section), so the list endpoints
never break when a plugin ships no metadata.

Languages: connector fields, `about`, `dataSource` and `node` labels use `{"en","zh"}`;
function and operator entries mirror eKuiper's raw `etc/functions` / `etc/ops` files and use
`{"en_US","zh_CN"}`. The `Content-Language` header only picks the language of error prefixes.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources as _resources
from typing import Any

from arrokoth.engine import EngineError

# --- languages of error messages (eKuiper's etc/multilingual/*.ini) ------------------------

DEFAULT_LANGUAGE = "en_US"

_MESSAGES: dict[str, dict[str, str]] = {
    "en_US": {
        "not_found_plugin": "This plugin was not found:",
        "type_conversion_fail": "Type conversion failed:",
        "write_data_fail": "Failed to write data to file:",
    },
    "zh_CN": {
        "not_found_plugin": "没有找到这个插件：",
        "type_conversion_fail": "类型转换错误：",
        "write_data_fail": "数据写入文件失败：",
    },
}


def language(header: str | None) -> str:
    """`Content-Language: zh-CN` → `zh_CN`; absent or empty → `en_US`."""
    header = (header or "").strip()
    return header.replace("-", "_") if header else DEFAULT_LANGUAGE


def message(lang: str, key: str) -> str:
    """A message prefix; an unknown language gives "" as eKuiper's getMsg does."""
    return _MESSAGES.get(lang, {}).get(key, "")


def localize(text: str, lang: str) -> str:
    """Swap an English message prefix produced below the REST layer for `lang`'s."""
    if lang == DEFAULT_LANGUAGE:
        return text
    for key, prefix in _MESSAGES[DEFAULT_LANGUAGE].items():
        if text.startswith(prefix):
            return message(lang, key) + text[len(prefix):]
    return text


def not_found(name: str, lang: str) -> EngineError:
    return EngineError(f"{message(lang, 'not_found_plugin')}{name}", 5000)


# --- declarations -------------------------------------------------------------------------

_AUTHOR = {"name": "Arrokoth", "email": "", "company": "", "website": ""}
_DECLARED: dict[tuple[str, str], dict] = {}


def register_source_meta(name: str, meta: dict) -> None:
    """Describe a source type (same keys as the YAML files); replaces any earlier description."""
    _DECLARED[("sources", name.lower())] = meta


def register_sink_meta(name: str, meta: dict) -> None:
    _DECLARED[("sinks", name.lower())] = meta


@cache
def _yaml(*parts: str) -> Any:
    import yaml

    path = _resources.files("arrokoth").joinpath("etc", "metadata", *parts)
    if not path.is_file():
        return None
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _declared(kind: str, typ: str) -> dict | None:
    meta = _DECLARED.get((kind, typ))
    if meta is None:
        meta = _yaml(kind, f"{typ}.yaml")
    return meta


def registered(kind: str) -> list[str]:
    if kind == "sources":
        from arrokoth.io.lookup.registry import lookup_types
        from arrokoth.io.sources.registry import source_types

        # lookup-only types (redis, sql without a scan source) are sources too
        return sorted(set(source_types()) | set(lookup_types()))
    from arrokoth.io.sinks.registry import sink_types

    return sink_types()


def _connector_class(kind: str, typ: str) -> type:
    if kind == "sources":
        from arrokoth.io.lookup.registry import lookup_class
        from arrokoth.io.sources.registry import source_class, source_types

        return source_class(typ) if typ in source_types() or typ == "memory" else lookup_class(typ)
    from arrokoth.io.sinks.registry import sink_class

    return sink_class(typ)


def _plugin_type(kind: str, typ: str, meta: dict | None) -> str:
    if meta and meta.get("type"):
        return str(meta["type"])
    module = getattr(_connector_class(kind, typ), "__module__", "")
    return "internal" if module.startswith("arrokoth.io.") else "native"


# --- building the UI shapes ---------------------------------------------------------------


def _pair(value: Any, fallback: str = "", keys: tuple[str, str] = ("en", "zh")) -> dict[str, str]:
    """A two-language text; a plain string or a missing language falls back to the other."""
    en_key, zh_key = keys
    if isinstance(value, dict):
        en = value.get(en_key, value.get("en", value.get("en_US", fallback)))
        zh = value.get(zh_key, value.get("zh", value.get("zh_CN", en)))
        return {en_key: str(en), zh_key: str(zh)}
    text = fallback if value is None else str(value)
    return {en_key: text, zh_key: text}


def _field(decl: dict) -> dict:
    name = str(decl["name"])
    return {
        "exist": False,
        "name": name,
        "default": copy.deepcopy(decl.get("default")),
        "type": decl.get("type", "string"),
        "control": decl.get("control", "text"),
        "connection_related": bool(decl.get("connection_related", False)),
        "optional": bool(decl.get("optional", False)),
        "values": copy.deepcopy(decl.get("values")),
        "hint": _pair(decl.get("hint"), name),
        "label": _pair(decl.get("label"), name),
    }


def _guess_field(name: str, value: Any, typ: str, what: tuple[str, str]) -> dict:
    """A field for a property known only from the shipped defaults."""
    if isinstance(value, bool):
        ftype, control = "bool", "radio"
    elif isinstance(value, int):
        ftype, control = "int", "text"
    elif isinstance(value, float):
        ftype, control = "float", "text"
    elif isinstance(value, list):
        ftype = "list_string" if all(isinstance(v, str) for v in value) else "list_object"
        control = "list" if ftype == "list_string" else "textarea"
    elif isinstance(value, dict):
        ftype, control = "object", "textarea"
    else:
        ftype, control = "string", "text"
    return _field({
        "name": name, "default": value, "type": ftype, "control": control, "optional": True,
        "hint": {"en": f"The {name} property of the {typ} {what[0]}.", "zh": f"{typ} {what[1]}的 {name} 属性。"},
    })


def _about(meta: dict | None, typ: str, what: tuple[str, str]) -> dict:
    decl = (meta or {}).get("about") or {}
    author = dict(_AUTHOR)
    author.update({k: str(v) for k, v in (decl.get("author") or {}).items() if k in author})
    return {
        "trial": bool(decl.get("trial", False)),
        "installed": True,
        "author": author,
        "helpUrl": _pair(decl.get("helpUrl"), ""),
        "description": _pair(decl["description"]) if decl.get("description")
        else {"en": f"The {typ} {what[0]}.", "zh": f"{typ} {what[1]}。"},
    }


def _node(meta: dict | None, typ: str, category: str) -> dict:
    decl = (meta or {}).get("node") or {}
    return {
        "category": decl.get("category", category),
        "icon": decl.get("icon", "iconPath"),
        "label": _pair(decl.get("label"), typ),
    }


def _properties(kind: str, typ: str, meta: dict | None) -> list[dict]:
    from arrokoth.confkeys import shipped

    what = ("source", "数据源") if kind == "sources" else ("sink", "动作")
    if meta is not None and meta.get("properties") is not None:
        fields = [_field(d) for d in meta["properties"]]
    else:
        defaults = shipped(kind, typ).get("default", {})
        fields = [_guess_field(k, v, typ, what) for k, v in defaults.items()]
    if kind == "sinks":
        names = {f["name"] for f in fields}
        common = (_yaml("sink_common.yaml") or {}).get("properties", [])
        fields += [_field(d) for d in common if d["name"] not in names]
    return fields


def _data_source(meta: dict | None) -> dict:
    if meta is not None and "dataSource" in meta:
        decl = meta["dataSource"] or {}
    else:
        decl = {
            "default": "",
            "label": {"en": "Data source", "zh": "数据源"},
            "hint": {"en": "What to read, as the stream's DATASOURCE option.", "zh": "要读取的内容，即流的 DATASOURCE 选项。"},
        }
    if not decl:
        return {}
    return {"default": decl.get("default", ""), "hint": _pair(decl.get("hint"), ""), "label": _pair(decl.get("label"), "")}


def _kinds(typ: str) -> list[str]:
    meta = _declared("sources", typ)
    return list((meta or {}).get("kinds") or ["scan"])


def _lookup_type(kind: str, name: str, lang: str) -> tuple[str, dict | None]:
    typ = name.lower()
    if typ not in registered(kind):
        raise not_found(name, lang)
    return typ, _declared(kind, typ)


# --- sources, sinks, connections ------------------------------------------------------------


def source_list(kind: str = "") -> list[dict]:
    """GET /metadata/sources[?kind=lookup]: scan-capable types unless kind is lookup, by name."""
    want = "lookup" if kind.lower() == "lookup" else "scan"
    out = []
    for typ in registered("sources"):
        if want in _kinds(typ):
            meta = _declared("sources", typ)
            out.append({"name": typ, "about": _about(meta, typ, ("source", "数据源")),
                        "type": _plugin_type("sources", typ, meta)})
    return out


def source_meta(name: str, lang: str = DEFAULT_LANGUAGE) -> dict:
    """GET /metadata/sources/{name}."""
    typ, meta = _lookup_type("sources", name, lang)
    return {
        "about": _about(meta, typ, ("source", "数据源")),
        "libs": list((meta or {}).get("libs") or []),
        "dataSource": _data_source(meta),
        "properties": {"default": _properties("sources", typ, meta)},
        "node": _node(meta, typ, "source"),
        "type": _plugin_type("sources", typ, meta),
    }


def sink_list() -> list[dict]:
    """GET /metadata/sinks, by name."""
    out = []
    for typ in registered("sinks"):
        meta = _declared("sinks", typ)
        out.append({"name": typ, "about": _about(meta, typ, ("sink", "动作")), "type": _plugin_type("sinks", typ, meta)})
    return out


def sink_meta(name: str, lang: str = DEFAULT_LANGUAGE) -> dict:
    """GET /metadata/sinks/{name}: the properties are a flat array, the common ones last."""
    typ, meta = _lookup_type("sinks", name, lang)
    return {
        "about": _about(meta, typ, ("sink", "动作")),
        "libs": list((meta or {}).get("libs") or []),
        "properties": _properties("sinks", typ, meta),
        "node": _node(meta, typ, "sink"),
        "type": _plugin_type("sinks", typ, meta),
    }


def connection_meta(name: str, lang: str = DEFAULT_LANGUAGE) -> dict:
    """GET /metadata/connections/{name}: the source metadata with connection-related fields only."""
    out = source_meta(name, lang)
    out["properties"] = {
        section: [f for f in fields if f["connection_related"]] for section, fields in out["properties"].items()
    }
    return out


def connection_list(engine) -> list[dict]:
    """GET /metadata/connections: source types that have connection settings, by name.

    A type qualifies when its metadata marks a field connection-related, or when it has
    connection confKeys (shipped in etc/connections or stored), as eKuiper lists the types
    that own a connection config operator.
    """
    from arrokoth.confkeys import shipped

    out = []
    for typ in registered("sources"):
        meta = _declared("sources", typ)
        related = any(f["connection_related"] for f in _properties("sources", typ, meta))
        if related or shipped("connections", typ) or engine.store.keys(f"connections.{typ}"):
            out.append({"name": typ, "about": _about(meta, typ, ("source", "数据源"))})
    return out


# --- functions and operators --------------------------------------------------------------

def _arg_phrase(lo: int, hi: int | None) -> tuple[str, str]:
    if hi == 0:
        return "takes no argument", "不接受参数"
    if hi is None:
        return f"takes at least {lo} argument{'s' if lo != 1 else ''}", f"接受至少 {lo} 个参数"
    if lo == hi:
        return f"takes {lo} argument{'s' if lo != 1 else ''}", f"接受 {lo} 个参数"
    return f"takes {lo} to {hi} arguments", f"接受 {lo} 到 {hi} 个参数"


def _args(lo: int, hi: int | None) -> list[dict]:
    count = hi if hi is not None else lo + 1
    out = []
    for i in range(1, count + 1):
        variadic = hi is None and i == count
        optional = i > lo
        arg: dict[str, Any] = {
            "name": f"arg{i}",
            "optional": optional,
            "control": "field",
            "type": "any",
            "hint": {
                "en_US": "Further arguments, as many as needed." if variadic else f"Argument {i}.",
                "zh_CN": "更多参数，数量不限。" if variadic else f"第 {i} 个参数。",
            },
            "label": {"en_US": f"Argument {i}", "zh_CN": f"参数 {i}"},
        }
        if variadic:
            arg["variadic"] = True
        out.append(arg)
    return out


def _example(name: str, lo: int, hi: int | None) -> str:
    """`round(arg1[, arg2])`, `concat(arg1, ...)`, `pi()`."""
    text = ", ".join(f"arg{i}" for i in range(1, lo + 1))
    if hi is None:
        text = f"{text}, ..." if text else "..."
    else:
        optional = ""
        for i in range(hi, lo, -1):
            optional = f"[{', ' if i > 1 else ''}arg{i}{optional}]"
        text += optional
    return f"{name}({text})"


def _doc(fdef) -> str:
    text = (fdef.doc or fdef.impl.__doc__ or "").strip()
    return " ".join(text.split("\n\n")[0].split())


def _function_entry(fdef, name: str, category: dict) -> dict:
    from arrokoth.functions.registry import FuncKind

    lo, hi = fdef.min_args, fdef.max_args
    en_args, zh_args = _arg_phrase(lo, hi)
    cat_en = category["label"]["en_US"]
    cat_zh = category["label"]["zh_CN"]
    doc = _doc(fdef)
    hint = {
        "en_US": doc or f"{cat_en} function {fdef.name}; it {en_args}.",
        "zh_CN": f"{cat_zh}函数 {fdef.name}，{zh_args}。",
    }
    if name != fdef.name:
        hint = {"en_US": f"Another name of {fdef.name}. {hint['en_US']}", "zh_CN": f"{fdef.name} 的别名。{hint['zh_CN']}"}
    entry: dict[str, Any] = {"name": name, "example": _example(name, lo, hi), "hint": hint, "args": _args(lo, hi)}
    if fdef.kind is FuncKind.AGGREGATE:
        entry["aggregate"] = True
    entry["kind"] = fdef.kind.value
    entry["minArgs"] = lo
    entry["maxArgs"] = hi
    if name != fdef.name:
        entry["aliasOf"] = fdef.name
    return entry


def functions() -> list[dict]:
    """GET /metadata/functions: one group per category (built-ins) or per plugin, by name."""
    from arrokoth.functions import builtins
    from arrokoth.functions.registry import registry

    builtins.load()
    conf = _yaml("functions.yaml") or {}
    categories = conf.get("categories") or {}
    groups: dict[str, list[tuple[Any, str]]] = {}
    for name in registry.names():
        fdef = registry.get(name)
        if fdef is None:
            continue
        module = getattr(fdef.impl, "__module__", "") or ""
        if fdef.plugin:
            group = fdef.plugin
        elif module.startswith("arrokoth.functions."):
            group = module.rsplit(".", 1)[1]
        else:
            group = "other"
        groups.setdefault(group, []).append((fdef, name))
    out = []
    for group in sorted(groups):
        category = categories.get(group) or {
            "label": {"en_US": group, "zh_CN": group},
            "description": {"en_US": f"Functions of the {group} plugin.", "zh_CN": f"{group} 插件提供的函数。"},
        }
        about = {
            "trial": False,
            "installed": True,
            "author": dict(_AUTHOR),
            "helpUrl": _pair(conf.get("helpUrl"), "", ("en_US", "zh_CN")),
            "description": _pair(category.get("description"), "", ("en_US", "zh_CN")),
        }
        entries = [_function_entry(fdef, name, category) for fdef, name in sorted(groups[group], key=lambda x: x[1])]
        out.append({"name": group, "about": about, "functions": entries})
    return out


def operators() -> list[dict]:
    """GET /metadata/operators."""
    out = []
    for op in (_yaml("operators.yaml") or {}).get("operators", []):
        out.append({
            "name": op["name"],
            "about": {
                "trial": False,
                "author": dict(_AUTHOR),
                "helpUrl": {"en_US": "", "zh_CN": ""},
                "description": _pair(op.get("description"), "", ("en_US", "zh_CN")),
            },
            "properties": [
                {
                    "name": p["name"],
                    "default": copy.deepcopy(p.get("default")),
                    "optional": bool(p.get("optional", False)),
                    "control": p.get("control", "text"),
                    "type": p.get("type", "string"),
                    **({"values": list(p["values"])} if "values" in p else {}),
                    "hint": _pair(p.get("hint"), p["name"], ("en_US", "zh_CN")),
                    "label": _pair(p.get("label"), p["name"], ("en_US", "zh_CN")),
                }
                for p in op.get("properties", [])
            ],
            "node": {
                "display": True,
                "category": "op",
                "icon": "iconPath",
                "label": _pair(op.get("label"), op["name"]),
            },
        })
    return out
