"""What the MQTT source and sink share: eKuiper's connection properties, topics, codecs.

`MqttSettings.parse` reads `server`, `protocolVersion`, `clientid`, `username`, `password`,
`enableClientSession` and the TLS keys (`certificationPath`, `privateKeyPath`, `rootCaPath`,
`certificationRaw`/`certficationRaw`, `privateKeyRaw`, `rootCARaw`, `insecureSkipVerify`,
`tlsMinVersion`) and raises `MqttConfigError` naming the property. The broker connection
itself is `arrokoth.io._mqtt_session.MqttSession`.

gmqtt is an optional extra (`pip install arrokoth[mqtt]`, gmqtt 0.8 or later); it is imported
only when a connector is built, so the core install does not need it.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import importlib
import logging
import os
import ssl
import tempfile
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from arrokoth.io.props import bool_prop as _bool_prop
from arrokoth.io.props import prop

log = logging.getLogger("arrokoth.mqtt")

CONNECTED, CONNECTING, DISCONNECTED = 1, 0, -1

#: protocolVersion → MQTT protocol level
PROTOCOL_LEVELS = {"3.1": 3, "3.1.1": 4, "4": 4, "5": 5}
TLS_SCHEMES = {"ssl", "tls", "mqtts", "tcps"}
PLAIN_SCHEMES = {"tcp", "mqtt"}
TLS_VERSIONS = {
    "tls1.0": ssl.TLSVersion.TLSv1,
    "tls1.1": ssl.TLSVersion.TLSv1_1,
    "tls1.2": ssl.TLSVersion.TLSv1_2,
    "tls1.3": ssl.TLSVersion.TLSv1_3,
}
COMPRESSIONS = ("zlib", "gzip", "flate")



class MqttConfigError(Exception):
    """A property is wrong; the message names it."""


class MqttNotConnected(Exception):
    """The session has no live connection, or a publish was not acknowledged."""


def require_gmqtt() -> Any:
    """The gmqtt module, or a config error that tells how to install it."""
    try:
        return importlib.import_module("gmqtt")
    except ImportError:
        raise MqttConfigError(
            "the mqtt connector needs the gmqtt package: install the mqtt extra, pip install 'arrokoth[mqtt]'"
        ) from None


# --- properties -------------------------------------------------------------------------


def bool_prop(props: dict, name: str, default: bool = False) -> bool:
    return _bool_prop(props, name, default, error=MqttConfigError)


def str_prop(props: dict, name: str, default: str = "") -> str:
    v = prop(props, name, default)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, str | int | float):
        raise MqttConfigError(f"{name}: expected a string but got {v!r}")
    return str(v)


def qos_prop(props: dict, default: int = 0) -> int:
    v = prop(props, "qos", default)
    if v is None:
        return default
    if isinstance(v, str) and v.strip().isdigit() or isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or v not in (0, 1, 2):
        raise MqttConfigError(f"qos: expected 0, 1 or 2 but got {v!r}")
    return v


def codec_prop(props: dict, name: str) -> str:
    v = str_prop(props, name).lower()
    if v and v not in COMPRESSIONS:
        raise MqttConfigError(f"{name}: unsupported method {v!r}, expected one of {', '.join(COMPRESSIONS)}")
    return v


def compressor(method: str) -> Callable[[bytes], bytes]:
    if method == "gzip":
        return gzip.compress
    if method == "flate":
        def flate(data: bytes) -> bytes:
            c = zlib.compressobj(wbits=-15)
            return c.compress(data) + c.flush()
        return flate
    return zlib.compress


def decompressor(method: str) -> Callable[[bytes], bytes]:
    if method == "gzip":
        return gzip.decompress
    if method == "flate":
        return lambda data: zlib.decompress(data, wbits=-15)
    return zlib.decompress


#: the properties of a broker connection (what a named mqtt connection holds)
CONNECTION_PROPS = frozenset(p.lower() for p in (
    "server", "username", "password", "clientid", "protocolVersion", "enableClientSession",
    "insecureSkipVerify", "certificationPath", "privateKeyPath", "rootCaPath", "certificationRaw",
    "certficationRaw", "privateKeyRaw", "rootCARaw", "tlsMinVersion",
))


def connection_props(props: dict) -> dict:
    """The connection-level part of a source's or sink's props."""
    return {k: v for k, v in props.items() if isinstance(k, str) and k.lower() in CONNECTION_PROPS}


def _b64(props: dict, *names: str) -> bytes | None:
    for name in names:
        text = str_prop(props, name)
        if text:
            try:
                return base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise MqttConfigError(f"{name}: expected base64 of a PEM text") from None
    return None


def _readable(props: dict, name: str) -> str:
    path = str_prop(props, name)
    if path and not os.path.isfile(path):
        raise MqttConfigError(f"{name}: cannot read {path}: no such file")
    return path


def _tls_context(props: dict) -> ssl.SSLContext:
    """eKuiper's GenTLSConfig: the paths win over the base64 raw texts."""
    insecure = bool_prop(props, "insecureSkipVerify")
    min_version = str_prop(props, "tlsMinVersion").lower() or "tls1.2"
    if min_version not in TLS_VERSIONS:
        raise MqttConfigError(f"tlsMinVersion: expected one of {', '.join(TLS_VERSIONS)} but got {min_version!r}")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = TLS_VERSIONS[min_version]
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ca_path = _readable(props, "rootCaPath")
    ca_raw = _b64(props, "rootCARaw")
    try:
        if ca_path:
            ctx.load_verify_locations(cafile=ca_path)
        elif ca_raw:
            ctx.load_verify_locations(cadata=ca_raw.decode("ascii", "replace"))
        elif not insecure:
            ctx.load_default_certs()
    except ssl.SSLError as e:
        raise MqttConfigError(f"{'rootCaPath' if ca_path else 'rootCARaw'}: not a PEM certificate: {e}") from None
    cert_path = _readable(props, "certificationPath")
    key_path = _readable(props, "privateKeyPath")
    if cert_path or key_path:
        if not cert_path:
            raise MqttConfigError("certificationPath: needed together with privateKeyPath")
        try:
            ctx.load_cert_chain(cert_path, key_path or None)
        except ssl.SSLError as e:
            raise MqttConfigError(
                f"certificationPath: cannot load {cert_path} with {key_path or 'no key'}: {e}"
            ) from None
        return ctx
    cert_raw = _b64(props, "certificationRaw", "certficationRaw")
    key_raw = _b64(props, "privateKeyRaw")
    if cert_raw or key_raw:
        if not cert_raw:
            raise MqttConfigError("certificationRaw: needed together with privateKeyRaw")
        _load_raw_chain(ctx, cert_raw, key_raw)
    return ctx


