"""Fixtures of the verification tests: a controllable clock, the three stores, sync and async.

``env`` is parametrized over every store and both verifiers, so a test written once against it
runs six times; ``memory_env`` is one MemoryStore and a Verifier, for what no store changes.
Their verifiers are driven through ``Driven``, whose methods are coroutines for both kinds (a
sync verifier is simply called), so one test body covers both.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import (
    MemoryStore,
    SQLiteStore,
    VerificationStore,
)

from .redis_server import running_redis
from .support import MODES, STORES, Clock, Env, SyncStores, store_params


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(
    params=[
        pytest.param(
            (kind, mode), id=f"{kind}-{mode}", marks=[pytest.mark.redis] * (kind == "redis")
        )
        for kind in STORES
        for mode in MODES
    ]
)
async def env(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock, anyio_backend: str
) -> AsyncIterator[Env]:
    """Every store with each verifier: for what the stores or the I/O could change."""
    async with opened_env(request, *request.param, tmp_path, clock) as environment:
        yield environment


@pytest.fixture
async def memory_env(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock, anyio_backend: str
) -> AsyncIterator[Env]:
    """A MemoryStore and a Verifier: for what the flows decide whatever the store."""
    async with opened_env(request, "memory", "sync", tmp_path, clock) as environment:
        yield environment


@contextlib.asynccontextmanager
async def opened_env(
    request: pytest.FixtureRequest, kind: str, mode: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[Env]:
    opened: list[Any] = []
    prefix = None
    if kind == "memory":
        shared = MemoryStore()

        def new_store() -> VerificationStore:
            return shared  # one process: every verifier shares the object itself

    elif kind == "sqlite":
        path = tmp_path / "verification.db"

        def new_store() -> VerificationStore:
            store = SQLiteStore(path)
            opened.append(store)
            return store

    else:
        url = request.getfixturevalue("redis_url")
        prefix = f"test-{uuid.uuid4().hex[:12]}"
        import redis
        import redis.asyncio
        from bird_flashcalls.verification import RedisStore

        def new_store() -> VerificationStore:
            if mode == "sync":
                client: Any = redis.Redis.from_url(url)
            else:
                client = redis.asyncio.Redis.from_url(url)
            opened.append(client)
            return RedisStore(client, prefix=prefix)

    environment = Env(kind, mode, FakeBird(), clock, new_store, prefix)
    yield environment
    await environment.aclose()
    for resource in opened:
        if hasattr(resource, "aclose"):
            await resource.aclose()
        else:
            resource.close()


@pytest.fixture(params=store_params())
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SyncStores]:
    handles = SyncStores(request.param, tmp_path, request)
    yield handles
    handles.close()


@pytest.fixture
def fake_bird_served(fake_bird: FakeBird) -> Iterator[tuple[FakeBird, dict[str, str]]]:
    """A FakeBird on 127.0.0.1, and what a worker process needs to reach it."""
    with fake_bird.serve() as base_url:
        yield (
            fake_bird,
            {
                "access_key": fake_bird.access_key,
                "workspace_id": fake_bird.workspace_id,
                "channel_id": fake_bird.channel_id,
                "base_url": base_url,
            },
        )
