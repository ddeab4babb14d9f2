"""The EdgeX message bus on MQTT: eKuiper's edgex connection properties, and a reachability check.

eKuiper reads `type` (the message bus; only `mqtt` is served here, as eKuiper 2 serves
MQTT and NATS), `protocol` (tcp; ssl or tls for TLS), `host` or else `server` (localhost),
`port` (1883) and `optional`, a map of strings of the EdgeX MQTT client: ClientId,
Username, Password, Qos, KeepAlive (s), Retained, CleanSession, SkipCertVerify, CertFile,
KeyFile, CertPEMBlock, KeyPEMBlock, CaFile, CaPEMBlock (keys match case-insensitively,
as eKuiper maps `clientid` to `ClientId`). They become the properties of
`arrokoth.io._mqtt_client.MqttSettings`, so the connection, TLS and reconnection are the
MQTT connectors' own.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from arrokoth.io import _mqtt_client as mq
from arrokoth.io._gostrconv import parse_bool, parse_int
from arrokoth.io._mqtt_session import ping_settings
from arrokoth.io.props import MissingExtra, prop, require_extra

_OPTIONAL_KEYS = (
    "ClientId", "Username", "Password", "Qos", "KeepAlive", "Retained", "AutoReconnect", "CleanSession",
    "ConnectTimeout", "ConnectionPayload", "SkipCertVerify", "CertFile", "KeyFile", "CertPEMBlock",
    "KeyPEMBlock", "CaFile", "CaPEMBlock",
)
_CANONICAL_KEYS = {k.lower(): k for k in _OPTIONAL_KEYS}

# MqttSettings names its properties; a message about one names the edgex property instead
_NAMES = {
    "server": "server", "clientid": "optional.ClientId", "username": "optional.Username",
    "certificationPath": "optional.CertFile", "privateKeyPath": "optional.KeyFile",
    "certificationRaw": "optional.CertPEMBlock", "privateKeyRaw": "optional.KeyPEMBlock",
    "rootCaPath": "optional.CaFile", "rootCARaw": "optional.CaPEMBlock",
    "insecureSkipVerify": "optional.SkipCertVerify", "enableClientSession": "optional.CleanSession",
}


class EdgexConfigError(Exception):
    """A property is wrong; the message names it."""


@dataclass
class BusSettings:
    mqtt: mq.MqttSettings
    qos: int
    retained: bool


def _go_text(v: Any) -> str:
    # eKuiper formats every optional value with %v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def optional_props(props: dict) -> dict[str, str]:
    value = prop(props, "optional")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EdgexConfigError(f"optional: invalid optional config {value!r}, must be a map")
    return {_CANONICAL_KEYS.get(str(k).lower(), str(k)): _go_text(v) for k, v in value.items() if v is not None}


def _pem_base64(text: str) -> str:
    # MqttSettings takes raw certificates as base64 of the PEM text (eKuiper's *Raw keys)
    return base64.b64encode(text.encode()).decode() if text else ""


#: the properties of the message bus connection (what a named edgex connection holds)
CONNECTION_PROPS = frozenset(p.lower() for p in (
    "protocol", "server", "host", "port", "type", "optional", "insecureSkipVerify", "certificationPath",
    "privateKeyPath", "rootCaPath", "certificationRaw", "privateKeyRaw", "rootCARaw", "tlsMinVersion",
))


def connection_props(props: dict) -> dict:
    """The connection-level part of an edgex source's or sink's props."""
    return {k: v for k, v in props.items() if isinstance(k, str) and k.lower() in CONNECTION_PROPS}


def bus_settings(props: dict) -> BusSettings:
    """The MQTT settings of eKuiper's edgex properties; EdgexConfigError names a bad one."""
    try:
        require_extra("gmqtt", "edgex", "edgex")
    except MissingExtra as e:
        raise EdgexConfigError(str(e)) from None
    bus = str(prop(props, "type", "mqtt") or "mqtt")
    if bus.lower() != "mqtt":
        raise EdgexConfigError(f"type: the {bus} message bus is not supported; use the MQTT message bus (type mqtt)")
    protocol = str(prop(props, "protocol", "tcp") or "tcp")
    if protocol.lower() not in mq.PLAIN_SCHEMES | mq.TLS_SCHEMES:
        raise EdgexConfigError(f"protocol: expected tcp, or ssl for TLS, but got {protocol!r}")
    host = str(prop(props, "host") or prop(props, "server") or "localhost")
    port_value = prop(props, "port", 1883)
    try:
        port = parse_int(str(_go_text(port_value)).strip(), 64) if port_value not in (None, "") else 1883
    except ValueError:
        raise EdgexConfigError(f"port: expected an integer but got {port_value!r}") from None
    if port < 0 or port > 65535:
        raise EdgexConfigError(f"port: specified wrong port value, expect positive integer but got {port}")
    opts = optional_props(props)
    # a full broker URL in server is taken as it is
    server = host if "://" in host else f"{protocol}://{host}:{port}"

    def flag(name: str, default: bool) -> bool:
        if name not in opts or opts[name] == "":
            return default
        try:
            return parse_bool(opts[name])
        except ValueError:
            raise EdgexConfigError(f"optional.{name}: expected true or false but got {opts[name]!r}") from None

    def number(name: str, default: int) -> int:
        if name not in opts or opts[name] == "":
            return default
        try:
            return parse_int(opts[name].strip(), 64, "Atoi")
        except ValueError:
            raise EdgexConfigError(f"optional.{name}: expected an integer but got {opts[name]!r}") from None

    mqtt_props = {
        "server": server,
        "clientid": opts.get("ClientId", ""),
        "username": opts.get("Username", ""),
        "password": opts.get("Password", ""),
        "enableClientSession": not flag("CleanSession", True),
        "insecureSkipVerify": flag("SkipCertVerify", False),
        "certificationPath": opts.get("CertFile", ""),
        "privateKeyPath": opts.get("KeyFile", ""),
        "certificationRaw": _pem_base64(opts.get("CertPEMBlock", "")),
        "privateKeyRaw": _pem_base64(opts.get("KeyPEMBlock", "")),
        "rootCaPath": opts.get("CaFile", ""),
        "rootCARaw": _pem_base64(opts.get("CaPEMBlock", "")),
    }
    try:
        settings = mq.MqttSettings.parse(mqtt_props)
    except mq.MqttConfigError as e:
        name, sep, rest = str(e).partition(":")
        raise EdgexConfigError(f"{_NAMES.get(name, name)}{sep}{rest}") from None
    keepalive = number("KeepAlive", 0)
    if keepalive > 0:
        settings.keepalive = keepalive
    qos = number("Qos", 0)
    if qos not in (0, 1, 2):
        raise EdgexConfigError(f"optional.Qos: expected 0, 1 or 2 but got {qos}")
    return BusSettings(settings, qos, flag("Retained", False))


async def check_bus(settings: BusSettings, timeout: float) -> None:
    """Connect (and authenticate) once within `timeout`; ConnectionCheckError says why not."""
    await ping_settings(settings.mqtt, timeout, f"edgex message bus {settings.mqtt.server}")
