"""The EdgeX codec (arrokoth.io._edgex, _cbor): envelopes, events and readings, both ways.

The expectations are eKuiper's: its getValue (source) and getValueType/getValueByType
(sink), with EdgeX's strconv spellings (NewSimpleReading) and MessageEnvelope handling.
"""

from __future__ import annotations

import base64
import math
import struct
import uuid

import msgspec
import pytest

from arrokoth.io import _cbor
from arrokoth.io import _edgex as ex

ERROR = object()


def reading(value_type: str, value: str | None = None, **extra) -> dict:
    r = {"valuetype": value_type, **{k.lower(): v for k, v in extra.items()}}
    if value is not None:
        r["value"] = value
    return r


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# --- reading → value, every valueType ------------------------------------------------------

READINGS = [
    # Bool: strconv.ParseBool
    ("Bool", "true", True), ("Bool", "T", True), ("Bool", "1", True), ("Bool", "False", False),
    ("Bool", "0", False), ("Bool", "yes", ERROR), ("Bool", "TRUE ", ERROR),
    # 8 to 32-bit and Int64: strconv.Atoi (any int64, sign allowed)
    ("Int8", "-12", -12), ("Int8", "300", 300), ("Int16", "+7", 7), ("Int32", "2147483648", 2147483648),
    ("Int64", "-9223372036854775808", -(1 << 63)), ("Int64", "9223372036854775808", ERROR),
    ("Uint8", "255", 255), ("Uint16", "65535", 65535), ("Uint32", "-1", -1),
    ("Int64", "1.5", ERROR), ("Int64", "1e3", ERROR), ("Int64", " 1", ERROR), ("Int64", "1_000", ERROR),
    ("Int32", "0x10", ERROR), ("Int16", "", ERROR),
    # Uint64: strconv.ParseUint (no sign)
    ("Uint64", "18446744073709551615", (1 << 64) - 1), ("Uint64", "18446744073709551616", ERROR),
    ("Uint64", "+1", ERROR), ("Uint64", "-1", ERROR),
    # floats: strconv.ParseFloat; Float32 rounds to float32 precision
    ("Float64", "25.5", 25.5), ("Float64", "2.55e+01", 25.5), ("Float64", "1E-3", 0.001),
    ("Float64", "-.5", -0.5), ("Float64", "0x1p-2", 0.25), ("Float64", "1e400", ERROR),
    ("Float64", "abc", ERROR), ("Float64", "1_0.5", ERROR), ("Float64", "", ERROR),
    ("Float32", "1.1", struct.unpack("<f", struct.pack("<f", 1.1))[0]), ("Float32", "1e39", ERROR),
    ("Float32", "2.5e+00", 2.5),
    # String
    ("String", "hello world", "hello world"), ("String", "", ""),
    # arrays: JSON text
    ("BoolArray", "[true,false]", [True, False]), ("BoolArray", "[true, 1]", ERROR), ("BoolArray", "null", None),
    ("BoolArray", "[true, null]", [True, False]),
    ("Int8Array", "[1, -2]", [1, -2]), ("Uint32Array", "[4294967296]", [4294967296]),
    ("Int64Array", "[1.5]", ERROR), ("Int64Array", "[true]", ERROR), ("Int16Array", "[1, 2", ERROR),
    ("Uint64Array", "[18446744073709551615]", [(1 << 64) - 1]), ("Uint64Array", "[-1]", ERROR),
    ("Float64Array", "[1.5, 2]", [1.5, 2.0]), ("Float64Array", '["2.5e+00", "1e-01"]', [2.5, 0.1]),
    ("Float32Array", '["1.1"]', [struct.unpack("<f", struct.pack("<f", 1.1))[0]]),
    ("Float32Array", "[1.1]", [1.1]), ("Float64Array", '["x"]', ERROR),
    # eKuiper appends the parsed strings to a nil slice: an empty list of strings gives nil
    ("Float64Array", "[]", None),
    ("StringArray", '["a", "b c"]', ["a", "b c"]), ("StringArray", "[a, b]", ERROR), ("StringArray", "[]", []),
    # not converted: the raw text
    ("Uint8Array", "[1, 2]", [1, 2]), ("Unknown", "as is", "as is"), ("ObjectArray", None, ""),
    ("", "raw", "raw"),
]