def _load_raw_chain(ctx: ssl.SSLContext, cert: bytes, key: bytes | None) -> None:
    # the ssl module loads a client certificate only from files: write them to a private
    # temporary directory and remove them at once
    with tempfile.TemporaryDirectory(prefix="arrokoth-mqtt-") as tmp:
        cert_file = os.path.join(tmp, "cert.pem")
        key_file = os.path.join(tmp, "key.pem") if key else None
        for path, data in ((cert_file, cert), (key_file, key)):
            if path is not None:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
        try:
            ctx.load_cert_chain(cert_file, key_file)
        except ssl.SSLError as e:
            raise MqttConfigError(f"certificationRaw: cannot load the certificate and privateKeyRaw: {e}") from None


def default_client_id() -> str:
    # 23 characters: the longest client id MQTT 3.1 brokers must accept
    return "arrokoth-" + uuid.uuid4().hex[:14]


@dataclass
class MqttSettings:
    server: str
    host: str
    port: int
    tls: ssl.SSLContext | None
    level: int  # MQTT protocol level: 3 (3.1), 4 (3.1.1) or 5
    client_id: str
    username: str
    password: str
    clean_session: bool
    keepalive: int = 60

    @classmethod
    def parse(cls, props: dict) -> MqttSettings:
        server = str_prop(props, "server")
        if not server:
            raise MqttConfigError("server: missing, expected a broker URL such as tcp://127.0.0.1:1883")
        try:
            parts = urlsplit(server)
            port = parts.port
        except ValueError as e:
            raise MqttConfigError(f"server: {server!r} is not a broker URL: {e}") from None
        scheme = parts.scheme.lower()
        if scheme in ("ws", "wss"):
            raise MqttConfigError(f"server: MQTT over websocket ({server}) is not supported")
        if scheme not in TLS_SCHEMES | PLAIN_SCHEMES:
            raise MqttConfigError(f"server: {server!r} is not a broker URL such as tcp://127.0.0.1:1883 "
                                  f"or ssl://broker:8883")
        if not parts.hostname:
            raise MqttConfigError(f"server: the host of {server!r} is missing")
        use_tls = scheme in TLS_SCHEMES
        version = prop(props, "protocolVersion", "3.1.1")
        version = "3.1.1" if version in (None, "") else str(version)
        if version not in PROTOCOL_LEVELS:
            raise MqttConfigError(f'protocolVersion: expected "3.1", "3.1.1" or "5" but got {version!r}')
        client_id = str_prop(props, "clientid") or default_client_id()
        # like paho, the TLS keys apply to ssl:// servers only; they are checked either way
        tls = _tls_context(props)
        return cls(
            server=server,
            host=parts.hostname,
            port=port or (8883 if use_tls else 1883),
            tls=tls if use_tls else None,
            level=PROTOCOL_LEVELS[version],
            client_id=client_id,
            username=str_prop(props, "username"),
            password=str_prop(props, "password"),
            clean_session=not bool_prop(props, "enableClientSession"),
        )


# --- topics -------------------------------------------------------------------------------


def check_filter(topic: str) -> None:
    """A subscription filter: `+` and `#` fill whole levels, `#` only last; `$share/<group>/<filter>`."""
    if not topic:
        raise MqttConfigError("datasource: the MQTT topic is empty")
    if topic.startswith("$share/"):
        parts = topic.split("/", 2)
        if len(parts) < 3 or not parts[1] or not parts[2] or "+" in parts[1] or "#" in parts[1]:
            raise MqttConfigError(f"datasource: {topic!r} is not a shared subscription $share/<group>/<topic>")
        topic = parts[2]
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise MqttConfigError(f"datasource: {topic!r}: # must be a whole level and the last one")
        if "+" in level and level != "+":
            raise MqttConfigError(f"datasource: {topic!r}: + must be a whole level")


def topic_matches(filter_: str, topic: str) -> bool:
    """Whether a PUBLISH on `topic` matches the subscription `filter_` (wildcards, $share)."""
    if filter_.startswith("$share/"):
        filter_ = filter_.split("/", 2)[2]
    if filter_ == topic:
        return True
    if topic.startswith("$") and filter_[:1] in ("+", "#"):
        return False  # MQTT 4.7.2: wildcards in the first level never match $-topics
    f_levels = filter_.split("/")
    t_levels = topic.split("/")
    for i, f in enumerate(f_levels):
        if f == "#":
            return True
        if i >= len(t_levels) or (f != "+" and f != t_levels[i]):
            return False
    return len(f_levels) == len(t_levels)


def check_topic_name(name: str, what: str = "topic") -> None:
    if not name:
        raise MqttConfigError(f"{what}: the MQTT topic is empty")
    if "+" in name or "#" in name:
        raise MqttConfigError(f"{what}: mqtt sink topic shouldn't contain # or +")
