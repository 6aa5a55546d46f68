"""pytest plugin, registered by the package: the ``fake_bird`` fixture, a fresh FakeBird per test.

A test asks for it by name, ``def test_signup(fake_bird): flash_calls = fake_bird.client()``;
``pytest -p no:bird_flashcalls`` turns the plugin off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from bird_flashcalls.testing import FakeBird


@pytest.fixture
def fake_bird() -> FakeBird:
    """A fresh FakeBird for each test (random workspace, channel and access key)."""
    # Imported here, so that merely having the package installed costs pytest nothing.
    from bird_flashcalls.testing import FakeBird

    return FakeBird()
