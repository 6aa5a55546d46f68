"""Settings: arguments, then the environment, then the defaults; refused before any request,
naming the setting and its variable, never echoing what could be a key; the key's value object."""

from __future__ import annotations

import copy
import re

import httpx
import pytest
from bird_flashcalls import AsyncFlashCalls, ConfigurationError, FlashCalls
from bird_flashcalls._config import resolve_settings
from bird_flashcalls._secret import AccessKey

from .support import (
    ACCESS_KEY,
    BASE_URL,
    CALLEE,
    CHANNEL_ID,
    EXAMPLE_UUID,
    FLASHCALLS_PATH,
    SETTINGS,
    WORKSPACE_ID,
)

pytestmark = pytest.mark.anyio

OTHER_WORKSPACE = "11111111-2222-4333-8444-555555555555"
OTHER_CHANNEL = "66666666-7777-4888-9999-aaaaaaaaaaaa"
OTHER_URL = "https://environment.bird.test"
ENVIRONMENT = {
    "BIRD_ACCESS_KEY": "environment-key",
    "BIRD_WORKSPACE_ID": OTHER_WORKSPACE,
    "BIRD_CHANNEL_ID": OTHER_CHANNEL,
    "BIRD_BASE_URL": OTHER_URL,
}
MISSING = {"access_key": None, "workspace_id": None, "channel_id": None, "base_url": None}


def refusal(**changed: object) -> ConfigurationError:
    """The ConfigurationError a FlashCalls with these settings raises."""
    with pytest.raises(ConfigurationError) as caught:
        FlashCalls(**{**SETTINGS, **changed})  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)
    return caught.value


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for variable, value in ENVIRONMENT.items():
        monkeypatch.setenv(variable, value)
    return monkeypatch


@pytest.mark.parametrize(
    ("given", "base_url", "workspace", "channel", "key"),
    [
        (MISSING, OTHER_URL, OTHER_WORKSPACE, OTHER_CHANNEL, "environment-key"),
        ({}, BASE_URL, WORKSPACE_ID, CHANNEL_ID, ACCESS_KEY),
        (
            {"workspace_id": None, "base_url": None},
            OTHER_URL,
            OTHER_WORKSPACE,
            CHANNEL_ID,
            ACCESS_KEY,
        ),
    ],
    ids=["environment-only", "arguments-win", "mixed-per-setting"],
)
async def test_arguments_then_the_environment_per_setting(
    flash, bird, environment, given, base_url, workspace, channel, key
):
    await flash(**given).create(CALLEE)

    [request] = bird.requests
    assert str(request.url) == f"{base_url}/workspaces/{workspace}/channels/{channel}/flashcalls"
    assert request.headers["Authorization"] == f"AccessKey {key}"


def test_settings_read_from_a_given_mapping_instead_of_the_environment(environment):
    given = {
        "BIRD_ACCESS_KEY": ACCESS_KEY,
        "BIRD_WORKSPACE_ID": WORKSPACE_ID,
        "BIRD_CHANNEL_ID": CHANNEL_ID,
        "BIRD_BASE_URL": "https://given.example.test",
    }

    resolved = resolve_settings(**MISSING, env=given)

    assert resolved.access_key.authorization() == f"AccessKey {ACCESS_KEY}"
    assert (str(resolved.workspace_id), str(resolved.channel_id)) == (WORKSPACE_ID, CHANNEL_ID)
    assert resolved.base_url == "https://given.example.test"
    with pytest.raises(ConfigurationError, match="missing workspace_id="):
        resolve_settings(
            **MISSING, env={"BIRD_ACCESS_KEY": ACCESS_KEY, "BIRD_CHANNEL_ID": CHANNEL_ID}
        )


NO_KEY = "missing access_key= (or the BIRD_ACCESS_KEY environment variable)"
FIND_THEM = (
    ": the access key comes from the Bird dashboard, the workspace and channel ids from the "
    "flash-call channel's settings"
)


