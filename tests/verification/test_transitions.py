"""The pure state changes, rate-limit arithmetic, report verdicts, claim tokens, record codec."""

from __future__ import annotations

import os

import httpx
import pytest
from bird_flashcalls import errors
from bird_flashcalls.verification import _steps, _transitions
from bird_flashcalls.verification._settings import VerifierSettings
from bird_flashcalls.verification._store import (
    Claim,
    Quota,
    Report,
    record_from_row,
    record_from_text,
    record_to_row,
    record_to_text,
)

from .support import NOW, PHONE, record

CLAIM = Claim("worker", NOW + 60)


@pytest.mark.parametrize(
    ("state", "matched", "after", "status", "left", "result"),
    [
        ("pending", True, 0, "verified", 3, "verified"),
        ("pending", False, 0, "wrong", 2, None),
        ("pending", True, 299.999, "verified", 3, "verified"),
        ("pending", True, 300, "expired", 0, "timeout"),  # expires_at itself is too late
        ("verified", True, 0, "not_found", 0, None),  # a challenge grants once
        ("canceled", True, 0, "not_found", 0, None),
        ("locked", True, 0, "locked", 0, None),
        ("expired", True, 0, "expired", 0, None),
    ],
)
def test_what_one_answer_decides(state, matched, after, status, left, result) -> None:
    # Seconds after NOW in the parameters: their test ids are the same in every process.
    at = NOW + after
    checked = record("a", state=state)

    outcome = _transitions.on_check(checked, matched, "+3197010260002", at, CLAIM)

    assert (outcome.status, outcome.attempts_left) == (status, left)
    assert (outcome.report and outcome.report.result) == result
    if result is not None:
        assert checked.state == status and checked.report == result
        assert (checked.claim, checked.lease_until) == ("worker", NOW + 60)
        assert checked.due_at == NOW + 60
        assert checked.purge_at == max(NOW + 300, at) + _transitions.UNREPORTED_KEPT_FOR


def test_the_last_wrong_answer_locks_and_reports_the_number_given() -> None:
    checked = record("a", attempts=2)

    outcome = _transitions.on_check(checked, False, "+3197010269999", NOW, CLAIM)

    assert (outcome.status, outcome.attempts_left, checked.attempts) == ("locked", 0, 3)
    assert outcome.report == Report(
        "a", checked.call_id, "wrong_cli", "+3197010269999", "worker", False
    )


@pytest.mark.parametrize(
    ("state", "after", "canceled", "result"),
    [
        ("pending", 0, True, "canceled"),
        ("pending", 300, False, "timeout"),
        ("verified", 0, False, None),
        ("locked", 0, False, None),
    ],
)
def test_what_a_cancel_decides(state, after, canceled, result) -> None:
    at = NOW + after
    outcome = _transitions.on_cancel(record("a", state=state), at, CLAIM)

    assert outcome.canceled is canceled
    assert (outcome.report and outcome.report.result) == result
    assert (outcome.report and outcome.report.newly_expired) == (result and result == "timeout")


@pytest.mark.parametrize(
    ("fields", "report", "state", "due_after"),
    [
        ({"expires_at": NOW}, "timeout", "expired", 60),  # claimed: due again at its lease's end
        ({"expires_at": NOW + 100}, None, "pending", 100),  # looked at early: again at its expiry
        ({"state": "verified"}, None, "verified", None),  # ended with nothing to report: never
    ],
)
def test_what_the_due_sweep_decides(fields, report, state, due_after) -> None:
    due = record("a", due_at=NOW - 5, **fields)

    reported = _transitions.on_due(due, NOW, CLAIM)

    assert reported == (report and Report("a", due.call_id, report, None, "worker", True))
    assert (due.state, due.due_at, due.claim) == (
        state,
        due_after and NOW + due_after,
        report and "worker",
    )


