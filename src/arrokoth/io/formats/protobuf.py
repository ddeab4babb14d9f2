"""The protobuf format: `SCHEMAID="file.MessageType"`, the .proto coming from the schema registry.

The .proto text is compiled at run time into descriptors, then into message classes with
`google.protobuf.message_factory` (the `protobuf` extra: `pip install arrokoth[protobuf]`).
The compiler is a small parser of our own (`_proto_parser`) for the proto2/proto3 syntax
that message schemas use, building `descriptor_pb2.FileDescriptorProto`s: it needs nothing
beyond the protobuf package, behaves the same on every machine and its errors name the
line. What it refuses (proto2 groups, editions) goes to `grpcio-tools`' bundled protoc
when that package is installed. Imports of other registered schemas and of
google/protobuf's well-known types are resolved here.

Where the .proto text comes from: a *schema provider* (the schema registry of an engine
registers itself with `add_schema_provider`). Decoded values follow eKuiper's converter:
integers of every width and enums are ints, float and double are floats, messages are
dicts, unset message and oneof fields are left out.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Protocol

from arrokoth.io.formats._proto_parser import ProtoSyntaxError, imports, parse_into
from arrokoth.io.formats.json import FormatError

__all__ = ["ProtoSyntaxError", "ProtobufDecoder", "ProtobufEncoder", "add_schema_provider", "compile_schema",
           "message_descriptor", "parse_proto", "remove_schema_provider"]

# --- where schemas come from ----------------------------------------------------------------


class SchemaProvider(Protocol):
    def schema_content(self, schema_type: str, name: str) -> str | None: ...


_providers: list[weakref.ref] = []


def add_schema_provider(provider: SchemaProvider) -> None:
    """Make `provider`'s schemas visible to the protobuf format (the latest one is asked first)."""
    remove_schema_provider(provider)
    _providers.append(weakref.ref(provider))


def remove_schema_provider(provider: SchemaProvider) -> None:
    _providers[:] = [r for r in _providers if r() is not None and r() is not provider]


def _content(name: str) -> str | None:
    for ref in reversed(_providers):
        provider = ref()
        if provider is not None:
            try:
                text = provider.schema_content("protobuf", name)
            except Exception:  # noqa: BLE001 - a provider that broke must not hide the others
                continue
            if text is not None:
                return text
    return None


def _need_protobuf():
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    except ImportError:
        raise FormatError(
            "the protobuf format needs the protobuf package: pip install arrokoth[protobuf]"
        ) from None
    return descriptor_pb2, descriptor_pool, message_factory


def parse_proto(text: str, file: str = "schema.proto"):
    """A .proto text → `descriptor_pb2.FileDescriptorProto` (raises `FormatError`)."""
    descriptor_pb2, _, _ = _need_protobuf()
    fdp = descriptor_pb2.FileDescriptorProto(name=file)
    parse_into(fdp, text, file)
    return fdp


# --- compiling a schema and its imports -----------------------------------------------------

_WELL_KNOWN = "google/protobuf/"
_lock = threading.Lock()
_compiled: dict[tuple, Any] = {}


def _gather(name: str, content: str) -> dict[str, str]:
    """The .proto texts a schema needs, by file name: itself and the registered schemas it imports."""
    sources: dict[str, str] = {}
    todo = [(f"{name}.proto", content)]
    while todo:
        file, text = todo.pop()
        if file in sources:
            continue
        sources[file] = text
        for dep in imports(text, file):
            if dep.startswith(_WELL_KNOWN) or dep in sources:
                continue
            dep_name = dep.rsplit("/", 1)[-1].removesuffix(".proto")
            dep_text = _content(dep_name)
            if dep_text is None:
                raise FormatError(f"schema {name} imports {dep}, which is not a registered protobuf schema")
            todo.append((dep, dep_text))
    return sources


