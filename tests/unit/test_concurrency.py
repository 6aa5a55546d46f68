"""One client shared by many callers at once, and callers that give up."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from bird_flashcalls import AsyncFlashCalls, FlashCalls

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


def test_sync_client_serves_many_threads():
    lock = threading.Lock()
    recorded = ScriptedBird()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:  # ScriptedBird's script is not itself thread-safe
            return recorded(request)

    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as http,
        FlashCalls(ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, BASE_URL, http_client=http) as fc,
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        calls = list(pool.map(fc.create, NUMBERS))

    assert [call.to for call in calls] == NUMBERS
    assert sorted(json.loads(r.content)["to"] for r in recorded.requests) == sorted(NUMBERS)


async def test_async_client_serves_many_tasks(bird: ScriptedBird):
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(bird)) as http,
        AsyncFlashCalls(ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, BASE_URL, http_client=http) as fc,
    ):
        calls = await asyncio.gather(*(fc.create(number) for number in NUMBERS))

    assert [call.to for call in calls] == NUMBERS
    assert len(bird.requests) == len(NUMBERS)


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
