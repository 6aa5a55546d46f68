"""Who closes what: clients the library created, clients the user passed, derived clients."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from bird_flashcalls import (
    AsyncFlashCalls,
    ClientClosedError,
    ConfigurationError,
    FlashCalls,
    NotFoundError,
)

from .support import (
    ACCESS_KEY,
    BASE_URL,
    BOTH_CLIENTS,
    CALLEE,
    CLIENTS,
    SETTINGS,
    ScriptedBird,
    driven,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def created(monkeypatch, bird: ScriptedBird) -> list[httpx.Client | httpx.AsyncClient]:
    """The httpx clients the library builds for itself, wired to ``bird`` instead of the network."""
    made: list[httpx.Client | httpx.AsyncClient] = []

    def wired(base: type[Any]) -> type[Any]:
        class Wired(base):  # type: ignore[misc, valid-type]
            def __init__(self, **options: Any) -> None:
                options.pop("transport", None)  # the library's own pooled transport
                super().__init__(transport=httpx.MockTransport(bird), **options)
                made.append(self)

        return Wired

    monkeypatch.setattr(httpx, "Client", wired(httpx.Client))
    monkeypatch.setattr(httpx, "AsyncClient", wired(httpx.AsyncClient))
    return made


async def close(client: Any) -> None:
    """Close a FlashCalls or an httpx client, of either kind."""
    await (driven(client).aclose() if hasattr(client, "aclose") else driven(client).close())


async def in_with_block(client: Any, *calls: str) -> None:
    """Enter the client as a context manager and create a call for each of ``calls``."""
    if isinstance(client, AsyncFlashCalls):
        async with client as entered:
            assert entered is client
            for _ in calls:
                await client.create(CALLEE)
    else:
        with client as entered:
            assert entered is client
            for _ in calls:
                client.create(CALLEE)


@BOTH_CLIENTS
@pytest.mark.parametrize("closing", ["close", "with-block", "with-block-on-error"])
async def test_a_client_closes_the_http_client_it_created(
    kind, created, bird: ScriptedBird, closing
):
    fc = CLIENTS[kind][0](**SETTINGS)
    if closing == "with-block-on-error":
        bird.always(lambda request: httpx.Response(404, json={"code": "NotFound", "message": "x"}))
    if closing == "close":
        await driven(fc).create(CALLEE)
        assert not created[0].is_closed
        await close(fc)
    elif closing == "with-block":
        await in_with_block(fc, "create")
    else:
        with pytest.raises(NotFoundError):
            await in_with_block(fc, "create")

    [http] = created
    assert isinstance(http, CLIENTS[kind][1])
    assert http.is_closed
    assert len(bird.requests) == 1


@BOTH_CLIENTS
async def test_a_users_http_client_is_left_open(kind, bird: ScriptedBird):
    client_class, http_class = CLIENTS[kind]
    http = http_class(transport=httpx.MockTransport(bird))

    await in_with_block(client_class(**SETTINGS, http_client=http), "create")
    await close(client_class(**SETTINGS, http_client=http))

    assert not http.is_closed
    await driven(http).post(f"{BASE_URL}/anything", json={})  # still usable by its owner
    assert len(bird.requests) == 2
    await close(http)


@BOTH_CLIENTS
@pytest.mark.parametrize("closed", ["the-client", "the-users-http-client"])
async def test_a_closed_client_refuses_to_send_with_a_bird_error(
    kind, created, bird: ScriptedBird, closed
):
    # errors.py: "Every exception the client raises is a BirdError".
    client_class, http_class = CLIENTS[kind]
    if closed == "the-client":
        fc = client_class(**SETTINGS)
        await close(fc)
    else:
        http = http_class(transport=httpx.MockTransport(bird))
        fc = client_class(**SETTINGS, http_client=http)
        await close(http)

    with pytest.raises(ClientClosedError, match="is closed: create a new client"):
        await driven(fc).create(CALLEE)
    assert bird.requests == []


@BOTH_CLIENTS
async def test_with_options_shares_the_pool_and_closing_it_is_a_no_op(
    kind, created, bird: ScriptedBird
):
    client_class = CLIENTS[kind][0]
    fc = client_class(**SETTINGS, timeout=6.0, max_retries=1)
    derived = fc.with_options(max_retries=5)

    await driven(derived).create(CALLEE)
    await close(derived)
    await in_with_block(derived)
    await driven(fc).create(CALLEE)

    [http] = created  # no second pool was opened
    assert not http.is_closed
    assert len(bird.requests) == 2
    assert bird.requests[0].headers["Authorization"] == f"AccessKey {ACCESS_KEY}"
    assert type(derived) is client_class
    assert (derived.timeout, derived.max_retries, fc.max_retries) == (6.0, 5, 1)
    assert (derived.workspace_id, derived.channel_id, derived.base_url) == (
        fc.workspace_id,
        fc.channel_id,
        fc.base_url,
    )
    await close(fc)
    assert http.is_closed


@pytest.mark.parametrize(
    "options", [{"timeout": 0}, {"timeout": -2.0}, {"max_retries": -1}, {"max_retries": 1.5}]
)
def test_with_options_checks_its_limits(options):
    with FlashCalls(**SETTINGS) as fc:
        with pytest.raises(ConfigurationError):
            fc.with_options(**options)

        assert (fc.timeout, fc.max_retries) == (10.0, 2)
