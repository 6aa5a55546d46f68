"""Each method of the clients, and the exact request it sends: address, headers, body."""

from __future__ import annotations

import datetime
import re
import uuid
from uuid import UUID

import httpx
import pytest
from bird_flashcalls import (
    APIResponseValidationError,
    FlashCall,
    FlashCallHangup,
    FlashCallHangupFromTo,
    FlashCallStatus,
    HangupResult,
    InvalidRequestError,
    __version__,
)
from bird_flashcalls._config import resolve_settings
from bird_flashcalls._generated.api.channel_flashcall import (
    create_channel_flash_call,
    end_channel_flash_call,
    end_channel_flash_call_from_to,
)
from bird_flashcalls._generated.models.flash_call_create import FlashCallCreate
from bird_flashcalls._generated.models.flash_call_hangup_from_to_request import (
    FlashCallHangupFromToRequest,
)
from bird_flashcalls._generated.models.flash_call_hangup_request import FlashCallHangupRequest
from bird_flashcalls._requests import RequestBuilder

from .support import (
    ACCESS_KEY,
    BASE_URL,
    BOTH_CLIENTS,
    CALL_ID,
    CALLEE,
    CALLER,
    CHANNEL_ID,
    EXAMPLE_UUID,
    FLASHCALLS_PATH,
    OPERATION_PATHS,
    OPERATIONS,
    USER_AGENT,
    WORKSPACE_ID,
    ScriptedBird,
    a_flash_call,
)

pytestmark = pytest.mark.anyio


# The http client's own auth and headers replace neither the key nor the User-Agent.
THEIR_OWN = {"Authorization": "Bearer someone-else", "User-Agent": "custom/1.0"}


@BOTH_CLIENTS
@pytest.mark.parametrize("operation", OPERATIONS)
async def test_every_request_carries_the_documented_headers_only_not_the_http_clients(
    flash, bird: ScriptedBird, operation
):
    http_options = {"auth": ("user", "password"), "headers": THEIR_OWN}

    await OPERATIONS[operation](flash(http_options=http_options))

    [request] = bird.requests
    assert request.method == "POST"
    assert str(request.url) == BASE_URL + OPERATION_PATHS[operation]
    assert request.headers.get_list("Authorization") == [f"AccessKey {ACCESS_KEY}"]
    assert dict(request.headers) == {
        "host": "api.bird.test",
        "accept": "application/json",
        "accept-encoding": "gzip, deflate",
        "connection": "keep-alive",
        "user-agent": USER_AGENT,
        "authorization": f"AccessKey {ACCESS_KEY}",
        "content-type": "application/json",
        "content-length": str(len(request.content)),
    }
    assert re.fullmatch(
        rf"bird-flashcalls/{re.escape(__version__)} python/\d+\.\d+\.\d+", USER_AGENT
    )


# Bodies.


@pytest.mark.parametrize(
    ("arguments", "sent"),
    [
        ({"to": "+31 6 1234 5678"}, {"to": CALLEE}),
        (
            {"to": "0031 6-1234.5678", "from_": "+31 (20) 123 4567", "ring_timeout": 45},
            {"to": CALLEE, "from": CALLER, "ringTimeout": 45},
        ),
        ({"to": CALLEE, "ring_timeout": 3}, {"to": CALLEE, "ringTimeout": 3}),
        ({"to": CALLEE, "ring_timeout": 120}, {"to": CALLEE, "ringTimeout": 120}),
        ({"to": "+31 (0)6 1234 5678"}, {"to": CALLEE}),  # never +3106...: another number
    ],
)
async def test_create_sends_only_its_normalised_fields_in_camel_case(
    flash, bird: ScriptedBird, arguments, sent
):
    call = await flash().create(**arguments)

    assert bird.bodies() == [sent]
    assert isinstance(call, FlashCall)
    assert (call.id, call.to, call.from_) == (UUID(CALL_ID), CALLEE, CALLER)
    assert call.status is FlashCallStatus.ACCEPTED
    assert call.created_at == datetime.datetime(2024, 5, 1, 10, 0, tzinfo=datetime.UTC)
    assert call.ring_timeout == sent.get("ringTimeout", 30)


# Refused before anything is sent, naming the argument (the rules: tests/unit/test_numbers.py).

