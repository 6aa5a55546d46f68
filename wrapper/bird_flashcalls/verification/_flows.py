"""The flows of a verification session (``_drivers`` runs them).

A flow (``start``, ``check``, ``cancel``, ``state``, ``guess_chance``; ``process_due`` in
``_delivery``) is a generator: it yields each piece of I/O it needs as a typed step (a
``StoreOp``, a ``Ring``, a ``SendReport``: ``_steps``) and receives its answer. ``Verifier``
and ``AsyncVerifier`` only perform the steps, the way httpx drives an auth flow, so the sync
and async verifiers cannot disagree.
"""

from __future__ import annotations

import logging
import math
import secrets
from datetime import UTC, datetime
from uuid import UUID

from .._verify import normalise_number
from ..errors import BirdError, InvalidRequestError
from ._answers import given_answer
from ._callers import KEPT_ENDINGS, CallerWatch, ending_key
from ._callers import guess_chance as estimate_guess_chance
from ._delivery import deliver
from ._guard import ProvenDestinations, destination_key, destination_refusal
from ._models import (
    Challenge,
    ChallengeState,
    CheckResult,
    VerificationDestinationRefused,
    VerificationRateLimited,
)
from ._operations import (
    CallerSampleOp,
    CancelOp,
    CheckOp,
    CompleteOp,
    CreateOp,
    NoteCallerOp,
    SaltOp,
    SnapshotOp,
    TakeQuotasOp,
)
from ._settings import VerifierSettings
from ._steps import (
    Flow,
    Ring,
    SendReport,
    claim_for,
    emit,
    new_challenge_id,
    store,
    store_quietly,
)
from ._store import Record, Refusal, Report
from ._store_errors import StoreError, after_call_placed
from ._transitions import (
    abandoned_record,
    new_record,
    quotas_for,
    ringing_record,
)

logger = logging.getLogger("bird_flashcalls.verification")

MAX_ID_LENGTH = 128

# Views.


def challenge_of(record: Record, call_id: UUID | None = None) -> Challenge:
    return Challenge(
        id=record.id,
        phone=record.phone,
        cli_prefix=record.expected_cli[: -record.code_digits],
        code_digits=record.code_digits,
        expires_at=datetime.fromtimestamp(record.expires_at, UTC),
        call_id=call_id or UUID(record.call_id),
    )


def state_of(record: Record, now: float) -> ChallengeState:
    status = record.state
    if status == "pending" and now >= record.expires_at:
        status = "expired"  # expire_due() has not run yet; the next check will say expired
    left = record.max_attempts - record.attempts if status in ("pending", "verified") else 0
    reported = record.state != "pending" and record.report is None
    return ChallengeState(challenge_of(record), status, left, reported)


_NOT_FOUND = CheckResult("not_found", False, 0)


# The flows.


def start(
    settings: VerifierSettings,
    proven: ProvenDestinations,
    watch: CallerWatch,
    phone: str,
    client_key: str | None,
) -> Flow[Challenge]:
    phone = normalise_number(phone, field="phone")
    if client_key is not None and (not isinstance(client_key, str) or not client_key):
        raise InvalidRequestError(
            "client_key must be a non-empty string naming who asks (e.g. "
            f"client_key_for_ip(address)), or None; got {type(client_key).__name__}",
            field="client_key",
        )
    destination = destination_key(phone)
    refused = destination_refusal(phone, settings.blocked_prefixes, settings.allowed_countries)
    if refused is not None:
        setting, message = refused
        emit(settings, "refused", None, setting, destination)
        raise VerificationDestinationRefused(message, setting=setting)
    salt = yield from store(SaltOp())
    now = settings.clock()
    new_destination = not proven.holds(destination, now, settings.allowed_countries)
    quotas = quotas_for(settings, phone, client_key, salt, new_destination)
    challenge_id = new_challenge_id()
    refusal = yield from store(TakeQuotasOp(quotas, now, challenge_id))
    if refusal is not None:
        emit(settings, "rate_limited", None, refusal.name, destination)
        raise _rate_limited(refusal)

    callers = settings.caller_numbers
    caller = secrets.choice(callers) if callers else None
    # Kept before the call is placed, completed after: a worker that dies in between leaves a
    # record that expire_due() finds (an orphan), instead of a call nobody knows of.
    ringing = ringing_record(settings, challenge_id, phone, caller, settings.clock())
    yield from store(CreateOp(ringing))
    try:
        call = yield Ring(phone, caller)
    except BirdError as error:
        if not getattr(error, "may_have_been_delivered", False):  # surely no call placed
            yield from store_quietly(CompleteOp(abandoned_record(ringing, settings.clock())))
        raise
    record = None
    try:
        expected_cli = normalise_number(call.from_, field="the caller number Bird returned")
        record = new_record(settings, challenge_id, call.id, phone, expected_cli, settings.clock())
        if not (yield from store(CompleteOp(record))):
            raise StoreError(
                "the start took longer than report_lease, and expire_due() ended it meanwhile.",
                store="VerificationStore",
                operation="complete",
            )
    except Exception as error:
        # The phone is ringing but nobody could check the answer: tell Bird (best effort).
        record_id = record.id if record is not None else "-"
        failed = yield SendReport(Report(record_id, str(call.id), "canceled", None, "", False))
        if isinstance(error, StoreError):
            raise after_call_placed(error, canceled=failed is None) from error.__cause__
        raise
    emit(settings, "started", record.id)
    ending = ending_key(expected_cli, settings.code_digits, salt)
    sample = yield from store_quietly(NoteCallerOp(ending, KEPT_ENDINGS))
    if sample is not None:
        chance = estimate_guess_chance(sample, settings.max_attempts)
        if watch.should_warn(sample, chance, settings.max_guess_chance, now):
            logger.warning(
                "caller numbers are predictable: an attacker who knows the recent ones wins a "
                "challenge %.1f%% of the time (max_guess_chance %.1f%%); pass caller_numbers= "
                "with many numbers, check with received_cli or raise code_digits",
                100 * chance,
                100 * settings.max_guess_chance,
            )
            emit(settings, "weak_caller_pool", None, f"{chance:.4f}")
    return challenge_of(record, call.id)


