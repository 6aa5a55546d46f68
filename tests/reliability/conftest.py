from __future__ import annotations

from collections.abc import Iterator

import pytest
from bird_flashcalls.testing import FakeBird

from .support import FaultServer, open_socket_count


@pytest.fixture
def no_leaks() -> Iterator[None]:
    """Fails the test if it leaves a socket open, a connection included (threads: tests/leaks)."""
    sockets_before = open_socket_count()
    yield
    if sockets_before is not None:
        assert open_socket_count() == sockets_before


@pytest.fixture
def fault_server(no_leaks: None) -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server
    assert server.handler_errors == []


@pytest.fixture
def fake_url(fake_bird: FakeBird) -> Iterator[str]:
    """The test's FakeBird served over HTTP on 127.0.0.1."""
    with fake_bird.serve() as base_url:
        yield base_url
