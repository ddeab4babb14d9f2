"""What the MQTT source and sink share: eKuiper's connection properties and one broker
connection kept alive with exponential backoff.

`MqttSettings.parse` reads `server`, `protocolVersion`, `clientid`, `username`, `password`,
`enableClientSession` and the TLS keys (`certificationPath`, `privateKeyPath`, `rootCaPath`,
`certificationRaw`/`certficationRaw`, `privateKeyRaw`, `rootCARaw`, `insecureSkipVerify`,
`tlsMinVersion`) and raises `MqttConfigError` naming the property. `MqttSession` owns one
gmqtt client at a time: it connects, subscribes, reports its state (1 connected, 0 connecting,
-1 disconnected) and, when the link drops, dials a fresh client after 100 ms, 200 ms, ...
up to 10 s, as eKuiper's connection pool does.

gmqtt is an optional extra (`pip install arrokoth[mqtt]`, gmqtt 0.8 or later); it is imported
only when a connector is built, so the core install does not need it. Three gmqtt internals
are used, each where gmqtt has no public hook: `reconnect` is overridden (the session redials),
`_create_connection` names the protocol MQIsdp for MQTT 3.1, and the QoS 1/2 handlers of its
package handler are wrapped to learn packet ids (`meta(messageid)`). Acknowledgements of QoS 1/2
publishes come through a `persistent_storage` subclass (gmqtt's constructor argument).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import gzip
import importlib
import inspect
import logging
import os
import random
import ssl
import tempfile
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from arrokoth.io.props import bool_prop as _bool_prop
from arrokoth.io.props import prop, redact_url

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


# --- the connection -------------------------------------------------------------------------

_CLIENT_CLASS: type | None = None


def _client_class() -> type:
    """A gmqtt Client that leaves reconnecting to the session and speaks MQTT 3.1 too."""
    global _CLIENT_CLASS
    if _CLIENT_CLASS is not None:
        return _CLIENT_CLASS
    gmqtt = require_gmqtt()

    class Client(gmqtt.Client):
        # set by the session before it disconnects on purpose
        dropped = False
        level = 4

        async def reconnect(self, delay: bool = False) -> None:
            # gmqtt retries at a fixed pace with the old client; the session dials anew with backoff
            return None

        async def _create_connection(self, *args: Any, **kwargs: Any) -> Any:
            connection = await super()._create_connection(*args, **kwargs)
            protocol = getattr(connection, "_protocol", None)
            if self.level == 3 and protocol is not None:
                # MQTT 3.1 names itself MQIsdp in CONNECT; gmqtt only writes "MQTT"
                protocol.proto_name = b"MQIsdp"
            return connection

    _CLIENT_CLASS = Client
    return Client


def _hook_message_ids(client: Any) -> None:
    """gmqtt does not hand the packet id of a QoS 1/2 message to on_message: put it in the
    properties dict it does hand over (`message_id`), for `meta(messageid)`."""
    handler = getattr(client, "_package_handler", client)
    for name in ("_handle_qos_1_publish_packet", "_handle_qos_2_publish_packet"):
        original = getattr(handler, name, None)
        if original is None:
            continue

        def with_id(mid: int, packet: bytes, topic: str, properties: dict, _original: Callable = original) -> None:
            properties["message_id"] = mid
            _original(mid, packet, topic, properties)

        setattr(handler, name, with_id)


_ACK_STORAGE_CLASS: type | None = None


def _ack_storage() -> Any | None:
    """A gmqtt persistent storage that also resolves a future per outbound QoS 1/2 message.

    gmqtt calls `push_message` from `publish` (so it tells the packet id of the message just
    sent) and `remove_message_by_mid` on its PUBACK or PUBCOMP. None when the installed
    gmqtt's storage is asynchronous (before 0.8): publishes are then not awaited.
    """
    global _ACK_STORAGE_CLASS
    if _ACK_STORAGE_CLASS is None:
        try:
            from gmqtt.storage import PersistentStorage
        except ImportError:
            return None
        if inspect.iscoroutinefunction(getattr(PersistentStorage, "push_message", None)):
            return None

        class AckStorage(PersistentStorage):
            def __init__(self) -> None:
                super().__init__()
                self.last_mid: int | None = None
                self.waiters: dict[int, asyncio.Future] = {}

            def push_message(self, mid: int, raw_package: bytes) -> None:
                super().push_message(mid, raw_package)
                self.last_mid = mid

            def remove_message_by_mid(self, mid: int) -> None:
                super().remove_message_by_mid(mid)
                waiter = self.waiters.pop(mid, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

            def fail_all(self, message: str) -> None:
                waiters, self.waiters = self.waiters, {}
                for waiter in waiters.values():
                    if not waiter.done():
                        waiter.set_exception(MqttNotConnected(message))

        _ACK_STORAGE_CLASS = AckStorage
    return _ACK_STORAGE_CLASS()


StatusCallback = Callable[[int, str], None]
MessageCallback = Callable[..., None]


class MqttSession:
    """One broker connection, redialled with exponential backoff while the session runs.

    `on_message(client, topic, payload, qos, properties)` is gmqtt's callback, called
    directly from gmqtt's read loop (no task per message). `on_status(status, message)`
    reports 0 when dialling, 1 once connected (and subscribed), -1 when a dial fails
    before the first connection or when the link drops; later failed redials keep 0
    with their message, as eKuiper's auto-reconnect does.
    """

    BACKOFF_INITIAL = 0.1
    BACKOFF_MAX = 10.0
    CONNECT_TIMEOUT = 5.0
    ACK_TIMEOUT = 5.0

    def __init__(
        self,
        settings: MqttSettings,
        *,
        name: str,
        subscriptions: list[tuple[str, int]] | None = None,
        on_message: MessageCallback | None = None,
        on_status: StatusCallback | None = None,
    ):
        self.settings = settings
        self.name = name
        # a session may be shared (a named connection): each subscriber has its filters and callback
        self._subscribers: dict[int, tuple[list[tuple[str, int]], MessageCallback]] = {}
        self._next_token = 1
        if on_message is not None:
            self._subscribers[0] = (list(subscriptions or []), on_message)
        self._listeners: list[StatusCallback] = [on_status] if on_status is not None else []
        self.status = CONNECTING
        self.client: Any = None
        self.message = ""
        self._task: asyncio.Task | None = None
        self._first_attempt = asyncio.Event()
        self._ever_connected = False
        self._subacks: dict[int, asyncio.Future] = {}
        self._storage: Any = None
        self._stopping = False

    @property
    def subscriptions(self) -> list[tuple[str, int]]:
        """Every filter of every subscriber, once each (the highest QoS asked for)."""
        out: dict[str, int] = {}
        for filters, _ in self._subscribers.values():
            for topic, qos in filters:
                out[topic] = max(qos, out.get(topic, 0))
        return list(out.items())

    # --- sharing ---------------------------------------------------------------------------

    def add_status_listener(self, listener: StatusCallback) -> None:
        """Follow the session's status; the listener hears the current one at once."""
        self._listeners.append(listener)
        listener(self.status, self.message)

    def remove_status_listener(self, listener: StatusCallback) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _report(self, status: int, message: str) -> None:
        self.status = status
        for listener in list(self._listeners):
            listener(status, message)

    async def subscribe(self, filters: list[tuple[str, int]], on_message: MessageCallback) -> int:
        """Add a subscriber to a running session; its filters are subscribed now if connected,
        else on the next connection. Returns the token to unsubscribe with."""
        token = self._next_token
        self._next_token += 1
        before = {t for t, _ in self.subscriptions}
        self._subscribers[token] = (list(filters), on_message)
        client = self.client
        if client is not None:
            self._install(client)
            new = [(t, q) for t, q in filters if t not in before]
            if new and client.is_connected:
                await self._subscribe(client, new, None)
        return token

    async def unsubscribe(self, token: int) -> None:
        entry = self._subscribers.pop(token, None)
        client = self.client
        if entry is None or client is None:
            return
        self._install(client)
        still = {t for t, _ in self.subscriptions}
        gone = [t for t, _ in entry[0] if t not in still]
        if gone and client.is_connected:
            with contextlib.suppress(Exception):
                client.unsubscribe(gone)

    def _install(self, client: Any) -> None:
        """Route PUBLISHes: straight to a lone subscriber (the hot path), else by filter."""
        subscribers = list(self._subscribers.values())
        if len(subscribers) == 1:
            client.on_message = subscribers[0][1]
        elif subscribers:
            client.on_message = self._dispatch
        if not getattr(client, "ids_hooked", False) and any(q for _, q in self.subscriptions):
            _hook_message_ids(client)
            client.ids_hooked = True

    def _dispatch(self, client: Any, topic: str, payload: bytes, qos: int, properties: dict) -> None:
        for filters, callback in list(self._subscribers.values()):
            if any(topic_matches(f, topic) for f, _ in filters):
                callback(client, topic, payload, qos, properties)

    @property
    def connected(self) -> bool:
        client = self.client
        return client is not None and client.is_connected

    async def start(self, wait: float | None = None) -> None:
        """Start dialling; wait up to `wait` seconds for the first attempt to succeed or fail."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"mqtt {self.name}")
        if wait:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._first_attempt.wait(), wait)

    async def stop(self) -> None:
        # the flag ends the dial loop even if a cancellation gets swallowed on the way
        # (Python 3.11's wait_for can swallow one when its inner future finishes at once)
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        client, self.client = self.client, None
        if client is not None:
            await self._drop(client)
        self._fail_acks("the connection is closed")

    # --- dialling ------------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self.BACKOFF_INITIAL
        while not self._stopping:
            self._report(CONNECTING, "")
            client, lost = self._new_client()
            try:
                await self._connect(client, lost)
            except asyncio.CancelledError:
                await self._drop(client)
                raise
            except Exception as e:  # noqa: BLE001 - any dial failure is retried
                await self._drop(client)
                self.message = _describe(e, self.settings.server)
                log.warning("mqtt %s: cannot connect to %s: %s", self.name, redact_url(self.settings.server),
                            self.message)
                self._report(CONNECTING if self._ever_connected else DISCONNECTED, self.message)
                self._first_attempt.set()
                if self._stopping:  # a stop whose cancellation the drop swallowed
                    return
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self.BACKOFF_MAX)
                continue
            delay = self.BACKOFF_INITIAL
            self.client = client
            self._ever_connected = True
            self.message = ""
            log.info("mqtt %s: connected to %s", self.name, redact_url(self.settings.server))
            self._report(CONNECTED, "")
            self._first_attempt.set()
            reason = await lost  # stop() cancels here and drops the client itself
            self.client = None
            self._fail_acks(reason)
            await self._drop(client)
            self.message = reason
            log.warning("mqtt %s: %s", self.name, reason)
            self._report(DISCONNECTED, reason)
            if self._stopping:
                return
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))

    def _new_client(self) -> tuple[Any, asyncio.Future]:
        """A fresh gmqtt client, and the future its disconnect callback resolves."""
        cls = _client_class()
        s = self.settings
        self._storage = _ack_storage()
        kwargs: dict[str, Any] = {}
        if self._storage is not None:
            kwargs["persistent_storage"] = self._storage
        client = cls(s.client_id, clean_session=s.clean_session, **kwargs)
        client.level = s.level
        if s.username:
            client.set_auth_credentials(s.username, s.password or None)
        self._install(client)
        lost: asyncio.Future = asyncio.get_running_loop().create_future()

        def on_disconnect(cl: Any, packet: Any = None, exc: Any = None) -> None:
            if not cl.dropped and not lost.done():
                lost.set_result("The connection to mqtt broker is lost")

        def on_subscribe(cl: Any, mid: int, granted: Any, properties: Any = None) -> None:
            waiter = self._subacks.pop(mid, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(list(granted))

        client.on_disconnect = on_disconnect
        client.on_subscribe = on_subscribe
        return client, lost

    async def _connect(self, client: Any, lost: asyncio.Future) -> None:
        s = self.settings
        connecting = asyncio.ensure_future(
            client.connect(s.host, s.port, ssl=s.tls or False, keepalive=s.keepalive, version=s.level)
        )
        await self._race(connecting, lost, "connecting")
        if self.subscriptions:
            await self._subscribe(client, self.subscriptions, lost)

    async def _subscribe(self, client: Any, filters: list[tuple[str, int]], lost: asyncio.Future | None) -> None:
        gmqtt = require_gmqtt()
        mid = client.subscribe([gmqtt.Subscription(topic, qos=qos) for topic, qos in filters])
        if mid is None:  # older gmqtt returns nothing: trust the broker
            return
        waiter = self._subacks[mid] = asyncio.get_running_loop().create_future()
        if lost is None:
            lost = asyncio.get_running_loop().create_future()  # a live session: the dial loop sees a loss
        granted = await self._race(waiter, lost, "subscribing")
        for (topic, _), code in zip(filters, granted):
            if code >= 0x80:
                raise ConnectionError(f"subscription to {topic} refused by the broker (code {code:#x})")

    async def _race(self, step: asyncio.Future, lost: asyncio.Future, what: str) -> Any:
        try:
            done, _ = await asyncio.wait({step, lost}, timeout=self.CONNECT_TIMEOUT,
                                         return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # stopped mid-dial: the step's own failure, if it comes, is nobody's news
            step.cancel()
            step.add_done_callback(lambda f: f.cancelled() or f.exception())
            raise
        if step in done:
            return step.result()
        step.cancel()
        # asyncio.wait: the step's own cancellation does not raise here, ours still does
        await asyncio.wait({step})
        if not step.cancelled():
            step.exception()  # retrieved: a failure after the deadline is not logged as unhandled
        if lost.done():
            raise ConnectionError(lost.result())
        raise TimeoutError(f"no answer from the broker within {self.CONNECT_TIMEOUT:g}s while {what}")

    async def _drop(self, client: Any) -> None:
        client.dropped = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), 1.0)

    def _fail_acks(self, message: str) -> None:
        for waiter in self._subacks.values():
            if not waiter.done():
                waiter.cancel()
        self._subacks.clear()
        storage = self._storage
        if storage is not None:
            storage.fail_all(message)

    # --- publishing --------------------------------------------------------------------------

    async def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
                      properties: dict | None = None) -> None:
        """Send one message; QoS 1 and 2 wait for the broker's acknowledgement."""
        client = self.client
        if client is None or not client.is_connected:
            raise MqttNotConnected(f"mqtt client is not connected{': ' + self.message if self.message else ''}")
        kwargs: dict[str, Any] = {}
        if properties and self.settings.level == 5:
            kwargs["user_property"] = list(properties.items())
        storage = self._storage
        if storage is not None:
            storage.last_mid = None
        try:
            client.publish(topic, payload, qos=qos, retain=retain, **kwargs)
        except Exception as e:  # noqa: BLE001 - gmqtt raises what its transport raises
            raise MqttNotConnected(f"publish to mqtt broker failed: {e}") from None
        if qos == 0 or storage is None or storage.last_mid is None:
            return
        mid, storage.last_mid = storage.last_mid, None
        # no ack can have been handled yet: nothing ran since the synchronous publish
        waiter = storage.waiters[mid] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(waiter, self.ACK_TIMEOUT)
        except TimeoutError:
            storage.waiters.pop(mid, None)
            raise MqttNotConnected(f"publish to mqtt broker failed: no acknowledgement within "
                                   f"{self.ACK_TIMEOUT:g}s") from None


async def ping_broker(props: dict, timeout: float) -> None:
    """A connectivity check: connect (and authenticate) once, then disconnect."""
    from arrokoth.io.connectivity import ConnectionCheckError

    require_gmqtt()
    session = MqttSession(MqttSettings.parse(props), name="connectivity check")
    session.CONNECT_TIMEOUT = timeout
    client, lost = session._new_client()
    try:
        await session._connect(client, lost)
    except Exception as e:  # noqa: BLE001 - the reason is the answer
        raise ConnectionCheckError(_describe(e, session.settings.server)) from None
    finally:
        await session._drop(client)


def _describe(e: BaseException, server: str) -> str:
    text = str(e) or type(e).__name__
    if isinstance(e, OSError) and not isinstance(e, TimeoutError | ssl.SSLError):
        from arrokoth.io.connectivity import describe_os_error

        return f"found error when connecting for {redact_url(server)}: network error: {describe_os_error(e)}"
    return text
