"""What the flows decide whatever the store: run once, on a MemoryStore with a Verifier."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from bird_flashcalls import InvalidRequestError
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import (
    MemoryStore,
    VerificationEvent,
    VerificationRateLimited,
    Verifier,
)
from bird_flashcalls.verification._delivery import DUE_BATCH

from .support import (
    NO_LIMITS,
    OTHER_PHONE,
    PHONE,
    Clock,
    Env,
    end_requests,
    memory_verifier,
    right_code,
    wrong,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def env(memory_env: Env) -> Env:
    return memory_env


async def test_the_public_dict_has_everything_but_the_call_id(env: Env) -> None:
    challenge = await env.verifier().start(PHONE, client_key=None)

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


def test_arguments_are_checked_before_the_store_or_bird_is_asked(fake_bird: FakeBird) -> None:
    store = CountingStore()
    verifier = memory_verifier(fake_bird, store=store)
    challenge = verifier.start(PHONE, client_key=None)
    refused: list[tuple[Any, str, str | None]] = [
        (lambda: verifier.check(challenge.id), "code", "exactly one answer"),
        (lambda: verifier.check(challenge.id, code="1", received_cli=PHONE), "received_cli", None),
        (lambda: verifier.check(None, code="1234"), "challenge_id", "must be the id"),
        (lambda: verifier.check(12345, code="1234"), "challenge_id", None),
        (lambda: verifier.check(challenge.id, code="12a4"), "code", "digits only"),
        (lambda: verifier.check(challenge.id, code="123"), "code", "has 3 digits: a code has 4"),
        (lambda: verifier.check(challenge.id, code="1" * 65), "code", "at most 64"),
        (lambda: verifier.check(challenge.id, received_cli="1" * 65), "received_cli", "at most"),
        (lambda: verifier.check(challenge.id, received_cli=31612345678), "received_cli", "got int"),
        (lambda: verifier.check(challenge.id, received_cli="  "), "received_cli", "is empty"),
        (lambda: verifier.start("12345", client_key=None), "phone", None),
        (lambda: verifier.start(PHONE, client_key=""), "client_key", "non-empty string"),
    ]

    for call, field, message in refused:
        with pytest.raises(InvalidRequestError, match=message) as caught:
            call()
        assert caught.value.field == field
    for impossible in ("", "x" * 129, "défi", "x" * 10_000):  # simply not found
        assert verifier.check(impossible, code="1234").status == "not_found"
        assert verifier.cancel(impossible) is False
        assert verifier.state(impossible) is None
    for possible in ("x", "x" * 128):
        assert verifier.check(possible, code="1234").status == "not_found"

    assert store.looked_up == ["x", "x" * 128]  # no answer above reached the store
    assert len(fake_bird.calls) == 1
    state = verifier.state(challenge.id)
    assert state is not None and state.attempts_left == 3


async def test_events_follow_the_flow_and_a_failed_report_holds_up_the_rest(env: Env) -> None:
    events: list[VerificationEvent] = []
    verifier = env.verifier(on_event=events.append, per_number_limit=(1, 60), ttl=10)
    challenge = await verifier.start(PHONE, client_key=None)
    with pytest.raises(VerificationRateLimited):
        await verifier.start(PHONE, client_key=None)
    await verifier.check(challenge.id, code=wrong(right_code(env.fake, challenge)))
    await verifier.check(challenge.id, code=right_code(env.fake, challenge))
    await verifier.check("no-such-challenge", code="1234")
    first = await verifier.start(OTHER_PHONE, client_key=None)
    second = await verifier.start("+31612345670", client_key=None)
    env.clock.advance(10)
    env.fake.fail_next(status=500, times=10)  # the first report fails: the rest wait too

    assert await verifier.expire_due() == 2
    assert [r.status for r in env.fake.requests].count(500) == 1  # the other one was not sent

    assert events[:6] == [
        VerificationEvent("started", challenge.id, None),
        VerificationEvent("rate_limited", None, "per_number_limit", "NL"),
        VerificationEvent("checked", challenge.id, "wrong"),
        VerificationEvent("checked", challenge.id, "verified"),
        VerificationEvent("reported", challenge.id, "verified"),
        VerificationEvent("checked", None, "not_found"),
    ]
    expiries = [event for event in events if event.kind == "expired"]
    assert sorted(e.challenge_id or "" for e in expiries) == sorted([first.id, second.id])
    assert all(event.detail is None for event in expiries)
    env.fake.clear_faults()
    assert await verifier.flush() == 2
    assert env.reported([first, second]) == [["timeout"]] * 2


async def test_a_failing_hook_changes_nothing(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: VerificationEvent) -> None:
        raise RuntimeError("metrics are down")

    verifier = env.verifier(on_event=broken)

    with caplog.at_level(logging.ERROR, logger="bird_flashcalls.verification"):
        challenge = await verifier.start(PHONE, client_key=None)
        assert (await verifier.check(challenge.id, code=right_code(env.fake, challenge))).verified

    assert [r.getMessage() for r in caplog.records] == [
        "on_event raised for a started event; ignored",
        "on_event raised for a checked event; ignored",
        "on_event raised for a reported event; ignored",
    ]
    assert env.reports(challenge.call_id) == ["verified"]


def test_reports_are_logged_with_what_happened(fake_bird: FakeBird, caplog) -> None:
    events: list[VerificationEvent] = []
    verifier = memory_verifier(fake_bird, on_event=events.append)
    taken, kept, dropped, lost = (
        verifier.start(f"+3161234567{n}", client_key=None) for n in range(4)
    )
    faults = [{"status": 503}, {"status": 404}, {"drop_connection": True}]

    with caplog.at_level(logging.DEBUG, logger="bird_flashcalls.verification"):
        for challenge, fault in zip((kept, dropped, lost), faults, strict=True):
            fake_bird.fail_next(**fault)
            verifier.check(challenge.id, received_cli=fake_bird.handset_cli(challenge.call_id))
        verifier.check(taken.id, received_cli=fake_bird.handset_cli(taken.call_id))

    assert [r.getMessage() for r in caplog.records] == [
        f"challenge {kept.id}: reporting verified to Bird failed (InternalServerError 503); "
        "kept for the next flush()",
        f"challenge {dropped.id}: reporting verified to Bird failed (NotFoundError 404); "
        "dropped: retrying cannot help",
        f"challenge {lost.id}: reporting verified to Bird failed (APIConnectionError); "
        "Bird may have it; sent again once report_lease has run out",
        f"challenge {taken.id}: Bird took result verified",
    ]
    assert VerificationEvent("report_failed", kept.id, "verified") in events
    assert VerificationEvent("report_dropped", dropped.id, "verified") in events
    assert verifier.flush() == 1  # the lost answer's report waits for its lease


class FailingReportStore(MemoryStore):
    def report_failed(self, challenge_id: str, token: str, now: float, give_up: bool) -> None:
        raise ConnectionError("the store went away")

    def report_done(self, challenge_id: str, token: str, now: float) -> None:
        raise ConnectionError("the store went away")


@pytest.mark.parametrize(
    ("bird_fault", "operation"), [(503, "report_failed"), (None, "report_done")]
)
def test_a_store_failure_after_a_decision_is_logged_and_the_answer_stands(
    fake_bird: FakeBird, caplog: pytest.LogCaptureFixture, bird_fault, operation
) -> None:
    verifier = memory_verifier(fake_bird, store=FailingReportStore())
    challenge = verifier.start(PHONE, client_key=None)
    if bird_fault is not None:
        fake_bird.fail_next(status=bird_fault)

    with caplog.at_level(logging.WARNING, logger="bird_flashcalls.verification"):
        result = verifier.check(challenge.id, received_cli=fake_bird.handset_cli(challenge.call_id))

    assert result.verified
    warnings = [r.getMessage() for r in caplog.records if "store operation" in r.getMessage()]
    assert warnings == [f"store operation {operation} failed after a decision (ConnectionError)"]


def test_a_call_whose_caller_number_is_not_a_number_is_canceled_at_bird(
    fake_bird: FakeBird, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A store failing at that step: test_store_errors.py's start-failing test.
    client = fake_bird.client(max_retries=0)
    create = client.create

    def anonymous(*args: Any, **kwargs: Any) -> Any:
        call = create(*args, **kwargs)
        call.from_ = "anonymous"
        return call

    monkeypatch.setattr(client, "create", anonymous)

    with pytest.raises(InvalidRequestError, match=r"^the caller number Bird returned is not"):
        Verifier(client, MemoryStore(), clock=Clock()).start(PHONE, client_key=None)

    [call_id] = list(fake_bird.calls)
    assert end_requests(fake_bird, call_id) == [{"result": "canceled"}]


async def test_many_expired_challenges_are_all_reported(env: Env) -> None:
    # More than one batch of the store's claim_due (each store's limit: the store contract).
    verifier = env.verifier(ttl=10, **NO_LIMITS)
    count = DUE_BATCH + 7
    calls = [(await verifier.start(PHONE, client_key=None)).call_id for _ in range(count)]
    env.clock.advance(10)

    assert await verifier.expire_due() == count

    assert [env.reports(call_id) for call_id in calls] == [["timeout"]] * count
