"""A verification session on every store, with Verifier and AsyncVerifier: what each store
keeps and decides, from start to the one report Bird gets."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from uuid import UUID

import pytest
from bird_flashcalls import BirdError
from bird_flashcalls.verification import (
    ChallengeState,
    CheckResult,
    VerificationEvent,
    VerificationRateLimited,
)

from .support import PHONE, WRONG_CLI, Env, end_requests, right_code, wrong

pytestmark = pytest.mark.anyio


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


async def test_the_right_code_verifies_once_and_is_reported_once(env: Env) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)

    result = await verifier.check(challenge.id, code=right_code(env.fake, challenge))

    assert result == CheckResult("verified", True, 3)
    assert env.reports(challenge.call_id) == ["verified"]
    # A challenge grants once: the same right answer again is not found.
    again = await verifier.check(challenge.id, code=right_code(env.fake, challenge))
    assert again == CheckResult("not_found", False, 0)
    assert env.reports(challenge.call_id) == ["verified"]


async def test_wrong_answers_count_down_and_are_not_reported(env: Env) -> None:
    verifier = env.verifier(max_attempts=3)
    challenge = await verifier.start(PHONE)
    code = right_code(env.fake, challenge)

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
    code = right_code(env.fake, challenge)

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
    code = right_code(env.fake, challenge)
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

    assert (await verifier.check(challenge.id, code=right_code(env.fake, challenge))).verified


async def test_unknown_ids_are_not_found(env: Env) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)
    not_found = CheckResult("not_found", False, 0)

    for unknown in ("x" * 32, challenge.id + "x", "", "{a}", "é" * 10, "a" * 500):
        assert await verifier.check(unknown, code="1234") == not_found
        assert await verifier.state(unknown) is None
        assert await verifier.cancel(unknown) is False


async def test_code_digits_sets_the_prefix_and_the_code(env: Env) -> None:
    verifier = env.verifier(code_digits=6)
    challenge = await verifier.start(PHONE)
    seen = env.fake.handset_cli(challenge.call_id)

    assert challenge.cli_prefix == seen[:-6]
    assert (await verifier.check(challenge.id, code=seen[-4:])).status == "wrong"
    assert (await verifier.check(challenge.id, code=seen[-6:])).verified


async def test_cancel_reports_canceled_once_and_ends_the_challenge(env: Env) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)

    assert await verifier.cancel(challenge.id) is True
    assert await verifier.cancel(challenge.id) is False

    assert env.reports(challenge.call_id) == ["canceled"]
    result = await verifier.check(challenge.id, code=right_code(env.fake, challenge))
    assert result == CheckResult("not_found", False, 0)


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
        result = await verifier.check(challenge.id, code=right_code(env.fake, challenge))
        assert result == CheckResult("expired", False, 0)
    assert env.reports(young.call_id) == []
    assert (await verifier.check(young.id, code=right_code(env.fake, young))).verified
    env.clock.advance(50)
    assert await verifier.expire_due() == 0


async def test_expire_due_leaves_ended_challenges_alone(env: Env) -> None:
    verifier = env.verifier(ttl=100, resend_cooldown=0)
    verified = await verifier.start(PHONE)
    locked = await verifier.start(PHONE)
    canceled = await verifier.start(PHONE)
    await verifier.check(verified.id, code=right_code(env.fake, verified))
    for _ in range(3):
        await verifier.check(locked.id, code=wrong(right_code(env.fake, locked)))
    await verifier.cancel(canceled.id)
    env.clock.advance(101)

    assert await verifier.expire_due() == 0

    assert env.reports(verified.call_id) == ["verified"]
    assert env.reports(locked.call_id) == ["wrong_cli"]
    assert env.reports(canceled.call_id) == ["canceled"]


async def test_a_failed_report_still_returns_the_outcome_and_flush_sends_it(env: Env) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)
    env.fake.fail_next(status=503)

    result = await verifier.check(challenge.id, code=right_code(env.fake, challenge))

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

    assert (await verifier.check(challenge.id, code=right_code(env.fake, challenge))).verified

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

    answer = GivenAnswer(right_code(env.fake, challenge), None)
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


async def test_a_challenge_started_by_one_worker_is_checked_by_another(env: Env) -> None:
    starter = env.verifier()
    checker = env.verifier(env.new_store())
    challenge = await starter.start(PHONE)

    assert (await checker.check(challenge.id, code=right_code(env.fake, challenge))).verified
    assert (await starter.check(challenge.id, code=right_code(env.fake, challenge))).status == (
        "not_found"
    )


async def test_state_reads_a_challenge_without_changing_it(env: Env) -> None:
    verifier = env.verifier(ttl=100)
    challenge = await verifier.start(PHONE)
    await verifier.check(challenge.id, code=wrong(right_code(env.fake, challenge)))

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
    await verifier.check(verified.id, code=right_code(env.fake, verified))
    for _ in range(3):
        await verifier.check(locked.id, code=wrong(right_code(env.fake, locked)))

    # Verified (and canceled) records go once reported; locked ones answer "locked" until an
    # hour past their expiry.
    assert await verifier.state(verified.id) is None
    assert (await verifier.state(locked.id)).status == "locked"
    env.clock.advance(100 + 3600)
    await verifier.expire_due()
    if env.kind != "redis":  # Redis forgets by its own clock (PEXPIREAT); see the Redis tests
        assert await verifier.state(locked.id) is None


async def test_a_late_report_carries_the_number_the_phone_saw(env: Env) -> None:
    verifier = env.verifier()
    challenge = await verifier.start(PHONE)
    seen = env.fake.handset_cli(challenge.call_id)
    env.fake.fail_next(status=503)

    assert (await verifier.check(challenge.id, received_cli=seen)).verified
    assert await verifier.flush() == 1

    assert end_requests(env.fake, challenge.call_id) == [
        {"result": "verified", "receivedCli": seen}
    ]


async def test_a_late_wrong_cli_report_carries_the_wrong_number(env: Env) -> None:
    verifier = env.verifier(max_attempts=1)
    challenge = await verifier.start(PHONE)
    env.fake.fail_next(status=503)

    assert (await verifier.check(challenge.id, received_cli=WRONG_CLI)).status == "locked"
    assert await verifier.expire_due() == 0

    assert end_requests(env.fake, challenge.call_id) == [
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
    assert env.reports(verified.call_id) == ["verified"]


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
