from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The redis-server the verification tests use: started and stopped by these tests too.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "verification"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))

import leaks
from redis_server import running_redis


def pytest_configure(config: pytest.Config) -> None:
    leaks.register(config)


@pytest.fixture(scope="session")
def signup_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_redis(tmp_path_factory.mktemp("signup-redis")) as url:
        yield url


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
