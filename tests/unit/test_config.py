"""Settings: arguments, then the environment, then the defaults; refused before any request."""

from __future__ import annotations

import re

import httpx
import pytest
from bird_flashcalls import AsyncFlashCalls, ConfigurationError, FlashCalls

from .support import (
    ACCESS_KEY,
    BASE_URL,
    CALLEE,
    CHANNEL_ID,
    FLASHCALLS_PATH,
    WORKSPACE_ID,
    ScriptedBird,
)

pytestmark = pytest.mark.anyio

OTHER_WORKSPACE = "11111111-2222-4333-8444-555555555555"
OTHER_CHANNEL = "66666666-7777-4888-9999-aaaaaaaaaaaa"


def set_bird_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIRD_ACCESS_KEY", "environment-key")
    monkeypatch.setenv("BIRD_WORKSPACE_ID", OTHER_WORKSPACE)
    monkeypatch.setenv("BIRD_CHANNEL_ID", OTHER_CHANNEL)
    monkeypatch.setenv("BIRD_BASE_URL", "https://environment.bird.test")


async def test_the_environment_fills_in_every_setting(flash, bird: ScriptedBird, monkeypatch):
    set_bird_environment(monkeypatch)
    fc = flash(access_key=None, workspace_id=None, channel_id=None, base_url=None)

    await fc.create(CALLEE)

    [request] = bird.requests
    assert str(request.url) == (
        f"https://environment.bird.test/workspaces/{OTHER_WORKSPACE}/channels/{OTHER_CHANNEL}"
        "/flashcalls"
    )
    assert request.headers["Authorization"] == "AccessKey environment-key"


async def test_arguments_win_over_the_environment(flash, bird: ScriptedBird, monkeypatch):
    set_bird_environment(monkeypatch)
    fc = flash()

    await fc.create(CALLEE)

    [request] = bird.requests
    assert str(request.url) == BASE_URL + FLASHCALLS_PATH
    assert request.headers["Authorization"] == f"AccessKey {ACCESS_KEY}"


async def test_arguments_and_environment_mix_per_setting(flash, bird: ScriptedBird, monkeypatch):
    set_bird_environment(monkeypatch)
    fc = flash(workspace_id=None, base_url=None)

    await fc.create(CALLEE)

    [request] = bird.requests
    assert str(request.url) == (
        f"https://environment.bird.test/workspaces/{OTHER_WORKSPACE}/channels/{CHANNEL_ID}"
        "/flashcalls"
    )
    assert request.headers["Authorization"] == f"AccessKey {ACCESS_KEY}"


async def test_the_default_base_url_is_birds(flash):
    assert flash(base_url=None).base_url == "https://api.bird.com"


@pytest.mark.parametrize(
    ("missing", "variable"),
    [
        ("access_key", "BIRD_ACCESS_KEY"),
        ("workspace_id", "BIRD_WORKSPACE_ID"),
        ("channel_id", "BIRD_CHANNEL_ID"),
    ],
)
async def test_a_missing_setting_names_the_argument_and_the_variable(
    flash, bird: ScriptedBird, missing, variable
):
    with pytest.raises(ConfigurationError) as caught:
        flash(**{missing: None})

    assert f"{missing}=" in str(caught.value)
    assert variable in str(caught.value)
    assert caught.value.field == missing
    assert isinstance(caught.value, ValueError)
    assert bird.requests == []


async def test_every_missing_setting_is_named_at_once(flash, bird: ScriptedBird, monkeypatch):
    monkeypatch.setenv("BIRD_ACCESS_KEY", "")  # set but empty counts as missing
    with pytest.raises(ConfigurationError) as caught:
        flash(access_key=None, workspace_id=None, channel_id=None)

    for name in ("access_key=", "BIRD_ACCESS_KEY", "workspace_id=", "BIRD_WORKSPACE_ID"):
        assert name in str(caught.value)
    assert "channel_id=" in str(caught.value)
    assert "BIRD_CHANNEL_ID" in str(caught.value)
    assert caught.value.field is None  # about several settings
    assert bird.requests == []


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8080",
        "http://127.8.9.10",
        "http://[::1]:4010",
        "http://localhost:4010",
        "https://api.bird.test:8443",
    ],
)
async def test_plain_http_is_allowed_on_loopback_only(flash, bird: ScriptedBird, base_url):
    await flash(base_url=base_url).create(CALLEE)

    [request] = bird.requests
    assert str(request.url) == base_url + FLASHCALLS_PATH


async def test_a_base_url_path_prefix_is_kept_and_its_slash_dropped(flash, bird: ScriptedBird):
    await flash(base_url="https://proxy.example.test/bird/").create(CALLEE)

    [request] = bird.requests
    assert str(request.url) == "https://proxy.example.test/bird" + FLASHCALLS_PATH


@pytest.mark.parametrize(
    ("base_url", "explains"),
    [
        ("http://example.com", "https"),
        ("http://api.bird.com", "https"),
        ("http://localhost.example.com", "https"),
        ("http://127.0.0.1.nip.io", "https"),
        ("ftp://api.bird.com", "https"),
        ("api.bird.com", "https"),
        ("https://", "https"),
        ("https://user:secret@api.bird.com", "credentials"),
        ("https://api.bird.com/?debug=1", "query"),
        ("https://api.bird.com/#top", "fragment"),
    ],
)
async def test_an_unsafe_or_unusable_base_url_is_refused(
    flash, bird: ScriptedBird, base_url, explains
):
    with pytest.raises(ConfigurationError, match="base_url") as caught:
        flash(base_url=base_url)

    assert explains in str(caught.value)
    assert caught.value.field == "base_url"
    assert bird.requests == []


