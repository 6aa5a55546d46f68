from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from bird_flashcalls.testing import FakeBird


@pytest.fixture
def fake() -> FakeBird:
    return FakeBird()


@pytest.fixture
def served(fake: FakeBird) -> Iterator[str]:
    with fake.serve() as base_url:
        yield base_url


@pytest.fixture
def http(served: str) -> Iterator[httpx.Client]:
    """A raw HTTP client to the served fake, for requests the wrapper would refuse to send."""
    with httpx.Client(base_url=served, timeout=5.0) as client:
        yield client
