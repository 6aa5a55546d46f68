"""``env``: every store with each verifier (a test runs eight times); ``memory_env``: one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from bird_flashcalls.testing import FakeBird

from .redis_server import running_cluster, running_redis
from .support import Clock, Env, Stores, env_params, store_params


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="session")
def redis_cluster_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    with running_cluster(tmp_path_factory.mktemp("redis-cluster")) as ports:
        yield [f"redis://127.0.0.1:{port}" for port in ports]


@pytest.fixture
def clock() -> Clock:
    return Clock()


def open_stores(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> Stores:
    if kind == "cluster":
        return Stores(kind, tmp_path, *request.getfixturevalue("redis_cluster_urls"))
    if kind == "redis":
        return Stores(kind, tmp_path, request.getfixturevalue("redis_url"))
    return Stores(kind, tmp_path)


@pytest.fixture(params=env_params())
async def env(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock, anyio_backend: str
) -> AsyncIterator[Env]:
    """Every store with each verifier: for what the stores or the I/O could change."""
    kind, mode = request.param
    environment = Env(open_stores(request, kind, tmp_path), mode, clock)
    yield environment
    await environment.aclose()


@pytest.fixture
async def memory_env(tmp_path: Path, clock: Clock, anyio_backend: str) -> AsyncIterator[Env]:
    """A MemoryStore and a Verifier: for what the flows decide whatever the store."""
    environment = Env(Stores("memory", tmp_path), "sync", clock)
    yield environment
    await environment.aclose()


@pytest.fixture(params=store_params())
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """Sync handles onto one store of each kind (``SHARED_STORES``: those processes can open)."""
    handles = open_stores(request, request.param, tmp_path)
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