async def test_an_unsafe_base_url_from_the_environment_is_refused(flash, monkeypatch):
    monkeypatch.setenv("BIRD_BASE_URL", "http://example.com")

    with pytest.raises(ConfigurationError, match=re.escape("http://example.com")):
        flash(base_url=None)


@pytest.mark.parametrize("field", ["workspace_id", "channel_id"])
@pytest.mark.parametrize(
    "value",
    [
        "not-a-uuid",
        "../x",
        "a?b",
        "a#b",
        "a%2Fb",
        "",
        "{" + WORKSPACE_ID + "}",
        WORKSPACE_ID.replace("-", ""),
        f"urn:uuid:{WORKSPACE_ID}",
        "../../../../../../../../../../../../",  # 36 characters
        12345,
    ],
)
async def test_ids_must_be_uuids(flash, bird: ScriptedBird, field, value):
    with pytest.raises(ConfigurationError, match=field) as caught:
        flash(**{field: value})

    assert "UUID" in str(caught.value)
    assert caught.value.field == field
    assert bird.requests == []


@pytest.mark.parametrize("variable", ["BIRD_WORKSPACE_ID", "BIRD_CHANNEL_ID"])
async def test_ids_from_the_environment_must_be_uuids(flash, monkeypatch, variable):
    monkeypatch.setenv("BIRD_WORKSPACE_ID", WORKSPACE_ID)
    monkeypatch.setenv("BIRD_CHANNEL_ID", CHANNEL_ID)
    monkeypatch.setenv(variable, "../admin")

    with pytest.raises(ConfigurationError, match="UUID") as caught:
        flash(workspace_id=None, channel_id=None)

    # Named, not echoed: a swapped argument could put the access key here.
    assert variable.removeprefix("BIRD_").lower() in str(caught.value)
    assert "../admin" not in str(caught.value)


async def test_upper_case_ids_are_sent_in_canonical_form(flash, bird: ScriptedBird):
    fc = flash(workspace_id=WORKSPACE_ID.upper(), channel_id=CHANNEL_ID.upper())

    await fc.create(CALLEE)

    assert bird.requests[0].url.path == FLASHCALLS_PATH


@pytest.mark.parametrize(
    "value",
    [
        "{5a3e1f5b3c5b4b59-9a3e-1c2d3e4f5a6b}",  # braces, 36 characters
        "urn:5a3e1f5b3c5b4b599a3e1c2d3e4f5a6b",  # urn: prefix, 36 characters
        "5a3e1f5b3c5b-4b59-9a3e-1c2d3e4f5a6b-",  # dashes moved, 36 characters
    ],
)
async def test_only_the_canonical_uuid_form_is_accepted(flash, value):
    # _config.parse_uuid says so: "Only the canonical 36-character form".
    with pytest.raises(ConfigurationError, match="UUID"):
        flash(workspace_id=value)


@pytest.mark.parametrize(
    "timeout",
    [0, -1, True, "10", None, float("inf"), float("nan"), 3600.001, 10**400],
    ids=lambda value: repr(value)[:20],
)
async def test_timeout_must_be_a_positive_number(flash, timeout):
    with pytest.raises(ConfigurationError, match="timeout") as caught:
        flash(timeout=timeout)
    assert caught.value.field == "timeout"


@pytest.mark.parametrize("max_retries", [-1, True, 1.5, "2", None, 11, 1000])
async def test_max_retries_must_be_a_whole_number(flash, max_retries):
    with pytest.raises(ConfigurationError, match="max_retries"):
        flash(max_retries=max_retries)


@pytest.mark.parametrize("timeout", [0.001, 3600])
async def test_timeout_bounds_are_accepted(flash, timeout):
    assert flash(timeout=timeout).timeout == timeout


@pytest.mark.parametrize("max_retries", [0, 10])
async def test_max_retries_bounds_are_accepted(flash, max_retries):
    assert flash(max_retries=max_retries).max_retries == max_retries


async def test_an_http_client_of_the_other_kind_is_refused():
    async with httpx.AsyncClient() as async_http:
        with pytest.raises(ConfigurationError, match=re.escape("httpx.Client")):
            FlashCalls(ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, http_client=async_http)  # type: ignore[arg-type]
    with httpx.Client() as sync_http, pytest.raises(ConfigurationError, match="AsyncClient"):
        AsyncFlashCalls(ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, http_client=sync_http)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("variable", "bad_value", "argument"),
    [
        ("BIRD_ACCESS_KEY", "two words", "access_key"),
        ("BIRD_WORKSPACE_ID", "../admin", "workspace_id"),
        ("BIRD_CHANNEL_ID", "not-a-uuid", "channel_id"),
        ("BIRD_BASE_URL", "ftp://bird.example", "base_url"),
    ],
)
async def test_a_malformed_value_from_the_environment_names_its_variable(
    flash, monkeypatch, variable, bad_value, argument
):
    set_bird_environment(monkeypatch)
    monkeypatch.setenv(variable, bad_value)

    with pytest.raises(ConfigurationError) as from_environment:
        flash(access_key=None, workspace_id=None, channel_id=None, base_url=None)
    with pytest.raises(ConfigurationError) as from_argument:
        flash(**{argument: bad_value})

    assert argument in str(from_environment.value)
    assert str(from_environment.value).endswith(f"(read from the {variable} environment variable)")
    assert bad_value not in str(from_environment.value)
    assert variable not in str(from_argument.value)
    assert from_environment.value.field == from_argument.value.field == argument