def _well_known(file: str, out: list, added: set[str]) -> None:
    """A google/protobuf/*.proto file (and what it imports) as the protobuf package ships it."""
    descriptor_pb2, descriptor_pool, _ = _need_protobuf()
    import importlib

    module = file.removeprefix(_WELL_KNOWN).removesuffix(".proto") + "_pb2"
    try:
        importlib.import_module(f"google.protobuf.{module}")
        fd = descriptor_pool.Default().FindFileByName(file)
    except (ImportError, KeyError):
        raise FormatError(f"unknown well-known protobuf file {file}") from None
    added.add(file)
    for dep in fd.dependencies:
        if dep.name not in added:
            _well_known(dep.name, out, added)
    fdp = descriptor_pb2.FileDescriptorProto()
    fd.CopyToProto(fdp)
    out.append(fdp)


def _parsed_protos(name: str, sources: dict[str, str]) -> list:
    """Our parser's descriptors of a schema and its imports, each after what it imports."""
    parsed = {file: parse_proto(text, file) for file, text in sources.items()}
    out: list = []
    added: set[str] = set()

    def add(file: str) -> None:
        added.add(file)
        for dep in parsed[file].dependency:
            if dep in added:
                continue
            if dep.startswith(_WELL_KNOWN):
                _well_known(dep, out, added)
            else:
                add(dep)
        out.append(parsed[file])

    add(f"{name}.proto")
    return out


def _grpc_tools_protos(sources: dict[str, str]) -> list | None:
    """Compile with grpcio-tools' protoc; None when grpcio-tools is not installed or protoc fails
    (it prints its messages to the process's stderr, where they cannot be collected)."""
    try:
        from grpc_tools import protoc  # type: ignore[import-not-found]
    except ImportError:
        return None
    import importlib.resources
    import tempfile
    from pathlib import Path

    descriptor_pb2, _, _ = _need_protobuf()
    main = next(iter(sources))
    with tempfile.TemporaryDirectory(prefix="arrokoth-proto-") as tmp:
        root = Path(tmp)
        for file, text in sources.items():
            target = root / file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        out = root / "out.pb"
        include = str(importlib.resources.files("grpc_tools") / "_proto")
        code = protoc.main(["protoc", f"-I{root}", f"-I{include}", "--include_imports",
                            f"--descriptor_set_out={out}", str(root / main)])
        if code != 0 or not out.is_file():
            return None
        fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    return list(fds.file)


def compile_schema(name: str, content: str, *, use_grpc_tools: bool = True):
    """The `FileDescriptor` of a registered schema, compiled once per distinct text.

    Our parser reads the text (its errors name the line). When it refuses the syntax (proto2
    groups, editions) and grpcio-tools is installed, that protoc gets a try before the
    parser's error is raised.
    """
    _, descriptor_pool, _ = _need_protobuf()
    sources = _gather(name, content)
    key = tuple(sorted(sources.items()))
    with _lock:
        cached = _compiled.get(key)
        if cached is not None:
            return cached
        try:
            protos = _parsed_protos(name, sources)
        except ProtoSyntaxError:
            protos = _grpc_tools_protos(sources) if use_grpc_tools else None
            if protos is None:
                raise
        pool = descriptor_pool.DescriptorPool()
        try:
            for fdp in protos:
                pool.Add(fdp)
            fd = pool.FindFileByName(f"{name}.proto")
        except Exception as e:  # noqa: BLE001 - the descriptor builder's own errors (unknown type, …)
            raise FormatError(f"invalid protobuf schema {name}: {e}") from None
        if len(_compiled) > 64:
            _compiled.clear()
        _compiled[key] = fd
        return fd


