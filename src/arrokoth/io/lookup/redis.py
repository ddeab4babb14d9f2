"""The redis lookup table: each key a rule looks up is a Redis key holding JSON.

`CREATE TABLE t () WITH (TYPE="redis", KIND="lookup", DATASOURCE="0")` — as in eKuiper,
DATASOURCE is the database number (0-15; empty means 0). Properties: `addr`
("127.0.0.1:6379"), `username`, `password`, `dataType`: "string" reads the key with GET and
decodes its value as one JSON object (one row); "list" reads it with LRANGE key 0 -1 and
decodes each element as a JSON object (one row each). A missing key gives no row.

The table is joined on one key (`ON s.id = t.id`): the value of the stream side, printed
as Go's `%v` does, is the Redis key, whatever the table column is called. eKuiper refuses
more than one key when it looks up; so does this table.

Lookups are synchronous calls from the rule, so the client is redis-py's blocking one with
short timeouts. After a connection failure the table answers `LookupFailed` at once for a
short while (100 ms, doubling to 5 s) instead of making every row wait for a dead server.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from arrokoth.functions import jsonvalue
from arrokoth.functions.values import format_value
from arrokoth.io._redis_client import (
    RedisConfigError,
    RedisSettings,
    check,
    db_number,
    describe_error,
    is_connection_error,
    require_redis,
    str_prop,
)
from arrokoth.io.lookup.base import LookupConfigError, LookupFailed, LookupTable
from arrokoth.io.props import MissingExtra, prop
from arrokoth.plan.streams import StreamDef

log = logging.getLogger("arrokoth.lookup.redis")

DATA_TYPES = ("string", "list")
#: seconds a lookup may wait: it holds up the rule
LOOKUP_TIMEOUT = 2.0
# eKuiper's REST test-connection placeholder for a lookup's datasource
_TEST_DATASOURCE = "/$$TEST_CONNECTION$$"


def _settings(props: dict, datasource: Any) -> RedisSettings:
    if datasource is None or datasource == "" or datasource == _TEST_DATASOURCE:
        db = 0
    else:
        try:
            db = db_number(datasource, "DATASOURCE", "redis lookup source")
        except RedisConfigError:
            raise RedisConfigError(
                f"DATASOURCE: the database number 0-15 of the redis lookup table, but got {datasource!r}"
            ) from None
    return RedisSettings.parse(props, address=("addr", "address"), db=db, default_address=None)


def _data_type(props: dict) -> str:
    data_type = str_prop(props, "dataType", "string").strip().lower() or "string"
    if data_type not in DATA_TYPES:
        raise RedisConfigError("dataType: redis dataType must be string or list")
    return data_type


class RedisLookupTable(LookupTable):
    BACKOFF_INITIAL = 0.1
    BACKOFF_MAX = 5.0

    def __init__(self, stream: StreamDef, props: dict[str, Any]):
        super().__init__(stream, props)
        try:
            self._redis = require_redis("redis lookup")
            self.settings = _settings(props, stream.datasource)
            self.data_type = _data_type(props)
        except (RedisConfigError, MissingExtra) as e:
            raise LookupConfigError(str(e)) from None
        self._client: Any = None
        self._down_until = 0.0
        self._backoff = 0.0
        self._last_error = ""

    @classmethod
    async def ping(cls, props: dict, timeout: float) -> None:
        try:
            require_redis("redis lookup")
            _data_type(props)
            settings = _settings(props, prop(props, "datasource"))
        except (RedisConfigError, MissingExtra) as e:
            raise LookupConfigError(str(e)) from None
        await check(settings, timeout)

    # --- lookups -------------------------------------------------------------------

    def lookup(self, keys: list[str], values: list[Any]) -> list[dict]:
        if len(keys) != 1:
            raise LookupFailed(f"redis lookup only support one key, but got [{' '.join(keys)}]")
        key = format_value(values[0])
        client = self._client_now()
        try:
            if self.data_type == "string":
                raw = client.get(key)
                items = [] if raw is None else [raw]
            else:
                items = client.lrange(key, 0, -1)
        except self._redis.RedisError as e:
            if is_connection_error(e):
                self._failed(e)
                raise LookupFailed(f"redis lookup on {self.settings.address}: {self._last_error}") from None
            # WRONGTYPE and the like: the server is fine, the key is not what dataType says
            raise LookupFailed(f"redis lookup of key {key}: {describe_error(e)}") from None
        if self._backoff:
            log.info("redis lookup table %s: %s is reachable again", self.stream.name, self.settings)
            self._backoff = 0.0
            self._last_error = ""
        return [self._row(key, raw) for raw in items]

    def _client_now(self) -> Any:
        if self._backoff and time.monotonic() < self._down_until:
            raise LookupFailed(f"redis lookup on {self.settings.address}: {self._last_error}")
        if self._client is None:
            self._client = self.settings.sync_client(timeout=LOOKUP_TIMEOUT, connect_timeout=LOOKUP_TIMEOUT)
        return self._client

    def _failed(self, e: BaseException) -> None:
        message = describe_error(e)
        if not self._backoff:
            log.warning("redis lookup table %s: %s: %s", self.stream.name, self.settings, message)
        self._last_error = message
        self._backoff = min(self._backoff * 2, self.BACKOFF_MAX) if self._backoff else self.BACKOFF_INITIAL
        self._down_until = time.monotonic() + self._backoff

    def _row(self, key: str, raw: bytes) -> dict:
        # eKuiper unmarshals into a map: numbers are float64, and `null` is an empty row
        try:
            value = jsonvalue.decode_object(raw)
        except Exception:  # noqa: BLE001 - whatever the decoder raises, the value is not JSON
            value = ...
        if value is None:
            return {}
        if type(value) is not dict:
            raise LookupFailed(f"redis lookup of key {key}: the value is not a JSON object: {_excerpt(raw)}")
        return value

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # a connection that is gone needs no goodbye
                client.close()


def _excerpt(raw: bytes) -> str:
    text = raw[:80].decode("utf-8", "replace")
    return text + ("..." if len(raw) > 80 else "")
