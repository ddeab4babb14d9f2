"""The simulator source: replays a list of objects at a fixed interval.

Properties: `data` (a list of objects; a built-in demo reading when absent),
`interval` (ms between messages, default 1000) and `loop` (start over at the end,
default true). It lets a first rule run with nothing else installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

from arrokoth.io.sources.base import Source, SourceConfigError, prop


def _demo_data() -> list[dict]:
    rnd = random.Random(7)
    return [
        {"deviceId": f"device{i % 3 + 1}", "temperature": round(rnd.uniform(15, 45), 1), "humidity": rnd.randint(20, 90)}
        for i in range(30)
    ]


class SimulatorSource(Source):
    _task: asyncio.Task | None = None

    def __init__(self, stream, props, feed):
        super().__init__(stream, props, feed)
        data = prop(props, "data")
        if data is None:
            data = _demo_data()
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data) or not data:
            raise SourceConfigError("data: the simulator needs a non-empty list of objects")
        interval = prop(props, "interval", 1000)
        if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 0:
            raise SourceConfigError("interval: expected a non-negative number of milliseconds")
        loop = prop(props, "loop", True)
        if not isinstance(loop, bool):
            raise SourceConfigError("loop: expected true or false")
        self.data = data
        self.interval = interval / 1000
        self.loop = loop

    async def start(self) -> None:
        self.connected()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            for item in self.data:
                self.publish_rows([dict(item)])
                await asyncio.sleep(self.interval)
            if not self.loop:
                return

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
