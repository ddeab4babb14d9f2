"""EdgeX messages as eKuiper reads and writes them: the MessageEnvelope, the Event, its readings.

Reading (the edgex source): an MQTT message is a MessageEnvelope in JSON. Its `payload` is
either base64 of the encoded Event (EdgeX 2, and EdgeX 3 with EDGEX_MSG_BASE64_PAYLOAD) or
the Event embedded as JSON (EdgeX 3's default), encoded per `contentType`
(application/json or application/cbor). With `messageType: request` the payload is an
AddEventRequest (`{"apiVersion", "requestId", "event"}`) checked and normalised as EdgeX's
decoder does. Each reading becomes a field named by its `resourceName`, converted by its
`valueType` as eKuiper's getValue does: Go's strconv syntax for Bool, the integers and the
floats (Float32 rounded to float32), JSON text for the arrays, `binaryValue` bytes,
`objectValue` as is, the raw text for any other type; a value that does not convert is
left out. Floats that older EdgeX services sent as base64 of the IEEE bits (with
`floatEncoding: Base64`, or a value holding "=") are read too.

Writing (the edgex sink): one Event from a result (a row, or the rows of one message, all
readings in one event), the valueType inferred from the value's type or taken from the
metadata field, the value text spelled as EdgeX's NewSimpleReading spells it (floats in
%e form such as 2.55e+01, arrays as "[1, 2]"), wrapped in a v3 MessageEnvelope whose
payload is base64 of the JSON event (or of the AddEventRequest, in CBOR when it holds a
Binary reading, as EdgeX's Encode does).
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import re
import struct
import time
import uuid
from typing import Any

import msgspec

from arrokoth.functions import jsonvalue
from arrokoth.io import _cbor
from arrokoth.io._gostrconv import format_float, parse_bool, parse_float, parse_int, parse_uint, to_float32

log = logging.getLogger("arrokoth.edgex")

JSON, CBOR = "application/json", "application/cbor"
MESSAGE_TYPES = ("event", "request")
API_VERSION = "v3"

_INTS = {"Int8": 8, "Int16": 16, "Int32": 32, "Int64": 64}
_UINTS = {"Uint8": 8, "Uint16": 16, "Uint32": 32, "Uint64": 64}
_FLOATS = {"Float32": 32, "Float64": 64}
SIMPLE_TYPES = ("Bool", "String", *_UINTS, *_INTS, *_FLOATS)
ARRAY_TYPES = tuple(f"{t}Array" for t in SIMPLE_TYPES)
VALUE_TYPES = (*SIMPLE_TYPES, "Binary", *ARRAY_TYPES, "Object", "ObjectArray")
_CANONICAL = {t.lower(): t for t in VALUE_TYPES}


class EdgexDecodeError(ValueError):
    """An envelope or its payload cannot be read; the message says why."""


# --- reading → value (eKuiper's getValue) --------------------------------------------------


def go_any(v: Any) -> Any:
    """A value as Go's encoding/json decodes it into `any`: every number a float64."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return float(v)
    if isinstance(v, dict):
        return {k: go_any(x) for k, x in v.items()}
    if isinstance(v, list):
        return [go_any(x) for x in v]
    return v


def _lower_keys(d: dict) -> dict:
    # Go's encoding/json matches field names case-insensitively
    return {k.lower() if isinstance(k, str) else k: v for k, v in d.items()}


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return jsonvalue.go_float_bytes(v).decode()
    if isinstance(v, int):
        return str(v)
    return jsonvalue.encode(v).decode()


def _json_list(text: str, element: type | tuple, zero: Any, what: str) -> list | None:
    """json.Unmarshal of `text` into a Go slice of `what`; null elements take the zero value."""
    try:
        v = msgspec.json.decode(text)
    except msgspec.DecodeError as e:
        raise ValueError(f"invalid JSON {text!r}: {e}") from None
    if v is None:
        return None
    if not isinstance(v, list):
        raise ValueError(f"json: cannot unmarshal {text!r} into Go value of type []{what}")
    out = []
    for x in v:
        if x is None:
            out.append(zero)
        elif isinstance(x, element) and not (isinstance(x, bool) and element is not bool):
            out.append(x)
        else:
            raise ValueError(f"json: cannot unmarshal {x!r} into Go value of type {what}")
    return out


