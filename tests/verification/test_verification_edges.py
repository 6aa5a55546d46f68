"""The edges of a verification session: exact boundaries, late reports, dropped reports, and what
is forgotten. Run against each store with Verifier and AsyncVerifier."""

from __future__ import annotations

import logging

import pytest
from bird_flashcalls.verification import (
    MemoryStore,
    VerificationEvent,
    VerificationRateLimited,
    Verifier,
)
from verification_support import Clock, Env

pytestmark = pytest.mark.anyio

PHONE = "+31612345678"
WRONG_CLI = "+3197010269999"


def end_requests(env: Env, call_id: object) -> list[dict[str, object]]:
    path_end = f"/flashcalls/{call_id}"
    return [
        request.json
        for request in env.fake.requests
        if request.path.endswith(path_end) and request.status == 202
    ]


async def test_a_late_report_carries_the_number_the_phone_saw(env: Env) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)
    seen = env.fake.handset_cli(challenge.call_id)
    env.fake.fail_next(status=503)

    assert (await verifier.check(challenge.id, received_cli=seen)).verified
    assert await verifier.flush() == 1

    assert end_requests(env, challenge.call_id) == [{"result": "verified", "receivedCli": seen}]


async def test_a_late_wrong_cli_report_carries_the_wrong_number(env: Env) -> None:
    verifier = env.verifier(max_attempts=1)
    challenge = await verifier.start(PHONE)
    env.fake.fail_next(status=503)

    assert (await verifier.check(challenge.id, received_cli=WRONG_CLI)).status == "locked"
    assert await verifier.expire_due() == 0

    assert end_requests(env, challenge.call_id) == [
        {"result": "wrong_cli", "receivedCli": WRONG_CLI}
    ]


async def test_cancel_answers_false_for_a_challenge_that_has_ended(env: Env) -> None:
    events: list[VerificationEvent] = []
    verifier = env.verifier(on_event=events.append)
    verified = await verifier.start(PHONE)
    seen = env.fake.handset_cli(verified.call_id)
    assert (await verifier.check(verified.id, received_cli=seen)).verified
    canceled = await verifier.start("+31612345679")

    assert await verifier.cancel(canceled.id) is True
    assert await verifier.cancel(canceled.id) is False
    assert await verifier.cancel(verified.id) is False
    assert await verifier.cancel("no-such-challenge") is False
    assert VerificationEvent("canceled", canceled.id, None) in events
    assert [event.kind for event in events].count("canceled") == 1


async def test_cancel_at_the_moment_of_expiry_reports_the_timeout(env: Env) -> None:
    verifier = env.verifier(ttl=60)
    challenge = await verifier.start(PHONE)
    env.clock.advance(60)

    assert await verifier.cancel(challenge.id) is False

    assert env.reports(challenge.call_id) == ["timeout"]
    state = await verifier.state(challenge.id)
    assert state is not None and state.status == "expired"


async def test_a_start_exactly_one_window_after_the_last_is_allowed(env: Env) -> None:
    verifier = env.verifier(per_number_limit=(1, 600), resend_cooldown=0)
    await verifier.start(PHONE)
    env.clock.advance(599.5)
    with pytest.raises(VerificationRateLimited) as caught:
        await verifier.start(PHONE)
    assert caught.value.retry_after == pytest.approx(0.5)

    env.clock.advance(0.5)

    assert (await verifier.start(PHONE)).phone == PHONE