@pytest.mark.parametrize(("value_type", "value", "expected"), READINGS)
def test_reading_values_convert_as_ekuiper_converts_them(value_type, value, expected):
    r = reading(value_type, value)
    if expected is ERROR:
        with pytest.raises(ValueError):
            ex.reading_value(r)
        return
    got = ex.reading_value(r)
    assert got == expected and type(got) is type(expected)


def test_binary_and_object_readings():
    assert ex.reading_value(reading("Binary", binaryValue=b64(b"\x00\x01"), mediaType="image/png")) == b"\x00\x01"
    assert ex.reading_value(reading("Binary", binaryValue=b"\x02")) == b"\x02"  # from CBOR
    assert ex.reading_value(reading("Binary")) is None
    with pytest.raises(ValueError):
        ex.reading_value(reading("Binary", binaryValue="not base64!"))
    # Go decodes the numbers of an `any` from JSON as float64
    got = ex.reading_value(reading("Object", objectValue={"a": 1, "b": [2, {"c": 3}], "d": "x"}))
    assert got == {"a": 1.0, "b": [2.0, {"c": 3.0}], "d": "x"}
    assert type(got["a"]) is float and type(got["b"][1]["c"]) is float
    assert ex.reading_value(reading("Object", objectValue={"a": 1}), json_numbers=False) == {"a": 1}


@pytest.mark.parametrize(("value_type", "fmt", "number"), [("Float32", ">f", 1.5), ("Float64", ">d", -273.15)])
def test_base64_floats_of_older_edgex(value_type, fmt, number):
    text = b64(struct.pack(fmt, number))
    assert "=" in text
    assert ex.reading_value(reading(value_type, text)) == number
    assert ex.reading_value(reading(value_type, text, floatEncoding="Base64")) == number
    assert ex.reading_value(reading(value_type, "1.5e+00", floatEncoding="eNotation")) == 1.5
    with pytest.raises(ValueError):
        ex.reading_value(reading(value_type, "AAA=", floatEncoding="Base64"))  # too few bytes


def test_non_string_values_are_read_as_their_text():
    assert ex.reading_value({"valuetype": "Int64", "value": 12}) == 12
    assert ex.reading_value({"valuetype": "Bool", "value": True}) is True
    assert ex.reading_value({"valuetype": "String", "value": None}) == ""


# --- Go number spellings -----------------------------------------------------------------------


@pytest.mark.parametrize(("number", "bits", "text"), [
    (25.5, 64, "2.55e+01"), (1.0, 64, "1e+00"), (0.0, 64, "0e+00"), (-0.0, 64, "-0e+00"),
    (123456789.0, 64, "1.23456789e+08"), (1e21, 64, "1e+21"), (1e-7, 64, "1e-07"), (1e100, 64, "1e+100"),
    (0.1, 64, "1e-01"), (-2.5, 64, "-2.5e+00"), (math.inf, 64, "+Inf"), (-math.inf, 64, "-Inf"),
    (math.nan, 64, "NaN"), (0.1, 32, "1e-01"), (1.1, 32, "1.1e+00"), (16777217.0, 32, "1.6777216e+07"),
    (3.4028234663852886e38, 32, "3.4028235e+38"),
])
def test_format_float_is_strconv_e_shortest(number, bits, text):
    assert ex.format_float(number, bits) == text


def test_parse_float_special_values():
    assert ex.parse_float("Inf") == math.inf and ex.parse_float("-infinity") == -math.inf
    assert math.isnan(ex.parse_float("NaN"))


# --- envelopes ---------------------------------------------------------------------------------

EVENT = {
    "apiVersion": "v3", "id": str(uuid.uuid4()), "deviceName": "Random-Integer-Device",
    "profileName": "Random-Integer-Device", "sourceName": "Int16", "origin": 1700000000123456789,
    "readings": [{
        "id": str(uuid.uuid4()), "origin": 1700000000123456789, "deviceName": "Random-Integer-Device",
        "resourceName": "Int16", "profileName": "Random-Integer-Device", "valueType": "Int16", "value": "-8586",
    }],
    "tags": {"site": "a"},
}