def _int_list(text: str, lo: int, hi: int, what: str) -> list | None:
    out = _json_list(text, int, 0, what)
    for n in out or ():
        if not lo <= n <= hi:
            raise ValueError(f"json: cannot unmarshal number {n} into Go value of type {what}")
    return out


def _float_list(text: str, bits: int) -> list | None:
    try:
        strings = _json_list(text, str, "", "string")
    except ValueError:
        numbers = _json_list(text, (int, float), 0.0, "float64")
        return None if numbers is None else [float(x) for x in numbers]
    # eKuiper appends to a nil slice: no strings give nil, which JSON prints as null
    return [parse_float(s, bits) for s in strings] if strings else None


def _legacy_float(r: dict, value: str, bits: int) -> float:
    """Floats of EdgeX 1: base64 of the big-endian IEEE bits, or e-notation text."""
    encoding = _text(r.get("floatencoding"))
    if encoding.lower() == "base64" or (not encoding and "=" in value):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"unable to Base 64 decode float{bits} value ('{value}')") from None
        size = 4 if bits == 32 else 8
        if len(raw) < size:
            raise ValueError(f"unable to decode float{bits} value bytes: unexpected EOF")
        return struct.unpack(">f" if bits == 32 else ">d", raw[:size])[0]
    return parse_float(value, bits)