@pytest.mark.parametrize(
    ("missing", "shown", "field"),
    [
        ({"access_key": None}, NO_KEY + FIND_THEM, "access_key"),
        (
            {"access_key": ""},
            "access_key is empty: set BIRD_ACCESS_KEY or pass access_key=",
            "access_key",
        ),
        ({"access_key": 12345}, "access_key must be a string, got int", "access_key"),
        ({"access_key": b"key-as-bytes"}, "access_key must be a string, got bytes", "access_key"),
        (
            {"access_key": None, "workspace_id": None, "channel_id": None},
            f"{NO_KEY}, workspace_id= (or the BIRD_WORKSPACE_ID environment variable), "
            f"channel_id= (or the BIRD_CHANNEL_ID environment variable){FIND_THEM}",
            None,  # about several settings
        ),
    ],
)
def test_every_missing_setting_is_named_at_once_in_order_and_a_key_not_a_string_by_its_type(
    missing, shown, field
):
    error = refusal(**missing)
    assert str(error) == shown
    assert error.field == field


def test_an_environment_variable_set_to_nothing_counts_as_missing(environment):
    environment.setenv("BIRD_ACCESS_KEY", "")

    assert str(refusal(access_key=None)).startswith("missing access_key= (or the BIRD_ACCESS_KEY")


# The access key: its value object, its repr, its refusals (where it goes: tests/security).


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
        # Empty, not a string: the missing-settings table above.
        ("   ", "access_key is empty: set BIRD_ACCESS_KEY or pass access_key="),
        ("key with space", "contains spaces"),
        ("key\u00e9", "non-ASCII"),
        ("key\x00", "control"),
    ],
)
def test_a_key_that_cannot_be_one_is_refused_saying_why(key, shown):
    assert shown in str(refusal(access_key=key))


# base_url.


@pytest.mark.parametrize(
    ("base_url", "kept"),
    [
        (None, "https://api.bird.com"),  # the default
        ("http://127.0.0.1:8080", None),  # plain http on loopback only
        ("http://127.8.9.10", None),
        ("http://[::1]:4010", None),
        ("http://localhost:4010", None),
        ("https://api.bird.test:8443", None),
        ("https://proxy.example.test/bird/", "https://proxy.example.test/bird"),
        ("https://proxy.example.test/API/", "https://proxy.example.test/API"),
        ("https://proxy.example.test/X//", "https://proxy.example.test/X"),
        ("https://proxy.example.test/bird.v2", None),
        ("https://" + "a" * 63 + ".com", None),  # the longest label
        ("https://bird_proxy.internal", None),
        ("https://api.bird.com.", None),
        ("https://xn--bcher-kva.example", None),
        ("https://10.1.2.3:8443", None),
    ],
)
async def test_a_base_url_by_the_rules_is_kept_with_its_path_and_only_end_slashes_dropped(
    flash, bird, base_url, kept
):
    fc = flash(base_url=base_url)
    await fc.create(CALLEE)

    assert fc.base_url == (kept or base_url)
    assert str(bird.requests[0].url) == (kept or base_url) + FLASHCALLS_PATH


@pytest.mark.parametrize(
    ("base_url", "shown"),
    [
        ("http://example.com", "https"),
        ("http://api.bird.com", "https"),
        ("http://localhost.example.com", "https"),
        ("http://127.0.0.1.nip.io", "https"),
        ("ftp://api.bird.com", "https"),
        ("api.bird.com", "https"),
        ("https://", "https"),
        ("https://api.bird.com/#top", "fragment"),
        ("http://example.com:8080/bird", "base_url http://example.com:8080 uses plain http"),
        ("https://user:pw@api.bird.com", "base_url for https://api.bird.com must not carry"),
        ("https://api.bird.com:8443/?x=1", "base_url for https://api.bird.com:8443 must not carry"),
        (12345, "base_url must be a string, got int"),
        (b"https://api.bird.com", "base_url must be a string, got bytes"),
        ("https://exa mple.com", "got a string of 20 characters that is not one"),
        ("https://xn--a.com", "got a string of 17 characters that is not one"),
        ("https://a..b.com", "got a string of 16 characters that is not one"),
        ("https://" + "a" * 64 + ".com", "that is not one"),
        ("https://-/", "that is not one"),
        ("https://[::1", "that is not one"),
    ],
)
def test_an_unsafe_or_unusable_base_url_is_refused(base_url, shown):
    error = refusal(base_url=base_url)
    message = str(error)

    assert error.field == "base_url"

    assert "base_url" in message
    assert shown in message
    assert "pw@" not in message


# Ids: the canonical UUID form only, named and described, never echoed.