def test_a_report_another_worker_is_sending_is_left_to_it_until_its_lease_ends() -> None:
    held = record(
        "a",
        state="locked",
        report="wrong_cli",
        report_cli="+3197010269999",
        claim="other",
        lease_until=NOW + 30,
        due_at=NOW - 1,
    )

    assert _transitions.on_due(held, NOW, Claim("worker", NOW + 60)) is None
    assert (held.claim, held.due_at) == ("other", NOW + 30)

    report = _transitions.on_due(held, NOW + 30, Claim("worker", NOW + 90))

    assert report == Report("a", held.call_id, "wrong_cli", "+3197010269999", "worker", False)
    assert (held.claim, held.lease_until, held.due_at) == ("worker", NOW + 90, NOW + 90)


def test_a_failed_report_is_released_by_its_own_claim_only_and_a_refused_one_settled() -> None:
    held = record("a", state="verified", report="verified", claim="mine", lease_until=NOW + 30)

    for give_up in (False, True):
        assert _transitions.on_report_failed(held, "other", NOW, give_up) is False
    assert (held.report, held.claim, held.lease_until) == ("verified", "mine", NOW + 30)
    assert _transitions.on_report_failed(held, "mine", NOW, give_up=False) is False
    assert (held.report, held.claim, held.lease_until, held.due_at) == ("verified", None, NOW, NOW)
    assert _transitions.on_report_failed(held, "mine", NOW, give_up=False) is False  # released
    assert _transitions.on_report_failed(record("b", claim="mine"), "mine", NOW, True) is False
    # Refused for good: settled as if done.
    dropped = record("c", state="verified", report="verified", claim="mine")
    assert _transitions.on_report_failed(dropped, "mine", NOW, give_up=True) is True


@pytest.mark.parametrize("state", ["verified", "canceled"])
def test_a_reported_verified_or_canceled_challenge_is_forgotten_at_once(state) -> None:
    assert _transitions.on_report_done(record("a", state=state, report=state), NOW) is True
    assert _transitions.on_report_done(record("a", state=state), NOW) is False  # nothing sent


@pytest.mark.parametrize("state", ["locked", "expired"])
def test_a_reported_locked_or_expired_challenge_is_kept_for_an_hour_past_its_expiry(state) -> None:
    ended = record("a", state=state, report="timeout", claim="mine", expires_at=NOW)

    assert _transitions.on_report_done(ended, NOW) is False
    assert (ended.report, ended.claim, ended.due_at) == (None, None, None)
    assert ended.purge_at == NOW + _transitions.ENDED_KEPT_FOR
    old = record("b", state=state, report="timeout", expires_at=NOW - _transitions.ENDED_KEPT_FOR)
    assert _transitions.on_report_done(old, NOW) is True


def test_each_limit_that_is_on_is_a_quota_under_a_keyed_hash() -> None:
    salt = b"s" * 32
    number, client = (_transitions.limit_key(v, salt) for v in (PHONE, "10.0.0.1"))

    assert _transitions.quotas_for(VerifierSettings(), PHONE, "10.0.0.1", salt, True) == [
        Quota("resend_cooldown", "resend:" + number, 1, 30.0),
        Quota("per_number_limit", "number:" + number, 3, 600.0),
        Quota("per_number_limit", "number1:" + number, 10, 86400.0),
        Quota("per_client_limit", "client:" + client, 20, 3600.0),
        Quota("new_destination_limit", "destinations:new", 30, 60.0),
    ]
    assert [q.key[:7] for q in _transitions.quotas_for(VerifierSettings(), PHONE, None, salt)] == [
        "resend:",
        "number:",
        "number1",
    ]
    off = VerifierSettings(
        resend_cooldown=0, per_number_limit=None, per_client_limit=None, new_destination_limit=None
    )
    assert _transitions.quotas_for(off, PHONE, "10.0.0.1", salt, True) == []
    # 128 bits, keyed: another store's salt gives another key; the number is not in it.
    assert len(number) == 32 and PHONE[1:] not in number
    assert number == _transitions.limit_key(PHONE, salt)
    assert number != _transitions.limit_key(PHONE, b"t" * 32)


def test_a_start_is_counted_for_the_window_that_follows_it_only() -> None:
    quota = Quota("per_number_limit", "number:x", 2, 60.0)

    assert _transitions.quota_wait([NOW - 60, NOW - 10], quota, NOW) is None  # 60 s ago: out
    assert _transitions.quota_wait([NOW - 59, NOW - 10], quota, NOW) == pytest.approx(1.0)