def test_v2_envelope_with_a_base64_payload():
    env = ex.decode_envelope(msgspec.json.encode({
        "correlationID": "c-1", "payload": b64(msgspec.json.encode(EVENT)), "contentType": "application/json",
    }))
    event, json_numbers = ex.envelope_event(env, "event")
    row, meta, problems = ex.event_row(event, ex.correlation_id(env), json_numbers=json_numbers)
    assert row == {"Int16": -8586} and problems == []
    assert meta["origin"] == 1700000000123456789  # exact: base64 JSON keeps int64
    assert meta["correlationid"] == "c-1" and meta["tags"] == {"site": "a"}
    assert meta["Int16"]["valueType"] == "Int16" and "mediaType" not in meta["Int16"]


def test_v3_envelope_with_an_embedded_payload_goes_through_float64():
    env = ex.decode_envelope(msgspec.json.encode({
        "apiVersion": "v3", "receivedTopic": "edgex/events/device/x", "correlationID": "c-2",
        "payload": EVENT, "contentType": "application/json",
    }))
    event, json_numbers = ex.envelope_event(env, "event")
    row, meta, _ = ex.event_row(event, ex.correlation_id(env), json_numbers=json_numbers)
    assert row == {"Int16": -8586}
    # Go decoded the envelope's `any` payload: the origin passed through a float64
    assert meta["origin"] == int(float(1700000000123456789))


def test_envelope_keys_match_case_insensitively_as_go_does():
    env = ex.decode_envelope(msgspec.json.encode({"CorrelationID": "x", "Payload": EVENT, "ContentType": "application/json"}))
    event, _ = ex.envelope_event(env, "event")
    assert ex.event_row(event, ex.correlation_id(env))[1]["correlationid"] == "x"


@pytest.mark.parametrize(("envelope", "message"), [
    ({"payload": "%%%", "contentType": "application/json"}, "base64"),
    ({"payload": b64(b"{}"), "contentType": "text/plain"}, "unsupported content type"),
    ({"payload": EVENT, "contentType": "application/xml"}, "unsupported content type"),
    ({"contentType": "application/json"}, "no payload"),
    ({"payload": b64(b"[1]"), "contentType": "application/json"}, "expected an object"),
    ({"payload": b64(b"{nope"), "contentType": "application/json"}, "unmarshal"),
])
def test_bad_payloads(envelope, message):
    env = ex.decode_envelope(msgspec.json.encode(envelope))
    with pytest.raises(ex.EdgexDecodeError, match=message):
        ex.envelope_event(env, "event")


def test_not_an_envelope():
    for data in (b"not json", b"[1, 2]"):
        with pytest.raises(ex.EdgexDecodeError, match="not an EdgeX message envelope"):
            ex.decode_envelope(data)


def test_cbor_payload_of_a_device_service_request():
    event = {**EVENT, "readings": [{**EVENT["readings"][0], "resourceName": "img", "valueType": "Binary",
                                    "binaryValue": b"\x89PNG", "mediaType": "image/png"}]}
    del event["readings"][0]["value"]
    request = {"apiVersion": "v3", "requestId": str(uuid.uuid4()), "event": event}
    env = ex.decode_envelope(msgspec.json.encode({"payload": b64(_cbor.dumps(request)), "contentType": "application/cbor"}))
    got, json_numbers = ex.envelope_event(env, "request")
    row, meta, _ = ex.event_row(got, json_numbers=json_numbers)
    assert row == {"img": b"\x89PNG"}
    assert meta["img"]["mediaType"] == "image/png" and meta["origin"] == 1700000000123456789


def test_request_value_types_are_normalised_and_checked():
    request = {"requestId": "", "event": {**EVENT, "readings": [{**EVENT["readings"][0], "valueType": "int16"}]}}
    env = ex.decode_envelope(msgspec.json.encode({"payload": request, "contentType": "application/json"}))
    event, _ = ex.envelope_event(env, "request")
    row, meta, _ = ex.event_row(event)
    assert row == {"Int16": -8586} and meta["Int16"]["valueType"] == "Int16"


