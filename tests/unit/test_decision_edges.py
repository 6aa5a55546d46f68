"""Edges of the client's decisions that a user relies on: the exact bounds of what is accepted,
which field an error names, what a repr and a log line show, what a derived client keeps."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator

import httpx
import pytest
from bird_flashcalls import (
    AsyncFlashCalls,
    Backoff,
    ConfigurationError,
    FlashCalls,
    InvalidRequestError,
    _client,
)
from bird_flashcalls._secret import AccessKey

from .support import (
    ACCESS_KEY,
    BASE_URL,
    CALL_ID,
    CALLEE,
    CALLER,
    CHANNEL_ID,
    WORKSPACE_ID,
    ModuleView,
    ScriptedBird,
    a_flash_call,
    reply,
)


@pytest.fixture
def client(bird: ScriptedBird) -> Iterator[Callable[..., FlashCalls]]:
    opened: list[httpx.Client] = []

    def make(**options: object) -> FlashCalls:
        http = httpx.Client(transport=httpx.MockTransport(bird))
        opened.append(http)
        return FlashCalls(
            ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, BASE_URL, http_client=http, **options
        )  # type: ignore[arg-type]

    yield make
    for http in opened:
        http.close()


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    delays: list[float] = []
    monkeypatch.setattr(_client, "time", ModuleView(_client.time, sleep=delays.append))
    return delays


# Settings.


def settings(**changed: object) -> dict[str, object]:
    return {
        "access_key": ACCESS_KEY,
        "workspace_id": WORKSPACE_ID,
        "channel_id": CHANNEL_ID,
        "base_url": BASE_URL,
        **changed,
    }


@pytest.mark.parametrize(
    ("base_url", "shown"),
    [
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
def test_a_base_url_that_is_not_an_https_url_is_refused_before_any_request(base_url, shown):
    with pytest.raises(ConfigurationError) as caught:
        FlashCalls(**settings(base_url=base_url))  # type: ignore[arg-type]

    assert shown in str(caught.value)


@pytest.mark.parametrize(
    "base_url",
    [
        "https://" + "a" * 63 + ".com",
        "https://bird_proxy.internal",
        "https://api.bird.com.",
        "https://xn--bcher-kva.example",
        "http://[::1]:4010",
        "https://10.1.2.3:8443",
    ],
)
def test_host_names_by_the_rules_and_ip_addresses_are_accepted(base_url):
    with FlashCalls(**settings(base_url=base_url)) as fc:  # type: ignore[arg-type]
        assert fc.base_url == base_url.rstrip("/")


def test_a_refused_base_url_names_its_origin_with_the_port():
    with pytest.raises(ConfigurationError) as caught:
        FlashCalls(**settings(base_url="http://example.com:8080/bird"))  # type: ignore[arg-type]

    assert "base_url http://example.com:8080 uses plain http" in str(caught.value)


@pytest.mark.parametrize(
    ("base_url", "origin"),
    [
        ("https://user:pw@api.bird.com", "https://api.bird.com"),
        ("https://api.bird.com:8443/?x=1", "https://api.bird.com:8443"),
    ],
)
def test_a_base_url_with_credentials_or_a_query_names_only_its_origin(base_url, origin):
    with pytest.raises(ConfigurationError) as caught:
        FlashCalls(**settings(base_url=base_url))  # type: ignore[arg-type]

    assert str(caught.value).startswith(f"base_url for {origin} must not carry")
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        (12345, "access_key must be a string, got int"),
        ("   ", "access_key is empty: set BIRD_ACCESS_KEY or pass access_key="),
        ("key with space", "contains spaces"),
        ("key\u00e9", "non-ASCII"),
        ("key\x00", "control"),
    ],
)
def test_a_key_that_cannot_be_one_is_refused(key, shown):
    with pytest.raises(ConfigurationError) as caught:
        FlashCalls(**settings(access_key=key))  # type: ignore[arg-type]

    assert shown in str(caught.value)


def test_an_environment_variable_set_to_nothing_counts_as_missing(monkeypatch):
    monkeypatch.setenv("BIRD_ACCESS_KEY", "")
    monkeypatch.setenv("BIRD_WORKSPACE_ID", WORKSPACE_ID)
    monkeypatch.setenv("BIRD_CHANNEL_ID", CHANNEL_ID)

    with pytest.raises(ConfigurationError) as caught:
        FlashCalls()

    assert str(caught.value).startswith(
        "missing access_key= (or the BIRD_ACCESS_KEY environment variable): "
    )


def test_an_id_in_the_settings_is_described_not_repeated():
    with pytest.raises(ConfigurationError) as caught:
        FlashCalls(**settings(workspace_id=ACCESS_KEY))  # type: ignore[arg-type]

    assert f"got a {len(ACCESS_KEY)}-character string" in str(caught.value)
    with pytest.raises(ConfigurationError, match="got int"):
        FlashCalls(**settings(channel_id=7))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "shown"),
    [("not-a-call", "got 'not-a-call'"), ("x" * 61, "got str"), (7, "got int")],
)
def test_a_call_id_in_a_method_is_shown_when_short(client, call, shown):
    with pytest.raises(InvalidRequestError) as caught:
        client().end(call, result="verified")

    assert caught.value.field == "call"
    assert str(caught.value).endswith(shown)


@pytest.mark.parametrize(
    ("timeout", "shown"),
    [
        (-1, "got -1"),
        (10**39, f"got {10**39}"),  # 40 characters: shown
        (10**40, "got a int of 41 digits"),
        (0, "got 0"),
    ],
)
def test_a_refused_timeout_is_shown_unless_it_is_huge(timeout, shown):
    with pytest.raises(ConfigurationError) as caught:
        FlashCalls(**settings(timeout=timeout))  # type: ignore[arg-type]

    assert str(caught.value).endswith(shown)


@pytest.mark.parametrize(("timeout", "connect"), [(2.0, 2.0), (5.0, 5.0), (30, 5.0)])
def test_connecting_is_bounded_by_the_timeout_and_five_seconds(client, bird, timeout, connect):
    client(timeout=timeout).create(CALLEE)

    [request] = bird.requests
    assert request.extensions["timeout"] == {
        "connect": connect,
        "read": timeout,
        "write": timeout,
        "pool": timeout,
    }


def test_an_httpx_timeout_is_used_as_it_is(client, bird):
    client(timeout=httpx.Timeout(1.0, connect=9.0)).create(CALLEE)

    assert bird.requests[0].extensions["timeout"]["connect"] == 9.0


# The clients themselves.


@pytest.mark.anyio
async def test_reprs_name_the_class_and_hide_the_key():
    with FlashCalls(**settings()) as sync:  # type: ignore[arg-type]
        async with AsyncFlashCalls(**settings()) as asynchronous:  # type: ignore[arg-type]
            assert repr(sync).startswith(f"FlashCalls(base_url='{BASE_URL}', workspace_id=")
            assert repr(asynchronous).startswith("AsyncFlashCalls(base_url=")
            assert "access_key='***'" in repr(sync)
            assert ACCESS_KEY not in repr(sync) + repr(asynchronous)


def test_a_derived_client_keeps_the_backoff(client, bird, waits):
    bird.then(reply(503))
    fc = client(backoff=Backoff(initial_delay=3.0, max_delay=3.0), max_retries=0)

    fc.with_options(max_retries=1).create(CALLEE)

    [delay] = waits
    assert 2.25 <= delay <= 3.0


def test_the_retry_log_line_names_birds_request_id(client, bird, waits, caplog):
    bird.then(reply(503, headers={"X-Request-Id": "req-503"}))

    with caplog.at_level(logging.DEBUG, logger="bird_flashcalls"):
        client(backoff=Backoff(initial_delay=0, max_delay=0)).create(CALLEE)

    [retrying] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert retrying.endswith("after status 503 [request id req-503]")


# Numbers and codes.


def test_a_one_digit_code_can_be_asked_for(client):
    fc = client()

    assert fc.verify_code(a_flash_call(), CALLER[-1], digits=1).verified
    wrong = str((int(CALLER[-1]) + 1) % 10)
    assert not fc.verify_code(a_flash_call(), wrong, digits=1).verified


@pytest.mark.parametrize("digits", [0, -1])
def test_digits_below_one_are_refused_and_named(client, digits):
    with pytest.raises(InvalidRequestError) as caught:
        client().verify_code(a_flash_call(), "4567", digits=digits)

    assert caught.value.field == "digits"
    assert str(caught.value) == f"digits must be a positive integer, got {digits}"


def test_too_few_digits_ask_for_at_least_four(client):
    with pytest.raises(InvalidRequestError) as caught:
        client().verify_code(a_flash_call(), "567")

    assert caught.value.field == "code"
    assert "at least 4" in str(caught.value)
    assert "digits=" in str(caught.value)


def test_more_digits_than_the_number_has_are_refused(client):
    with pytest.raises(InvalidRequestError) as caught:
        client().verify_code(a_flash_call(), "4567", digits=12)

    assert caught.value.field == "digits"
    assert "cannot compare 12 digits: the caller number has 11" in str(caught.value)


@pytest.mark.parametrize("method", ["verify", "verify_code"])
def test_a_bad_expected_cli_is_named(client, method):
    with pytest.raises(InvalidRequestError) as caught:
        getattr(client(), method)(CALL_ID, "4567", expected_cli="12345")

    assert caught.value.field == "expected_cli"


def test_a_typed_code_is_kept_as_typed_without_separators(client):
    outcome = client().verify_code(a_flash_call(), f"{CALLER[-4:-2]} {CALLER[-2:]}")

    assert (outcome.received_cli, outcome.interpreted_as) == (CALLER[-4:], "last_digits")


def test_a_call_from_bird_without_a_caller_number_cannot_be_verified(client):
    from bird_flashcalls import APIResponseValidationError

    with pytest.raises(APIResponseValidationError) as caught:
        client().verify(a_flash_call(**{"from": "anonymous"}), CALLER)

    assert caught.value.body == b""
    assert "expected_cli=" in str(caught.value)


# The key itself.


def test_an_access_key_equals_only_the_same_key():
    key = AccessKey(ACCESS_KEY)

    assert key == AccessKey(ACCESS_KEY)
    assert key == copy.deepcopy(key)
    assert key != AccessKey(ACCESS_KEY + "x")
    assert key != ACCESS_KEY
    assert hash(key) == hash(AccessKey(ACCESS_KEY))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("[::1]", True),
        ("::1", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("LocalHost", True),
        ("localhost.localdomain", True),
        ("[::2]", False),
        ("128.0.0.1", False),
        ("localhost.example.com", False),
        (" 127.0.0.1", False),
    ],
)
def test_loopback_hosts_with_or_without_brackets(host, loopback):
    from bird_flashcalls._rules import is_loopback_host

    assert is_loopback_host(host) is loopback


def test_each_operation_goes_to_its_own_address_on_one_client(client, bird):
    fc = client()

    fc.create(CALLEE)
    fc.hangup(from_=CALLER, to=CALLEE, result="canceled")
    fc.create(CALLEE)

    paths = [request.url.path for request in bird.requests]
    assert paths[0] == paths[2]
    assert paths[1] == paths[0] + "/hangup"


def test_a_users_http_client_closed_by_the_user_is_refused_clearly(bird):
    from bird_flashcalls import ClientClosedError

    http = httpx.Client(transport=httpx.MockTransport(bird))
    fc = FlashCalls(ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, BASE_URL, http_client=http)
    http.close()

    with pytest.raises(ClientClosedError, match="is closed"):
        fc.create(CALLEE)
    assert bird.requests == []


def test_the_attempt_log_line_gives_its_duration_in_milliseconds(client, monkeypatch, caplog):
    started = _client.time.monotonic()
    ticks = iter([started] + [started + 0.25] * 10)
    monkeypatch.setattr(_client, "time", ModuleView(_client.time, monotonic=lambda: next(ticks)))

    with caplog.at_level(logging.DEBUG, logger="bird_flashcalls"):
        client().create(CALLEE)

    [line] = [r.getMessage() for r in caplog.records if "-> 202" in r.getMessage()]
    assert line.endswith("-> 202 (attempt 1, 250.0 ms)")


def test_one_client_serves_one_event_loop_after_another(fake_bird):
    import asyncio

    async def create(fc: AsyncFlashCalls) -> str:
        return (await fc.create(CALLEE)).to

    with fake_bird.serve() as base_url:
        fc = AsyncFlashCalls(
            fake_bird.access_key, fake_bird.workspace_id, fake_bird.channel_id, base_url
        )
        # Each asyncio.run is a new event loop: the client's own connections follow it.
        assert asyncio.run(create(fc)) == CALLEE
        assert asyncio.run(create(fc)) == CALLEE
        asyncio.run(fc.aclose())

    assert len(fake_bird.calls) == 2


@pytest.mark.parametrize("field", ["workspace_id", "channel_id"])
def test_a_refused_id_names_its_setting_and_a_usable_example(field):
    from bird_flashcalls._rules import canonical_uuid

    with pytest.raises(ConfigurationError) as caught:
        FlashCalls(**settings(**{field: "nope"}))  # type: ignore[arg-type]

    message = str(caught.value)
    assert message.startswith(f"{field} must be a UUID such as ")
    assert canonical_uuid(message.split("such as ")[1][:36]) is not None


def test_a_call_id_of_sixty_characters_is_still_shown(client):
    with pytest.raises(InvalidRequestError) as caught:
        client().end("y" * 60, result="verified")

    assert str(caught.value).endswith("got '" + "y" * 60 + "'")


@pytest.mark.parametrize(
    ("base_url", "kept"),
    [
        ("https://proxy.example.test/API/", "https://proxy.example.test/API"),
        ("https://proxy.example.test/X//", "https://proxy.example.test/X"),
        ("https://proxy.example.test/bird.v2", "https://proxy.example.test/bird.v2"),
    ],
)
def test_only_trailing_slashes_are_dropped_from_base_url(base_url, kept):
    with FlashCalls(**settings(base_url=base_url)) as fc:  # type: ignore[arg-type]
        assert fc.base_url == kept


def test_settings_read_from_a_given_mapping_instead_of_the_environment(monkeypatch):
    from bird_flashcalls._config import resolve_settings

    monkeypatch.setenv("BIRD_ACCESS_KEY", "from-the-process")
    given = {
        "BIRD_ACCESS_KEY": ACCESS_KEY,
        "BIRD_WORKSPACE_ID": WORKSPACE_ID,
        "BIRD_CHANNEL_ID": CHANNEL_ID,
        "BIRD_BASE_URL": "https://given.example.test",
    }

    resolved = resolve_settings(
        access_key=None, workspace_id=None, channel_id=None, base_url=None, env=given
    )

    assert resolved.access_key.authorization() == f"AccessKey {ACCESS_KEY}"
    assert (str(resolved.workspace_id), str(resolved.channel_id)) == (WORKSPACE_ID, CHANNEL_ID)
    assert resolved.base_url == "https://given.example.test"
    with pytest.raises(ConfigurationError, match="missing workspace_id="):
        resolve_settings(
            access_key=None,
            workspace_id=None,
            channel_id=None,
            base_url=None,
            env={"BIRD_ACCESS_KEY": ACCESS_KEY, "BIRD_CHANNEL_ID": CHANNEL_ID},
        )


def test_every_missing_setting_is_listed_in_order():
    with pytest.raises(ConfigurationError) as caught:
        FlashCalls()

    assert str(caught.value).startswith(
        "missing access_key= (or the BIRD_ACCESS_KEY environment variable), "
        "workspace_id= (or the BIRD_WORKSPACE_ID environment variable), "
        "channel_id= (or the BIRD_CHANNEL_ID environment variable): "
    )


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("  +31 (0)6 1234 5678", "+31612345678"),
        ("0031 (0)6 1234 5678", "+31612345678"),
        ("+31 (0)6 1234 (0)678", "+31612340678"),  # only the trunk zero is dropped
    ],
)
def test_a_trunk_zero_in_parentheses_after_the_country_code_is_dropped(written, e164):
    from bird_flashcalls._numbers import normalise_number

    assert normalise_number(written, field="to") == e164


def test_a_request_carries_only_the_headers_bird_documents(client, bird):
    client().create(CALLEE)

    [request] = bird.requests
    assert set(request.headers.keys()) == {
        "host",
        "accept",
        "accept-encoding",
        "connection",
        "user-agent",
        "authorization",
        "content-type",
        "content-length",
    }
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