NOT_A_NUMBER = "0612345678"
REFUSALS = {
    "to": lambda fc: fc.create(NOT_A_NUMBER),
    "from_": lambda fc: fc.create(CALLEE, from_=NOT_A_NUMBER),
    "hangup-from_": lambda fc: fc.hangup(from_=NOT_A_NUMBER, to=CALLEE, result="canceled"),
    "hangup-to": lambda fc: fc.hangup(from_=CALLER, to=NOT_A_NUMBER, result="canceled"),
    "received_cli": lambda fc: fc.end(CALL_ID, result="wrong_cli", received_cli=NOT_A_NUMBER),
    "expected_cli": lambda fc: fc.verify(CALL_ID, CALLER, expected_cli=NOT_A_NUMBER),
    "code-expected_cli": lambda fc: fc.verify_code(CALL_ID, "4567", expected_cli=NOT_A_NUMBER),
    "missing-expected_cli": lambda fc: fc.verify(CALL_ID, CALLER),
    "code-missing-expected_cli": lambda fc: fc.verify_code(CALL_ID, "4567"),
    "code": lambda fc: fc.verify_code(a_flash_call(), "45a7"),
}


@pytest.mark.parametrize("case", REFUSALS)
async def test_each_argument_is_checked_before_sending_and_named(flash, bird: ScriptedBird, case):
    with pytest.raises(InvalidRequestError) as caught:
        await REFUSALS[case](flash())

    assert isinstance(caught.value, ValueError)
    assert caught.value.field == case.rpartition("-")[2]
    assert caught.value.field in str(caught.value)
    assert bird.requests == []


@pytest.mark.parametrize("ring_timeout", [2, 121, 0, -30, 30.5, 30.0, True, "30"])
async def test_create_refuses_a_ring_timeout_outside_3_to_120_whole_seconds(
    flash, bird: ScriptedBird, ring_timeout
):
    with pytest.raises(InvalidRequestError) as caught:
        await flash().create(CALLEE, ring_timeout=ring_timeout)

    assert caught.value.field == "ring_timeout"
    assert str(caught.value) == (
        f"ring_timeout must be a whole number of seconds from 3 to 120, got {ring_timeout!r}"
    )
    assert bird.requests == []


@pytest.mark.parametrize("result", ["verifed", "VERIFIED", "cancelled", "", None, 1])
async def test_end_and_hangup_refuse_an_unknown_result(flash, bird: ScriptedBird, result):
    fc = flash()
    listed = "result must be one of canceled, timeout, unknown, verified, wrong_cli, got "

    for call in (fc.end(CALL_ID, result=result), fc.hangup(from_=CALLER, to=CALLEE, result=result)):
        with pytest.raises(InvalidRequestError) as caught:
            await call
        assert caught.value.field == "result"
        assert str(caught.value) == listed + repr(result)
    assert bird.requests == []


@pytest.mark.parametrize(
    ("call", "shown"),
    [
        ("../x", "got '../x'"),  # every form refused: tests/unit/test_numbers.py
        (CALL_ID + "/../hangup", f"got '{CALL_ID}/../hangup'"),
        ("y" * 60, "got '" + "y" * 60 + "'"),  # still shown
        ("x" * 61, "got str"),
        (None, "got NoneType"),
        (42, "got int"),
    ],
)
async def test_a_call_id_that_is_not_a_uuid_is_refused_and_shown_when_short(
    flash, bird: ScriptedBird, call, shown
):
    fc = flash()

    for method in (
        fc.end(call, result="verified"),
        fc.verify(call, CALLER, expected_cli=CALLER),
        fc.verify_code(call, "4567", expected_cli=CALLER),
    ):
        with pytest.raises(InvalidRequestError) as caught:
            await method
        assert caught.value.field == "call"
        assert str(caught.value) == f"call must be a UUID such as {EXAMPLE_UUID}, {shown}"
    assert bird.requests == []


@pytest.mark.parametrize(
    "call",
    [a_flash_call(), CALL_ID, CALL_ID.upper(), UUID(CALL_ID)],
    ids=["FlashCall", "str", "upper-case-str", "UUID"],
)
async def test_end_takes_a_call_its_id_or_its_uuid_and_sends_the_normalised_cli(
    flash, bird: ScriptedBird, call
):
    ended = await flash().end(call, result=HangupResult.WRONG_CLI, received_cli="0031 20 123 4568")

    assert str(bird.requests[0].url) == f"{BASE_URL}{FLASHCALLS_PATH}/{CALL_ID}"
    assert bird.bodies() == [{"result": "wrong_cli", "receivedCli": "+31201234568"}]
    assert isinstance(ended, FlashCallHangup)
    assert (ended.result, ended.received_cli) == (HangupResult.WRONG_CLI, "+31201234568")


async def test_hangup_finds_the_call_by_its_numbers(flash, bird: ScriptedBird):
    ended = await flash().hangup(
        from_="+31 20 123 4567", to="0031612345678", result="canceled", received_cli=CALLER
    )

    assert str(bird.requests[0].url) == f"{BASE_URL}{FLASHCALLS_PATH}/hangup"
    assert bird.bodies() == [
        {"from": CALLER, "to": CALLEE, "result": "canceled", "receivedCli": CALLER}
    ]
    assert isinstance(ended, FlashCallHangupFromTo)
    assert (ended.from_, ended.to, ended.result) == (CALLER, CALLEE, HangupResult.CANCELED)


