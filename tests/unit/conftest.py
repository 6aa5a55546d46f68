from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from bird_flashcalls import AsyncFlashCalls, FlashCalls, _client

from .support import (
    ACCESS_KEY,
    BASE_URL,
    CHANNEL_ID,
    FAST,
    WORKSPACE_ID,
    Driver,
    ModuleView,
    ScriptedBird,
    assert_no_secret,
    driven,
)

BIRD_VARIABLES = ("BIRD_ACCESS_KEY", "BIRD_WORKSPACE_ID", "BIRD_CHANNEL_ID", "BIRD_BASE_URL")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's real Bird settings must not change what the tests see.
    for variable in BIRD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def bird() -> ScriptedBird:
    return ScriptedBird()


@pytest.fixture
def kind() -> str:
    """Which client ``flash`` builds: sync, unless a test runs on both (support.BOTH_CLIENTS)."""
    return "sync"


Factory = Callable[..., Driver]


@pytest.fixture
async def flash(kind: str, bird: ScriptedBird) -> AsyncIterator[Factory]:
    """Builds a ``kind`` client on a MockTransport around ``bird``; keywords replace the defaults
    (``access_key=None`` reads the environment), ``http_options`` go to the httpx client."""
    opened: list[httpx.Client | httpx.AsyncClient] = []

    def make(*, http_options: dict[str, Any] | None = None, **options: Any) -> Driver:
        settings: dict[str, Any] = {
            "access_key": ACCESS_KEY,
            "workspace_id": WORKSPACE_ID,
            "channel_id": CHANNEL_ID,
            "base_url": BASE_URL,
            "backoff": FAST,
            **options,
        }
        transport = httpx.MockTransport(bird)
        client_class: type[FlashCalls] | type[AsyncFlashCalls]
        http: httpx.Client | httpx.AsyncClient
        if kind == "sync":
            http = httpx.Client(transport=transport, **(http_options or {}))
            client_class = FlashCalls
        else:
            http = httpx.AsyncClient(transport=transport, **(http_options or {}))
            client_class = AsyncFlashCalls
        opened.append(http)
        try:
            return driven(client_class(http_client=http, **settings))  # type: ignore[arg-type]
        except BaseException as error:
            assert_no_secret(error)
            raise

    yield make
    for http in opened:
        if isinstance(http, httpx.AsyncClient):
            await http.aclose()
        else:
            http.close()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the client asks for before each retry, recorded instead of slept."""
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)

    async def async_sleep(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(0)

    monkeypatch.setattr(_client, "time", ModuleView(time, sleep=sleep))
    recording_asyncio = ModuleView(asyncio, sleep=async_sleep)
    monkeypatch.setattr(_client, "_asyncio", lambda: recording_asyncio)  # imported on first use
    return delays