def message_descriptor(schema_id: str):
    """`"file.MessageType"` → the message's descriptor, from the registered schema `file`."""
    if not isinstance(schema_id, str) or "." not in schema_id.strip("."):
        raise FormatError(f"schemaId {schema_id!r} must be in the form file.MessageType")
    name, _, message = schema_id.partition(".")
    content = _content(name)
    if content is None:
        raise FormatError(f"schema protobuf.{name} not found")
    fd = compile_schema(name, content)
    pool = fd.pool
    candidates = [f"{fd.package}.{message}", message] if fd.package else [message]
    for full in candidates:
        try:
            return pool.FindMessageTypeByName(full)
        except KeyError:
            continue
    raise FormatError(f"message type {message} not found in protobuf schema {name}")


def _message_class(descriptor):
    _, _, message_factory = _need_protobuf()
    return message_factory.GetMessageClass(descriptor)


# --- messages ⇄ dicts -------------------------------------------------------------------------

_WRAPPERS = frozenset(
    f"google.protobuf.{n}Value"
    for n in ("Bool", "Bytes", "Double", "Float", "Int32", "Int64", "String", "UInt32", "UInt64")
)
_INT_TYPES = frozenset((3, 4, 5, 6, 7, 13, 15, 16, 17, 18))
_UNSIGNED = frozenset((4, 6, 7, 13))
_FLOAT_TYPES = frozenset((1, 2))
T_BOOL, T_STRING, T_GROUP, T_MESSAGE, T_BYTES, T_ENUM = 8, 9, 10, 11, 12, 14
_MESSAGES = frozenset((T_GROUP, T_MESSAGE))  # a proto2 group (from protoc) is a message too


def _is_map(field) -> bool:
    return field.type in _MESSAGES and field.message_type.GetOptions().map_entry


def message_to_dict(msg) -> dict:
    out: dict[str, Any] = {}
    for field in msg.DESCRIPTOR.fields:
        name = field.name
        if field.is_repeated:
            value = getattr(msg, name)
            if _is_map(field):
                vf = field.message_type.fields_by_name["value"]
                out[name] = {k: _value(vf, v) for k, v in value.items()}
            else:
                out[name] = [_value(field, v) for v in value]
        elif field.type in _MESSAGES or field.containing_oneof is not None:
            if msg.HasField(name):
                out[name] = _value(field, getattr(msg, name))
        else:
            out[name] = _value(field, getattr(msg, name))
    return out


def _value(field, v: Any) -> Any:
    if field.type in _MESSAGES:
        if field.message_type.full_name in _WRAPPERS:
            return _value(field.message_type.fields_by_name["value"], v.value)
        return message_to_dict(v)
    if field.type in _FLOAT_TYPES:
        return float(v)
    if field.type == T_BYTES:
        return bytes(v)
    return v  # ints, enums (as ints), bools, strings


def _kind(field) -> str:
    t = field.type
    if t in _INT_TYPES or t == T_ENUM:
        return "uint" if t in _UNSIGNED else "int"
    if t in _FLOAT_TYPES:
        return "float"
    if t in _MESSAGES:
        return "map"
    return {T_BOOL: "bool", T_STRING: "string", T_BYTES: "bytes"}.get(t, "unknown")


def _convert(field, v: Any) -> Any:
    """A row value → what the message field takes, by eKuiper's same-kind casts."""
    t = field.type
    if t in _INT_TYPES or t == T_ENUM:
        if t == T_ENUM and isinstance(v, str):
            ev = field.enum_type.values_by_name.get(v)
            if ev is None:
                raise ValueError(f"{v!r} is not a value of enum {field.enum_type.name}")
            return ev.number
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"cannot convert {type(v).__name__}({v!r}) to int")
        n = int(v)
        if t in _UNSIGNED and n < 0:
            raise ValueError(f"cannot convert negative number {n} to uint")
        return n
    if t in _FLOAT_TYPES:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"cannot convert {type(v).__name__}({v!r}) to float")
        return float(v)
    if t == T_BOOL:
        if not isinstance(v, bool):
            raise ValueError(f"cannot convert {type(v).__name__}({v!r}) to bool")
        return v
    if t == T_STRING:
        if isinstance(v, bytes | bytearray):
            return bytes(v).decode("utf-8", "replace")
        if not isinstance(v, str):
            raise ValueError(f"cannot convert {type(v).__name__}({v!r}) to string")
        return v
    if t == T_BYTES:
        if isinstance(v, str):
            return v.encode()
        if not isinstance(v, bytes | bytearray):
            raise ValueError(f"cannot convert {type(v).__name__}({v!r}) to bytes")
        return bytes(v)
    raise ValueError("unsupported field type")