def guess_chance(settings: VerifierSettings) -> Flow[float]:
    sample = yield from store(CallerSampleOp())
    return estimate_guess_chance(sample, settings.max_attempts)


def _rate_limited(refusal: Refusal) -> VerificationRateLimited:
    wait = max(1, math.ceil(refusal.retry_after))
    what = {
        "resend_cooldown": "a verification call to this phone number was started moments ago",
        "per_number_limit": "too many verification calls to this phone number",
        "per_client_limit": "too many verifications started by this client",
        "new_destination_limit": "too many verification calls to countries where none has "
        "been verified lately",
    }[refusal.name]
    return VerificationRateLimited(
        f"{what} ({refusal.name}): try again in {wait} s",
        retry_after=refusal.retry_after,
        limit=refusal.name,
    )


def _challenge_id(challenge_id: str) -> bool:
    """Whether ``challenge_id`` could be one; a string that cannot is simply not found."""
    if not isinstance(challenge_id, str):
        raise InvalidRequestError(
            f"challenge_id must be the id of a Challenge (a string), got "
            f"{type(challenge_id).__name__}",
            field="challenge_id",
        )
    return 0 < len(challenge_id) <= MAX_ID_LENGTH and challenge_id.isascii()


def check(
    settings: VerifierSettings,
    proven: ProvenDestinations,
    challenge_id: str,
    received_cli: str | None,
    code: str | None,
) -> Flow[CheckResult]:
    answer = given_answer(received_cli, code)
    if not _challenge_id(challenge_id):
        return _NOT_FOUND
    now = settings.clock()
    outcome = yield from store(CheckOp(challenge_id, answer, now, claim_for(settings, now)))
    if outcome.status == "not_found":
        emit(settings, "checked", None, "not_found")
        return _NOT_FOUND
    emit(settings, "checked", challenge_id, outcome.status)
    phone = outcome.phone
    if outcome.status == "verified":
        if phone is None:
            # Read before the report is sent: once Bird has it the store may forget the record.
            record = yield from store(SnapshotOp(challenge_id))
            phone = None if record is None else record.phone
        if phone is not None:
            proven.add(destination_key(phone), now)
    if outcome.report is not None:
        yield from deliver(settings, outcome.report)
    verified = outcome.status == "verified"
    return CheckResult(outcome.status, verified, outcome.attempts_left, phone)


def cancel(settings: VerifierSettings, challenge_id: str) -> Flow[bool]:
    if not _challenge_id(challenge_id):
        return False
    now = settings.clock()
    outcome = yield from store(CancelOp(challenge_id, now, claim_for(settings, now)))
    if outcome.canceled:
        emit(settings, "canceled", challenge_id)
    if outcome.report is not None:
        yield from deliver(settings, outcome.report)
    return outcome.canceled


def state(settings: VerifierSettings, challenge_id: str) -> Flow[ChallengeState | None]:
    if not _challenge_id(challenge_id):
        return None
    record = yield from store(SnapshotOp(challenge_id))
    if record is None or not record.call_id:  # unknown, or its call still being placed
        return None
    return state_of(record, settings.clock())
