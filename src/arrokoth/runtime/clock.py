"""Every clock read and timer of the engine goes through a `Clock`.

`RealClock` runs timers on the asyncio loop. `VirtualClock` moves only when told to and
fires due timers in deadline order, which makes a replay deterministic.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable


class Timer:
    """A scheduled callback; `cancel()` stops it if it has not fired."""

    __slots__ = ("deadline", "callback", "cancelled", "_handle")

    def __init__(self, deadline: int, callback: Callable[[], None]):
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False
        self._handle: asyncio.TimerHandle | None = None

    def cancel(self) -> None:
        self.cancelled = True
        if self._handle is not None:
            self._handle.cancel()


class Clock:
    """Milliseconds since the epoch, and timers at absolute deadlines."""

    def now_ms(self) -> int:
        raise NotImplementedError

    def call_at(self, deadline_ms: int, callback: Callable[[], None]) -> Timer:
        raise NotImplementedError

    def call_later(self, delay_ms: int, callback: Callable[[], None]) -> Timer:
        return self.call_at(self.now_ms() + delay_ms, callback)

    @property
    def virtual(self) -> bool:
        return False


class RealClock(Clock):
    def __init__(self, loop: asyncio.AbstractEventLoop | None = None):
        self._loop = loop

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def call_at(self, deadline_ms: int, callback: Callable[[], None]) -> Timer:
        timer = Timer(deadline_ms, callback)
        loop = self._loop or asyncio.get_running_loop()
        delay = max(0.0, (deadline_ms - self.now_ms()) / 1000)

        def fire() -> None:
            if not timer.cancelled:
                timer.callback()

        timer._handle = loop.call_later(delay, fire)
        return timer


class VirtualClock(Clock):
    """A clock that moves only through `advance_to`; timers fire in deadline order."""

    def __init__(self, start_ms: int = 0):
        self._now = start_ms
        self._timers: list[tuple[int, int, Timer]] = []
        self._seq = itertools.count()

    @property
    def virtual(self) -> bool:
        return True

    def now_ms(self) -> int:
        return self._now

    def set(self, now_ms: int) -> None:
        self._now = now_ms

    def call_at(self, deadline_ms: int, callback: Callable[[], None]) -> Timer:
        timer = Timer(deadline_ms, callback)
        heapq.heappush(self._timers, (deadline_ms, next(self._seq), timer))
        return timer

    def next_deadline(self) -> int | None:
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def advance_to(self, target_ms: int, *, inclusive: bool = True) -> None:
        """Move to `target_ms`, firing every timer due on the way in deadline order.

        With ``inclusive`` False, timers due exactly at the target stay pending.
        Callbacks may schedule new timers; those fire too if they are due.
        """
        while True:
            deadline = self.next_deadline()
            if deadline is None or deadline > target_ms or (deadline == target_ms and not inclusive):
                break
            _, _, timer = heapq.heappop(self._timers)
            if deadline > self._now:
                self._now = deadline
            timer.callback()
        if target_ms > self._now:
            self._now = target_ms