@pytest.mark.parametrize(("change", "message"), [
    ({"id": "not-a-uuid"}, "UUID"),
    ({"deviceName": ""}, "deviceName"),
    ({"origin": 0}, "origin"),
    ({"readings": []}, "no readings"),
    ({"readings": [{**EVENT["readings"][0], "valueType": "Int8", "value": "300"}]}, "Int8 valueType"),
    ({"readings": [{**EVENT["readings"][0], "valueType": "Int64Array", "value": "[]"}]}, "Int64Array"),
    ({"readings": [{**EVENT["readings"][0], "valueType": "Weird"}]}, "unknown value type"),
    ({"readings": [{**EVENT["readings"][0], "resourceName": ""}]}, "resourceName"),
])
def test_invalid_requests_are_refused(change, message):
    request = {"apiVersion": "v3", "requestId": str(uuid.uuid4()), "event": {**EVENT, **change}}
    env = ex.decode_envelope(msgspec.json.encode({"payload": request, "contentType": "application/json"}))
    with pytest.raises(ex.EdgexDecodeError, match=message):
        ex.envelope_event(env, "request")


def test_an_event_read_as_a_request_has_no_event():
    env = ex.decode_envelope(msgspec.json.encode({"payload": EVENT, "contentType": "application/json"}))
    with pytest.raises(ex.EdgexDecodeError, match="AddEventRequest"):
        ex.envelope_event(env, "request")


def test_event_rows_skip_bad_readings_and_ignore_empty_events():
    event = {"id": "e", "readings": [
        {"resourceName": "ok", "valueType": "Int64", "value": "1"},
        {"resourceName": "bad", "valueType": "Int64", "value": "x"},
        {"resourceName": "", "valueType": "Int64", "value": "2"},
    ]}
    row, meta, problems = ex.event_row(ex._lower_keys(event))
    assert row == {"ok": 1}
    assert set(meta) >= {"ok", "bad", "id", "deviceName", "tags", "correlationid"}  # the failed reading keeps its meta
    assert any("fail to get value for bad" in p for p in problems)
    assert any("should not be empty" in p for p in problems)
    row, _, problems = ex.event_row({"readings": [{"resourcename": "x", "valuetype": "Bool", "value": "?"}]})
    assert row == {} and problems[-1].startswith("No readings")


# --- value → reading (the sink) ------------------------------------------------------------------

INFERRED = [
    (True, "Bool", "true"), ("x y", "String", "x y"), (7, "Int64", "7"), (-(1 << 63), "Int64", "-9223372036854775808"),
    (1 << 63, "Uint64", "9223372036854775808"), (25.5, "Float64", "2.55e+01"), (3.0, "Float64", "3e+00"),
    ([True, False], "BoolArray", "[true, false]"), (["a b", "c"], "StringArray", "[a, b, c]"),
    ([1, 2], "Int64Array", "[1, 2]"), ([1.5, 2.0], "Float64Array", "[1.5e+00, 2e+00]"), ([], "StringArray", "[]"),
]


@pytest.mark.parametrize(("value", "value_type", "text"), INFERRED)
def test_value_types_are_inferred_as_ekuiper_does(value, value_type, text):
    vt, v = ex.infer_value_type(value)
    assert vt == value_type
    assert ex.reading_text(vt, v) == text


def test_objects_binaries_and_bad_arrays():
    assert ex.infer_value_type({"a": 1}) == ("Object", {"a": 1})
    assert ex.infer_value_type([{"a": 1}]) == ("Object", [{"a": 1}])
    assert ex.infer_value_type([[1]]) == ("Object", [[1]])
    assert ex.infer_value_type(b"\x01") == ("Binary", b"\x01")
    for bad, message in (([None, 1], "first element is nil"), ([1, 2.5], r"\[\]int64"), ([1.5, 2], r"\[\]float64"),
                         ([True, 1], r"\[\]bool"), (1 << 64, "64-bit")):
        with pytest.raises(ValueError, match=message):
            ex.infer_value_type(bad)