def fill_message(msg, data: dict) -> None:
    for field in msg.DESCRIPTOR.fields:
        name = field.name
        if name not in data or data[name] is None:
            if field.is_required:
                raise FormatError(f"field {name} not found")
            continue
        v = data[name]
        try:
            if _is_map(field):
                if not isinstance(v, dict):
                    raise ValueError(f"cannot convert {type(v).__name__} to map")
                target = getattr(msg, name)
                vf = field.message_type.fields_by_name["value"]
                kf = field.message_type.fields_by_name["key"]
                for k, x in v.items():
                    key = _convert(kf, k) if kf.type != T_STRING else str(k)
                    if vf.type in _MESSAGES:
                        _fill_sub(target[key], vf, x)
                    else:
                        target[key] = _convert(vf, x)
            elif field.is_repeated:
                if not isinstance(v, list):
                    raise ValueError(f"cannot convert {type(v).__name__} to a list")
                target = getattr(msg, name)
                for x in v:
                    if field.type in _MESSAGES:
                        _fill_sub(target.add(), field, x)
                    else:
                        target.append(_convert(field, x))
            elif field.type in _MESSAGES:
                _fill_sub(getattr(msg, name), field, v)
            else:
                setattr(msg, name, _convert(field, v))
        except FormatError:
            raise
        except (ValueError, TypeError, OverflowError) as e:
            raise FormatError(f"invalid type for {_kind(field)} type field '{name}': {e}") from None


def _fill_sub(sub, field, v: Any) -> None:
    if field.message_type.full_name in _WRAPPERS:
        sub.value = _convert(field.message_type.fields_by_name["value"], v)
        return
    if not isinstance(v, dict):
        raise ValueError(f"cannot convert {type(v).__name__}({v!r}) to map")
    fill_message(sub, v)
    sub.SetInParent()


# --- the format ---------------------------------------------------------------------------------


class ProtobufDecoder:
    def __init__(self, schema_id: str):
        if not schema_id:
            raise FormatError("the protobuf format needs SCHEMAID=\"file.MessageType\"")
        self.schema_id = schema_id
        self.descriptor = message_descriptor(schema_id)
        self._cls = _message_class(self.descriptor)

    def decode(self, payload: bytes | bytearray | memoryview | str) -> list[dict]:
        from google.protobuf.message import DecodeError

        if isinstance(payload, str):
            payload = payload.encode()
        msg = self._cls()
        try:
            msg.ParseFromString(bytes(payload))
        except (DecodeError, RuntimeError, ValueError) as e:
            raise FormatError(f"invalid protobuf payload for {self.schema_id}: {e}") from None
        return [message_to_dict(msg)]


class ProtobufEncoder:
    def __init__(self, schema_id: str):
        if not schema_id:
            raise FormatError("the protobuf format needs the schemaId property (\"file.MessageType\")")
        self.schema_id = schema_id
        self.descriptor = message_descriptor(schema_id)
        self._cls = _message_class(self.descriptor)

    def encode(self, data: Any) -> bytes:
        if type(data) is list:
            if len(data) != 1:
                raise FormatError(
                    f"protobuf encodes one row per message, but got {len(data)} rows: set sendSingle to true"
                )
            data = data[0]
        if type(data) is not dict:
            type_name = "null" if data is None else type(data).__name__
            raise FormatError(f"protobuf encodes objects, not {type_name}")
        msg = self._cls()
        fill_message(msg, data)
        return msg.SerializeToString()
