"""The access key goes into the Authorization header and nowhere else."""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest
from bird_flashcalls import (
    AsyncFlashCalls,
    AuthenticationError,
    BirdError,
    ConfigurationError,
    FlashCalls,
)

from .support import (
    ACCESS_KEY,
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


async def test_no_log_record_at_debug_contains_the_key(flash, bird: ScriptedBird, debug_logs):
    fc = flash(max_retries=2)

    raised = await run_every_kind_of_outcome(fc, bird)

    assert len(raised) == 11
    assert debug_logs.records  # the client and httpx did log
    for record in debug_logs.records:
        assert ACCESS_KEY not in record.getMessage(), record.name
        assert ACCESS_KEY not in str(record.args)
        assert ACCESS_KEY not in (record.exc_text or "")
    assert ACCESS_KEY not in debug_logs.text


async def test_no_exception_shows_the_key(flash, bird: ScriptedBird):
    raised = await run_every_kind_of_outcome(flash(max_retries=2), bird)

    assert {type(error).__name__ for error in raised} >= {
        "APIResponseValidationError",
        "AuthenticationError",
        "UnprocessableEntityError",
        "BadRequestError",
        "APIConnectionError",
        "APITimeoutError",
        "APIStatusError",
        "InvalidRequestError",
    }
    for error in raised:
        assert ACCESS_KEY not in shown(error), type(error).__name__


async def test_a_key_echoed_by_bird_is_masked_in_the_message(flash, bird: ScriptedBird):
    bird.then(reply(401, {"code": "Unauthorized", "message": f"bad key {ACCESS_KEY}"}))

    with pytest.raises(AuthenticationError) as caught:
        await flash().create(CALLEE)

    assert "bad key ***" in str(caught.value)


async def test_the_reprs_of_the_clients_hide_the_key(flash):
    fc = flash()
    derived = fc.with_options(timeout=3.0, max_retries=0)

    for client in (fc.client, derived.client):
        for text in (repr(client), str(client)):
            assert ACCESS_KEY not in text
            assert "access_key='***'" in text
            assert WORKSPACE_ID in text
            assert CHANNEL_ID in text
    assert "max_retries=0" in repr(derived.client)


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
@pytest.mark.parametrize("client_class", [FlashCalls, AsyncFlashCalls])
async def test_a_malformed_key_is_refused_without_showing_it(client_class, key, monkeypatch):
    with pytest.raises(ConfigurationError) as caught:
        client_class(key, WORKSPACE_ID, CHANNEL_ID)
    assert ACCESS_KEY not in shown(caught.value)
    assert "access_key" in str(caught.value)

    if "\x00" in key:
        return  # an environment variable cannot hold a NUL byte
    monkeypatch.setenv("BIRD_ACCESS_KEY", key)
    with pytest.raises(ConfigurationError) as caught:
        client_class(None, WORKSPACE_ID, CHANNEL_ID)
    assert ACCESS_KEY not in shown(caught.value)


@pytest.mark.parametrize("key", ["", "   ", 12345, b"bytes-key"])
async def test_an_empty_or_non_string_key_is_refused(flash, key):
    with pytest.raises(ConfigurationError, match="access_key"):
        flash(access_key=key)


async def test_logging_has_one_line_per_attempt_and_per_retry(
    flash, bird: ScriptedBird, debug_logs, sleeps
):
    bird.then(reply(503), raises(httpx.ConnectError))
    fc = flash(max_retries=2)

    await fc.end(CALL_ID, result="verified")

    path = f"/workspaces/{WORKSPACE_ID}/channels/{CHANNEL_ID}/flashcalls/{CALL_ID}"
    lines = [
        record.getMessage()
        for record in debug_logs.records
        if record.name == "bird_flashcalls" and record.levelno == logging.DEBUG
    ]
    attempts = [line for line in lines if "(attempt" in line]
    retries = [line for line in lines if line.startswith("retrying")]
    assert len(attempts) == len(bird.requests) == 3
    assert len(retries) == 2
    for number, (line, outcome) in enumerate(
        zip(attempts, ["503", "ConnectError", "202"], strict=True), start=1
    ):
        assert line.startswith(f"POST {path} -> {outcome} (attempt {number}, ")
        assert line.endswith(" ms)")
    assert retries[0].startswith(f"retrying POST {path} in ")
    assert "(retry 1 of 2)" in retries[0]
    assert retries[0].endswith("after status 503")
    assert "(retry 2 of 2)" in retries[1]
    assert retries[1].endswith("after ConnectError")


async def test_nothing_is_logged_above_debug_for_a_normal_call(flash, bird: ScriptedBird, caplog):
    caplog.set_level(logging.DEBUG, logger="bird_flashcalls")

    await flash().create(CALLEE)

    assert [
        r for r in caplog.records if r.name == "bird_flashcalls" and r.levelno > logging.DEBUG
    ] == []


@pytest.mark.parametrize("client_class", [FlashCalls, AsyncFlashCalls])
async def test_a_key_passed_in_the_wrong_position_is_not_echoed(client_class):
    # Arguments swapped: the key lands in workspace_id, and a UUID passes as the key.
    with pytest.raises(ConfigurationError, match="workspace_id") as caught:
        client_class(WORKSPACE_ID, ACCESS_KEY, CHANNEL_ID)

    assert ACCESS_KEY not in str(caught.value)
