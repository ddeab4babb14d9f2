"""One broker connection kept alive with exponential backoff, shared by whoever uses it.

`MqttSession` owns one gmqtt client at a time: it connects, subscribes, reports its state
(1 connected, 0 connecting, -1 disconnected) and, when the link drops, dials a fresh client
after 100 ms, 200 ms, ... up to 10 s, as eKuiper's connection pool does. A named connection
shares one session among rules: sources add and remove subscriptions, sinks publish.

Three gmqtt internals are used, each where gmqtt has no public hook: `reconnect` is
overridden (the session redials), `_create_connection` names the protocol MQIsdp for MQTT
3.1, and the QoS 1/2 handlers of its package handler are wrapped to learn packet ids
(`meta(messageid)`). Acknowledgements of QoS 1/2 publishes come through a
`persistent_storage` subclass (gmqtt's constructor argument).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import random
import ssl
from collections.abc import Callable
from typing import Any

from arrokoth.io._mqtt_client import (
    CONNECTED,
    CONNECTING,
    DISCONNECTED,
    MqttNotConnected,
    MqttSettings,
    default_client_id,
    log,
    require_gmqtt,
    topic_matches,
)
from arrokoth.io.props import redact_url

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
        self._subscribed: set[str] = set()  # the filters the current client has subscribed
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
        self._subscribers[token] = (list(filters), on_message)
        client = self.client  # None while dialling: the dial subscribes every filter then
        if client is not None:
            self._install(client)
            new = [(t, q) for t, q in filters if t not in self._subscribed]
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
        self._subscribed.difference_update(gone)
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
        self._subscribed = set()
        # subscribers may come while a SUBACK is awaited: until every filter is subscribed
        while missing := [(t, q) for t, q in self.subscriptions if t not in self._subscribed]:
            self._install(client)
            await self._subscribe(client, missing, lost)
        self._install(client)

    async def _subscribe(self, client: Any, filters: list[tuple[str, int]], lost: asyncio.Future | None) -> None:
        gmqtt = require_gmqtt()
        mid = client.subscribe([gmqtt.Subscription(topic, qos=qos) for topic, qos in filters])
        if mid is None:  # older gmqtt returns nothing: trust the broker
            self._subscribed.update(t for t, _ in filters)
            return
        waiter = self._subacks[mid] = asyncio.get_running_loop().create_future()
        if lost is None:
            lost = asyncio.get_running_loop().create_future()  # a live session: the dial loop sees a loss
        granted = await self._race(waiter, lost, "subscribing")
        for (topic, _), code in zip(filters, granted):
            if code >= 0x80:
                raise ConnectionError(f"subscription to {topic} refused by the broker (code {code:#x})")
        self._subscribed.update(t for t, _ in filters)

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
    """A connectivity check of MQTT props: connect (and authenticate) once, then disconnect."""
    require_gmqtt()
    await ping_settings(MqttSettings.parse(props), timeout)


async def ping_settings(settings: MqttSettings, timeout: float, what: str = "") -> None:
    """Connect once with `settings` and disconnect; ConnectionCheckError says why it failed.
    The check uses a client id of its own: the configured one would take over a running
    rule's session."""
    from arrokoth.io.connectivity import ConnectionCheckError

    session = MqttSession(dataclasses.replace(settings, client_id=default_client_id()), name="connectivity check")
    session.CONNECT_TIMEOUT = timeout
    client, lost = session._new_client()
    try:
        await session._connect(client, lost)
    except Exception as e:  # noqa: BLE001 - the reason is the answer
        reason = _describe(e, settings.server)
        raise ConnectionCheckError(f"{what}: {reason}" if what else reason) from None
    finally:
        await session._drop(client)


def _describe(e: BaseException, server: str) -> str:
    text = str(e) or type(e).__name__
    if isinstance(e, OSError) and not isinstance(e, TimeoutError | ssl.SSLError):
        from arrokoth.io.connectivity import describe_os_error

        return f"found error when connecting for {redact_url(server)}: network error: {describe_os_error(e)}"
    return text


class SessionHold:
    """A source's or sink's hold on a broker session: the session of the named connection it
    selects (shared: it adds its subscription and status listener, and takes them back), or
    a session of its own, listed in the pool as an anonymous connection while it lives."""

    def __init__(self, session: MqttSession, *, shared: bool, on_status: Callable[[int, str], None],
                 token: int = 0, anonymous: Any = None):
        self.session = session
        self.shared = shared
        self._on_status = on_status
        self._token = token
        self._anonymous = anonymous

    @classmethod
    async def take(
        cls,
        *,
        selector: str,
        settings: MqttSettings,
        name: str,
        typ: str,
        anonymous_id: str,
        anonymous_props: dict,
        on_status: Callable[[int, str], None],
        filters: list[tuple[str, int]] | None = None,
        on_message: MessageCallback | None = None,
    ) -> SessionHold:
        """The hold; PoolError when `selector` names no connection. A broker that is down
        does not fail it: the session keeps dialling (an own one is waited for a while)."""
        from arrokoth.io.connections import pool

        if selector:
            session = pool().get(selector).client
            session.add_status_listener(on_status)
            token = 0
            if filters and on_message is not None:
                try:
                    token = await session.subscribe(filters, on_message)
                except Exception as e:  # noqa: BLE001 - the session subscribes again when it reconnects
                    log.warning("%s: subscribing on connection %s: %s", name, selector, e)
            return cls(session, shared=True, on_status=on_status, token=token)
        session = MqttSession(settings, name=name, subscriptions=filters, on_message=on_message, on_status=on_status)
        anonymous = pool().add_anonymous(anonymous_id, typ, anonymous_props, session, owner=name)
        session.add_status_listener(anonymous.report)
        await session.start(wait=MqttSession.CONNECT_TIMEOUT)
        return cls(session, shared=False, on_status=on_status, anonymous=anonymous)

    async def release(self) -> None:
        from arrokoth.io.connections import pool

        if self.shared:
            self.session.remove_status_listener(self._on_status)
            if self._token:
                await self.session.unsubscribe(self._token)
        else:
            with contextlib.suppress(Exception):
                await self.session.stop()
            pool().remove_anonymous(self._anonymous)
