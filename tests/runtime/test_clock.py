"""Clocks: the virtual one fires timers in deadline order as it is moved; the real one runs on asyncio."""

from __future__ import annotations

import asyncio
import time

import pytest

from arrokoth.runtime.clock import Clock, RealClock, VirtualClock


def recorder(clock: VirtualClock, log: list):
    """A callback factory: each callback records (its name, the clock's time when it ran)."""

    def make(name: str):
        return lambda: log.append((name, clock.now_ms()))

    return make


# --- VirtualClock -------------------------------------------------------------------


def test_virtual_clock_starts_where_told_and_moves_only_when_advanced():
    clock = VirtualClock(1000)
    assert clock.virtual is True
    assert clock.now_ms() == 1000
    assert clock.now_ms() == 1000
    clock.advance_to(1500)
    assert clock.now_ms() == 1500
    clock.set(200)
    assert clock.now_ms() == 200


def test_timers_fire_in_deadline_order_at_their_deadline():
    clock = VirtualClock(0)
    log: list = []
    at = recorder(clock, log)
    clock.call_at(300, at("c"))
    clock.call_at(100, at("a"))
    clock.call_at(200, at("b"))
    clock.advance_to(1000)
    assert log == [("a", 100), ("b", 200), ("c", 300)]
    assert clock.now_ms() == 1000


def test_timers_with_the_same_deadline_fire_in_scheduling_order():
    clock = VirtualClock(0)
    log: list = []
    at = recorder(clock, log)
    for name in "xyzw":
        clock.call_at(50, at(name))
    clock.advance_to(50)
    assert [n for n, _ in log] == ["x", "y", "z", "w"]


def test_advance_fires_only_what_is_due():
    clock = VirtualClock(0)
    log: list = []
    at = recorder(clock, log)
    clock.call_at(100, at("a"))
    clock.call_at(500, at("b"))
    clock.advance_to(300)
    assert log == [("a", 100)]
    assert clock.next_deadline() == 500
    clock.advance_to(600)
    assert log == [("a", 100), ("b", 500)]
    assert clock.next_deadline() is None


def test_advance_is_inclusive_by_default():
    clock = VirtualClock(0)
    log: list = []
    clock.call_at(100, recorder(clock, log)("due"))
    clock.advance_to(100)
    assert log == [("due", 100)]


def test_exclusive_advance_leaves_timers_due_at_the_target():
    clock = VirtualClock(0)
    log: list = []
    at = recorder(clock, log)
    clock.call_at(99, at("before"))
    clock.call_at(100, at("at"))
    clock.advance_to(100, inclusive=False)
    assert log == [("before", 99)]
    assert clock.now_ms() == 100
    assert clock.next_deadline() == 100
    clock.advance_to(100)
    assert log == [("before", 99), ("at", 100)]


def test_call_later_is_relative_to_now():
    clock = VirtualClock(1000)
    log: list = []
    timer = clock.call_later(250, recorder(clock, log)("later"))
    assert timer.deadline == 1250
    clock.advance_to(2000)
    assert log == [("later", 1250)]


def test_timers_scheduling_timers_fire_in_the_same_advance_when_due():
    clock = VirtualClock(0)
    log: list = []
    at = recorder(clock, log)

    def tick():
        log.append(("tick", clock.now_ms()))
        if clock.now_ms() < 400:
            clock.call_later(100, tick)

    clock.call_at(100, tick)
    clock.call_at(250, at("between"))
    clock.advance_to(1000)
    assert log == [("tick", 100), ("tick", 200), ("between", 250), ("tick", 300), ("tick", 400)]


def test_a_timer_scheduled_beyond_the_target_waits():
    clock = VirtualClock(0)
    log: list = []
    at = recorder(clock, log)
    clock.call_at(100, lambda: clock.call_at(700, at("far")))
    clock.advance_to(500)
    assert log == []
    assert clock.next_deadline() == 700
    clock.advance_to(700)
    assert log == [("far", 700)]


