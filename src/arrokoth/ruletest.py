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
        self._listener = None
        self._listener_task: asyncio.Task | None = None
        self.port = engine.config.get("basic.httpServerPort")

    async def ensure_listener(self) -> None:
        """Start the SSE listener on httpServerPort the first time a trial is created."""
        if self._listener is not None:
            return
        import uvicorn

        config = self.engine.config
        self._listener = uvicorn.Server(uvicorn.Config(
            sse_app(self), host=config.get("basic.httpServerIp"), port=config.get("basic.httpServerPort"),
            log_level="warning", lifespan="off",
        ))
        self._listener_task = asyncio.get_running_loop().create_task(self._listener.serve())
        while not self._listener.started and not self._listener_task.done():
            await asyncio.sleep(0.01)
        if self._listener_task.done():
            self._listener = None
            from arrokoth.engine import EngineError

            raise EngineError(f"cannot listen on port {config.get('basic.httpServerPort')} for rule test results")
        self.port = self._listener.servers[0].sockets[0].getsockname()[1]

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
        if self._listener is not None:
            self._listener.should_exit = True
            with contextlib.suppress(Exception):
                await self._listener_task
            self._listener = None

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


def sse_app(tests: RuleTests):
    """The listener on httpServerPort that serves `GET /test/{id}` as text/event-stream."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    async def stream(request: Request) -> Response:
        trial_id = request.path_params["id"]
        if trial_id not in tests.trials:
            return Response(jsonvalue.encode({"error": 1002, "message": f"rule test {trial_id} is not found"}) + b"\n",
                            status_code=404, media_type="text/plain; charset=utf-8")
        return StreamingResponse(tests.events(trial_id), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    return Starlette(routes=[Route("/test/{id}", stream, methods=["GET"])])
