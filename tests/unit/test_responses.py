"""2xx responses that do not fit the spec, oversized bodies, and values Bird may add later."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest
from bird_flashcalls import (
    APIResponseValidationError,
    APIStatusError,
    FlashCallStatus,
    HangupResult,
)
from bird_flashcalls._generated.types import UNSET

from .support import (
    BOTH_CLIENTS,
    CALL_ID,
    CALLEE,
    CALLER,
    OPERATIONS,
    SUCCESS_BODIES,
    ChunkedBody,
    MiB,
    ScriptedBird,
    flash_call_body,
    hangup_body,
    hangup_from_to_body,
    reply,
    streamed,
)

pytestmark = pytest.mark.anyio

REQUEST_ID = "mb-req-42"


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"<html><body>Accepted</body></html>", "is not JSON"),
        (b"", "has an empty body"),
        (b"   \n", "has an empty body"),
        (b'{"id": "9c8d7e6f-', "is not JSON"),
        (b"[]", "is a JSON list"),
        (b'[{"id": "x"}]', "is a JSON list"),
        (b'"accepted"', "is a JSON str"),
        (b"null", "is a JSON NoneType"),
        (b"[" * 100_000, "is not JSON"),  # deep nesting must not crash the parser
    ],
)
async def test_a_202_that_is_not_a_json_object_is_refused(
    flash, bird: ScriptedBird, operation, content, problem
):
    bird.always(reply(202, content=content, headers={"Messagebird-Request-Id": REQUEST_ID}))

    with pytest.raises(APIResponseValidationError) as caught:
        await OPERATIONS[operation](flash())

    error = caught.value
    assert problem in str(error)
    assert f"{operation}()" in str(error)
    assert error.status_code == 202
    assert error.body == content
    assert error.request_id == REQUEST_ID
    assert REQUEST_ID in str(error)
    assert len(bird.requests) == 1  # a malformed success is not retried


@pytest.mark.parametrize(
    ("operation", "field"),
    [
        *[("create", field) for field in ("id", "channelId", "from", "to", "status")],
        *[("create", field) for field in ("createdAt", "updatedAt")],
        ("end", "result"),
    ],
)
async def test_a_missing_required_field_is_named(flash, bird: ScriptedBird, operation, field):
    body = SUCCESS_BODIES[operation]
    bird.always(reply(202, {key: value for key, value in body.items() if key != field}))

    with pytest.raises(APIResponseValidationError) as caught:
        await OPERATIONS[operation](flash())

    assert f"lacks the required field '{field}'" in str(caught.value)
    assert caught.value.request_id is None
    assert "[request id" not in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        # The published 202 of end by from/to: {result, receivedCli} or an open {from, to}.
        {"result": "canceled"},
        {"result": "wrong_cli", "receivedCli": "+31201234568"},
        {"from": CALLER, "to": CALLEE},
        {"from": CALLER, "to": CALLEE, "surprise": 5, "more": {"nested": True}},
        {"from": CALLER, "to": CALLEE, "result": "canceled", "receivedCli": CALLER},
    ],
    ids=["result", "result-and-cli", "numbers", "numbers-and-more", "everything"],
)
async def test_hangup_accepts_every_response_shape_bird_publishes(flash, bird: ScriptedBird, body):
    bird.always(reply(202, body))

    ended = await OPERATIONS["hangup"](flash())

    assert ended.to_dict() == body
    assert (ended.from_, ended.to) == (body.get("from", UNSET), body.get("to", UNSET))
    assert ended.result == body.get("result", UNSET)


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("create", flash_call_body(status=5)),
        ("create", flash_call_body(status=None)),
        ("create", flash_call_body(id="not-a-uuid")),
        ("create", flash_call_body(channelId=42)),
        ("create", flash_call_body(createdAt="yesterday")),
        ("create", flash_call_body(updatedAt=1714557600)),
        ("create", flash_call_body(ringingAt="soon")),
        ("create", flash_call_body(attemptPrice="0.01 EUR")),
        ("end", hangup_body(result=7)),
        ("end", hangup_body(result=["verified"])),
        ("hangup", hangup_from_to_body(result={"value": "canceled"})),
        # The generated from_dict checks UUIDs, dates and enums but takes any JSON value for a
        # plain string or integer: those are checked here.
        ("create", flash_call_body(**{"from": 31201234567})),
        ("create", flash_call_body(to=None)),
        ("create", flash_call_body(ringTimeout="30")),
        ("end", hangup_body(receivedCli=31201234567)),
        ("hangup", hangup_from_to_body(to=["+31612345678"])),
    ],
)
async def test_a_field_of_the_wrong_type_is_refused(flash, bird: ScriptedBird, operation, body):
    bird.always(reply(202, body, headers={"X-Request-Id": REQUEST_ID}))

    with pytest.raises(APIResponseValidationError) as caught:
        await OPERATIONS[operation](flash())

    assert "wrong type or format" in str(caught.value)
    assert caught.value.request_id == REQUEST_ID


# Sizes: Bird's responses are a few hundred bytes; at most 10 MB is read, the limit itself allowed.

LIMIT = 10 * MiB


def padded_call(size: int) -> bytes:
    body = json.dumps(flash_call_body()).encode()
    return body + b" " * (size - len(body))


@BOTH_CLIENTS
@pytest.mark.parametrize(
    ("content", "declared", "read"),
    [
        pytest.param(padded_call(LIMIT), True, True, id="limit-declared"),
        pytest.param(padded_call(LIMIT + 1), True, False, id="one-over-declared"),
        pytest.param(padded_call(LIMIT), False, True, id="limit-chunked"),
        pytest.param(padded_call(LIMIT + 1), False, False, id="one-over-chunked"),
        pytest.param(b" " * MiB * 64, False, False, id="64-MiB-chunked"),
        pytest.param(padded_call(400), False, True, id="small"),
    ],
)
async def test_a_body_is_read_up_to_the_limit_and_cut_off_past_it(
    flash, bird: ScriptedBird, content, declared, read
):
    stream = ChunkedBody(content)
    if declared:
        bird.always(reply(202, content=content))
    else:
        bird.always(streamed(202, stream, headers={"Transfer-Encoding": "chunked"}))

    if read:
        assert (await flash().create(CALLEE)).to == CALLEE
        return
    with pytest.raises(APIResponseValidationError) as caught:
        await flash().create(CALLEE)
    assert "larger than 10 MB" in str(caught.value)
    assert caught.value.body == b""
    assert stream.pulled <= 11  # stopped just past the limit
    assert len(bird.requests) == 1


@pytest.mark.parametrize(
    ("declared", "shown"),
    [
        (str(LIMIT + 1), f"({LIMIT + 1} bytes so far)"),
        (str(11 * MiB), f"({11 * MiB} bytes so far)"),
        ("9" * 15, f"({'9' * 15} bytes so far)"),
        # More than 15 digits: not even read (int() of thousands of digits is slow).
        ("9" * 16, "bytes so far)"),
        ("9" * 5000, "bytes so far)"),
        ("0" * 15 + "2", "bytes so far)"),
        ("0" * 40 + "2", "bytes so far)"),
    ],
)
async def test_a_declared_size_over_the_limit_is_refused_unread(
    flash, bird: ScriptedBird, declared, shown
):
    body = ChunkedBody(padded_call(400))
    headers = {"Content-Length": declared, "Messagebird-Request-Id": REQUEST_ID}
    bird.always(streamed(202, body, headers=headers))

    with pytest.raises(APIResponseValidationError) as caught:
        await flash().create(CALLEE)

    assert body.pulled == 0
    assert shown in str(caught.value)
    assert int(str(caught.value).split("MB (")[1].split(" bytes")[0]) > LIMIT
    assert (caught.value.request_id, caught.value.status_code) == (REQUEST_ID, 202)


async def test_a_declared_size_of_15_digits_is_read_as_a_number(flash, bird: ScriptedBird):
    bird.always(reply(202, content=b"{}", headers={"Content-Length": "0" * 14 + "2"}))

    with pytest.raises(APIResponseValidationError, match="lacks the required field"):
        await flash().create(CALLEE)


@BOTH_CLIENTS
async def test_a_compressed_body_is_capped_after_decompression(flash, bird: ScriptedBird):
    bomb = gzip.compress(b" " * (11 * MiB))
    assert len(bomb) < 100_000
    bird.always(reply(202, content=bomb, headers={"Content-Encoding": "gzip"}))

    with pytest.raises(APIResponseValidationError, match="larger than 10 MB"):
        await flash().create(CALLEE)


@pytest.mark.parametrize(("status", "success"), [(199, False), (200, True)])  # 300: test_errors
async def test_only_a_2xx_is_a_success(flash, bird: ScriptedBird, status, success):
    bird.always(reply(status, content=padded_call(400)))

    if success:
        assert (await flash().create(CALLEE)).to == CALLEE
    else:
        with pytest.raises(APIStatusError):
            await flash().create(CALLEE)


FIELDS_ADDED_LATER = {"priority": 3, "routing": {"carrier": "x", "hops": [1, 2]}, "labels": None}


@pytest.mark.parametrize(
    ("operation", "field", "values"),
    [
        ("create", "status", FlashCallStatus),
        ("end", "result", HangupResult),
        ("hangup", "result", HangupResult),
    ],
)
async def test_a_new_status_or_result_is_kept_as_its_string_and_new_fields_are_ignored(
    flash, bird: ScriptedBird, operation, field, values
):
    value = f"voicemail-{uuid.uuid4().hex[:8]}"  # a fresh one: each is logged once per process
    bird.then(reply(202, {**SUCCESS_BODIES[operation], field: value, **FIELDS_ADDED_LATER}))
    fc = flash()

    answer = await OPERATIONS[operation](fc)

    kept = getattr(answer, field)
    assert kept == value
    assert str(kept) == value
    assert isinstance(kept, values)
    assert kept not in list(values)
    if operation == "create":  # the call stays usable: verifying it works as for any other
        assert answer.id == uuid.UUID(CALL_ID)
        assert (await fc.verify(answer, CALLER)).verified


async def test_optional_fields_parse_when_present(flash, bird: ScriptedBird):
    body = flash_call_body(
        status="completed",
        reason="answered",
        duration=0,
        ringingAt="2024-05-01T10:00:01.123456789Z",
        endedAt="2024-05-01T10:00:03+02:00",
        attemptPrice={"amount": 15, "exponent": 4, "currency": "EUR"},
    )
    bird.always(reply(202, body))

    call = await flash().create(CALLEE)

    assert call.status is FlashCallStatus.COMPLETED
    assert call.ringing_at.microsecond == 123456
    assert call.ended_at.utcoffset().total_seconds() == 7200
    assert call.attempt_price.amount == 15