BY_TYPE = [
    (True, "Bool", "true"), (300, "Int8", "44"), (-1, "Int16", "-1"), (2.9, "Int32", "2"), (5, "Int64", "5"),
    (256, "Uint8", "0"), (65536.0, "Uint16", "0"), (7, "Uint32", "7"), (7, "Uint64", "7"),
    (1.1, "Float32", "1.1e+00"), (3, "Float64", "3e+00"), ("s", "String", "s"), (b"ab", "String", "ab"),
    ([True], "BoolArray", "[true]"), ([], "BoolArray", "[]"), ([1, 2.0], "Int8Array", "[1, 2]"),
    ([1], "Int64Array", "[1]"), ([], "Int64Array", "[]"), ([1], "Uint64Array", "[1]"),
    ([1.1], "Float32Array", "[1.1e+00]"), ([1], "Float64Array", "[1e+00]"), (["a"], "StringArray", "[a]"),
    (1, "Bool", ERROR), ("1", "Int64", ERROR), (True, "Int64", ERROR), (-1, "Uint8", ERROR), (1, "String", ERROR),
    ([], "Int8Array", ERROR), (1, "Int64Array", ERROR), ([-1], "Uint64Array", ERROR), (1, "Weird", ERROR),
]


@pytest.mark.parametrize(("value", "value_type", "text"), BY_TYPE)
def test_values_convert_to_the_value_type_of_the_metadata(value, value_type, text):
    if text is ERROR:
        with pytest.raises(ValueError):
            ex.value_by_type(value, value_type)
        return
    assert ex.reading_text(value_type, ex.value_by_type(value, value_type)) == text


def test_binary_and_object_by_type():
    assert ex.value_by_type(b64(b"xy"), "Binary") == b"xy"
    assert ex.value_by_type(b"xy", "Binary") == b"xy"
    assert ex.value_by_type({"a": 1}, "Object") == {"a": 1}
    for bad in ("%%", 1):
        with pytest.raises(ValueError):
            ex.value_by_type(bad, "Binary")


def test_build_event_with_defaults():
    event, problems = ex.build_event({"t": 20.5, "h": 3, "n": None, "s": "x"}, device_name="dev",
                                     profile_name="prof", source_name="rule1")
    assert problems == []
    assert list(event) == ["apiVersion", "id", "deviceName", "profileName", "sourceName", "origin", "readings"]
    assert (event["apiVersion"], event["deviceName"], event["profileName"], event["sourceName"]) == \
        ("v3", "dev", "prof", "rule1")
    uuid.UUID(event["id"])
    assert [(r["resourceName"], r["valueType"], r["value"]) for r in event["readings"]] == [
        ("t", "Float64", "2.05e+01"), ("h", "Int64", "3"), ("s", "String", "x"),
    ]
    r = event["readings"][0]
    assert list(r) == ["id", "origin", "deviceName", "resourceName", "profileName", "valueType", "value"]
    assert (r["deviceName"], r["profileName"]) == ("dev", "prof") and r["origin"] > 0


def test_build_event_keeps_the_metadata_of_the_metadata_field():
    meta = {"id": "e-1", "deviceName": "demo", "profileName": "", "sourceName": "src", "origin": 123.0,
            "tags": {"b": 1, "a": 2}, "correlationid": "c",
            "humidity": {"id": "r-1", "origin": 456.0, "deviceName": "rd", "valueType": "Int32", "mediaType": "x"},
            "other": "not a map"}
    rows = [{"t1": 90.0, "humidity": 20.0, "edgex_meta": meta}]
    event, problems = ex.build_event(rows, device_name="d", profile_name="p", source_name="s", metadata="edgex_meta")
    assert (event["id"], event["deviceName"], event["profileName"], event["sourceName"], event["origin"]) == \
        ("e-1", "demo", "p", "src", 123)
    assert event["tags"] == {"b": 1, "a": 2}
    t1, hum = event["readings"]
    assert t1["resourceName"] == "t1" and t1["valueType"] == "Float64" and t1["deviceName"] == "demo"
    assert (hum["id"], hum["origin"], hum["deviceName"], hum["valueType"], hum["value"]) == \
        ("r-1", 456, "rd", "Int32", "20")
    assert hum["mediaType"] == "x"
    # an int origin is not kept: eKuiper takes it only as a float64
    event, _ = ex.build_event({"a": 1, "m": {"origin": 5}}, device_name="d", profile_name="p", source_name="s",
                              metadata="m")
    assert event["origin"] != 5
    payload = msgspec.json.decode(ex.encode_payload(ex.build_event(rows, device_name="d", profile_name="p",
                                                                    source_name="s", metadata="edgex_meta")[0], "event"))
    assert list(payload["tags"]) == ["a", "b"]  # Go writes map keys sorted
    assert problems == []


