"""Each method of FlashCalls and AsyncFlashCalls, and the exact request it sends."""

from __future__ import annotations

import datetime
import json
import re
from uuid import UUID

import pytest
from bird_flashcalls import (
    APIResponseValidationError,
    FlashCall,
    FlashCallHangup,
    FlashCallHangupFromTo,
    FlashCallStatus,
    HangupResult,
    InvalidRequestError,
    Verification,
    __version__,
)

from .support import (
    ACCESS_KEY,
    BASE_URL,
    CALL_ID,
    CALLEE,
    CALLER,
    FLASHCALLS_PATH,
    OPERATION_PATHS,
    OPERATIONS,
    USER_AGENT,
    ScriptedBird,
    a_flash_call,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_every_request_carries_url_method_and_headers(flash, bird: ScriptedBird, operation):
    await OPERATIONS[operation](flash())

    [request] = bird.requests
    assert request.method == "POST"
    assert str(request.url) == BASE_URL + OPERATION_PATHS[operation]
    assert request.headers["Authorization"] == f"AccessKey {ACCESS_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert re.fullmatch(
        rf"bird-flashcalls/{re.escape(__version__)} python/\d+\.\d+\.\d+", USER_AGENT
    )
    assert request.headers["Accept"] == "application/json"


async def test_create_sends_only_the_normalised_number(flash, bird: ScriptedBird):
    call = await flash().create("+31 6 1234 5678")

    assert bird.bodies() == [{"to": CALLEE}]
    assert isinstance(call, FlashCall)
    assert call.id == UUID(CALL_ID)
    assert call.to == CALLEE
    assert call.from_ == CALLER  # chosen by Bird when from_ is not given
    assert call.status is FlashCallStatus.ACCEPTED
    assert call.created_at == datetime.datetime(2024, 5, 1, 10, 0, tzinfo=datetime.UTC)


async def test_create_with_caller_and_ring_timeout_uses_camel_case(flash, bird: ScriptedBird):
    call = await flash().create("0031 6-1234.5678", from_="+31 (20) 123 4567", ring_timeout=45)

    assert bird.bodies() == [{"to": CALLEE, "from": CALLER, "ringTimeout": 45}]
    assert call.from_ == CALLER
    assert call.ring_timeout == 45


@pytest.mark.parametrize("ring_timeout", [3, 120])
async def test_create_accepts_the_ring_timeout_bounds(flash, bird: ScriptedBird, ring_timeout):
    await flash().create(CALLEE, ring_timeout=ring_timeout)

    assert bird.bodies() == [{"to": CALLEE, "ringTimeout": ring_timeout}]


@pytest.mark.parametrize(
    "call",
    [a_flash_call(), CALL_ID, CALL_ID.upper(), UUID(CALL_ID)],
    ids=["FlashCall", "str", "upper-case-str", "UUID"],
)
async def test_end_accepts_a_call_its_id_or_its_uuid(flash, bird: ScriptedBird, call):
    ended = await flash().end(call, result="timeout")

    [request] = bird.requests
    assert str(request.url) == f"{BASE_URL}{FLASHCALLS_PATH}/{CALL_ID}"
    assert bird.bodies() == [{"result": "timeout"}]
    assert isinstance(ended, FlashCallHangup)
    assert ended.result is HangupResult.TIMEOUT


async def test_end_reports_the_normalised_received_cli(flash, bird: ScriptedBird):
    ended = await flash().end(
        CALL_ID, result=HangupResult.WRONG_CLI, received_cli="0031 20 123 4568"
    )

    assert bird.bodies() == [{"result": "wrong_cli", "receivedCli": "+31201234568"}]
    assert ended.result is HangupResult.WRONG_CLI
    assert ended.received_cli == "+31201234568"


