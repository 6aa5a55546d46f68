"""The clients against FakeBird, in process and over HTTP, under faults and load."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import uuid4

import pytest
from bird_flashcalls import (
    APIConnectionError,
    APITimeoutError,
    AsyncFlashCalls,
    FlashCalls,
    NotFoundError,
    RateLimitError,
)
from bird_flashcalls._generated.types import UNSET
from bird_flashcalls.testing import FakeBird

from .support import FAST, OTHER, TO, respond

WAYS_IN = pytest.mark.parametrize("where", ["in process", "over http"])


def client(
    fake: FakeBird, where: str, base_url: str, *, is_async: bool = False, **options: Any
) -> Any:
    """A FlashCalls (an AsyncFlashCalls if ``is_async``) in process or over HTTP."""
    if where == "in process":
        return (fake.async_client if is_async else fake.client)(**options)
    kind = AsyncFlashCalls if is_async else FlashCalls
    return kind(fake.access_key, fake.workspace_id, fake.channel_id, base_url, **options)


# The clients in process.


def test_the_client_runs_a_whole_verification_and_sees_bird_errors(fake: FakeBird) -> None:
    with fake.client(max_retries=0) as flash_calls:
        call = flash_calls.create(TO)
        assert flash_calls.verify(call, received_cli=fake.handset_cli(call.id)).verified
        assert fake.calls[call.id]["result"] == "verified"

        other = flash_calls.create(TO, from_=OTHER, ring_timeout=20)
        assert (other.from_, other.ring_timeout) == (OTHER, 20)
        assert not flash_calls.verify(other, received_cli="+3197010260000").verified
        assert fake.calls[other.id]["receivedCli"] == "+3197010260000"

        ended = flash_calls.hangup(from_=OTHER, to=TO, result="timeout")
        assert ended.result in ("timeout", UNSET)  # whichever published shape Bird gave
        assert [r["result"] for r in fake.calls[other.id]["reports"]] == ["wrong_cli", "timeout"]
        assert flash_calls.verify_code(call, fake.handset_cli(call.id)[-4:]).verified

        with pytest.raises(NotFoundError) as not_found:
            flash_calls.end(uuid4(), result="verified")
    assert not_found.value.code == "NotFound"
    assert not_found.value.request_id == fake.requests[-1].request_id


@pytest.mark.anyio
async def test_the_async_client_runs_a_whole_verification_slowed_by_a_delay(
    fake: FakeBird,
) -> None:
    fake.fail_next(delay=0.05, times=2)  # a slow but correct answer
    async with fake.async_client() as flash_calls:
        started = time.monotonic()
        call = await flash_calls.create(TO)
        outcome = await flash_calls.verify(call, received_cli=fake.handset_cli(call.id))
        assert time.monotonic() - started >= 0.1
        await flash_calls.end(call, result="timeout")
        ended = await flash_calls.hangup(from_=call.from_, to=TO, result="canceled")
    assert outcome.verified
    assert ended.result in ("canceled", UNSET)
    assert fake.calls[call.id]["result"] == "verified"  # the first report's
    reports = [r["result"] for r in fake.calls[call.id]["reports"]]
    assert reports == ["verified", "timeout", "canceled"]


# Faults.


def test_fail_next_sends_retry_after(fake: FakeBird) -> None:
    fake.fail_next(status=429, retry_after=7)
    reply = respond(fake, "create", {"to": TO})
    assert (reply.status, reply.headers["Retry-After"]) == (429, "7")
    assert reply.json()["code"] == "TooManyRequests"

    fake.fail_next(status=429, retry_after=30)
    with fake.client(backoff=FAST) as flash_calls, pytest.raises(RateLimitError) as error:
        flash_calls.create(TO)
    assert error.value.retry_after == 30


@pytest.mark.parametrize(
    ("status", "code"),
    [
        # Python 3.13 renamed these four phrases; FakeBird's codes stay the same on every Python.
        (413, "RequestEntityTooLarge"),
        (414, "RequestUriTooLong"),
        (416, "RequestedRangeNotSatisfiable"),
        (422, "UnprocessableEntity"),
        (599, "Error"),  # no name at all
    ],
)
def test_an_injected_status_s_code_does_not_depend_on_the_python_version(
    fake: FakeBird, status: int, code: str
) -> None:
    fake.fail_next(status=status)
    assert respond(fake, "create", {"to": TO}).json()["code"] == code


def test_faults_queue_up_in_order_and_clear_faults_forgets_them(fake: FakeBird) -> None:
    fake.fail_next(status=500)
    fake.fail_next(status=404, times=2)
    replies = [respond(fake, "create", {"to": TO}) for _ in range(4)]
    assert [reply.status for reply in replies] == [500, 404, 404, 202]
    assert replies[0].json()["code"] == "InternalServerError"
    fake.fail_next(status=503, times=5)
    fake.fail_randomly(rate=1.0)
    fake.clear_faults()
    assert respond(fake, "create", {"to": TO}).status == 202


@WAYS_IN
def test_a_dropped_connection_after_bird_received_the_request(fake: FakeBird, where: str) -> None:
    with fake.serve() as base_url, client(fake, where, base_url, backoff=FAST) as flash_calls:
        fake.fail_next(drop_connection=True)
        with pytest.raises(APIConnectionError) as error:
            flash_calls.create(TO)
        # Bird created the call; the client did not ring the phone a second time.
        assert error.value.may_have_been_delivered
        (call_id,) = fake.calls
        assert len(fake.requests) == 1

        fake.fail_next(drop_connection=True)  # end is repeatable: it is retried
        assert str(flash_calls.end(call_id, result="verified").result) == "verified"
    assert [request.status for request in fake.requests] == [202, 202, 202]
    assert fake.calls[call_id]["result"] == "verified"


@WAYS_IN
def test_a_delay_longer_than_the_timeout_times_out(fake: FakeBird, where: str) -> None:
    # Slower than the timeout by a wide margin, so that a busy machine cannot blur the two.
    fake.fail_next(delay=30.0)
    with fake.serve() as base_url:
        started = time.monotonic()
        flash_calls = client(fake, where, base_url, timeout=0.2, max_retries=0)
        with flash_calls, pytest.raises(APITimeoutError):
            flash_calls.create(TO)
        assert time.monotonic() - started < 10.0
    assert len(fake.calls) == 1  # Bird got the request; its answer was late


def test_fail_randomly_is_repeatable_with_a_seed_and_can_be_stopped() -> None:
    def statuses(seed: int) -> list[int]:
        fake = FakeBird()
        fake.fail_randomly(rate=0.3, status=503, seed=seed)
        return [respond(fake, "create", {"to": TO}).status for _ in range(200)]

    first = statuses(seed=7)
    assert first == statuses(seed=7)
    assert first != statuses(seed=8)
    assert 30 <= first.count(503) <= 90
    assert set(first) == {202, 503}

    fake = FakeBird()
    fake.fail_randomly(rate=1.0, status=500)
    assert respond(fake, "create", {"to": TO}).status == 500
    fake.fail_randomly(rate=0)
    assert respond(fake, "create", {"to": TO}).status == 202


@pytest.mark.parametrize(
    ("method", "arguments", "message"),
    [
        ("fail_next", {}, "nothing to inject"),
        ("fail_next", {"status": 200}, "400 to 599"),
        ("fail_next", {"status": True}, "400 to 599"),
        ("fail_next", {"status": 503, "drop_connection": True}, "either"),
        ("fail_next", {"retry_after": 1, "delay": 1}, "retry_after"),
        ("fail_next", {"status": 503, "retry_after": -1}, "retry_after"),
        ("fail_next", {"delay": -1}, "delay"),
        ("fail_next", {"status": 503, "times": 0}, "times"),
        ("fail_randomly", {"rate": -0.1}, "rate"),
        ("fail_randomly", {"rate": 1.5}, "rate"),
        ("fail_randomly", {"rate": 1, "operations": ["verify"]}, "operations must name"),
        ("fail_randomly", {"rate": 1, "operations": "create"}, "operations must name"),
        ("fail_randomly", {"rate": 1, "count": 0}, "count must be"),
    ],
)
def test_faults_that_make_no_sense_are_refused(
    fake: FakeBird, method: str, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        getattr(fake, method)(**arguments)


@pytest.mark.anyio
@WAYS_IN
async def test_64_concurrent_async_requests_with_random_faults(fake: FakeBird, where: str) -> None:
    fake.fail_randomly(rate=0.1, status=503, seed=3)
    with fake.serve() as base_url:
        async with client(
            fake, where, base_url, is_async=True, backoff=FAST, max_retries=8
        ) as flash_calls:
            created = await asyncio.gather(*(flash_calls.create(TO) for _ in range(64)))
    ids = {str(call.id) for call in created}
    assert len(ids) == 64
    assert set(fake.calls) == ids
    statuses = [request.status for request in fake.requests]
    assert statuses.count(202) == 64
    assert set(statuses) <= {202, 503}