def test_a_timer_scheduled_in_the_past_fires_without_moving_time_back():
    clock = VirtualClock(0)
    log: list = []
    at = recorder(clock, log)
    clock.call_at(300, lambda: clock.call_at(100, at("late")))
    clock.advance_to(400)
    assert log == [("late", 300)]
    assert clock.now_ms() == 400


def test_a_timer_scheduled_at_the_target_during_exclusive_advance_stays_pending():
    clock = VirtualClock(0)
    log: list = []
    at = recorder(clock, log)
    clock.call_at(50, lambda: clock.call_at(100, at("at-target")))
    clock.advance_to(100, inclusive=False)
    assert log == []
    assert clock.next_deadline() == 100


def test_cancelled_timers_do_not_fire():
    clock = VirtualClock(0)
    log: list = []
    at = recorder(clock, log)
    first = clock.call_at(100, at("first"))
    clock.call_at(200, at("second"))
    first.cancel()
    assert first.cancelled is True
    assert clock.next_deadline() == 200
    clock.advance_to(1000)
    assert log == [("second", 200)]


def test_a_callback_may_cancel_a_later_timer():
    clock = VirtualClock(0)
    log: list = []
    at = recorder(clock, log)
    victim = clock.call_at(200, at("victim"))
    clock.call_at(100, victim.cancel)
    clock.advance_to(300)
    assert log == []


def test_cancel_after_firing_is_harmless():
    clock = VirtualClock(0)
    log: list = []
    timer = clock.call_at(10, recorder(clock, log)("once"))
    clock.advance_to(20)
    timer.cancel()
    clock.advance_to(30)
    assert log == [("once", 10)]


def test_advancing_backwards_does_not_move_the_clock():
    clock = VirtualClock(500)
    clock.advance_to(100)
    assert clock.now_ms() == 500


def test_the_base_clock_is_abstract():
    with pytest.raises(NotImplementedError):
        Clock().now_ms()
    assert Clock().virtual is False


# --- RealClock ------------------------------------------------------------------------
# The loop's own timing is asyncio's business: these tests wait for the callback with a
# generous timeout and never assert on elapsed time.

WAIT = 10.0


def test_real_clock_reads_the_wall_clock():
    before = time.time_ns() // 1_000_000
    now = RealClock().now_ms()
    after = time.time_ns() // 1_000_000
    assert before <= now <= after
    assert RealClock().virtual is False


def test_real_clock_fires_a_timer_inside_the_running_loop():
    async def main() -> list:
        clock = RealClock()
        fired = asyncio.Event()
        seen: list = []

        def callback():
            seen.append(asyncio.get_running_loop())
            fired.set()

        clock.call_later(1, callback)
        await asyncio.wait_for(fired.wait(), WAIT)
        return [seen, asyncio.get_running_loop()]

    seen, loop = asyncio.run(main())
    assert seen == [loop]


def test_real_clock_with_an_explicit_loop_and_a_past_deadline():
    async def main() -> int:
        loop = asyncio.get_running_loop()
        clock = RealClock(loop)
        fired = asyncio.Event()
        timer = clock.call_at(clock.now_ms() - 5000, fired.set)
        await asyncio.wait_for(fired.wait(), WAIT)
        return timer.deadline

    assert asyncio.run(main()) > 0


def test_real_clock_cancel_stops_a_pending_timer():
    async def main() -> list:
        clock = RealClock()
        log: list = []
        done = asyncio.Event()
        # the cancelled timer is due before the one we wait for, so it would have run first
        cancelled = clock.call_at(clock.now_ms() - 1000, lambda: log.append("cancelled"))
        clock.call_later(5, lambda: (log.append("kept"), done.set()))
        cancelled.cancel()
        await asyncio.wait_for(done.wait(), WAIT)
        return log

    assert asyncio.run(main()) == ["kept"]


def test_real_clock_needs_a_running_loop():
    with pytest.raises(RuntimeError):
        RealClock().call_later(1, lambda: None)
