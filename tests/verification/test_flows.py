"""What the flows decide whatever the store: arguments, answers, limits' messages, events, logs
and store failures. Run once, on a MemoryStore with a Verifier."""

from __future__ import annotations

import json
import logging

import pytest
from bird_flashcalls import InvalidRequestError
from bird_flashcalls.verification import (
    CheckResult,
    MemoryStore,
    VerificationEvent,
    VerificationRateLimited,
    Verifier,
)

from .support import PHONE, Clock, Env, end_requests, memory_verifier, right_code, wrong

pytestmark = pytest.mark.anyio


@pytest.fixture
async def env(memory_env: Env) -> Env:
    return memory_env


async def test_challenge_ids_are_unique(env: Env) -> None:
    verifier = env.verifier(resend_cooldown=0, per_number_limit=None)
    ids = {(await verifier.start(PHONE)).id for _ in range(20)}
    assert len(ids) == 20


async def test_the_public_dict_has_everything_but_the_call_id(env: Env) -> None:
    challenge = await env.verifier().start(PHONE)

    public = challenge.to_public_dict()

    assert public == {
        "id": challenge.id,
        "phone": PHONE,
        "cli_prefix": challenge.cli_prefix,
        "code_digits": 4,
        "expires_at": challenge.expires_at.isoformat(),
    }
    assert str(challenge.call_id) not in str(public)
    assert env.fake.handset_cli(challenge.call_id) not in str(public)


async def test_the_number_the_phone_saw_verifies_in_any_format_the_client_accepts(
    env: Env,
) -> None:
    verifier = env.verifier(resend_cooldown=0)
    first = await verifier.start(PHONE)
    second = await verifier.start(PHONE)
    seen = env.fake.handset_cli(first.call_id)
    spaced = f"{seen[:3]} {seen[3:6]} {seen[6:10]} {seen[10:]}"

    assert (await verifier.check(first.id, received_cli=spaced)).verified
    international = "00" + env.fake.handset_cli(second.call_id)[1:]
    assert (await verifier.check(second.id, received_cli=international)).verified

    assert env.fake.calls[first.call_id]["receivedCli"] == seen
    assert env.reports(first.call_id) == ["verified"]


async def test_a_check_needs_exactly_one_answer_and_a_string_id(env: Env) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)

    with pytest.raises(InvalidRequestError, match="exactly one answer") as neither:
        await verifier.check(challenge.id)
    with pytest.raises(InvalidRequestError, match="exactly one answer") as both:
        await verifier.check(challenge.id, code="1234", received_cli="+3197010260000")
    with pytest.raises(InvalidRequestError, match="challenge_id") as not_an_id:
        await verifier.check(None, code="1234")
    with pytest.raises(InvalidRequestError, match="digits only"):
        await verifier.check(challenge.id, code="12a4")
    assert (neither.value.field, both.value.field) == ("code", "received_cli")
    assert not_an_id.value.field == "challenge_id"
    # None of those used an attempt.
    state = await verifier.state(challenge.id)
    assert state is not None and state.attempts_left == 3


async def test_a_code_of_another_length_is_a_wrong_answer(env: Env) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)
    code = right_code(env.fake, challenge)

    result = await verifier.check(challenge.id, code=env.fake.handset_cli(challenge.call_id)[-5:])

    assert result == CheckResult("wrong", False, 2)
    assert (await verifier.check(challenge.id, code=code)).verified


async def test_limits_are_on_by_default(env: Env) -> None:
    verifier = env.verifier()
    await verifier.start(PHONE)
    with pytest.raises(VerificationRateLimited, match="resend_cooldown"):
        await verifier.start(PHONE)
    for _ in range(2):
        env.clock.advance(30)
        await verifier.start(PHONE)
    env.clock.advance(30)
    with pytest.raises(VerificationRateLimited, match="per_number_limit"):
        await verifier.start(PHONE)
    for number in range(20):
        await verifier.start(f"+3161234{number:04d}", client_key="c")
    with pytest.raises(VerificationRateLimited, match="per_client_limit"):
        await verifier.start("+31699999999", client_key="c")


async def test_events_follow_the_flow_without_secrets(env: Env) -> None:
    events: list[VerificationEvent] = []
    verifier = env.verifier(on_event=events.append, per_number_limit=(1, 60))
    challenge = await verifier.start(PHONE)
    with pytest.raises(VerificationRateLimited):
        await verifier.start(PHONE)
    await verifier.check(challenge.id, code=wrong(right_code(env.fake, challenge)))
    await verifier.check(challenge.id, code=right_code(env.fake, challenge))

    assert events == [
        VerificationEvent("started", challenge.id, None),
        VerificationEvent("rate_limited", None, "per_number_limit"),
        VerificationEvent("checked", challenge.id, "wrong"),
        VerificationEvent("checked", challenge.id, "verified"),
        VerificationEvent("reported", challenge.id, "verified"),
    ]