def reading_value(r: dict, *, json_numbers: bool = True) -> Any:
    """The value of one reading (keys lower-cased); ValueError when it does not convert."""
    vt = _text(r.get("valuetype"))
    value = _text(r.get("value"))
    if vt == "Bool":
        return parse_bool(value)
    if vt in ("Int8", "Int16", "Int32", "Int64", "Uint8", "Uint16", "Uint32"):
        return parse_int(value, 64, "Atoi")
    if vt == "Uint64":
        return parse_uint(value)
    if vt in _FLOATS:
        return _legacy_float(r, value, _FLOATS[vt])
    if vt == "String":
        return value
    if vt == "BoolArray":
        return _json_list(value, bool, False, "bool")
    if vt in ("Int8Array", "Int16Array", "Int32Array", "Int64Array", "Uint8Array", "Uint16Array", "Uint32Array"):
        return _int_list(value, -(1 << 63), (1 << 63) - 1, "int")
    if vt == "Uint64Array":
        return _int_list(value, 0, (1 << 64) - 1, "uint64")
    if vt in ("Float32Array", "Float64Array"):
        return _float_list(value, _FLOATS[vt[:-5]])
    if vt == "StringArray":
        return _json_list(value, str, "", "string")
    if vt == "Binary":
        raw = r.get("binaryvalue")
        if raw is None or isinstance(raw, bytes):
            return raw
        try:
            return base64.b64decode(_text(raw).replace("\r", "").replace("\n", ""), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("binaryValue is not base64") from None
    if vt == "Object":
        obj = r.get("objectvalue")
        # Go decodes the numbers of an `any` from JSON as float64
        return go_any(obj) if json_numbers else obj
    log.debug("edgex: valueType %r is not supported, the value is taken as a string", vt)
    return value


# --- envelope → event ----------------------------------------------------------------------


def decode_envelope(data: bytes) -> dict:
    """The MessageEnvelope of an MQTT payload, its keys lower-cased."""
    try:
        env = msgspec.json.decode(data)
    except msgspec.DecodeError as e:
        raise EdgexDecodeError(f"the message is not an EdgeX message envelope: {e}") from None
    if not isinstance(env, dict):
        raise EdgexDecodeError("the message is not an EdgeX message envelope: expected a JSON object")
    return _lower_keys(env)


def _unmarshal(content_type: str, raw: bytes) -> Any:
    ct = content_type.lower()
    try:
        if ct == JSON:
            return msgspec.json.decode(raw)
        if ct == CBOR:
            return _cbor.loads(raw)
    except (msgspec.DecodeError, _cbor.CborError) as e:
        raise EdgexDecodeError(f"failed to unmarshal the payload: {e}") from None
    raise EdgexDecodeError(f"unsupported content type: {content_type}")


def correlation_id(env: dict) -> str:
    return _text(env.get("correlationid"))


def envelope_event(env: dict, message_type: str) -> tuple[dict, bool]:
    """The Event of an envelope (keys lower-cased), and whether its numbers came from JSON."""
    content_type = _text(env.get("contenttype"))
    payload = env.get("payload")
    if isinstance(payload, str):
        try:
            raw = base64.b64decode(payload.replace("\r", "").replace("\n", ""), validate=True)
        except (binascii.Error, ValueError) as e:
            raise EdgexDecodeError(f"failed to decode base64 string of the payload: {e}") from None
        obj = _unmarshal(content_type, raw)
        json_numbers = content_type.lower() == JSON
    elif payload is None:
        raise EdgexDecodeError("the envelope has no payload")
    else:
        if content_type.lower() not in (JSON, CBOR):
            raise EdgexDecodeError(f"unsupported content type: {content_type}")
        # an embedded payload went through Go's `any`: every number is a float64
        obj, json_numbers = go_any(payload), True
    if not isinstance(obj, dict):
        raise EdgexDecodeError(f"the payload is not an EdgeX {message_type}: expected an object")
    obj = _lower_keys(obj)
    if message_type == "request":
        event = obj.get("event")
        if not isinstance(event, dict):
            raise EdgexDecodeError("the payload is not an AddEventRequest: its event is missing")
        event = _lower_keys(event)
        _check_request(obj, event)
        return event, json_numbers
    return obj, json_numbers


def _readings(event: dict) -> list[dict]:
    readings = event.get("readings")
    if readings is None:
        return []
    if not isinstance(readings, list) or not all(isinstance(r, dict) for r in readings):
        raise EdgexDecodeError("the readings of the event are not a list of objects")
    return [_lower_keys(r) for r in readings]


_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


def _check_request(request: dict, event: dict) -> None:
    """AddEventRequest's Validate, then the valueType normalisation of its Unmarshal."""
    def bad(why: str) -> EdgexDecodeError:
        return EdgexDecodeError(f"invalid AddEventRequest: {why}")

    rid = _text(request.get("requestid"))
    if rid and not _UUID.fullmatch(rid):
        raise bad("requestId is not a UUID")
    if not _UUID.fullmatch(_text(event.get("id"))):
        raise bad("event id is not a UUID")
    for key, name in (("devicename", "deviceName"), ("profilename", "profileName"), ("sourcename", "sourceName")):
        if not _text(event.get(key)).strip():
            raise bad(f"event {name} is empty")
    if not _int(event.get("origin")):
        raise bad("event origin is missing")
    readings = _readings(event)
    if not readings:
        raise bad("the event has no readings")
    for r in readings:
        for key, name in (("devicename", "deviceName"), ("resourcename", "resourceName"),
                          ("profilename", "profileName")):
            if not _text(r.get(key)).strip():
                raise bad(f"reading {name} is empty")
        if not _int(r.get("origin")):
            raise bad("reading origin is missing")
        vt = _text(r.get("valuetype"))
        if vt.lower() not in _CANONICAL:
            raise bad(f"unable to normalize the unknown value type {vt}")
        if vt == "Binary":
            if r.get("binaryvalue") and not _text(r.get("mediatype")):
                raise bad("a binary reading needs a mediaType")
        elif vt not in ("Object", "ObjectArray") and r.get("value") is not None:
            try:
                _check_value(vt, _text(r.get("value")))
            except ValueError:
                raise bad(f"The value does not match the {vt} valueType") from None
        r["valuetype"] = _CANONICAL[vt.lower()]
    event["readings"] = readings


def _check_value(vt: str, value: str) -> None:
    """EdgeX's ValidateValue (array text is "[1, 2]"; an unknown spelling is not checked)."""
    if "Array" in vt:
        if len(value) < 2:
            raise ValueError(value)
        for part in value[1:-1].split(","):
            _check_value(vt[:-5], part.strip())
    elif vt == "Bool":
        parse_bool(value)
    elif vt in _UINTS:
        parse_uint(value, _UINTS[vt])
    elif vt in _INTS:
        parse_int(value, _INTS[vt])
    elif vt in _FLOATS:
        parse_float(value, _FLOATS[vt])


def _int(v: Any) -> int:
    if isinstance(v, bool):
        return 0
    if isinstance(v, int):
        return v
    if isinstance(v, float) and math.isfinite(v):
        return int(v)
    return 0


def event_row(event: dict, correlation_id: str = "", *, json_numbers: bool = True) -> tuple[dict, dict, list[str]]:
    """The row of an event, its meta(), and the problems met (eKuiper logs them as warnings).

    An empty row means that no reading converted: eKuiper ignores such an event."""
    row: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    problems: list[str] = []
    for r in _readings(event):
        name = _text(r.get("resourcename"))
        if not name:
            problems.append("The name of readings should not be empty!")
            continue
        try:
            row[name] = reading_value(r, json_numbers=json_numbers)
        except ValueError as e:
            problems.append(f"fail to get value for {name}: {e}")
        rmeta = {
            "id": _text(r.get("id")),
            "origin": _int(r.get("origin")),
            "deviceName": _text(r.get("devicename")),
            "profileName": _text(r.get("profilename")),
            "valueType": _text(r.get("valuetype")),
        }
        media = _text(r.get("mediatype"))
        if media:
            rmeta["mediaType"] = media
        meta[name] = rmeta
    if not row:
        problems.append("No readings are processed for the event, so ignore it.")
        return row, meta, problems
    tags = event.get("tags")
    meta.update({
        "id": _text(event.get("id")),
        "deviceName": _text(event.get("devicename")),
        "profileName": _text(event.get("profilename")),
        "sourceName": _text(event.get("sourcename")),
        "origin": _int(event.get("origin")),
        "tags": tags if isinstance(tags, dict) else {},
        "correlationid": correlation_id,
    })
    return row, meta, problems


# --- value → reading (eKuiper's getValueType and getValueByType) ---------------------------


def infer_value_type(v: Any) -> tuple[str, Any]:
    """The valueType of a result value, as eKuiper infers it from the Go type."""
    if isinstance(v, bool):
        return "Bool", v
    if isinstance(v, str):
        return "String", v
    if isinstance(v, int):
        if -(1 << 63) <= v < 1 << 63:
            return "Int64", v
        if 0 <= v < 1 << 64:
            return "Uint64", v
        raise ValueError(f"unsupported value {v}: out of the 64-bit range")
    if isinstance(v, float):
        return "Float64", v
    if isinstance(v, bytes | bytearray):
        return "Binary", bytes(v)
    if isinstance(v, list | tuple):
        if not v:
            return "StringArray", []
        first = v[0]
        for vt, kind in (("BoolArray", bool), ("StringArray", str), ("Int64Array", int), ("Float64Array", float)):
            if isinstance(first, kind) and (kind is bool or not isinstance(first, bool)):
                if not all(isinstance(x, kind) and (kind is bool or not isinstance(x, bool)) for x in v):
                    raise ValueError(f"unable to cast value to []{vt[:-5].lower()} for {list(v)}")
                return vt, list(v)
        if first is None:
            raise ValueError(f"unsupported value {list(v)}, the first element is nil")
    return "Object", v


def _go_int(v: Any, bits: int, unsigned: bool) -> int:
    """cast.ToIntN / ToUintN with CONVERT_SAMEKIND: numbers only, wrapped as Go converts."""
    if isinstance(v, bool) or not isinstance(v, int | float) or (isinstance(v, float) and not math.isfinite(v)):
        raise ValueError(f"cannot convert {v!r} to {'uint' if unsigned else 'int'}")
    if unsigned and v < 0:
        raise ValueError(f"cannot convert {v!r} to uint, negative not allowed")
    n = int(v) & ((1 << bits) - 1)
    if not unsigned and n >= 1 << (bits - 1):
        n -= 1 << bits
    return n


def _go_float(v: Any, bits: int) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"cannot convert {v!r} to float{bits}")
    return to_float32(float(v)) if bits == 32 else float(v)


