"""Rule trial runs (`/ruletest`): a rule over mock data whose results stream as SSE.

A trial rule reads its streams from `mockSource` (data, interval, loop) instead of the
real sources, runs apart from the real rules, and sends its results, shaped by
`sinkProps`, to the SSE listeners of `GET http://host:<httpServerPort>/test/<id>`. It stops
itself after ten minutes, as eKuiper's does.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from arrokoth.functions import jsonvalue
from arrokoth.io.sinks.base import Sink, SinkConfigError, SinkNode
from arrokoth.io.sources.base import SourceConfigError
from arrokoth.io.sources.simulator import SimulatorSource
from arrokoth.rules import RuleDefError, validate_id
from arrokoth.runtime.builder import RuleError, attach, build_rule
from arrokoth.runtime.feed import StreamFeed
from arrokoth.sql import SqlSyntaxError

if TYPE_CHECKING:
    from arrokoth.engine import Engine

MAX_RUN_SECONDS = 600


class _SseSink(Sink):
    """Hands each payload to the trial's listeners."""

    def __init__(self, trial: Trial):
        super().__init__({})
        self.trial = trial

    def send(self, payload: bytes | None, data: Any) -> None:
        text = (payload or b"").decode("utf-8", "replace")
        for queue in list(self.trial.listeners):
            queue.put_nowait(text)


@dataclass
class Trial:
    id: str
    sql: str
    mock: dict
    sink_props: dict
    listeners: set[asyncio.Queue] = field(default_factory=set)
    sources: list[SimulatorSource] = field(default_factory=list)
    runtime: Any = None
    stopper: asyncio.TimerHandle | None = None


class RuleTests:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.trials: dict[str, Trial] = {}
        engine.http_listener.add_route("/test/{id}", self._stream, methods=["GET"])

    @property
    def port(self) -> int:
        return self.engine.http_listener.port

    async def ensure_listener(self) -> None:
        """Start the shared listener on httpServerPort, which serves `GET /test/{id}`."""
        from arrokoth.io.http_listener import ListenerError

        try:
            await self.engine.http_listener.start()
        except ListenerError:
            from arrokoth.engine import EngineError

            raise EngineError(f"cannot listen on port {self.port} for rule test results") from None

    def create(self, body: Any) -> dict:
        from arrokoth.engine import EngineError
        from arrokoth.server.responses import field as get

        if not isinstance(body, dict):
            raise EngineError("the rule test body must be a JSON object")
        trial_id = get(body, "id")
        try:
            validate_id(trial_id)
        except RuleDefError as e:
            raise EngineError(str(e)) from None
        sql = get(body, "sql")
        if not isinstance(sql, str) or not sql:
            raise EngineError("the rule test needs sql")
        mock = get(body, "mockSource") or {}
        sink_props = get(body, "sinkProps") or {}
        if not isinstance(mock, dict) or not isinstance(sink_props, dict):
            raise EngineError("mockSource and sinkProps must be objects")
        if trial_id in self.trials:
            raise EngineError(f"rule test {trial_id} already exists")
        trial = Trial(trial_id, sql, mock, sink_props)
        self._build(trial)
        self.trials[trial_id] = trial
        return {"id": trial_id, "port": self.port}

    def _build(self, trial: Trial) -> None:
        from arrokoth.engine import EngineError

        engine = self.engine
        try:
            node = SinkNode(_SseSink(trial), trial.sink_props)
            runtime = build_rule(
                f"$$test_{trial.id}", trial.sql, engine.streams, node.collect, engine.clock,
                engine._options_for({}), lookups=engine._lookups_for_sql(trial.sql),
            )
        except (RuleError, SinkConfigError, SqlSyntaxError) as e:
            raise EngineError(str(e)) from None
        feeds = {}
        for source in runtime.plan.sources:
            if source.name in feeds:
                continue
            d = engine.streams[source.name]
            feeds[source.name] = feed = StreamFeed(d, engine.clock)
            mock = trial.mock.get(source.name)
            if mock is None:
                if d.kind == "table":
                    continue
                raise EngineError(f"mockSource of stream {source.name} is missing")
            if not isinstance(mock, dict):
                raise EngineError(f"mockSource of stream {source.name} must be an object")
            try:
                trial.sources.append(SimulatorSource(d, mock, feed))
            except SourceConfigError as e:
                raise EngineError(f"mockSource of stream {source.name}: {e}") from None
        attach(runtime, feeds)
        trial.runtime = runtime

    async def start(self, trial_id: str) -> str:
        from arrokoth.engine import EngineError

        trial = self.trials.get(trial_id)
        if trial is None:
            raise EngineError(f"rule test {trial_id} is not found", 1002)
        if not trial.runtime.running:
            trial.runtime.start()
            for source in trial.sources:
                await source.start()
            loop = asyncio.get_running_loop()
            trial.stopper = loop.call_later(MAX_RUN_SECONDS, lambda: loop.create_task(self.stop(trial_id)))
        return f"Test rule {trial_id} was started"

    async def stop(self, trial_id: str) -> str:
        from arrokoth.engine import EngineError

        trial = self.trials.pop(trial_id, None)
        if trial is None:
            raise EngineError(f"rule test {trial_id} is not found", 1002)
        if trial.stopper is not None:
            trial.stopper.cancel()
        for source in trial.sources:
            await source.stop()
        trial.runtime.stop()
        for queue in list(trial.listeners):
            queue.put_nowait(None)
        return f"Test rule {trial_id} was stopped."

    async def close(self) -> None:
        for trial_id in list(self.trials):
            with contextlib.suppress(Exception):
                await self.stop(trial_id)

    async def events(self, trial_id: str):
        """The SSE lines of a trial, until it stops."""
        trial = self.trials.get(trial_id)
        if trial is None:
            return
        queue: asyncio.Queue = asyncio.Queue()
        trial.listeners.add(queue)
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                yield f"data: {item}\n\n"
        finally:
            trial.listeners.discard(queue)

    async def _stream(self, request):
        """`GET /test/{id}` on the shared listener: the trial's results as text/event-stream."""
        from starlette.responses import Response, StreamingResponse

        trial_id = request.path_params["id"]
        if trial_id not in self.trials:
            return Response(jsonvalue.encode({"error": 1002, "message": f"rule test {trial_id} is not found"}) + b"\n",
                            status_code=404, media_type="text/plain; charset=utf-8")
        return StreamingResponse(self.events(trial_id), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})
