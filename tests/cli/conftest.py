from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from bird_flashcalls.testing import FakeBird

from .support import Cli


@pytest.fixture
def fake() -> FakeBird:
    # A key easy to spot if it ever leaks into output.
    return FakeBird(access_key="cli-test-key-" + secrets.token_hex(8))


@pytest.fixture
def served(fake: FakeBird) -> Iterator[str]:
    with fake.serve() as base_url:
        yield base_url


@pytest.fixture
def cli(
    fake: FakeBird,
    served: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    return Cli(fake, served, capsys, monkeypatch)