def _scalar_by_type(v: Any, vt: str) -> Any:
    if vt == "Bool":
        if not isinstance(v, bool):
            raise ValueError(f"cannot convert {v!r} to bool")
        return v
    if vt == "String":
        if isinstance(v, bytes | bytearray):
            return bytes(v).decode("utf-8", "replace")
        if not isinstance(v, str):
            raise ValueError(f"cannot convert {v!r} to string")
        return v
    if vt in _INTS:
        return _go_int(v, _INTS[vt], False)
    if vt in _UINTS:
        return _go_int(v, _UINTS[vt], True)
    return _go_float(v, _FLOATS[vt])


def value_by_type(v: Any, vt: str) -> Any:
    """A result value converted to the valueType that the metadata field names."""
    if vt in SIMPLE_TYPES:
        return _scalar_by_type(v, vt)
    if vt in ARRAY_TYPES:
        if not isinstance(v, list | tuple):
            raise ValueError(f"cannot convert {v!r} to {vt}")
        # eKuiper's ToTypedSlice (the 8 to 32-bit types and Float32) gives an untyped empty slice
        if not v and vt not in ("BoolArray", "StringArray", "Int64Array", "Uint64Array", "Float64Array"):
            raise ValueError(f"slice of type of value `interface` not a match for specified ValueType '{vt}")
        return [_scalar_by_type(x, vt[:-5]) for x in v]
    if vt == "Binary":
        if isinstance(v, bytes | bytearray):
            return bytes(v)
        if isinstance(v, str):
            try:
                return base64.b64decode(v, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"fail to decode binary value from {v}") from None
        raise ValueError(f"fail to decode binary value from {v!r}: not binary type")
    if vt == "Object":
        return v
    raise ValueError(f"unsupported type {vt}")


