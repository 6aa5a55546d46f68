"""The state changes of a verification session: pure functions, no I/O.

MemoryStore and SQLiteStore run them under their lock or transaction; RedisStore's Lua scripts
(``stores/lua``) mirror them line by line. Each one changes only the record it is given.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal
from uuid import UUID

import attrs

from ..errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    BirdError,
    ConfigurationError,
    InvalidRequestError,
)
from ._models import ChallengeStatus
from ._store import (
    CancelOutcome,
    CheckOutcome,
    Claim,
    Quota,
    Record,
    Refusal,
    Report,
    ReportResult,
)

if TYPE_CHECKING:  # _settings reads limit_key through _callers
    from ._settings import VerifierSettings

# A challenge whose report Bird has not accepted is kept this long past its expiry, waiting for
# expire_due() or flush(); after that the store forgets it unreported.
UNREPORTED_KEPT_FOR = 86400.0
# Locked and expired challenges answer so for this long after their expiry, then not_found.
ENDED_KEPT_FOR = 3600.0

# What to do with a report after sending it: Bird has it, try again at the next flush, try
# again once the claim's lease has run out (Bird may have it: its answer was lost), or never.
Verdict = Literal["done", "retry", "after_lease", "drop"]


def new_record(
    settings: VerifierSettings,
    challenge_id: str,
    call_id: UUID,
    phone: str,
    expected_cli: str,
    now: float,
) -> Record:
    expires_at = now + settings.ttl
    return Record(
        id=challenge_id,
        call_id=str(call_id),
        phone=phone,
        expected_cli=expected_cli,
        code_digits=settings.code_digits,
        max_attempts=settings.max_attempts,
        expires_at=expires_at,
        due_at=expires_at,
        purge_at=expires_at + UNREPORTED_KEPT_FOR,
    )


def ringing_record(
    settings: VerifierSettings, challenge_id: str, phone: str, caller: str | None, now: float
) -> Record:
    """The record a start keeps while Bird places its call (no call id yet): if its worker dies
    before completing it, ``expire_due()`` finds it once ``report_lease`` has run out, and with
    the caller number it asked for (``caller_numbers``) can end that call by its numbers."""
    deadline = now + settings.report_lease
    return Record(
        id=challenge_id,
        call_id="",
        phone=phone,
        expected_cli=caller or "",
        code_digits=settings.code_digits,
        max_attempts=settings.max_attempts,
        expires_at=deadline,
        due_at=deadline,
        purge_at=deadline + UNREPORTED_KEPT_FOR,
    )


def abandoned_record(ringing: Record, now: float) -> Record:
    """What replaces a ringing record when Bird surely placed no call: nothing to report, and
    forgotten at once."""
    return attrs.evolve(ringing, state="canceled", due_at=None, purge_at=now)


def is_ringing(record: Record) -> bool:
    return not record.call_id


def end_challenge(
    record: Record,
    state: ChallengeStatus,
    result: ReportResult,
    received_cli: str | None,
    now: float,
    claim: Claim,
    newly_expired: bool = False,
) -> Report:
    """End the challenge in ``state``, with its report to Bird claimed by ``claim``."""
    record.state = state
    record.report = result
    record.report_cli = received_cli
    record.claim = claim.token
    record.lease_until = claim.until
    record.due_at = claim.until
    record.purge_at = max(record.expires_at, now) + UNREPORTED_KEPT_FOR
    return Report(record.id, record.call_id, result, received_cli, claim.token, newly_expired)


def on_check(
    record: Record, matched: bool, received_cli: str | None, now: float, claim: Claim
) -> CheckOutcome:
    """One answer: grant once, count wrong answers up to max_attempts, expire at expires_at."""
    state = record.state
    if is_ringing(record):
        return CheckOutcome("not_found", 0)  # start() has not returned its id yet
    if state in ("verified", "canceled"):
        return CheckOutcome("not_found", 0)
    if state == "locked":
        return CheckOutcome("locked", 0)
    if state == "expired":
        return CheckOutcome("expired", 0)
    if now >= record.expires_at:
        report = end_challenge(record, "expired", "timeout", None, now, claim, newly_expired=True)
        return CheckOutcome("expired", 0, report)
    if matched:
        report = end_challenge(record, "verified", "verified", received_cli, now, claim)
        return CheckOutcome("verified", record.max_attempts - record.attempts, report, record.phone)
    record.attempts += 1
    left = record.max_attempts - record.attempts
    if left > 0:
        return CheckOutcome("wrong", left)
    report = end_challenge(record, "locked", "wrong_cli", received_cli, now, claim)
    return CheckOutcome("locked", 0, report)


def on_cancel(record: Record, now: float, claim: Claim) -> CancelOutcome:
    """Cancel a pending challenge. One already past its expiry is reported as a timeout."""
    if record.state != "pending" or is_ringing(record):
        return CancelOutcome(False)
    if now >= record.expires_at:
        report = end_challenge(record, "expired", "timeout", None, now, claim, True)
        return CancelOutcome(False, report)
    return CancelOutcome(True, end_challenge(record, "canceled", "canceled", None, now, claim))


def on_due(record: Record, now: float, claim: Claim) -> Report | None:
    """What expire_due() does with a record whose due_at has come: end it as a timeout, claim
    its waiting report, or set when to look again (due_at None: never)."""
    if record.state == "pending":
        if now >= record.expires_at and is_ringing(record):
            # Its worker died while Bird placed the call: claimed as an orphan (no call id).
            return end_challenge(record, "canceled", "canceled", None, now, claim)
        if now >= record.expires_at:
            return end_challenge(record, "expired", "timeout", None, now, claim, True)
        record.due_at = record.expires_at
        return None
    if record.report is None:
        record.due_at = None
        return None
    if record.claim is not None and record.lease_until > now:
        record.due_at = record.lease_until  # another worker is sending it
        return None
    record.claim = claim.token
    record.lease_until = claim.until
    record.due_at = claim.until
    return Report(record.id, record.call_id, record.report, record.report_cli, claim.token, False)


def on_complete(stored: Record) -> bool:
    """Whether a start may replace the ``stored`` record by its completed one (its call placed,
    or surely not): only while it is still ringing, not once taken for an orphan."""
    return stored.state == "pending" and is_ringing(stored)


def on_report_done(record: Record, now: float) -> bool:
    """Bird accepted the report. True: the store can forget the record now."""
    if record.report is None:
        return False
    record.report = None
    record.report_cli = None
    record.claim = None
    record.due_at = None
    if record.state in ("verified", "canceled"):
        return True  # any later check answers not_found, with or without the record
    record.purge_at = record.expires_at + ENDED_KEPT_FOR
    return record.purge_at <= now


def on_report_failed(record: Record, token: str, now: float, give_up: bool) -> bool:
    """Sending failed. Release the claim so that the next flush() sends it at once, or drop the
    report when retrying cannot help. True: the store can forget the record now."""
    if record.report is None or record.claim != token:
        return False  # delivered meanwhile, or taken over by another worker
    if give_up:
        return on_report_done(record, now)
    record.claim = None
    record.lease_until = now
    record.due_at = now
    return False


def report_verdict(error: BirdError | None) -> Verdict:
    """What sending a report to Bird came to, given the error it failed with (or None)."""
    if error is None:
        return "done"
    if isinstance(error, APIResponseValidationError):
        # Bird answered 2xx with a body we did not expect: the result was recorded.
        status_code = error.status_code
        return "done" if status_code is not None and 200 <= status_code < 300 else "retry"
    if isinstance(error, APIStatusError):
        status = error.status_code
        return "retry" if status >= 500 or status in (408, 429) else "drop"
    if isinstance(error, InvalidRequestError | ConfigurationError):
        return "drop"
    if isinstance(error, APIConnectionError) and error.may_have_been_delivered:
        # Sent, answer lost: Bird has most likely taken it. Resending at once (or at every
        # flush while Bird is slow) would tell it again each time; once per lease at most.
        return "after_lease"
    return "retry"  # no answer (connection, timeout) or a closed client: another worker can


# Rate limits.


def limit_key(value: str, salt: bytes) -> str:
    """A keyed hash of a phone number or client key: rate-limit keys never hold either."""
    return hashlib.blake2b(value.encode(), key=salt, digest_size=16).hexdigest()


def quotas_for(
    settings: VerifierSettings,
    phone: str,
    client_key: str | None,
    salt: bytes,
    new_destination: bool = False,
) -> list[Quota]:
    """The quotas one start counts under, by the settings that are on; ``new_destination``:
    no challenge to the number's country has been verified lately."""
    number = limit_key(phone, salt)
    quotas = []
    if settings.resend_cooldown:
        quotas.append(Quota("resend_cooldown", "resend:" + number, 1, settings.resend_cooldown))
    for index, (count, window) in enumerate(settings.per_number_limit):
        # The first keeps the key a single limit always had.
        prefix = f"number{index}:" if index else "number:"
        quotas.append(Quota("per_number_limit", prefix + number, count, window))
    if settings.per_client_limit is not None and client_key is not None:
        count, window = settings.per_client_limit
        client = limit_key(client_key, salt)
        quotas.append(Quota("per_client_limit", "client:" + client, count, window))
    if new_destination and settings.new_destination_limit is not None:
        count, window = settings.new_destination_limit
        quotas.append(Quota("new_destination_limit", "destinations:new", count, window))
    return quotas


def quota_wait(times: Sequence[float], quota: Quota, now: float) -> float | None:
    """Seconds until one more start fits under ``quota``, given the times of earlier starts
    under its key; None when it fits now. A sliding window: exact, and no burst at a boundary."""
    if len(times) < quota.limit:
        return None
    recent = sorted(at for at in times if at > now - quota.window)
    if len(recent) < quota.limit:
        return None
    return recent[len(recent) - quota.limit] + quota.window - now


def quota_refusal(
    quotas: Sequence[Quota], times: Sequence[Sequence[float]], now: float
) -> Refusal | None:
    """The refusal with the longest wait among ``quotas``, or None when all of them allow."""
    refusal = None
    for quota, earlier in zip(quotas, times, strict=True):
        wait = quota_wait(earlier, quota, now)
        if wait is not None and (refusal is None or wait > refusal.retry_after):
            refusal = Refusal(quota.name, wait)
    return refusal
