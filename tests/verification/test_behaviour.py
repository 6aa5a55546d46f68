"""The behaviour every store shares, run against each store with Verifier and AsyncVerifier."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from bird_flashcalls import BirdError, InvalidRequestError
from bird_flashcalls.verification import (
    Challenge,
    ChallengeState,
    CheckResult,
    VerificationEvent,
    VerificationRateLimited,
)

from .support import Env

pytestmark = pytest.mark.anyio

PHONE = "+31612345678"


def wrong(code: str) -> str:
    """A code of the same length that is not ``code``."""
    return "".join(str((int(digit) + 1) % 10) for digit in code)


def right_code(env: Env, challenge: Challenge) -> str:
    return env.fake.handset_cli(challenge.call_id)[-challenge.code_digits :]


# Starting.


async def test_start_rings_the_phone_and_returns_a_challenge(env: Env) -> None:
    verifier = env.verifier(ttl=120)

    challenge = await verifier.start("+31 6 1234 5678", client_key="203.0.113.7")

    call = env.fake.calls[challenge.call_id]
    assert call["to"] == PHONE
    assert challenge.phone == PHONE
    assert challenge.code_digits == 4
    assert challenge.cli_prefix == call["from"][:-4]
    assert challenge.expires_at == datetime.fromtimestamp(env.clock.now + 120, UTC)
    assert challenge.expires_at.tzinfo is not None
    assert isinstance(challenge.call_id, UUID)
    # At least 128 random bits, URL-safe.
    assert len(challenge.id) >= 22
    assert challenge.id.replace("-", "").replace("_", "").isalnum()
    assert env.reports(challenge.call_id) == []


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


async def test_a_bad_phone_number_is_refused_before_any_request(env: Env) -> None:
    with pytest.raises(InvalidRequestError, match="phone"):
        await env.verifier().start("0612345678")
    with pytest.raises(InvalidRequestError, match="client_key"):
        await env.verifier().start(PHONE, client_key="")
    assert env.fake.requests == []


# Checking.


async def test_the_right_code_verifies_once_and_is_reported_once(env: Env) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)

    result = await verifier.check(challenge.id, code=right_code(env, challenge))

    assert result == CheckResult("verified", True, 3)
    assert env.reports(challenge.call_id) == ["verified"]
    # A challenge grants once: the same right answer again is not found.
    again = await verifier.check(challenge.id, code=right_code(env, challenge))
    assert again == CheckResult("not_found", False, 0)
    assert env.reports(challenge.call_id) == ["verified"]


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


async def test_wrong_answers_count_down_and_are_not_reported(env: Env) -> None:
    verifier = env.verifier(max_attempts=3)
    challenge = await verifier.start(PHONE)
    code = right_code(env, challenge)

    first = await verifier.check(challenge.id, code=wrong(code))
    second = await verifier.check(challenge.id, received_cli="+3197010269999")
    third = await verifier.check(challenge.id, code=code)

    assert first == CheckResult("wrong", False, 2)
    assert second == CheckResult("wrong", False, 1)
    assert third == CheckResult("verified", True, 1)
    assert env.reports(challenge.call_id) == ["verified"]


async def test_the_last_wrong_answer_locks_and_reports_wrong_cli_once(env: Env) -> None:
    verifier = env.verifier(max_attempts=2)
    challenge = await verifier.start(PHONE)
    code = right_code(env, challenge)

    assert await verifier.check(challenge.id, code=wrong(code)) == CheckResult("wrong", False, 1)
    locked = await verifier.check(challenge.id, received_cli="+3197010269999")

    assert locked == CheckResult("locked", False, 0)
    assert env.reports(challenge.call_id) == ["wrong_cli"]
    assert env.fake.calls[challenge.call_id]["receivedCli"] == "+3197010269999"
    # Every later check is locked, the right answer included, and nothing more is reported.
    for _ in range(3):
        assert await verifier.check(challenge.id, code=code) == CheckResult("locked", False, 0)
    assert env.reports(challenge.call_id) == ["wrong_cli"]


async def test_a_check_after_expiry_is_expired_and_reports_timeout_once(env: Env) -> None:
    verifier = env.verifier(ttl=60)
    challenge = await verifier.start(PHONE)
    code = right_code(env, challenge)
    env.clock.advance(60)

    assert await verifier.check(challenge.id, code=code) == CheckResult("expired", False, 0)
    assert env.reports(challenge.call_id) == ["timeout"]
    assert await verifier.expire_due() == 0
    assert await verifier.check(challenge.id, code=code) == CheckResult("expired", False, 0)
    assert env.reports(challenge.call_id) == ["timeout"]


async def test_a_check_just_before_expiry_still_counts(env: Env) -> None:
    verifier = env.verifier(ttl=60)
    challenge = await verifier.start(PHONE)
    env.clock.advance(59.999)

    assert (await verifier.check(challenge.id, code=right_code(env, challenge))).verified


async def test_unknown_ids_are_not_found(env: Env) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)
    not_found = CheckResult("not_found", False, 0)

    for unknown in ("x" * 32, challenge.id + "x", "", "{a}", "é" * 10, "a" * 500):
        assert await verifier.check(unknown, code="1234") == not_found
        assert await verifier.state(unknown) is None
        assert await verifier.cancel(unknown) is False


async def test_a_check_needs_exactly_one_answer_and_a_string_id(env: Env) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)

    with pytest.raises(InvalidRequestError, match="exactly one answer"):
        await verifier.check(challenge.id)
    with pytest.raises(InvalidRequestError, match="exactly one answer"):
        await verifier.check(challenge.id, code="1234", received_cli="+3197010260000")
    with pytest.raises(InvalidRequestError, match="challenge_id"):
        await verifier.check(None, code="1234")
    with pytest.raises(InvalidRequestError, match="digits only"):
        await verifier.check(challenge.id, code="12a4")
    # None of those used an attempt.
    state = await verifier.state(challenge.id)
    assert state is not None and state.attempts_left == 3


async def test_a_code_of_another_length_is_a_wrong_answer(env: Env) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)
    code = right_code(env, challenge)

    result = await verifier.check(challenge.id, code=env.fake.handset_cli(challenge.call_id)[-5:])

    assert result == CheckResult("wrong", False, 2)
    assert (await verifier.check(challenge.id, code=code)).verified


async def test_code_digits_sets_the_prefix_and_the_code(env: Env) -> None:
    verifier = env.verifier(code_digits=6)
    challenge = await verifier.start(PHONE)
    seen = env.fake.handset_cli(challenge.call_id)

    assert challenge.cli_prefix == seen[:-6]
    assert (await verifier.check(challenge.id, code=seen[-4:])).status == "wrong"
    assert (await verifier.check(challenge.id, code=seen[-6:])).verified


# Cancelling.


async def test_cancel_reports_canceled_once_and_ends_the_challenge(env: Env) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)

    assert await verifier.cancel(challenge.id) is True
    assert await verifier.cancel(challenge.id) is False

    assert env.reports(challenge.call_id) == ["canceled"]
    result = await verifier.check(challenge.id, code=right_code(env, challenge))
    assert result == CheckResult("not_found", False, 0)


async def test_cancel_after_verification_changes_nothing(env: Env) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)
    await verifier.check(challenge.id, code=right_code(env, challenge))

    assert await verifier.cancel(challenge.id) is False
    assert env.reports(challenge.call_id) == ["verified"]


async def test_cancel_after_expiry_reports_the_timeout(env: Env) -> None:
    verifier = env.verifier(ttl=30)
    challenge = await verifier.start(PHONE)
    env.clock.advance(31)

    assert await verifier.cancel(challenge.id) is False
    assert env.reports(challenge.call_id) == ["timeout"]


# Expiring.


async def test_expire_due_reports_timeout_for_each_expired_challenge_once(env: Env) -> None:
    verifier = env.verifier(ttl=100, resend_cooldown=0, per_number_limit=None)
    old = [await verifier.start(PHONE) for _ in range(3)]
    env.clock.advance(50)
    young = await verifier.start(PHONE)
    env.clock.advance(50)

    assert await verifier.expire_due() == 3
    assert await verifier.expire_due() == 0

    for challenge in old:
        assert env.reports(challenge.call_id) == ["timeout"]
        result = await verifier.check(challenge.id, code=right_code(env, challenge))
        assert result == CheckResult("expired", False, 0)
    assert env.reports(young.call_id) == []
    assert (await verifier.check(young.id, code=right_code(env, young))).verified
    env.clock.advance(50)
    assert await verifier.expire_due() == 0


async def test_expire_due_leaves_ended_challenges_alone(env: Env) -> None:
    verifier = env.verifier(ttl=100, resend_cooldown=0)
    verified = await verifier.start(PHONE)
    locked = await verifier.start(PHONE)
    canceled = await verifier.start(PHONE)
    await verifier.check(verified.id, code=right_code(env, verified))
    for _ in range(3):
        await verifier.check(locked.id, code=wrong(right_code(env, locked)))
    await verifier.cancel(canceled.id)
    env.clock.advance(101)

    assert await verifier.expire_due() == 0

    assert env.reports(verified.call_id) == ["verified"]
    assert env.reports(locked.call_id) == ["wrong_cli"]
    assert env.reports(canceled.call_id) == ["canceled"]


async def test_many_expired_challenges_are_all_reported(env: Env) -> None:
    # More than one batch of the store's claim_due.
    from bird_flashcalls.verification._flows import DUE_BATCH

    verifier = env.verifier(ttl=10, resend_cooldown=0, per_number_limit=None)
    count = DUE_BATCH + 7
    calls = [(await verifier.start(PHONE)).call_id for _ in range(count)]
    env.clock.advance(10)

    assert await verifier.expire_due() == count

    assert [env.reports(call_id) for call_id in calls] == [["timeout"]] * count


# Nothing lost.


async def test_a_failed_report_still_returns_the_outcome_and_flush_sends_it(env: Env) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)
    env.fake.fail_next(status=503)

    result = await verifier.check(challenge.id, code=right_code(env, challenge))

    assert result == CheckResult("verified", True, 3)
    assert "result" not in env.fake.calls[challenge.call_id]
    state = await verifier.state(challenge.id)
    assert state is not None and (state.status, state.reported) == ("verified", False)
    assert await verifier.flush() == 1
    assert env.reports(challenge.call_id) == ["verified"]
    assert await verifier.flush() == 0
    assert env.reports(challenge.call_id) == ["verified"]


async def test_expire_due_retries_a_failed_report(env: Env) -> None:
    verifier = env.verifier(max_attempts=1)
    challenge = await verifier.start(PHONE)
    env.fake.fail_next(drop_connection=True)

    locked = await verifier.check(challenge.id, received_cli="+3197010269999")

    assert locked == CheckResult("locked", False, 0)
    # The dropped connection reached Bird: the fake handled the request, then hung up.
    assert env.fake.calls[challenge.call_id]["result"] == "wrong_cli"
    assert await verifier.expire_due() == 0
    assert env.reports(challenge.call_id) == ["wrong_cli", "wrong_cli"]
    assert await verifier.flush() == 0


async def test_flush_stops_at_the_first_failure_and_keeps_the_rest(env: Env) -> None:
    verifier = env.verifier(ttl=10, resend_cooldown=0, per_number_limit=None)
    challenges = [await verifier.start(PHONE) for _ in range(4)]
    env.clock.advance(10)
    env.fake.fail_next(status=500, times=100)

    assert await verifier.expire_due() == 4  # decided, though Bird took none of them

    assert sum(len(env.reports(c.call_id)) for c in challenges) == 0
    env.fake.clear_faults()
    assert await verifier.flush() == 4
    assert [env.reports(c.call_id) for c in challenges] == [["timeout"]] * 4


async def test_a_report_bird_refuses_for_good_is_dropped(env: Env) -> None:
    events: list[VerificationEvent] = []
    verifier = env.verifier(on_event=events.append)
    challenge = await verifier.start(PHONE)
    env.fake.fail_next(status=404)

    assert (await verifier.check(challenge.id, code=right_code(env, challenge))).verified

    assert await verifier.flush() == 0
    assert "result" not in env.fake.calls[challenge.call_id]
    assert events[-1] == VerificationEvent("report_dropped", challenge.id, "verified")


async def test_a_report_whose_worker_vanished_is_sent_after_the_lease(env: Env) -> None:
    # A claim that is never settled: as a worker that died right after deciding leaves it.
    verifier = env.verifier(report_lease=30)
    challenge = await verifier.start(PHONE)
    now = env.clock.now
    from bird_flashcalls.verification._flows import GivenAnswer
    from bird_flashcalls.verification._store import Claim

    answer = GivenAnswer(right_code(env, challenge), None)
    claim = Claim("vanished", now + 30)
    if env.kind == "redis" and env.mode == "async":
        operations = env.store.async_operations()
        assert operations is not None
        outcome = await operations.check(challenge.id, answer, now, claim)
    else:
        outcome = env.store.sync_operations().check(challenge.id, answer, now, claim)
    assert outcome.status == "verified"

    assert await verifier.flush() == 0  # the lease still holds
    env.clock.advance(30)
    assert await verifier.flush() == 1
    assert env.reports(challenge.call_id) == ["verified"]


# Rate limits.


async def test_per_number_limit_refuses_before_any_call(env: Env) -> None:
    verifier = env.verifier(per_number_limit=(3, 600), resend_cooldown=0)
    for _ in range(3):
        await verifier.start(PHONE)
        env.clock.advance(100)
    creates = len(env.fake.calls)

    with pytest.raises(VerificationRateLimited) as refused:
        await verifier.start("+31 6 12345678")

    assert isinstance(refused.value, BirdError)
    assert refused.value.limit == "per_number_limit"
    assert refused.value.retry_after == pytest.approx(300)
    assert "try again in 300 s" in str(refused.value)
    assert PHONE not in str(refused.value) and "12345678" not in str(refused.value)
    assert len(env.fake.calls) == creates
    # Another number is not limited; the window slides.
    await verifier.start("+31612345679")
    env.clock.advance(300)
    await verifier.start(PHONE)


async def test_resend_cooldown_spaces_starts_to_one_number(env: Env) -> None:
    verifier = env.verifier(resend_cooldown=30)
    await verifier.start(PHONE)
    env.clock.advance(10)

    with pytest.raises(VerificationRateLimited) as refused:
        await verifier.start(PHONE)

    assert refused.value.limit == "resend_cooldown"
    assert refused.value.retry_after == pytest.approx(20)
    env.clock.advance(20)
    await verifier.start(PHONE)


async def test_per_client_limit_counts_starts_by_client_key(env: Env) -> None:
    verifier = env.verifier(per_client_limit=(2, 3600))
    await verifier.start("+31612345671", client_key="203.0.113.7")
    await verifier.start("+31612345672", client_key="203.0.113.7")

    with pytest.raises(VerificationRateLimited) as refused:
        await verifier.start("+31612345673", client_key="203.0.113.7")

    assert refused.value.limit == "per_client_limit"
    assert refused.value.retry_after == pytest.approx(3600)
    await verifier.start("+31612345673", client_key="198.51.100.1")
    await verifier.start("+31612345674")  # without a key, only the number's limits apply


async def test_a_refused_start_uses_up_no_other_limit(env: Env) -> None:
    verifier = env.verifier(per_number_limit=(1, 600), per_client_limit=(2, 3600))
    await verifier.start(PHONE, client_key="c")

    for _ in range(3):
        with pytest.raises(VerificationRateLimited):
            await verifier.start(PHONE, client_key="c")

    # The client still has its second start: the refusals did not count against it.
    await verifier.start("+31612345679", client_key="c")


async def test_the_longest_wait_is_the_one_given(env: Env) -> None:
    verifier = env.verifier(per_number_limit=(1, 600), resend_cooldown=30)
    await verifier.start(PHONE)

    with pytest.raises(VerificationRateLimited) as refused:
        await verifier.start(PHONE)

    assert (refused.value.limit, refused.value.retry_after) == ("per_number_limit", 600)


async def test_limits_hold_across_verifiers_sharing_a_store(env: Env) -> None:
    first = env.verifier(per_number_limit=(2, 600), resend_cooldown=0)
    second = env.verifier(env.new_store(), per_number_limit=(2, 600), resend_cooldown=0)
    await first.start(PHONE)
    await second.start(PHONE)

    with pytest.raises(VerificationRateLimited):
        await first.start(PHONE)
    with pytest.raises(VerificationRateLimited):
        await second.start(PHONE)


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


# Sharing and reading state.


async def test_a_challenge_started_by_one_worker_is_checked_by_another(env: Env) -> None:
    starter = env.verifier()
    checker = env.verifier(env.new_store())
    challenge = await starter.start(PHONE)

    assert (await checker.check(challenge.id, code=right_code(env, challenge))).verified
    assert (await starter.check(challenge.id, code=right_code(env, challenge))).status == (
        "not_found"
    )


async def test_state_reads_a_challenge_without_changing_it(env: Env) -> None:
    verifier = env.verifier(ttl=100)
    challenge = await verifier.start(PHONE)
    await verifier.check(challenge.id, code=wrong(right_code(env, challenge)))

    pending = await verifier.state(challenge.id)
    assert pending == ChallengeState(challenge, "pending", 2, False)
    assert await verifier.state(challenge.id) == pending
    env.clock.advance(100)
    assert await verifier.state(challenge.id) == ChallengeState(challenge, "expired", 0, False)
    assert env.reports(challenge.call_id) == []
    await verifier.expire_due()
    assert await verifier.state(challenge.id) == ChallengeState(challenge, "expired", 0, True)


async def test_records_are_forgotten_after_they_end(env: Env) -> None:
    verifier = env.verifier(ttl=100, resend_cooldown=0)
    verified = await verifier.start(PHONE)
    locked = await verifier.start(PHONE)
    await verifier.check(verified.id, code=right_code(env, verified))
    for _ in range(3):
        await verifier.check(locked.id, code=wrong(right_code(env, locked)))

    # Verified (and canceled) records go once reported; locked ones answer "locked" until an
    # hour past their expiry.
    assert await verifier.state(verified.id) is None
    assert (await verifier.state(locked.id)).status == "locked"
    env.clock.advance(100 + 3600)
    await verifier.expire_due()
    if env.kind != "redis":  # Redis forgets by its own clock (PEXPIREAT); see the Redis tests
        assert await verifier.state(locked.id) is None


# Hooks.


async def test_events_follow_the_flow_without_secrets(env: Env) -> None:
    events: list[VerificationEvent] = []
    verifier = env.verifier(on_event=events.append, per_number_limit=(1, 60))
    challenge = await verifier.start(PHONE)
    with pytest.raises(VerificationRateLimited):
        await verifier.start(PHONE)
    await verifier.check(challenge.id, code=wrong(right_code(env, challenge)))
    await verifier.check(challenge.id, code=right_code(env, challenge))

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
    challenge = await verifier.start(PHONE)

    with caplog.at_level(logging.ERROR, logger="bird_flashcalls.verification"):
        assert (await verifier.check(challenge.id, code=right_code(env, challenge))).verified

    assert "on_event raised" in caplog.text
    assert env.reports(challenge.call_id) == ["verified"]


async def test_expires_at_follows_the_clock(env: Env) -> None:
    verifier = env.verifier(ttl=300)
    started_at = env.clock.now
    challenge = await verifier.start(PHONE)
    assert challenge.expires_at - datetime.fromtimestamp(started_at, UTC) == timedelta(seconds=300)


async def test_check_results_say_status_verified_and_attempts_left(env: Env) -> None:
    verifier = env.verifier(max_attempts=3)
    for phone in (PHONE, "+31612345679"):
        challenge = await verifier.start(phone)
        code = right_code(env, challenge)

        wrong_answer = await verifier.check(challenge.id, code=wrong(code))
        right_answer = await verifier.check(challenge.id, code=code)

        assert (wrong_answer.status, wrong_answer.verified, wrong_answer.attempts_left) == (
            "wrong",
            False,
            2,
        )
        assert (right_answer.status, right_answer.verified, right_answer.attempts_left) == (
            "verified",
            True,
            2,
        )