def test_the_longest_wait_among_refusing_quotas_is_given() -> None:
    quotas = [
        Quota("resend_cooldown", "resend:x", 1, 30.0),
        Quota("per_number_limit", "number:x", 1, 600.0),
        Quota("per_client_limit", "client:y", 5, 3600.0),
    ]
    times = [[NOW - 20], [NOW - 20], [NOW - 20]]

    refusal = _transitions.quota_refusal(quotas, times, NOW)
    tied = _transitions.quota_refusal(quotas[:2], [[NOW - 20], [NOW - 590]], NOW)

    assert refusal is not None
    assert (refusal.name, refusal.retry_after) == ("per_number_limit", pytest.approx(580.0))
    assert _transitions.quota_refusal(quotas[2:], times[2:], NOW) is None
    assert tied is not None and tied.name == "resend_cooldown"  # the first of equal waits


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_worker_makes_claim_tokens_of_its_own() -> None:
    parent = _steps.new_token()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its first token, then leave without cleanup
        try:
            os.write(write, _steps.new_token().encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    os.waitpid(pid, 0)

    # Same counter, another random prefix: two workers never hold the same claim.
    assert child and child.rsplit("-", 1)[0] != parent.rsplit("-", 1)[0]


REQUEST = httpx.Request("POST", "https://api.bird.test")


def odd_body(status: int | None) -> errors.BirdError:
    response = None if status is None else httpx.Response(status, request=REQUEST)
    return errors.APIResponseValidationError("odd", response=response, body=b"", request_id=None)


def refused(status: int) -> errors.BirdError:
    response = httpx.Response(status, request=REQUEST)
    return errors.APIStatusError(
        "no", response=response, code=None, message=None, details={}, request_id=None
    )


def unanswered(delivered: bool) -> errors.BirdError:
    return errors.APIConnectionError("down", request=REQUEST, may_have_been_delivered=delivered)


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (None, "done"),
        (odd_body(200), "done"),  # Bird took it; only its answer was odd
        (odd_body(299), "done"),
        (odd_body(300), "retry"),
        (odd_body(199), "retry"),
        (odd_body(None), "retry"),
        (refused(500), "retry"),
        (refused(408), "retry"),
        (refused(429), "retry"),
        (refused(409), "drop"),  # already ended: it never will take it
        (refused(430), "drop"),
        (refused(407), "drop"),
        (refused(499), "drop"),
        (unanswered(delivered=False), "retry"),  # another worker can
        (unanswered(delivered=True), "after_lease"),  # Bird may have it
        (errors.ClientClosedError("closed"), "retry"),
        (errors.InvalidRequestError("bad", field="x"), "drop"),
        (errors.ConfigurationError("bad"), "drop"),
    ],
)
def test_what_becomes_of_a_report_after_each_answer(error, verdict) -> None:
    assert _transitions.report_verdict(error) == verdict


def test_claim_tokens_and_challenge_ids_are_unique_and_a_given_token_is_kept() -> None:
    settings = VerifierSettings(report_lease=30)

    tokens = {_steps.claim_for(settings, NOW).token for _ in range(100)}
    given = _steps.claim_for(settings, NOW, "this-run")
    before = _steps.new_token()
    _steps._new_token_prefix()  # what os.register_at_fork runs in a child

    assert len(tokens) == 100 and all(tokens)
    assert (given.token, given.until) == ("this-run", NOW + 30)
    assert _steps.new_token().rsplit("-", 1)[0] != before.rsplit("-", 1)[0]
    assert len({_steps.new_challenge_id() for _ in range(100)}) == 100


def test_the_record_codec_reads_back_what_it_wrote() -> None:
    full = record(
        "a",
        state="locked",
        report="wrong_cli",
        report_cli="+3197010269999",
        claim="worker",
        lease_until=NOW + 60.5,
        attempts=3,
    )
    empty = record("b", due_at=None)

    for written in (full, empty):
        assert record_from_row(record_to_row(written)) == written
        assert record_from_text(record_to_text(written)) == written
    assert record_to_text(empty)["report"] == "" and record_to_text(empty)["due_at"] == ""