def test_several_rows_make_one_event_and_bad_values_are_left_out():
    event, problems = ex.build_event([{"a": 1}, {"a": 2, "b": [1, "x"]}], device_name="d", profile_name="p",
                                     source_name="s")
    assert [(r["resourceName"], r["value"]) for r in event["readings"]] == [("a", "1"), ("a", "2")]
    assert len(problems) == 1
    event, _ = ex.build_event({"n": None}, device_name="d", profile_name="p", source_name="s")
    assert event["readings"] is None
    for bad in ("text", [1], 5):
        with pytest.raises(ValueError, match="invalid data"):
            ex.build_event(bad, device_name="d", profile_name="p", source_name="s")


def test_payloads_and_envelope():
    event, _ = ex.build_event({"t": 1.5, "o": {"z": 1, "a": {"y": 2, "b": 3}}}, device_name="d", profile_name="p",
                              source_name="s")
    payload = ex.encode_payload(event, "event")
    assert payload.startswith(b'{"apiVersion":"v3","id":')
    assert b'"objectValue":{"a":{"b":3,"y":2},"z":1}' in payload
    request = msgspec.json.decode(ex.encode_payload(event, "request"))
    assert list(request) == ["apiVersion", "requestId", "event"]
    uuid.UUID(request["requestId"])
    env = msgspec.json.decode(ex.encode_envelope(payload, "application/json"))
    assert list(env) == ["apiVersion", "receivedTopic", "correlationID", "requestID", "errorCode", "payload",
                         "contentType"]
    assert base64.b64decode(env["payload"]) == payload and env["contentType"] == "application/json"


def test_a_request_with_a_binary_reading_is_cbor():
    event, _ = ex.build_event({"img": b"\x00\xff", "n": 1}, device_name="d", profile_name="p", source_name="s")
    decoded = _cbor.loads(ex.encode_payload(event, "request"))
    assert decoded["event"]["readings"][0]["binaryValue"] == b"\x00\xff"
    assert decoded["event"]["readings"][0]["mediaType"] == "application/text"
    assert decoded["event"]["readings"][1]["value"] == "1"


# --- CBOR ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [
    0, 23, 24, 255, 256, 65536, 1 << 32, (1 << 64) - 1, -1, -25, -(1 << 63), 1.5, -0.0, "", "héllo", b"", b"\x00" * 30,
    [], [1, [2, "x"]], {}, {"a": {"b": [True, False, None]}}, "x" * 300,
])
def test_cbor_round_trip(value):
    assert _cbor.loads(_cbor.dumps(value)) == value


def test_cbor_decodes_what_go_encoders_write():
    # indefinite-length string, array and map; half and single floats; a bignum tag; undefined
    assert _cbor.loads(bytes.fromhex("7f657374726561646d696e67ff")) == "streaming"
    assert _cbor.loads(bytes.fromhex("9f018202039f0405ffff")) == [1, [2, 3], [4, 5]]
    assert _cbor.loads(bytes.fromhex("bf61610161629f0203ffff")) == {"a": 1, "b": [2, 3]}
    assert _cbor.loads(bytes.fromhex("f93c00")) == 1.0
    assert _cbor.loads(bytes.fromhex("fa47c35000")) == 100000.0
    assert _cbor.loads(bytes.fromhex("c249010000000000000000")) == 18446744073709551616
    assert _cbor.loads(bytes.fromhex("f7")) is None
    assert _cbor.loads(bytes.fromhex("c074323031332d30332d32315432303a30343a30305a")) == "2013-03-21T20:04:00Z"
    for bad in ("", "18", "6261", "ff", "0000", "a10000"[:4]):
        with pytest.raises(_cbor.CborError):
            _cbor.loads(bytes.fromhex(bad))
