"""Callers of one async client that retry or give up do not disturb each other.

Many callers at once, threads and tasks over HTTP, are tests/reliability/test_load.py's."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from bird_flashcalls import AsyncFlashCalls

from .support import (
    ACCESS_KEY,
    BASE_URL,
    CALL_ID,
    CHANNEL_ID,
    FAST,
    WORKSPACE_ID,
    ScriptedBird,
    reply,
)

pytestmark = pytest.mark.anyio

NUMBERS = [f"+3161234{n:04d}" for n in range(40)]


async def test_async_retries_of_one_task_do_not_affect_another(bird: ScriptedBird):
    bird.then(reply(503), reply(503))
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(bird)) as http,
        AsyncFlashCalls(
            ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, BASE_URL, backoff=FAST, http_client=http
        ) as fc,
    ):
        calls = await asyncio.gather(fc.create(NUMBERS[0]), fc.create(NUMBERS[1]))

    assert [call.to for call in calls] == NUMBERS[:2]
    assert len(bird.requests) == 4


async def test_async_cancellation_is_not_turned_into_a_retry_or_an_error(bird: ScriptedBird):
    entered = asyncio.Event()

    async def hangs(request: httpx.Request) -> httpx.Response:
        entered.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    bird.always(hangs)
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(bird)) as http,
        AsyncFlashCalls(ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, BASE_URL, http_client=http) as fc,
    ):
        task = asyncio.ensure_future(fc.end(CALL_ID, result="verified"))
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    assert len(bird.requests) == 1
