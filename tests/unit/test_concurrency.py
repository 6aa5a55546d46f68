"""Tasks of one async client that retry or give up do not disturb each other (load: reliability)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from .support import CALL_ID, ScriptedBird, reply

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("kind", ["async"])]

NUMBERS = [f"+3161234{n:04d}" for n in range(2)]


async def test_async_retries_of_one_task_do_not_affect_another(flash, bird: ScriptedBird):
    bird.then(reply(503), reply(503))
    fc = flash()

    calls = await asyncio.gather(fc.create(NUMBERS[0]), fc.create(NUMBERS[1]))

    assert [call.to for call in calls] == NUMBERS
    assert len(bird.requests) == 4


async def test_async_cancellation_is_not_turned_into_a_retry_or_an_error(flash, bird: ScriptedBird):
    entered = asyncio.Event()

    async def hangs(request: httpx.Request) -> httpx.Response:
        entered.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    bird.always(hangs)
    task = asyncio.ensure_future(flash().end(CALL_ID, result="verified"))
    await entered.wait()
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(bird.requests) == 1