def reading_text(vt: str, v: Any) -> str:
    """The `value` text of a simple reading, as EdgeX's NewSimpleReading writes it."""
    if vt in _FLOATS:
        return format_float(v, _FLOATS[vt])
    if vt in ("Float32Array", "Float64Array"):
        bits = _FLOATS[vt[:-5]]
        return "[" + ", ".join(format_float(x, bits) for x in v) + "]"
    if vt in ARRAY_TYPES:
        # fmt's %v of a slice, then every space turned into ", " (inside strings too)
        return ("[" + " ".join(_text(x) for x in v) + "]").replace(" ", ", ")
    if vt in SIMPLE_TYPES:
        return _text(v)
    raise ValueError(f"invalid simple reading type of {vt}")


# --- rows → event → envelope --------------------------------------------------------------


def _meta_fields(meta: dict | None) -> tuple[dict, dict]:
    """eKuiper's newMetaFromMap: the event's fields, and the readings' metadata by name."""
    event: dict[str, Any] = {}
    readings: dict[str, Any] = {}
    for k, v in (meta or {}).items():
        if k in ("id", "deviceName", "profileName", "sourceName"):
            if isinstance(v, str):
                event[k] = v
        elif k == "origin":
            # eKuiper keeps an origin only when it is a float64 (a number decoded from JSON)
            if isinstance(v, float) and math.isfinite(v):
                event[k] = int(v)
        elif k == "tags":
            if isinstance(v, dict):
                event[k] = v
        else:
            readings[k] = v
    return event, readings


