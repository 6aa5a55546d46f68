"""The access key goes into the Authorization header and nowhere else."""

from __future__ import annotations

import copy
import traceback

import httpx
import pytest
from bird_flashcalls import (
    AsyncFlashCalls,
    BirdError,
    ConfigurationError,
    FlashCalls,
)
from bird_flashcalls._secret import AccessKey

from .support import (
    ACCESS_KEY,
    BOTH_CLIENTS,
    CALL_ID,
    CALLEE,
    CALLER,
    CHANNEL_ID,
    WORKSPACE_ID,
    ScriptedBird,
    a_flash_call,
    raises,
    reply,
)

pytestmark = pytest.mark.anyio


def shown(error: BaseException) -> str:
    return str(error) + repr(error) + "".join(traceback.format_exception(error))


async def run_every_kind_of_outcome(fc, bird: ScriptedBird) -> list[BaseException]:
    """Success, a retry, each error family, some echoing the key; the raised errors returned."""
    echo = f"AccessKey {ACCESS_KEY} is not valid"
    scenarios = [
        ([], lambda: fc.create(CALLEE, from_=CALLER, ring_timeout=30)),
        ([reply(503)], lambda: fc.end(CALL_ID, result="verified")),
        ([], lambda: fc.hangup(from_=CALLER, to=CALLEE, result="canceled")),
        ([], lambda: fc.verify(a_flash_call(), CALLER)),
        ([reply(202, content=b"")], lambda: fc.create(CALLEE)),
        ([reply(202, {"id": "x"})], lambda: fc.create(CALLEE)),
        ([reply(401, {"code": "Unauthorized", "message": echo})], lambda: fc.create(CALLEE)),
        (
            [reply(422, {"code": "InvalidPayload", "message": "bad", "details": {"to": [echo]}})],
            lambda: fc.create(CALLEE),
        ),
        ([reply(400, content=echo.encode())], lambda: fc.verify_code(a_flash_call(), "4567")),
        ([raises(httpx.ConnectError, echo)] * 3, lambda: fc.create(CALLEE)),
        ([raises(httpx.ReadTimeout, echo)], lambda: fc.create(CALLEE)),
        (
            [reply(302, headers={"Location": f"https://elsewhere.test/?key={ACCESS_KEY}"})],
            lambda: fc.create(CALLEE),
        ),
        ([], lambda: fc.create("not a number")),
        ([], lambda: fc.end("../x", result="verified")),
        ([], lambda: fc.end(CALL_ID, result="verifed")),
    ]
    raised: list[BaseException] = []
    for steps, attempt in scenarios:
        bird.then(*steps)
        try:
            await attempt()
        except BirdError as error:
            raised.append(error)
    return raised


@BOTH_CLIENTS
async def test_no_exception_and_no_log_record_at_debug_shows_the_key(
    flash, bird: ScriptedBird, debug_logs
):
    raised = await run_every_kind_of_outcome(flash(max_retries=2), bird)

    assert sorted(type(error).__name__ for error in raised) == [
        "APIConnectionError",
        "APIResponseValidationError",
        "APIResponseValidationError",
        "APIStatusError",
        "APITimeoutError",
        "AuthenticationError",
        "BadRequestError",
        "InvalidRequestError",
        "InvalidRequestError",
        "InvalidRequestError",
        "UnprocessableEntityError",
    ]
    for error in raised:
        assert ACCESS_KEY not in shown(error), type(error).__name__
    assert debug_logs.records  # the client and httpx did log
    for record in debug_logs.records:
        assert ACCESS_KEY not in record.getMessage(), record.name
        assert ACCESS_KEY not in str(record.args)
        assert ACCESS_KEY not in (record.exc_text or "")
    assert ACCESS_KEY not in debug_logs.text


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
    "key",
    [
        f"AccessKey {ACCESS_KEY}",
        f"{ACCESS_KEY}\n",
        f" {ACCESS_KEY}",
        f"{ACCESS_KEY}\x00",
        f"{ACCESS_KEY}é",
        f"{ACCESS_KEY}\u200b",
    ],
    ids=["with-prefix", "newline", "leading-space", "nul", "non-ascii", "zero-width-space"],
)
def test_a_malformed_key_is_refused_without_showing_it(key, monkeypatch):
    with pytest.raises(ConfigurationError) as caught:
        FlashCalls(key, WORKSPACE_ID, CHANNEL_ID)
    assert ACCESS_KEY not in shown(caught.value)
    assert "access_key" in str(caught.value)

    if "\x00" in key:
        return  # an environment variable cannot hold a NUL byte
    monkeypatch.setenv("BIRD_ACCESS_KEY", key)
    with pytest.raises(ConfigurationError) as caught:
        FlashCalls(None, WORKSPACE_ID, CHANNEL_ID)
    assert ACCESS_KEY not in shown(caught.value)


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


def test_a_key_passed_in_the_wrong_position_is_not_echoed():
    # Arguments swapped: the key lands in workspace_id, and a UUID passes as the key.
    with pytest.raises(ConfigurationError, match="workspace_id") as caught:
        FlashCalls(WORKSPACE_ID, ACCESS_KEY, CHANNEL_ID)

    assert ACCESS_KEY not in str(caught.value)
