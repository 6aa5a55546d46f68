"""The timer that bounds an attempt made through a caller's AsyncClient: asyncio.timeout's rules."""

from __future__ import annotations

import asyncio

import pytest
from bird_flashcalls._transport import AttemptTimer

pytestmark = pytest.mark.anyio


async def test_an_attempt_past_its_deadline_ends_in_timeout_error():
    never = asyncio.Event()
    with pytest.raises(TimeoutError), AttemptTimer(0.01):
        await never.wait()

    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    await asyncio.sleep(0)  # the task is not left with a pending cancellation


async def test_an_attempt_within_its_deadline_is_untouched_afterwards():
    with AttemptTimer(0.02):
        await asyncio.sleep(0)
    # Past the deadline the timer is gone: nothing cancels this wait.
    await asyncio.sleep(0.05)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


async def test_a_cancellation_from_outside_is_not_turned_into_a_timeout():
    entered = asyncio.Event()

    async def attempt() -> None:
        with AttemptTimer(10):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.ensure_future(attempt())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_cancellation_at_the_same_moment_as_the_deadline_wins():
    timers: list[AttemptTimer] = []
    entered = asyncio.Event()

    async def attempt() -> None:
        timer = AttemptTimer(0.02)
        timers.append(timer)
        with timer:
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.ensure_future(attempt())
    await entered.wait()
    # Both fire in one turn of the loop, before the task resumes: the caller's cancel stands.
    asyncio.get_running_loop().call_at(timers[0]._handle.when(), task.cancel)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert timers[0]._expired


async def test_a_timer_needs_a_running_task():
    # A loop callback runs outside any task: there is nothing the timer could cancel.
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[BaseException | None] = loop.create_future()

    def enter_in_a_callback() -> None:
        try:
            with AttemptTimer(1):
                pass
        except RuntimeError as error:
            outcome.set_result(error)
        else:
            outcome.set_result(None)

    loop.call_soon(enter_in_a_callback)
    assert "inside a task" in str(await outcome)
