import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The spec tooling in openapi/ is a set of scripts, not a package; tests/shared.py is shared by all.
sys.path.insert(0, str(ROOT / "openapi"))
sys.path.insert(0, str(ROOT / "tests"))

import leaks  # noqa: E402


@pytest.fixture
def anyio_backend() -> str:
    # AsyncFlashCalls is built on asyncio.
    return "asyncio"


def pytest_configure(config: pytest.Config) -> None:
    # Every test fails if it leaves a thread, a child process or a listening socket behind.
    leaks.register(config)