async def test_hangup_finds_the_call_by_its_numbers(flash, bird: ScriptedBird):
    ended = await flash().hangup(
        from_="+31 20 123 4567", to="0031612345678", result="canceled", received_cli=CALLER
    )

    [request] = bird.requests
    assert str(request.url) == f"{BASE_URL}{FLASHCALLS_PATH}/hangup"
    assert bird.bodies() == [
        {"from": CALLER, "to": CALLEE, "result": "canceled", "receivedCli": CALLER}
    ]
    assert isinstance(ended, FlashCallHangupFromTo)
    assert (ended.from_, ended.to, ended.result) == (CALLER, CALLEE, HangupResult.CANCELED)


@pytest.mark.parametrize(
    "received_cli",
    [
        "+31201234567",
        "+31 20 123 4567",
        "+31-20-123-4567",
        "+31.20.123.45.67",
        "+31 (20) 123-4567",
        "(+31) 20 1234567",
        "0031 20 123 4567",
        "0031201234567",
        " +31 20 123 4567\n",
    ],
)
async def test_verify_matches_formatting_variants(flash, bird: ScriptedBird, received_cli):
    outcome = await flash().verify(a_flash_call(), received_cli)

    assert outcome == Verification(
        call_id=UUID(CALL_ID),
        verified=True,
        result=HangupResult.VERIFIED,
        expected_cli=CALLER,
        received_cli=CALLER,
        interpreted_as="international_prefix" if received_cli.startswith("00") else "e164",
    )
    assert bird.bodies() == [{"result": "verified", "receivedCli": CALLER}]
    assert bird.requests[0].url.path == f"{FLASHCALLS_PATH}/{CALL_ID}"


async def test_verify_understands_a_trunk_zero_in_parentheses(flash, bird: ScriptedBird):
    # normalise_number's own docstring promises "+31 (0)6-1234.5678" -> "+316...": the (0) is
    # the national trunk prefix, dialled only from inside the country.
    outcome = await flash().verify(a_flash_call(), "+31 (0)20 123 4567")

    assert outcome.verified
    assert bird.bodies() == [{"result": "verified", "receivedCli": CALLER}]


async def test_verify_reports_a_different_number_as_wrong_cli(flash, bird: ScriptedBird):
    outcome = await flash().verify(a_flash_call(), "+31 20 123 4568")

    assert not outcome.verified
    assert outcome.result is HangupResult.WRONG_CLI
    assert outcome.received_cli == "+31201234568"
    assert bird.bodies() == [{"result": "wrong_cli", "receivedCli": "+31201234568"}]


@pytest.mark.parametrize("garbage", ["Unknown", "private number", "+31abc", "020 123 456x"])
async def test_verify_reports_an_unreadable_cli_as_wrong_cli_without_echoing_it(
    flash, bird: ScriptedBird, garbage
):
    outcome = await flash().verify(a_flash_call(), garbage)

    assert not outcome.verified
    assert outcome.result is HangupResult.WRONG_CLI
    assert outcome.received_cli == garbage
    # Only an E.164 number fits receivedCli; the rest stays out of the request.
    assert bird.bodies() == [{"result": "wrong_cli"}]


@pytest.mark.parametrize("received_cli", ["", "   ", None, 31201234567])
async def test_verify_refuses_a_missing_cli_before_sending(flash, bird: ScriptedBird, received_cli):
    with pytest.raises(InvalidRequestError) as caught:
        await flash().verify(a_flash_call(), received_cli)

    assert caught.value.field == "received_cli"
    assert bird.requests == []


async def test_verify_by_id_needs_the_expected_cli(flash, bird: ScriptedBird):
    fc = flash()
    with pytest.raises(InvalidRequestError, match="expected_cli") as caught:
        await fc.verify(CALL_ID, CALLER)
    assert caught.value.field == "expected_cli"
    assert bird.requests == []

    outcome = await fc.verify(UUID(CALL_ID), "+31 20 123 4567", expected_cli="0031201234567")
    assert outcome.verified
    assert bird.bodies() == [{"result": "verified", "receivedCli": CALLER}]


async def test_verify_expected_cli_overrides_the_calls_number(flash, bird: ScriptedBird):
    outcome = await flash().verify(a_flash_call(), CALLER, expected_cli="+31201234568")

    assert not outcome.verified
    assert bird.bodies() == [{"result": "wrong_cli", "receivedCli": CALLER}]