async def test_a_failing_hook_changes_nothing(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: VerificationEvent) -> None:
        raise RuntimeError("metrics are down")

    verifier = env.verifier(on_event=broken)

    with caplog.at_level(logging.ERROR, logger="bird_flashcalls.verification"):
        challenge = await verifier.start(PHONE)
        assert (await verifier.check(challenge.id, code=right_code(env.fake, challenge))).verified

    assert [r.getMessage() for r in caplog.records] == [
        "on_event raised for a started event; ignored",
        "on_event raised for a checked event; ignored",
        "on_event raised for a reported event; ignored",
    ]
    assert env.reports(challenge.call_id) == ["verified"]


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


class FailingReportStore(MemoryStore):
    def report_failed(self, challenge_id: str, token: str, now: float, give_up: bool) -> None:
        raise ConnectionError("the store went away")


def test_a_store_failure_after_a_decision_is_logged_and_the_answer_stands(
    fake_bird, caplog: pytest.LogCaptureFixture
) -> None:
    verifier = memory_verifier(fake_bird, store=FailingReportStore())
    challenge = verifier.start(PHONE)
    fake_bird.fail_next(status=503)

    with caplog.at_level(logging.WARNING, logger="bird_flashcalls.verification"):
        result = verifier.check(challenge.id, received_cli=fake_bird.handset_cli(challenge.call_id))

    assert result.verified
    warnings = [r.getMessage() for r in caplog.records if "store operation" in r.getMessage()]
    assert warnings == ["store operation report_failed failed after a decision (ConnectionError)"]


async def test_an_answer_that_is_not_a_number_is_reported_without_it(env: Env) -> None:
    verifier = env.verifier(max_attempts=1)
    challenge = await verifier.start(PHONE)

    assert (await verifier.check(challenge.id, received_cli="Unknown caller")).status == "locked"

    assert end_requests(env.fake, challenge.call_id) == [{"result": "wrong_cli"}]


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
    verifier = memory_verifier(fake_bird, store=FailingCreateStore())

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

    verifier = memory_verifier(fake_bird)

    with pytest.raises(InvalidRequestError) as caught:
        verifier.start(phone, client_key=client_key)

    assert caught.value.field == field
    assert fake_bird.calls == {}


def test_reports_are_logged_with_what_happened(fake_bird, caplog) -> None:
    events: list[VerificationEvent] = []
    verifier = memory_verifier(fake_bird, on_event=events.append)
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
    verifier = memory_verifier(fake_bird)
    challenge = verifier.start(PHONE)
    fake_bird.fail_next(drop_connection=True)

    with caplog.at_level(logging.WARNING, logger="bird_flashcalls.verification"):
        verifier.check(challenge.id, received_cli=fake_bird.handset_cli(challenge.call_id))

    assert [r.getMessage() for r in caplog.records] == [
        f"challenge {challenge.id}: reporting verified to Bird failed (APIConnectionError); "
        "kept for the next flush()"
    ]


def test_flush_counts_only_what_bird_took(fake_bird) -> None:
    verifier = memory_verifier(fake_bird)
    challenge = verifier.start(PHONE)
    fake_bird.fail_next(status=503, times=2)
    verifier.check(challenge.id, received_cli=fake_bird.handset_cli(challenge.call_id))

    assert verifier.flush() == 0
    assert verifier.flush() == 1


def test_a_store_failure_after_a_report_is_logged_and_the_answer_stands(
    fake_bird, caplog: pytest.LogCaptureFixture
) -> None:
    verifier = memory_verifier(fake_bird, store=FailingReportDoneStore())
    challenge = verifier.start(PHONE)

    with caplog.at_level(logging.WARNING, logger="bird_flashcalls.verification"):
        result = verifier.check(challenge.id, received_cli=fake_bird.handset_cli(challenge.call_id))

    assert result.verified
    assert [r.getMessage() for r in caplog.records] == [
        "store operation report_done failed after a decision (ConnectionError)"
    ]


async def test_many_expired_challenges_are_all_reported(env: Env) -> None:
    # More than one batch of the store's claim_due (each store's limit: the store contract).
    from bird_flashcalls.verification._flows import DUE_BATCH

    verifier = env.verifier(ttl=10, resend_cooldown=0, per_number_limit=None)
    count = DUE_BATCH + 7
    calls = [(await verifier.start(PHONE)).call_id for _ in range(count)]
    env.clock.advance(10)

    assert await verifier.expire_due() == count

    assert [env.reports(call_id) for call_id in calls] == [["timeout"]] * count
