from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from bird_flashcalls import _client

from .support import (
    CLIENTS,
    SETTINGS,
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
        client_class, http_class = CLIENTS[kind]
        http = http_class(transport=httpx.MockTransport(bird), **(http_options or {}))
        opened.append(http)
        try:
            return driven(client_class(http_client=http, **{**SETTINGS, **options}))
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