def _decorate(reading: dict, meta: Any) -> None:
    for key in ("id", "deviceName", "profileName", "valueType", "mediaType"):
        if isinstance(meta.get(key), str):
            reading[key] = meta[key]
    origin = meta.get("origin")
    if isinstance(origin, float) and math.isfinite(origin):
        reading["origin"] = int(origin)


def build_event(item: Any, *, device_name: str, profile_name: str, source_name: str,
                metadata: str = "") -> tuple[dict, list[str]]:
    """The Event of one sink message (a row or a list of rows), and the readings left out."""
    if isinstance(item, dict):
        rows = [item]
    elif isinstance(item, list) and all(isinstance(r, dict) for r in item):
        rows = item
    else:
        raise ValueError(f"receive invalid data {item!r}")
    meta = None
    if metadata:
        meta = next((r[metadata] for r in rows if isinstance(r.get(metadata), dict)), None)
    fields, reading_metas = _meta_fields(meta)
    event: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "id": fields.get("id", str(uuid.uuid4())),
        "deviceName": fields.get("deviceName") or device_name,
        "profileName": fields.get("profileName") or profile_name,
        "sourceName": fields.get("sourceName") or source_name,
        "origin": fields.get("origin", time.time_ns()),
        "readings": None,  # Go's nil slice when nothing converts
    }
    if fields.get("tags"):
        event["tags"] = fields["tags"]
    readings: list[dict] = []
    problems: list[str] = []
    for row in rows:
        for name, v in row.items():
            if name == metadata or v is None:
                continue
            rmeta = reading_metas.get(name)
            if rmeta is not None and not isinstance(rmeta, dict):
                problems.append(f"reading {name} meta is not a map, but {rmeta!r}")
                rmeta = None
            try:
                if rmeta is not None and isinstance(rmeta.get("valueType"), str):
                    vt = rmeta["valueType"]
                    v = value_by_type(v, vt)
                else:
                    vt, v = infer_value_type(v)
                reading = {"id": str(uuid.uuid4()), "origin": time.time_ns(), "deviceName": event["deviceName"],
                           "resourceName": name, "profileName": event["profileName"], "valueType": vt}
                if vt == "Binary":
                    reading["binaryValue"] = v
                    reading["mediaType"] = "application/text"
                elif vt == "Object":
                    reading["objectValue"] = v
                else:
                    reading["value"] = reading_text(vt, v)
            except ValueError as e:
                problems.append(str(e))
                continue
            if rmeta is not None:
                _decorate(reading, rmeta)
            readings.append(reading)
    if readings:
        event["readings"] = readings
    return event, problems


def _go_maps(v: Any) -> Any:
    """Go's json.Marshal writes map keys sorted."""
    if isinstance(v, dict):
        return {k: _go_maps(v[k]) for k in sorted(v, key=str)}
    if isinstance(v, list | tuple):
        return [_go_maps(x) for x in v]
    return v


def _for_wire(event: dict) -> dict:
    out = dict(event)
    if "tags" in out:
        out["tags"] = _go_maps(out["tags"])
    if out["readings"]:
        out["readings"] = [
            {**r, "objectValue": _go_maps(r["objectValue"])} if "objectValue" in r else r for r in out["readings"]
        ]
    return out


def encode_payload(event: dict, message_type: str) -> bytes:
    """The event, or an AddEventRequest of it: JSON, or CBOR when a request holds a Binary reading."""
    event = _for_wire(event)
    if message_type != "request":
        return jsonvalue.encode(event)
    request = {"apiVersion": API_VERSION, "requestId": str(uuid.uuid4()), "event": event}
    if any(r["valueType"] == "Binary" for r in event["readings"] or ()):
        return _cbor.dumps(request)
    return jsonvalue.encode(request)


def encode_envelope(payload: bytes, content_type: str) -> bytes:
    """A v3 MessageEnvelope around the payload bytes (written as base64)."""
    return jsonvalue.encode({
        "apiVersion": API_VERSION,
        "receivedTopic": "",
        "correlationID": "",
        "requestID": "",
        "errorCode": 0,
        "payload": payload,
        "contentType": content_type,
    })
