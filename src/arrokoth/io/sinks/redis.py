"""The redis sink: stores each result row in Redis, as eKuiper's redis sink does.

Properties (eKuiper's names and defaults): `addr` (host:port, "127.0.0.1:6379" when empty),
`username`, `password`, `db` (0-15, default 0), `keyType` ("single" or "multiple"),
`key` / `field`, `dataType` ("string" or "list"), `expiration` (seconds, string data only;
-1 or 0 keeps the key forever) and `rowkindField`.

* keyType "single": the row, marshalled as JSON (keys sorted, as Go's json.Marshal does),
  is stored under one key: the value of the row's `field` when `field` is set, else `key`.
  A `key` holding `{{` is a data template rendered with the row (an Arrokoth extension).
* keyType "multiple": every field of the row is stored under its own name, its value as
  text (nested objects and arrays as JSON).
* dataType "string" writes with SET (with EX when `expiration` > 0), "list" with LPUSH.
* with `rowkindField`, a row whose field says "delete" removes the key (DEL; LPOP for a
  list); insert, update and upsert all write. Rows without the field are upserts.

One message (one row with sendSingle, else the rows of one trigger) is written in one
MULTI/EXEC. A connection failure raises `SinkSendError`, so the node retries and, with
`enableCache`, keeps the message until Redis is back. A row the sink cannot store (no
such field, an unknown row kind) fails that message without blocking the others.
"""

from __future__ import annotations

import logging
from typing import Any

from arrokoth.functions import jsonvalue
from arrokoth.functions.values import format_value, to_string_all
from arrokoth.io._redis_client import (
    RedisConfigError,
    RedisSettings,
    aclose,
    check,
    db_number,
    describe_error,
    int_prop,
    is_connection_error,
    require_redis,
    str_prop,
)
from arrokoth.io.props import MissingExtra, prop
from arrokoth.io.sinks.base import AsyncSink, SinkConfigError, SinkSendError

log = logging.getLogger("arrokoth.sink.redis")

ROWKINDS = ("insert", "update", "upsert", "delete")


class RedisRowError(ValueError):
    """A row the sink cannot store; resending it will not help."""


class RedisClientSink(AsyncSink):
    """What the redis and redisPub sinks share: one asyncio client, connected by a PING,
    and a connectivity check of the connection properties alone."""

    #: the connector in messages, its `db` in errors, and its address names, eKuiper's first
    connector = "redis sink"
    db_name = "redisSink"
    address_names = ("addr", "address")

    def __init__(self, props: dict[str, Any]):
        super().__init__(props)
        self._client: Any = None

    @classmethod
    def settings_of(cls, props: dict) -> RedisSettings:
        db = db_number(prop(props, "db", 0), "db", cls.db_name)
        return RedisSettings.parse(props, address=cls.address_names, db=db)

    @classmethod
    async def ping(cls, props: dict, timeout: float) -> None:
        # only the connection properties are checked: a key or channel is not needed to reach Redis
        try:
            require_redis(cls.connector)
            settings = cls.settings_of(props)
        except (RedisConfigError, MissingExtra) as e:
            raise SinkConfigError(str(e)) from None
        await check(settings, timeout)

    async def connect(self) -> None:
        if self._client is None:
            self._client = self.settings.async_client()
        try:
            await self._client.ping()
        except (self._redis.RedisError, OSError) as e:
            raise SinkSendError(f"redis {self.settings.address}: {describe_error(e)}") from None
        self.mark_connected()

    async def aclose(self) -> None:
        client, self._client = self._client, None
        await aclose(client)


def _expiration(props: dict) -> int:
    v = prop(props, "expiration", -1)
    if isinstance(v, float) and not v.is_integer():
        return int(v)  # Go's weak decoding truncates
    try:
        return int_prop({"expiration": v}, "expiration", -1)
    except RedisConfigError:
        raise RedisConfigError(f"expiration: expected a number of seconds but got {v!r}") from None