@pytest.mark.parametrize("field", ["workspace_id", "channel_id"])
@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("../x", "got a 4-character string"),  # every form refused: tests/unit/test_numbers.py
        ("", "got a 0-character string"),
        (ACCESS_KEY, f"got a {len(ACCESS_KEY)}-character string"),
        (12345, "got int"),
    ],
)
def test_an_id_that_is_not_a_canonical_uuid_is_refused_described_not_repeated(field, value, shown):
    error = refusal(**{field: value})

    assert error.field == field
    assert str(error) == f"{field} must be a UUID such as {EXAMPLE_UUID}, {shown}"


async def test_upper_case_ids_are_sent_in_canonical_form(flash, bird):
    await flash(workspace_id=WORKSPACE_ID.upper(), channel_id=CHANNEL_ID.upper()).create(CALLEE)

    assert bird.requests[0].url.path == FLASHCALLS_PATH


@pytest.mark.parametrize(
    ("variable", "bad_value", "argument"),
    [
        ("BIRD_ACCESS_KEY", "two words", "access_key"),
        ("BIRD_WORKSPACE_ID", "../admin", "workspace_id"),
        ("BIRD_CHANNEL_ID", "not-a-uuid", "channel_id"),
        ("BIRD_BASE_URL", "ftp://bird.example", "base_url"),
    ],
)
def test_a_malformed_value_from_the_environment_names_its_variable(
    environment, variable, bad_value, argument
):
    environment.setenv(variable, bad_value)

    environment_error = refusal(**MISSING)
    argument_error = refusal(**{argument: bad_value})
    from_environment, from_argument = str(environment_error), str(argument_error)

    assert environment_error.field == argument_error.field == argument

    assert argument in from_environment
    assert from_environment.endswith(f"(read from the {variable} environment variable)")
    assert bad_value not in from_environment
    assert variable not in from_argument


# Limits.


@pytest.mark.parametrize(
    ("timeout", "shown"),
    [
        (0, "got 0"),
        (-1, "got -1"),
        (True, "timeout"),
        ("10", "timeout"),
        (None, "timeout"),
        (float("inf"), "timeout"),
        (float("nan"), "timeout"),
        (3600.001, "timeout"),
        (10**39, f"got {10**39}"),  # 40 characters: shown
        (10**40, "got a int of 41 digits"),
        (10**400, "timeout"),
    ],
    ids=lambda value: repr(value)[:20],
)
def test_timeout_must_be_a_positive_number_of_at_most_an_hour(timeout, shown):
    error = refusal(timeout=timeout)
    message = str(error)

    assert error.field == "timeout"

    assert "timeout" in message
    assert shown in message


@pytest.mark.parametrize("max_retries", [-1, True, 1.5, "2", None, 11, 1000])
def test_max_retries_must_be_a_whole_number_up_to_ten(max_retries):
    assert "max_retries must be a whole number from 0 to 10" in str(
        refusal(max_retries=max_retries)
    )


@pytest.mark.parametrize(("timeout", "max_retries"), [(0.001, 0), (3600, 10)])
def test_the_bounds_of_the_limits_are_accepted(timeout, max_retries):
    with FlashCalls(
        ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, timeout=timeout, max_retries=max_retries
    ) as fc:
        assert (fc.timeout, fc.max_retries) == (timeout, max_retries)


@pytest.mark.parametrize(
    ("timeout", "sent"),
    [
        (2.0, {"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 2.0}),
        (5.0, {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}),
        (30, {"connect": 5.0, "read": 30, "write": 30, "pool": 30}),
        (httpx.Timeout(1.0, connect=9.0), {"connect": 9.0, "read": 1.0, "write": 1.0, "pool": 1.0}),
    ],
)
async def test_connecting_is_bounded_by_the_timeout_and_five_seconds(flash, bird, timeout, sent):
    await flash(timeout=timeout).create(CALLEE)

    assert bird.requests[0].extensions["timeout"] == sent


async def test_an_http_client_of_the_other_kind_is_refused():
    async with httpx.AsyncClient() as async_http:
        with pytest.raises(ConfigurationError, match=re.escape("httpx.Client")):
            FlashCalls(ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, http_client=async_http)  # type: ignore[arg-type]
    with httpx.Client() as sync_http, pytest.raises(ConfigurationError, match="AsyncClient"):
        AsyncFlashCalls(ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, http_client=sync_http)  # type: ignore[arg-type]