# verify and verify_code: decided here (tests/unit/test_numbers.py), reported to Bird with End.


@pytest.mark.parametrize(
    ("received", "verified", "sent"),
    [
        ("0031 20 123 4567", True, {"result": "verified", "receivedCli": CALLER}),
        ("+31 20 123 4568", False, {"result": "wrong_cli", "receivedCli": "+31201234568"}),
        # Only an E.164 number fits receivedCli; the rest stays out of the request.
        ("private number", False, {"result": "wrong_cli"}),
    ],
)
async def test_verify_reports_its_outcome_with_the_number_as_read(
    flash, bird: ScriptedBird, received, verified, sent
):
    outcome = await flash().verify(a_flash_call(), received)

    assert outcome.verified is verified
    assert bird.bodies() == [sent]
    assert bird.requests[0].url.path == f"{FLASHCALLS_PATH}/{CALL_ID}"


async def test_a_call_given_by_id_is_verified_against_the_expected_cli_and_digits_are_passed_on(
    flash, bird: ScriptedBird
):
    fc = flash()

    assert (
        await fc.verify(UUID(CALL_ID), "+31 20 123 4567", expected_cli="0031201234567")
    ).verified
    assert (await fc.verify_code(CALL_ID, "4567", expected_cli="+31 20 123 4567")).verified
    assert not (await fc.verify(a_flash_call(), CALLER, expected_cli="+31201234568")).verified
    assert (await fc.verify_code(a_flash_call(), "567", digits=3)).verified
    assert not (await fc.verify_code(a_flash_call(), "567", digits=4)).verified
    results = [body["result"] for body in bird.bodies()]
    assert results == ["verified", "verified", "wrong_cli", "verified", "wrong_cli"]


@pytest.mark.parametrize("caller", ["", "unknown", "+0123", "anonymous"])
async def test_verify_on_a_call_bird_gave_without_a_caller_number_is_bird_s_fault(
    flash, bird: ScriptedBird, caller: str
):
    call = a_flash_call()
    call.from_ = caller
    fc = flash()

    with pytest.raises(APIResponseValidationError, match="expected_cli=") as caught:
        await fc.verify(call, CALLER)
    with pytest.raises(APIResponseValidationError):
        await fc.verify_code(call, "4567")

    assert (caught.value.response, caught.value.status_code, caught.value.body) == (None, None, b"")
    assert bird.requests == []
    assert (await fc.verify(call, CALLER, expected_cli=CALLER)).verified


# Addresses: written from the spec's paths, held to the generated operations' for any ids.

ZERO = str(UUID(int=0))
ALL_ONES = str(UUID(int=2**128 - 1))


@pytest.mark.parametrize(
    ("workspace_id", "channel_id", "base_url"),
    [
        pytest.param(WORKSPACE_ID, CHANNEL_ID, BASE_URL, id="usual"),
        # Ids equal to each other and to the call id, and a base path holding one of them.
        pytest.param(ZERO, ZERO, f"{BASE_URL}/{ZERO}", id="zero-ids-everywhere"),
        pytest.param(ALL_ONES, ZERO, "http://127.0.0.1:8080/bird/v1", id="loopback-with-a-path"),
    ],
)
def test_each_address_is_the_generated_operations(workspace_id, channel_id, base_url):
    settings = resolve_settings(
        access_key=ACCESS_KEY, workspace_id=workspace_id, channel_id=channel_id, base_url=base_url
    )
    builder = RequestBuilder(settings)
    ids = (UUID(workspace_id), UUID(channel_id))
    ended = FlashCallHangupRequest(result=HangupResult.VERIFIED)

    for call in [uuid.uuid4() for _ in range(20)] + [UUID(ZERO), UUID(ALL_ONES)]:
        path = end_channel_flash_call._get_kwargs(*ids, call, body=ended)["url"]
        for written in (call, str(call), str(call).upper()):
            assert builder.end(written, "verified", None).url == httpx.URL(base_url + path)

    create_path = create_channel_flash_call._get_kwargs(*ids, body=FlashCallCreate(to=CALLEE))
    hung_up = FlashCallHangupFromToRequest(from_=CALLER, to=CALLEE, result=HangupResult.CANCELED)
    hangup_path = end_channel_flash_call_from_to._get_kwargs(*ids, body=hung_up)
    for _ in range(2):  # the same client, again
        assert builder.create(CALLEE, None, None).url == httpx.URL(base_url + create_path["url"])
        assert builder.hangup(CALLER, CALLEE, "canceled", None).url == httpx.URL(
            base_url + hangup_path["url"]
        )