class RedisSink(RedisClientSink):
    wants_rows = True

    def __init__(self, props: dict[str, Any]):
        super().__init__(props)
        try:
            self._redis = require_redis(self.connector)
            self.settings = self.settings_of(props)
            self.key = str_prop(props, "key")
            self.field = str_prop(props, "field")
            self.key_type = str_prop(props, "keyType", "single") or "single"
            self.data_type = str_prop(props, "dataType", "string") or "string"
            self.expiration = _expiration(props)
            self.rowkind_field = str_prop(props, "rowkindField")
            # eKuiper's checks and their order
            if self.key_type == "single" and not self.key and not self.field:
                raise RedisConfigError("key: redis sink must have key or field when KeyType is single")
            if self.key_type not in ("single", "multiple"):
                raise RedisConfigError("keyType: KeyType only support single or multiple")
            if self.data_type not in ("string", "list"):
                raise RedisConfigError("dataType: redis sink only support string or list data type")
            self._key_template = _compile_key(self.key) if self.key_type == "single" and not self.field else None
        except (RedisConfigError, MissingExtra) as e:
            raise SinkConfigError(str(e)) from None

    # --- sending -----------------------------------------------------------------------

    async def send_async(self, payload: bytes | None, data: Any) -> None:
        if type(data) is dict:
            rows = [data]
        elif type(data) is list:
            rows = data
        else:
            raise RedisRowError(f"unrecognized format of {format_value(data)}")
        commands: list[tuple] = []
        errors: list[str] = []
        for row in rows:
            if type(row) is not dict:
                errors.append(f"unrecognized format of {format_value(row)}")
                continue
            try:
                commands.extend(self._commands(row))
            except RedisRowError as e:
                errors.append(str(e))
        if commands:
            await self._execute(commands)
        if errors:
            # the rows that could be stored are; this message still counts as failed
            raise RedisRowError("; ".join(errors))

    async def _execute(self, commands: list[tuple]) -> None:
        client = self._client
        if client is None:
            raise SinkSendError("redis client is not connected")
        pipe = client.pipeline(transaction=True)
        for command in commands:
            pipe.execute_command(*command)
        try:
            await pipe.execute()
        except (self._redis.RedisError, OSError) as e:
            message = f"redis {self.settings.address}: {describe_error(e)}"
            if is_connection_error(e):
                self.mark_disconnected(message)
                raise SinkSendError(message) from None
            raise RedisRowError(message) from None  # WRONGTYPE and the like

    def _commands(self, row: dict) -> list[tuple]:
        """The Redis commands that store one row."""
        kind = "upsert"
        if self.rowkind_field and self.rowkind_field in row:
            kind = row[self.rowkind_field]
            if type(kind) is not str:
                raise RedisRowError(f"rowkind field {self.rowkind_field} is not a string in data {format_value(row)}")
            if kind not in ROWKINDS:
                raise RedisRowError(f"invalid rowkind {kind}")
        if self.key_type == "multiple":
            pairs = [(k, _text(v)) for k, v in row.items()]
        else:
            pairs = [(self._key_of(row), jsonvalue.dumps(row))]
        out: list[tuple] = []
        for key, value in pairs:
            if kind == "delete":
                out.append(("LPOP", key) if self.data_type == "list" else ("DEL", key))
            elif self.data_type == "list":
                out.append(("LPUSH", key, value))
            elif self.expiration > 0:
                out.append(("SET", key, value, "EX", self.expiration))
            else:
                out.append(("SET", key, value))
        return out

    def _key_of(self, row: dict) -> str:
        if self.field:
            if self.field not in row:
                raise RedisRowError(f"field {self.field} does not exist in data {format_value(row)}")
            value = row[self.field]
            try:
                return to_string_all(value)
            except ValueError:
                raise RedisRowError(
                    f"key must be string or convertible to string, but got {format_value(value)}"
                ) from None
        if self._key_template is not None:
            try:
                key = self._key_template.render(row)
            except Exception as e:  # noqa: BLE001 - a template failing on one row fails that row
                raise RedisRowError(f"key: {e}") from None
            if not key:
                raise RedisRowError(f"key: {self.key!r} rendered to an empty key for {format_value(row)}")
            return key
        return self.key


def _text(value: Any) -> str:
    """A field's value as keyType multiple stores it."""
    if type(value) is dict or type(value) is list:
        # eKuiper's cast leaves these empty; their JSON keeps the data
        return jsonvalue.dumps(value)
    return to_string_all(value)


def _compile_key(key: str) -> Any:
    if "{{" not in key:
        return None
    from arrokoth.io.templates import compile_template

    try:
        return compile_template(key)
    except Exception as e:  # noqa: BLE001 - whatever the template engine raises, name the property
        raise RedisConfigError(f"key: invalid template {key!r}: {e}") from None
