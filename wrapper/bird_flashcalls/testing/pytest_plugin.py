"""pytest plugin, registered by the package: the ``fake_bird`` and ``verifier`` fixtures.

A test asks for them by name, ``def test_signup(fake_bird): flash_calls = fake_bird.client()``
or ``def test_signup(verifier, fake_bird): challenge = verifier.start(...)``;
``pytest -p no:bird_flashcalls`` turns the plugin off.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..verification import Verifier
    from . import FakeBird


@pytest.fixture
def fake_bird() -> FakeBird:
    """A fresh FakeBird for each test (random workspace, channel and access key)."""
    # Imported here, so that merely having the package installed costs pytest nothing.
    from . import FakeBird

    return FakeBird()


@pytest.fixture
def verifier(fake_bird: FakeBird) -> Iterator[Verifier]:
    """A Verifier wired to this test's ``fake_bird``, with a fresh MemoryStore and the default
    settings (limits on). ``fake_bird.handset_cli(challenge.call_id)`` is what the phone saw;
    ``fake_bird.calls[challenge.call_id]["result"]`` what Bird was told."""
    from ..verification import MemoryStore, Verifier

    flash_calls = fake_bird.client()
    try:
        yield Verifier(flash_calls, MemoryStore())
    finally:
        flash_calls.close()
