"""In-process publish/subscribe for the memory source and sink.

Topics use MQTT-style wildcards in subscriptions: `+` one level, `#` the rest.
Delivery is a direct call, in the publisher's context.
"""

from __future__ import annotations

from collections.abc import Callable

Handler = Callable[[str, list[dict]], None]
UpdateHandler = Callable[[str, list[dict], list[str], "str | None"], None]


def topic_matches(pattern: str, topic: str) -> bool:
    if pattern == topic:
        return True
    p_parts = pattern.split("/")
    t_parts = topic.split("/")
    for i, p in enumerate(p_parts):
        if p == "#":
            return True
        if i >= len(t_parts):
            return False
        if p != "+" and p != t_parts[i]:
            return False
    return len(p_parts) == len(t_parts)


class MemoryBus:
    def __init__(self) -> None:
        self._subs: dict[int, tuple[str, Handler]] = {}
        self._update_subs: dict[int, tuple[str, UpdateHandler]] = {}
        self._next = 0

    def subscribe(self, pattern: str, handler: Handler) -> int:
        self._next += 1
        self._subs[self._next] = (pattern, handler)
        return self._next

    def subscribe_updates(self, pattern: str, handler: UpdateHandler) -> int:
        """Lookup tables subscribe here: they also get each row's kind and key field."""
        self._next += 1
        self._update_subs[self._next] = (pattern, handler)
        return self._next

    def unsubscribe(self, token: int) -> None:
        self._subs.pop(token, None)
        self._update_subs.pop(token, None)

    def publish(
        self, topic: str, rows: list[dict], *, kinds: list[str] | None = None, key_field: str | None = None
    ) -> int:
        """Deliver rows; `kinds` (insert/update/upsert/delete per row) and `key_field`
        come from a memory sink with `rowkindField`/`keyField`, for lookup tables."""
        delivered = 0
        for pattern, handler in list(self._subs.values()):
            if topic_matches(pattern, topic):
                handler(topic, rows)
                delivered += 1
        for pattern, update in list(self._update_subs.values()):
            if topic_matches(pattern, topic):
                update(topic, rows, kinds or ["insert"] * len(rows), key_field)
                delivered += 1
        return delivered


bus = MemoryBus()