@pytest.mark.parametrize(
    ("code", "digits", "verified"),
    [
        ("4567", None, True),
        ("45 67", None, True),
        ("45-67", None, True),
        ("1234567", None, True),
        ("31201234567", None, True),
        ("567", 3, True),
        ("4568", None, False),
        ("5467", None, False),
        ("567", 4, False),  # fewer digits than asked for
        ("14567", 4, False),  # more digits than asked for
    ],
)
async def test_verify_code_compares_the_last_digits(
    flash, bird: ScriptedBird, code, digits, verified
):
    outcome = await flash().verify_code(a_flash_call(), code, digits=digits)

    assert outcome.verified is verified
    assert outcome.result is (HangupResult.VERIFIED if verified else HangupResult.WRONG_CLI)
    assert outcome.expected_cli == CALLER
    assert outcome.call_id == UUID(CALL_ID)
    assert bird.bodies() == [{"result": "verified" if verified else "wrong_cli"}]


@pytest.mark.parametrize(
    ("code", "digits", "field"),
    [
        ("45a7", None, "code"),
        ("", None, "code"),
        ("+4567", None, "code"),
        (4567, None, "code"),
        ("4567", 0, "digits"),
        ("4567", True, "digits"),
        ("123456789012", None, "code"),  # longer than the caller number
        ("4567", 12, "digits"),
        # Too short to mean anything: one typed digit would pass one time in ten.
        ("7", None, "code"),
        ("567", None, "code"),
    ],
)
async def test_verify_code_refuses_what_cannot_be_compared(
    flash, bird: ScriptedBird, code, digits, field
):
    with pytest.raises(InvalidRequestError) as caught:
        await flash().verify_code(a_flash_call(), code, digits=digits)

    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)
    assert bird.requests == []


async def test_verify_code_by_id_uses_expected_cli(flash, bird: ScriptedBird):
    outcome = await flash().verify_code(CALL_ID, "4567", expected_cli="+31 20 123 4567")

    assert outcome.verified
    assert bird.requests[0].url.path == f"{FLASHCALLS_PATH}/{CALL_ID}"
    assert json.loads(bird.requests[0].content) == {"result": "verified"}


async def test_create_never_rings_a_number_with_the_trunk_zero_kept(flash, bird: ScriptedBird):
    # "+31 (0)6..." is a common way to write +316...; "+3106..." is a different, wrong number.
    try:
        await flash().create("+31 (0)6 1234 5678")
    except InvalidRequestError:
        assert bird.requests == []
    else:
        assert bird.bodies() == [{"to": CALLEE}]


async def test_the_http_clients_own_auth_and_headers_do_not_replace_the_key(
    flash, bird: ScriptedBird
):
    fc = flash(
        http_options={
            "auth": ("user", "password"),
            "headers": {"Authorization": "Bearer someone-else", "User-Agent": "custom/1.0"},
        }
    )

    await fc.create(CALLEE)

    [request] = bird.requests
    assert request.headers.get_list("Authorization") == [f"AccessKey {ACCESS_KEY}"]
    assert request.headers["User-Agent"] == USER_AGENT


@pytest.mark.parametrize("caller", ["", "unknown", "+0123", "anonymous"])
async def test_verify_on_a_call_bird_gave_without_a_caller_number_is_bird_s_fault(
    flash, bird: ScriptedBird, caller: str
):
    call = a_flash_call()
    call.from_ = caller

    with pytest.raises(APIResponseValidationError, match="expected_cli=") as caught:
        await flash().verify(call, CALLER)
    with pytest.raises(APIResponseValidationError):
        await flash().verify_code(call, "4567")

    assert (caught.value.response, caught.value.status_code) == (None, None)
    assert bird.requests == []
    # Given the number Bird called from, the check goes ahead.
    outcome = await flash().verify(call, CALLER, expected_cli=CALLER)
    assert outcome.verified
