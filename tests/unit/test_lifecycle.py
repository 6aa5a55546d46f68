"""Who closes what: clients the library created, clients the user passed, derived clients."""

from __future__ import annotations

import httpx
import pytest
from bird_flashcalls import AsyncFlashCalls, BirdError, ConfigurationError, FlashCalls

from .support import (
    ACCESS_KEY,
    BASE_URL,
    CALLEE,
    CHANNEL_ID,
    FAST,
    WORKSPACE_ID,
    ScriptedBird,
)

pytestmark = pytest.mark.anyio

SETTINGS = {
    "access_key": ACCESS_KEY,
    "workspace_id": WORKSPACE_ID,
    "channel_id": CHANNEL_ID,
    "base_url": BASE_URL,
    "backoff": FAST,
}


@pytest.fixture
def created_http_clients(monkeypatch, bird: ScriptedBird) -> list[httpx.Client | httpx.AsyncClient]:
    """The httpx clients the library builds for itself, wired to ``bird`` instead of the network."""
    created: list[httpx.Client | httpx.AsyncClient] = []

    class SyncClient(httpx.Client):
        def __init__(self, **options):
            options.pop("transport", None)  # the library's own pooled transport
            super().__init__(transport=httpx.MockTransport(bird), **options)
            created.append(self)

    class AsyncClient(httpx.AsyncClient):
        def __init__(self, **options):
            options.pop("transport", None)
            super().__init__(transport=httpx.MockTransport(bird), **options)
            created.append(self)

    monkeypatch.setattr(httpx, "Client", SyncClient)
    monkeypatch.setattr(httpx, "AsyncClient", AsyncClient)
    return created


def test_sync_close_closes_the_client_it_created(created_http_clients, bird: ScriptedBird):
    fc = FlashCalls(**SETTINGS)
    fc.create(CALLEE)
    [http] = created_http_clients
    assert not http.is_closed

    fc.close()

    assert http.is_closed
    assert len(bird.requests) == 1


def test_sync_context_manager_closes_the_client_it_created(created_http_clients):
    with FlashCalls(**SETTINGS) as fc:
        assert isinstance(fc, FlashCalls)
        fc.create(CALLEE)
        [http] = created_http_clients
        assert not http.is_closed

    assert http.is_closed


def test_sync_context_manager_closes_on_error_too(created_http_clients, bird: ScriptedBird):
    bird.always(lambda request: httpx.Response(404, json={"code": "NotFound", "message": "x"}))
    with pytest.raises(Exception, match="404"), FlashCalls(**SETTINGS) as fc:
        fc.create(CALLEE)

    [http] = created_http_clients
    assert http.is_closed


async def test_async_aclose_closes_the_client_it_created(created_http_clients, bird: ScriptedBird):
    fc = AsyncFlashCalls(**SETTINGS)
    await fc.create(CALLEE)
    [http] = created_http_clients
    assert isinstance(http, httpx.AsyncClient)
    assert not http.is_closed

    await fc.aclose()

    assert http.is_closed


async def test_async_context_manager_closes_the_client_it_created(created_http_clients):
    async with AsyncFlashCalls(**SETTINGS) as fc:
        assert isinstance(fc, AsyncFlashCalls)
        await fc.create(CALLEE)
        [http] = created_http_clients

    assert http.is_closed


def test_sync_a_users_http_client_is_left_open(bird: ScriptedBird):
    with httpx.Client(transport=httpx.MockTransport(bird)) as http:
        with FlashCalls(**SETTINGS, http_client=http) as fc:
            fc.create(CALLEE)
        FlashCalls(**SETTINGS, http_client=http).close()

        assert not http.is_closed
        # Still usable by its owner.
        http.post(f"{BASE_URL}/anything", json={})
        assert len(bird.requests) == 2


async def test_async_a_users_http_client_is_left_open(bird: ScriptedBird):
    async with httpx.AsyncClient(transport=httpx.MockTransport(bird)) as http:
        async with AsyncFlashCalls(**SETTINGS, http_client=http) as fc:
            await fc.create(CALLEE)
        await AsyncFlashCalls(**SETTINGS, http_client=http).aclose()

        assert not http.is_closed
        await http.post(f"{BASE_URL}/anything", json={})
        assert len(bird.requests) == 2


def test_sync_with_options_shares_the_pool_and_closing_it_is_a_no_op(
    created_http_clients, bird: ScriptedBird
):
    fc = FlashCalls(**SETTINGS)
    derived = fc.with_options(timeout=3.0, max_retries=0)

    derived.create(CALLEE)
    derived.close()
    with derived:
        pass
    fc.create(CALLEE)

    [http] = created_http_clients  # no second pool was opened
    assert not http.is_closed
    assert len(bird.requests) == 2
    assert type(derived) is FlashCalls
    assert (derived.timeout, derived.max_retries) == (3.0, 0)
    assert (fc.timeout, fc.max_retries) == (10.0, 2)
    fc.close()
    assert http.is_closed


async def test_async_with_options_shares_the_pool_and_closing_it_is_a_no_op(
    created_http_clients, bird: ScriptedBird
):
    fc = AsyncFlashCalls(**SETTINGS)
    derived = fc.with_options(timeout=3.0, max_retries=0)

    await derived.create(CALLEE)
    await derived.aclose()
    async with derived:
        pass
    await fc.create(CALLEE)

    [http] = created_http_clients
    assert not http.is_closed
    assert len(bird.requests) == 2
    assert type(derived) is AsyncFlashCalls
    assert (derived.timeout, derived.max_retries) == (3.0, 0)
    await fc.aclose()
    assert http.is_closed


async def test_with_options_keeps_the_settings_and_changes_only_the_limits(
    flash, bird: ScriptedBird
):
    fc = flash(timeout=4.0, max_retries=1)

    derived = fc.with_options(max_retries=5)

    assert (derived.timeout, derived.max_retries) == (4.0, 5)
    assert (derived.workspace_id, derived.channel_id) == (fc.workspace_id, fc.channel_id)
    assert derived.base_url == fc.base_url
    await derived.create(CALLEE)
    assert bird.requests[0].headers["Authorization"] == f"AccessKey {ACCESS_KEY}"


@pytest.mark.parametrize(
    "options", [{"timeout": 0}, {"timeout": -2.0}, {"max_retries": -1}, {"max_retries": 1.5}]
)
async def test_with_options_checks_its_limits(flash, options):
    fc = flash()

    with pytest.raises(ConfigurationError):
        fc.with_options(**options)

    assert (fc.timeout, fc.max_retries) == (10.0, 2)


def test_sync_a_closed_client_raises_a_bird_error(created_http_clients, bird: ScriptedBird):
    # errors.py: "Every exception the client raises is a BirdError".
    fc = FlashCalls(**SETTINGS)
    fc.close()

    with pytest.raises(BirdError):
        fc.create(CALLEE)
    assert bird.requests == []


async def test_async_a_closed_client_raises_a_bird_error(created_http_clients, bird: ScriptedBird):
    fc = AsyncFlashCalls(**SETTINGS)
    await fc.aclose()

    with pytest.raises(BirdError):
        await fc.create(CALLEE)
    assert bird.requests == []
