"""A session on every store, sync and async: what each store keeps and applies, up to the report."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from uuid import UUID

import pytest
from bird_flashcalls import BirdError, InvalidRequestError
from bird_flashcalls.verification import (
    ChallengeState,
    CheckResult,
    VerificationEvent,
    VerificationRateLimited,
)
from pytest import approx

from .support import (
    OTHER_PHONE,
    PHONE,
    REDIS_KINDS,
    WRONG_CLI,
    Env,
    end_requests,
    right_code,
    wrong,
)

pytestmark = pytest.mark.anyio
NOT_FOUND = CheckResult("not_found", False, 0)
LOCKED = CheckResult("locked", False, 0)
EXPIRED = CheckResult("expired", False, 0)


async def test_start_rings_the_phone_and_the_right_answer_verifies_once(env: Env) -> None:
    verifier = env.verifier(ttl=120, code_digits=6)
    challenge = await verifier.start("+31 6 1234 5678", client_key="203.0.113.7")

    call = env.fake.calls[challenge.call_id]
    assert (call["to"], challenge.phone, challenge.code_digits) == (PHONE, PHONE, 6)
    assert challenge.cli_prefix == call["from"][:-6]
    assert challenge.expires_at == datetime.fromtimestamp(env.clock.now + 120, UTC)
    assert isinstance(challenge.call_id, UUID)
    # At least 128 random bits, URL-safe.
    assert len(challenge.id) >= 22
    assert challenge.id.replace("-", "").replace("_", "").isalnum()
    assert env.reports(challenge.call_id) == []
    seen = env.fake.handset_cli(challenge.call_id)
    with pytest.raises(InvalidRequestError) as refused:
        await verifier.check(challenge.id, code=seen[-4:])  # uses no attempt
    assert (str(refused.value), refused.value.field) == (
        "code has 4 digits; this challenge's code has 6",
        "code",
    )
    assert await verifier.check(challenge.id, code=seen[-6:]) == CheckResult(
        "verified", True, 3, PHONE
    )
    assert env.reports(challenge.call_id) == ["verified"]
    assert await verifier.check(challenge.id, code=seen[-6:]) == NOT_FOUND
    assert env.reports(challenge.call_id) == ["verified"]
    for unknown in ("x" * 32, challenge.id + "x", "{a}"):
        assert await verifier.check(unknown, code="1234") == NOT_FOUND
        assert await verifier.state(unknown) is None
        assert await verifier.cancel(unknown) is False


async def test_wrong_answers_count_down_the_last_locks_and_state_reads_without_changing(
    env: Env,
) -> None:
    verifier = env.verifier(ttl=100, max_attempts=2, resend_cooldown=0)
    saved, locked, waiting = [await verifier.start(PHONE, client_key=None) for _ in range(3)]
    code = right_code(env.fake, locked)

    assert await verifier.check(saved.id, received_cli=WRONG_CLI) == CheckResult("wrong", False, 1)
    pending = await verifier.state(saved.id)
    assert pending == ChallengeState(saved, "pending", 1, False)
    assert await verifier.state(saved.id) == pending
    assert (await verifier.check(saved.id, code=right_code(env.fake, saved))).attempts_left == 1
    assert await verifier.check(locked.id, code=wrong(code)) == CheckResult("wrong", False, 1)
    assert await verifier.check(locked.id, received_cli=WRONG_CLI) == LOCKED
    for _ in range(2):  # the right answer included
        assert await verifier.check(locked.id, code=code) == LOCKED

    assert env.reports(saved.call_id) == ["verified"]
    assert end_requests(env.fake, locked.call_id) == [
        {"result": "wrong_cli", "receivedCli": WRONG_CLI}
    ]
    # Verified (and canceled) records go once reported; locked ones answer "locked" until an
    # hour past their expiry.
    assert await verifier.state(saved.id) is None
    assert (await verifier.state(locked.id)).status == "locked"
    env.clock.advance(100)
    assert await verifier.state(waiting.id) == ChallengeState(waiting, "expired", 0, False)
    assert env.reports(waiting.call_id) == []
    env.clock.advance(3600)
    await verifier.expire_due()
    if env.kind not in REDIS_KINDS:  # Redis forgets by its own clock (PEXPIREAT): test_safety.py
        assert await verifier.state(locked.id) is None


async def test_an_answer_counts_until_the_expiry_and_then_the_timeout_is_reported_once(
    env: Env,
) -> None:
    verifier = env.verifier(ttl=60, resend_cooldown=0)
    started_at = env.clock.now
    in_time, late = [await verifier.start(PHONE, client_key=None) for _ in range(2)]
    env.clock.advance(59.999)
    assert (await verifier.check(in_time.id, code=right_code(env.fake, in_time))).verified
    env.clock.now = started_at + 60

    assert await verifier.check(late.id, code=right_code(env.fake, late)) == EXPIRED
    assert await verifier.expire_due() == 0
    assert await verifier.check(late.id, code=right_code(env.fake, late)) == EXPIRED

    assert env.reports(late.call_id) == ["timeout"]
    assert await verifier.state(late.id) == ChallengeState(late, "expired", 0, True)


async def test_cancel_ends_a_pending_challenge_only_and_expire_due_each_expired_one_once(
    env: Env,
) -> None:
    events: list[VerificationEvent] = []
    verifier = env.verifier(
        ttl=100, max_attempts=1, resend_cooldown=0, per_number_limit=None, on_event=events.append
    )
    challenges = [await verifier.start(PHONE, client_key=None) for _ in range(7)]
    canceled, verified, locked, expiring, *old = challenges
    assert (await verifier.check(verified.id, code=right_code(env.fake, verified))).verified
    assert await verifier.check(locked.id, received_cli=WRONG_CLI) == LOCKED

    assert await verifier.cancel(canceled.id) is True
    for ended in (canceled, verified, locked):
        assert await verifier.cancel(ended.id) is False
    env.clock.advance(50)
    young = await verifier.start(PHONE, client_key=None)
    env.clock.advance(50)
    assert await verifier.cancel(expiring.id) is False  # at the moment of expiry: a timeout
    assert await verifier.cancel(expiring.id) is False
    assert await verifier.expire_due() == 3
    assert await verifier.expire_due() == 0

    assert await verifier.check(canceled.id, code=right_code(env.fake, canceled)) == NOT_FOUND
    assert await verifier.state(expiring.id) == ChallengeState(expiring, "expired", 0, True)
    assert [await verifier.check(c.id, code=right_code(env.fake, c)) for c in old] == [EXPIRED] * 3
    ended = [["canceled"], ["verified"], ["wrong_cli"], ["timeout"], *[["timeout"]] * 3, []]
    assert env.reported([*challenges, young]) == ended
    assert (await verifier.check(young.id, code=right_code(env.fake, young))).verified
    assert [e for e in events if e.kind == "canceled"] == [
        VerificationEvent("canceled", canceled.id, None)
    ]


async def test_a_report_bird_did_not_take_waits_for_flush_one_it_refuses_is_dropped(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[VerificationEvent] = []
    verifier = env.verifier(max_attempts=1, resend_cooldown=0, on_event=events.append)
    kept, verified, locked = [await verifier.start(PHONE, client_key=None) for _ in range(3)]
    seen = env.fake.handset_cli(kept.call_id)
    env.fake.fail_next(status=503, times=2)
    assert await verifier.check(kept.id, received_cli=seen) == CheckResult(
        "verified", True, 1, PHONE
    )
    state = await verifier.state(kept.id)
    assert state is not None and (state.status, state.reported) == ("verified", False)
    assert await verifier.flush() == 0  # Bird is still down
    assert await verifier.check(kept.id, received_cli=seen) == NOT_FOUND  # granted once
    env.fake.fail_next(status=422)
    assert (await verifier.check(verified.id, code=right_code(env.fake, verified))).verified
    env.fake.fail_next(status=404)

    with caplog.at_level(logging.WARNING, logger="bird_flashcalls.verification"):
        assert await verifier.check(locked.id, received_cli=WRONG_CLI) == LOCKED

    assert not [r for r in caplog.records if "store operation" in r.getMessage()]
    assert events[-1] == VerificationEvent("report_dropped", locked.id, "wrong_cli")
    # Verified and reported (or dropped): forgotten. Locked: still says so.
    assert await verifier.state(verified.id) is None
    assert await verifier.check(verified.id, received_cli=PHONE) == NOT_FOUND
    assert (await verifier.state(locked.id)).status == "locked"
    assert await verifier.check(locked.id, received_cli=PHONE) == LOCKED
    env.clock.advance(121)  # RedisStore may hold a report until the check's lease ends
    assert await verifier.flush() == 1
    assert await verifier.flush() == 0
    assert end_requests(env.fake, kept.call_id) == [{"result": "verified", "receivedCli": seen}]
    assert env.reports(verified.call_id) == env.reports(locked.call_id) == []


async def test_per_number_limit_refuses_before_any_call_in_a_sliding_window(env: Env) -> None:
    verifier = env.verifier(per_number_limit=(3, 600), resend_cooldown=0)
    for _ in range(3):
        await verifier.start(PHONE, client_key=None)
        env.clock.advance(100)
    creates = len(env.fake.calls)

    with pytest.raises(VerificationRateLimited) as refused:
        await verifier.start("+31 6 12345678", client_key=None)

    assert isinstance(refused.value, BirdError)
    assert (refused.value.limit, refused.value.retry_after) == ("per_number_limit", approx(300))
    assert "calls to this phone number (per_number_limit): try again in 300 s" in str(refused.value)
    assert PHONE not in str(refused.value) and "12345678" not in str(refused.value)
    assert len(env.fake.calls) == creates
    await verifier.start(OTHER_PHONE, client_key=None)  # another number is not limited
    env.clock.advance(299.5)
    with pytest.raises(VerificationRateLimited) as refused:
        await verifier.start(PHONE, client_key=None)
    assert refused.value.retry_after == pytest.approx(0.5)
    assert str(refused.value).endswith("(per_number_limit): try again in 1 s")  # never "0 s"
    env.clock.advance(0.5)  # exactly one window after the first start
    await verifier.start(PHONE, client_key=None)


async def test_the_resend_cooldown_spaces_starts_and_the_longest_wait_is_given(env: Env) -> None:
    verifier = env.verifier(resend_cooldown=30, per_number_limit=(2, 600))
    await verifier.start(PHONE, client_key=None)
    env.clock.advance(10)
    with pytest.raises(VerificationRateLimited) as refused:
        await verifier.start(PHONE, client_key=None)
    assert (refused.value.limit, refused.value.retry_after) == ("resend_cooldown", approx(20))
    assert str(refused.value).endswith("started moments ago (resend_cooldown): try again in 20 s")
    env.clock.advance(20)
    await verifier.start(PHONE, client_key=None)

    with pytest.raises(VerificationRateLimited) as refused:
        await verifier.start(PHONE, client_key=None)

    assert (refused.value.limit, refused.value.retry_after) == ("per_number_limit", approx(570))


async def test_per_client_limit_counts_by_client_key_and_refusals_use_up_no_limit(env: Env) -> None:
    verifier = env.verifier(per_number_limit=(1, 600), per_client_limit=(2, 3600))
    await verifier.start(PHONE, client_key="203.0.113.7")
    for key in ("203.0.113.7", "203.0.113.7", "10.0.0.2"):
        with pytest.raises(VerificationRateLimited):  # by the number's limit: no other counts
            await verifier.start(PHONE, client_key=key)
    await verifier.start("+31612345672", client_key="203.0.113.7")

    with pytest.raises(VerificationRateLimited) as refused:
        await verifier.start("+31612345673", client_key="203.0.113.7")

    assert (refused.value.limit, refused.value.retry_after) == ("per_client_limit", approx(3600))
    assert str(refused.value).endswith("by this client (per_client_limit): try again in 3600 s")
    await verifier.start("+31612345673", client_key="198.51.100.1")
    # Without a key, only the number's limits apply.
    await verifier.start("+31612345674", client_key=None)
    env.clock.advance(3600)
    assert await verifier.expire_due() == 4  # refusals left nothing that stops expire_due()
    await verifier.start(PHONE, client_key="10.0.0.2")


async def test_workers_sharing_a_store_share_its_limits_and_challenges(env: Env) -> None:
    first = env.verifier(per_number_limit=(2, 600), resend_cooldown=0)
    second = env.verifier(env.new_store(), per_number_limit=(2, 600), resend_cooldown=0)
    challenge = await first.start(PHONE, client_key=None)
    await second.start(PHONE, client_key=None)

    for verifier in (first, second):
        with pytest.raises(VerificationRateLimited):
            await verifier.start(PHONE, client_key=None)
    assert (await second.check(challenge.id, code=right_code(env.fake, challenge))).verified
    assert await first.check(challenge.id, code=right_code(env.fake, challenge)) == NOT_FOUND
