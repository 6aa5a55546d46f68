"""The access key setting: its value object, its repr, its refusals (leaks: tests/security)."""

from __future__ import annotations

import copy

import pytest
from bird_flashcalls import AsyncFlashCalls, ConfigurationError, FlashCalls
from bird_flashcalls._secret import AccessKey

from .support import ACCESS_KEY, CHANNEL_ID, WORKSPACE_ID


@pytest.mark.parametrize("client_class", [FlashCalls, AsyncFlashCalls])
def test_the_reprs_of_the_clients_hide_the_key(client_class):
    client = client_class(ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID)
    derived = client.with_options(timeout=3.0, max_retries=0)

    assert repr(client) == (
        f"{client_class.__name__}(base_url='https://api.bird.com', workspace_id='{WORKSPACE_ID}', "
        f"channel_id='{CHANNEL_ID}', access_key='***', timeout=10.0, max_retries=2)"
    )
    assert str(derived) == repr(derived)
    assert repr(derived).endswith("access_key='***', timeout=3.0, max_retries=0)")


def test_an_access_key_equals_only_the_same_key():
    key = AccessKey(ACCESS_KEY)

    assert key == AccessKey(ACCESS_KEY) == copy.deepcopy(key)
    assert key != AccessKey(ACCESS_KEY + "x")
    assert key != ACCESS_KEY
    assert hash(key) == hash(AccessKey(ACCESS_KEY))
    assert ACCESS_KEY not in repr(key) + str(key)


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("", "access_key is empty: set BIRD_ACCESS_KEY or pass access_key="),
        ("   ", "access_key is empty: set BIRD_ACCESS_KEY or pass access_key="),
        (12345, "access_key must be a string, got int"),
        (b"bytes-key", "access_key must be a string, got bytes"),
        ("key with space", "contains spaces"),
        ("key\u00e9", "non-ASCII"),
        ("key\x00", "control"),
    ],
)
def test_a_key_that_cannot_be_one_is_refused_saying_why(key, shown):
    with pytest.raises(ConfigurationError) as caught:
        FlashCalls(key, WORKSPACE_ID, CHANNEL_ID)

    assert shown in str(caught.value)