@pytest.mark.parametrize(
    ("settings", "client_keys", "limit", "explains"),
    [
        ({"resend_cooldown": 0.4}, [None, None], "resend_cooldown", "started moments ago"),
        (
            {"per_number_limit": (1, 0.4), "resend_cooldown": 0},
            [None, None],
            "per_number_limit",
            "to this phone number",
        ),
        (
            {"per_client_limit": (1, 0.4), "resend_cooldown": 0},
            ["10.0.0.1", "10.0.0.1"],
            "per_client_limit",
            "by this client",
        ),
    ],
)
async def test_a_refused_start_says_which_limit_and_when_to_try_again(
    env: Env, settings, client_keys, limit, explains
) -> None:
    verifier = env.verifier(**settings)
    await verifier.start(PHONE, client_key=client_keys[0])
    phone = PHONE if limit != "per_client_limit" else "+31612345679"

    with pytest.raises(VerificationRateLimited) as caught:
        await verifier.start(phone, client_key=client_keys[1])

    assert caught.value.limit == limit
    assert caught.value.retry_after == pytest.approx(0.4)
    # Whole seconds, rounded up, and never "0 s".
    assert str(caught.value).endswith(f"({limit}): try again in 1 s")
    assert explains in str(caught.value)


async def test_expire_due_works_after_a_start_refused_by_one_limit(env: Env) -> None:
    verifier = env.verifier(per_number_limit=(1, 600), resend_cooldown=0)
    await verifier.start(PHONE, client_key="10.0.0.1")
    with pytest.raises(VerificationRateLimited):
        await verifier.start(PHONE, client_key="10.0.0.2")  # a new client's key counts nothing
    env.clock.advance(3600)

    assert await verifier.expire_due() == 1
    assert (await verifier.start(PHONE, client_key="10.0.0.2")).phone == PHONE


async def test_an_expired_challenge_still_says_expired_after_its_timeout_is_reported(
    env: Env,
) -> None:
    verifier = env.verifier(ttl=60)
    challenge = await verifier.start(PHONE)
    env.clock.advance(60)

    assert await verifier.expire_due() == 1

    state = await verifier.state(challenge.id)
    assert state is not None and (state.status, state.reported) == ("expired", True)
    assert (await verifier.check(challenge.id, received_cli=PHONE)).status == "expired"


async def test_a_locked_challenge_whose_report_is_dropped_still_says_locked(env: Env) -> None:
    events: list[VerificationEvent] = []
    verifier = env.verifier(max_attempts=1, on_event=events.append)
    challenge = await verifier.start(PHONE)
    env.fake.fail_next(status=404)

    assert (await verifier.check(challenge.id, received_cli=WRONG_CLI)).status == "locked"

    assert events[-1] == VerificationEvent("report_dropped", challenge.id, "wrong_cli")
    state = await verifier.state(challenge.id)
    assert state is not None and state.status == "locked"
    assert (await verifier.check(challenge.id, received_cli=PHONE)).status == "locked"
    assert await verifier.flush() == 0


async def test_a_verified_challenge_whose_report_is_dropped_is_forgotten(env: Env) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)
    env.fake.fail_next(status=422)

    code = env.fake.handset_cli(challenge.call_id)[-4:]
    assert (await verifier.check(challenge.id, code=code)).verified

    assert await verifier.state(challenge.id) is None
    assert (await verifier.check(challenge.id, received_cli=PHONE)).status == "not_found"


class FailingReportStore(MemoryStore):
    def report_failed(self, challenge_id: str, token: str, now: float, give_up: bool) -> None:
        raise ConnectionError("the store went away")


def test_a_store_failure_after_a_decision_is_logged_and_the_answer_stands(
    fake_bird, caplog: pytest.LogCaptureFixture
) -> None:
    verifier = Verifier(fake_bird.client(max_retries=0), FailingReportStore(), clock=Clock())
    challenge = verifier.start(PHONE)
    fake_bird.fail_next(status=503)

    with caplog.at_level(logging.WARNING, logger="bird_flashcalls.verification"):
        result = verifier.check(challenge.id, received_cli=fake_bird.handset_cli(challenge.call_id))

    assert result.verified
    warnings = [r.getMessage() for r in caplog.records if "store operation" in r.getMessage()]
    assert warnings == ["store operation report_failed failed after a decision (ConnectionError)"]
