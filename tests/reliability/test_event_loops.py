"""An AsyncFlashCalls used from more than one event loop (``asyncio.run`` per task, a module-level
client under pytest-asyncio): it works, or it refuses before sending."""

from __future__ import annotations

import asyncio
import threading

import pytest
from bird_flashcalls import AsyncFlashCalls, ClientClosedError, EventLoopError
from bird_flashcalls.testing import FakeBird

from .support import TO, fake_options


def test_a_client_that_made_its_own_connections_works_on_each_new_loop(
    fake_bird: FakeBird, fake_url: str
) -> None:
    client = AsyncFlashCalls(**fake_options(fake_bird, fake_url, max_retries=0))

    first = asyncio.run(client.create(TO))
    second = asyncio.run(client.create(TO))
    derived = asyncio.run(client.with_options(timeout=5).create(TO))
    asyncio.run(client.aclose())

    assert len({first.id, second.id, derived.id}) == 3
    assert len(fake_bird.requests) == 3
    with pytest.raises(ClientClosedError):
        asyncio.run(client.create(TO))
    assert len(fake_bird.requests) == 3


def test_a_users_http_client_is_refused_on_another_loop_before_sending(fake_bird: FakeBird) -> None:
    client = fake_bird.async_client(max_retries=0)  # on an httpx.AsyncClient of its own making
    asyncio.run(client.create(TO))

    with pytest.raises(EventLoopError, match="one client per event loop"):
        asyncio.run(client.create(TO))

    assert len(fake_bird.requests) == 1


def test_a_loop_still_running_elsewhere_keeps_its_connections(
    fake_bird: FakeBird, fake_url: str
) -> None:
    other = asyncio.new_event_loop()
    runner = threading.Thread(target=other.run_forever)
    runner.start()
    try:
        client = AsyncFlashCalls(**fake_options(fake_bird, fake_url, max_retries=0))
        asyncio.run_coroutine_threadsafe(client.create(TO), other).result(timeout=30)

        with pytest.raises(EventLoopError, match="another event loop"):
            asyncio.run(client.create(TO))

        assert len(fake_bird.requests) == 1
        asyncio.run_coroutine_threadsafe(client.aclose(), other).result(timeout=30)
    finally:
        other.call_soon_threadsafe(other.stop)
        runner.join()
        other.close()
