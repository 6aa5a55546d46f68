"""The edges of a verification session: exact boundaries, late reports, dropped reports, and what
is forgotten. Run against each store with Verifier and AsyncVerifier."""

from __future__ import annotations

import json
import logging

import pytest
from bird_flashcalls.verification import (
    MemoryStore,
    VerificationEvent,
    VerificationRateLimited,
    Verifier,
)

from .support import Clock, Env

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


async def test_a_locked_challenge_whose_report_is_dropped_still_says_locked(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[VerificationEvent] = []
    verifier = env.verifier(max_attempts=1, on_event=events.append)
    challenge = await verifier.start(PHONE)
    env.fake.fail_next(status=404)

    with caplog.at_level(logging.WARNING, logger="bird_flashcalls.verification"):
        assert (await verifier.check(challenge.id, received_cli=WRONG_CLI)).status == "locked"

    assert not [r for r in caplog.records if "store operation" in r.getMessage()]

    assert events[-1] == VerificationEvent("report_dropped", challenge.id, "wrong_cli")
    state = await verifier.state(challenge.id)
    assert state is not None and state.status == "locked"
    assert (await verifier.check(challenge.id, received_cli=PHONE)).status == "locked"
    env.clock.advance(121)  # past the report's lease: nothing is left to send
    assert await verifier.flush() == 0
    assert env.reports(challenge.call_id) == []


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


async def test_cancel_answers_false_for_a_locked_or_expired_challenge(env: Env) -> None:
    verifier = env.verifier(max_attempts=1, ttl=60)
    locked = await verifier.start(PHONE)
    expired = await verifier.start("+31612345679")
    assert (await verifier.check(locked.id, received_cli=WRONG_CLI)).status == "locked"
    env.clock.advance(60)
    assert await verifier.expire_due() == 1

    assert await verifier.cancel(locked.id) is False
    assert await verifier.cancel(expired.id) is False
    assert env.reports(locked.call_id) == ["wrong_cli"]
    assert env.reports(expired.call_id) == ["timeout"]


async def test_an_answer_that_is_not_a_number_is_reported_without_it(env: Env) -> None:
    verifier = env.verifier(max_attempts=1)
    challenge = await verifier.start(PHONE)

    assert (await verifier.check(challenge.id, received_cli="Unknown caller")).status == "locked"

    assert end_requests(env, challenge.call_id) == [{"result": "wrong_cli"}]


async def test_events_name_each_expiry_and_each_unknown_id(env: Env) -> None:
    events: list[VerificationEvent] = []
    verifier = env.verifier(on_event=events.append, ttl=10, resend_cooldown=0)
    first = await verifier.start(PHONE)
    second = await verifier.start("+31612345679")
    env.clock.advance(10)
    env.fake.fail_next(status=500, times=10)  # the first report fails: the rest wait too

    assert await verifier.expire_due() == 2
    await verifier.check("no-such-challenge", code="1234")

    expiries = [event for event in events if event.kind == "expired"]
    assert sorted(event.challenge_id or "" for event in expiries) == sorted([first.id, second.id])
    assert all(event.detail is None for event in expiries)
    assert events[-1] == VerificationEvent("checked", None, "not_found")


@pytest.mark.parametrize(
    ("answers", "field"),
    [({"received_cli": PHONE, "code": "1234"}, "received_cli"), ({}, "code")],
)
async def test_a_check_needs_exactly_one_answer_and_names_the_field(env: Env, answers, field):
    from bird_flashcalls import InvalidRequestError

    verifier = env.verifier()
    challenge = await verifier.start(PHONE)

    with pytest.raises(InvalidRequestError) as caught:
        await verifier.check(challenge.id, **answers)

    assert caught.value.field == field


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.looked_up: list[str] = []

    def check(self, challenge_id, answer, now, claim):  # type: ignore[no-untyped-def]
        self.looked_up.append(challenge_id)
        return super().check(challenge_id, answer, now, claim)

    def cancel(self, challenge_id, now, claim):  # type: ignore[no-untyped-def]
        self.looked_up.append(challenge_id)
        return super().cancel(challenge_id, now, claim)


def test_a_string_that_cannot_be_a_challenge_id_never_reaches_the_store(fake_bird) -> None:
    from bird_flashcalls import InvalidRequestError

    store = CountingStore()
    verifier = Verifier(fake_bird.client(max_retries=0), store, clock=Clock())

    for impossible in ("", "x" * 129, "défi", "x" * 10_000):
        assert verifier.check(impossible, code="1234").status == "not_found"
        assert verifier.cancel(impossible) is False
        assert verifier.state(impossible) is None
    assert store.looked_up == []
    for possible in ("x", "x" * 128):
        assert verifier.check(possible, code="1234").status == "not_found"
    assert store.looked_up == ["x", "x" * 128]
    with pytest.raises(InvalidRequestError) as caught:
        verifier.check(12345, code="1234")  # type: ignore[arg-type]
    assert caught.value.field == "challenge_id"


class FailingCreateStore(MemoryStore):
    def create(self, record):  # type: ignore[no-untyped-def]
        raise ConnectionError("the store went away")


class FailingReportDoneStore(MemoryStore):
    def report_done(self, challenge_id: str, token: str, now: float) -> None:
        raise ConnectionError("the store went away")


def test_a_call_nobody_can_check_is_canceled_at_bird(fake_bird) -> None:
    verifier = Verifier(fake_bird.client(max_retries=0), FailingCreateStore(), clock=Clock())

    with pytest.raises(ConnectionError, match="the store went away"):
        verifier.start(PHONE)

    [call_id] = list(fake_bird.calls)
    assert fake_bird.calls[call_id]["result"] == "canceled"


def test_a_call_from_a_number_that_is_not_one_is_canceled_and_refused() -> None:
    import httpx
    from bird_flashcalls import FlashCalls, InvalidRequestError
    from ids import ACCESS_KEY, CHANNEL_ID, FLASHCALLS_PATH, WORKSPACE_ID

    ended: list[dict[str, object]] = []
    call_id = "9c8d7e6f-5a4b-4c3d-8e2f-1a0b9c8d7e6f"

    def bird(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/flashcalls"):
            created = {"id": call_id, "channelId": CHANNEL_ID, "from": "anonymous", "to": PHONE}
            created.update(status="accepted", ringTimeout=30)
            created.update(createdAt="2024-05-01T10:00:00Z", updatedAt="2024-05-01T10:00:00Z")
            return httpx.Response(202, json=created)
        ended.append({"path": request.url.path, **json.loads(request.content)})
        return httpx.Response(202, json={"result": "canceled"})

    http = httpx.Client(transport=httpx.MockTransport(bird))
    flash_calls = FlashCalls(
        ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, "https://api.bird.test", http_client=http
    )
    verifier = Verifier(flash_calls, MemoryStore(), clock=Clock())

    with pytest.raises(InvalidRequestError) as caught:
        verifier.start(PHONE)

    assert str(caught.value).startswith("the caller number Bird returned is not")
    assert ended == [{"path": f"{FLASHCALLS_PATH}/{call_id}", "result": "canceled"}]
    http.close()


@pytest.mark.parametrize(
    ("phone", "client_key", "field"), [("12345", None, "phone"), (PHONE, "", "client_key")]
)
def test_a_start_with_a_bad_argument_names_it(fake_bird, phone, client_key, field) -> None:
    from bird_flashcalls import InvalidRequestError

    verifier = Verifier(fake_bird.client(max_retries=0), MemoryStore(), clock=Clock())

    with pytest.raises(InvalidRequestError) as caught:
        verifier.start(phone, client_key=client_key)

    assert caught.value.field == field
    assert fake_bird.calls == {}


def test_reports_are_logged_with_what_happened(fake_bird, caplog) -> None:
    events: list[VerificationEvent] = []
    verifier = Verifier(
        fake_bird.client(max_retries=0), MemoryStore(), clock=Clock(), on_event=events.append
    )
    taken, kept, dropped = (verifier.start(f"+3161234567{n}") for n in range(3))
    fake_bird.fail_next(status=503)

    with caplog.at_level(logging.DEBUG, logger="bird_flashcalls.verification"):
        verifier.check(kept.id, received_cli=fake_bird.handset_cli(kept.call_id))
        fake_bird.fail_next(status=404)
        verifier.check(dropped.id, received_cli=fake_bird.handset_cli(dropped.call_id))
        verifier.check(taken.id, received_cli=fake_bird.handset_cli(taken.call_id))

    lines = [record.getMessage() for record in caplog.records]
    assert (
        f"challenge {kept.id}: reporting verified to Bird failed (InternalServerError 503); kept for the next flush()"
        in lines
    )
    assert (
        f"challenge {dropped.id}: reporting verified to Bird failed (NotFoundError 404); dropped: retrying cannot help"
        in lines
    )
    assert f"challenge {taken.id}: Bird took result verified" in lines
    assert VerificationEvent("report_failed", kept.id, "verified") in events
    assert VerificationEvent("report_dropped", dropped.id, "verified") in events
    assert verifier.flush() == 1


def test_a_report_lost_to_the_network_is_logged_without_a_status(fake_bird, caplog) -> None:
    verifier = Verifier(fake_bird.client(max_retries=0), MemoryStore(), clock=Clock())
    challenge = verifier.start(PHONE)
    fake_bird.fail_next(drop_connection=True)

    with caplog.at_level(logging.WARNING, logger="bird_flashcalls.verification"):
        verifier.check(challenge.id, received_cli=fake_bird.handset_cli(challenge.call_id))

    assert [r.getMessage() for r in caplog.records] == [
        f"challenge {challenge.id}: reporting verified to Bird failed (APIConnectionError); "
        "kept for the next flush()"
    ]


def test_flush_counts_only_what_bird_took(fake_bird) -> None:
    verifier = Verifier(fake_bird.client(max_retries=0), MemoryStore(), clock=Clock())
    challenge = verifier.start(PHONE)
    fake_bird.fail_next(status=503, times=2)
    verifier.check(challenge.id, received_cli=fake_bird.handset_cli(challenge.call_id))

    assert verifier.flush() == 0
    assert verifier.flush() == 1


def test_a_store_failure_after_a_report_is_logged_and_the_answer_stands(
    fake_bird, caplog: pytest.LogCaptureFixture
) -> None:
    verifier = Verifier(fake_bird.client(max_retries=0), FailingReportDoneStore(), clock=Clock())
    challenge = verifier.start(PHONE)

    with caplog.at_level(logging.WARNING, logger="bird_flashcalls.verification"):
        result = verifier.check(challenge.id, received_cli=fake_bird.handset_cli(challenge.call_id))

    assert result.verified
    assert [r.getMessage() for r in caplog.records] == [
        "store operation report_done failed after a decision (ConnectionError)"
    ]


async def test_a_verified_challenge_is_not_verified_again_while_its_report_waits(
    env: Env,
) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)
    seen = env.fake.handset_cli(challenge.call_id)
    env.fake.fail_next(status=503)
    assert (await verifier.check(challenge.id, received_cli=seen)).verified

    again = await verifier.check(challenge.id, received_cli=seen)

    assert (again.status, again.verified, again.attempts_left) == ("not_found", False, 0)
    env.clock.advance(121)  # RedisStore may hold the report until the check's lease ends
    assert await verifier.flush() == 1
    assert env.reports(challenge.call_id) == ["verified"]
