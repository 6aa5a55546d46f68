"""The flows of a verification session (``_drivers`` runs them).

A flow (``start``, ``check``, ``cancel``, ``state``, ``process_due``, ``guess_chance``) is a
generator: it yields
each piece of I/O it needs as a typed step (a store ``Operation``, a ``Ring``, a
``SendReport``) and receives its answer. ``Verifier`` and ``AsyncVerifier`` only perform the
steps, the way httpx drives an auth flow, so the sync and async verifiers cannot disagree.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import secrets
from collections.abc import Generator
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import attrs

from .._verify import normalise_number
from ..errors import APIStatusError, BirdError, InvalidRequestError
from ._answers import given_answer
from ._callers import KEPT_ENDINGS, CallerWatch, ending_key
from ._callers import guess_chance as estimate_guess_chance
from ._guard import ProvenDestinations, destination_key, destination_refusal
from ._models import (
    Challenge,
    ChallengeState,
    CheckResult,
    EventKind,
    VerificationDestinationRefused,
    VerificationEvent,
    VerificationRateLimited,
)
from ._operations import (
    CallerSampleOp,
    CancelOp,
    CheckOp,
    ClaimDueOp,
    CompleteOp,
    CreateOp,
    NoteCallerOp,
    Operation,
    ReportDoneOp,
    ReportFailedOp,
    SaltOp,
    SnapshotOp,
    TakeQuotasOp,
)
from ._settings import Settings
from ._store import Claim, Record, Refusal, Report
from ._store_errors import StoreError, after_call_placed
from ._transitions import (
    abandoned_record,
    new_record,
    quotas_for,
    report_verdict,
    ringing_record,
)

logger = logging.getLogger("bird_flashcalls.verification")

# Reports claimed per store operation in expire_due() and flush().
DUE_BATCH = 200
MAX_DUE_BATCHES = 1000
MAX_ID_LENGTH = 128

T = TypeVar("T")
R = TypeVar("R")


@attrs.define
class Ring:
    """Ring ``phone`` (from ``caller``, or a number Bird picks): ``flash_calls.create``; send
    back the FlashCall."""

    phone: str = attrs.field(repr=False)  # personal data: out of reprs and tracebacks
    caller: str | None = attrs.field(default=None, repr=False)  # the code's secret


@attrs.define
class SendReport:
    """Tell Bird a result with End, or by the call's numbers when its id is unknown (``by``:
    the caller and called numbers, for Hangup); send back None, or the BirdError it failed
    with."""

    report: Report
    by: tuple[str, str] | None = attrs.field(default=None, repr=False)


Step = Operation[Any] | Ring | SendReport
Flow = Generator[Step, Any, T]


def _store(operation: Operation[R]) -> Flow[R]:
    result: R = yield operation
    return result


# Claim tokens need only be unique, not secret: a random prefix per process (made again in a
# forked child, which would otherwise share it) and a counter.
_token_numbers = itertools.count()
_token_prefix = secrets.token_hex(8) + "-"


def _new_token_prefix() -> None:
    global _token_prefix
    _token_prefix = secrets.token_hex(8) + "-"


os.register_at_fork(after_in_child=_new_token_prefix)


def new_token() -> str:
    return _token_prefix + str(next(_token_numbers))


def _claim(settings: Settings, now: float, token: str | None = None) -> Claim:
    return Claim(token or new_token(), now + settings.report_lease)


def new_challenge_id() -> str:
    """192 random bits, URL-safe: unguessable, so a check cannot hit someone else's challenge."""
    return secrets.token_urlsafe(24)


def _emit(
    settings: Settings,
    kind: EventKind,
    challenge_id: str | None,
    detail: str | None = None,
    destination: str | None = None,
) -> None:
    hook = settings.on_event
    if hook is None:
        return
    try:
        hook(VerificationEvent(kind, challenge_id, detail, destination))
    except Exception:
        # A failing metrics hook must not change what the user is told.
        logger.exception("on_event raised for a %s event; ignored", kind)


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
    settings: Settings,
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
        _emit(settings, "refused", None, setting, destination)
        raise VerificationDestinationRefused(message, setting=setting)
    salt = yield from _store(SaltOp())
    now = settings.clock()
    new_destination = not proven.holds(destination, now, settings.allowed_countries)
    quotas = quotas_for(settings, phone, client_key, salt, new_destination)
    challenge_id = new_challenge_id()
    refusal = yield from _store(TakeQuotasOp(quotas, now, challenge_id))
    if refusal is not None:
        _emit(settings, "rate_limited", None, refusal.name, destination)
        raise _rate_limited(refusal)

    callers = settings.caller_numbers
    caller = secrets.choice(callers) if callers else None
    # Kept before the call is placed, completed after: a worker that dies in between leaves a
    # record that expire_due() finds (an orphan), instead of a call nobody knows of.
    ringing = ringing_record(settings, challenge_id, phone, caller, settings.clock())
    yield from _store(CreateOp(ringing))
    try:
        call = yield Ring(phone, caller)
    except BirdError as error:
        if not getattr(error, "may_have_been_delivered", False):  # surely no call placed
            yield from _store_quietly(CompleteOp(abandoned_record(ringing, settings.clock())))
        raise
    record = None
    try:
        expected_cli = normalise_number(call.from_, field="the caller number Bird returned")
        record = new_record(settings, challenge_id, call.id, phone, expected_cli, settings.clock())
        if not (yield from _store(CompleteOp(record))):
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
    _emit(settings, "started", record.id)
    ending = ending_key(expected_cli, settings.code_digits, salt)
    sample = yield from _store_quietly(NoteCallerOp(ending, KEPT_ENDINGS))
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
            _emit(settings, "weak_caller_pool", None, f"{chance:.4f}")
    return challenge_of(record, call.id)


def guess_chance(settings: Settings) -> Flow[float]:
    sample = yield from _store(CallerSampleOp())
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
    settings: Settings,
    proven: ProvenDestinations,
    challenge_id: str,
    received_cli: str | None,
    code: str | None,
) -> Flow[CheckResult]:
    answer = given_answer(received_cli, code)
    if not _challenge_id(challenge_id):
        return _NOT_FOUND
    now = settings.clock()
    outcome = yield from _store(CheckOp(challenge_id, answer, now, _claim(settings, now)))
    if outcome.status == "not_found":
        _emit(settings, "checked", None, "not_found")
        return _NOT_FOUND
    _emit(settings, "checked", challenge_id, outcome.status)
    phone = outcome.phone
    if outcome.status == "verified":
        if phone is None:
            # Read before the report is sent: once Bird has it the store may forget the record.
            record = yield from _store(SnapshotOp(challenge_id))
            phone = None if record is None else record.phone
        if phone is not None:
            proven.add(destination_key(phone), now)
    if outcome.report is not None:
        yield from deliver(settings, outcome.report)
    verified = outcome.status == "verified"
    return CheckResult(outcome.status, verified, outcome.attempts_left, phone)


def cancel(settings: Settings, challenge_id: str) -> Flow[bool]:
    if not _challenge_id(challenge_id):
        return False
    now = settings.clock()
    outcome = yield from _store(CancelOp(challenge_id, now, _claim(settings, now)))
    if outcome.canceled:
        _emit(settings, "canceled", challenge_id)
    if outcome.report is not None:
        yield from deliver(settings, outcome.report)
    return outcome.canceled


def state(settings: Settings, challenge_id: str) -> Flow[ChallengeState | None]:
    if not _challenge_id(challenge_id):
        return None
    record = yield from _store(SnapshotOp(challenge_id))
    if record is None or not record.call_id:  # unknown, or its call still being placed
        return None
    return state_of(record, settings.clock())


def process_due(settings: Settings) -> Flow[tuple[int, int]]:
    """End what is past its ttl and send every waiting report; (expired, delivered) counts.

    Stops at the first report Bird does not take: the rest wait for the next call."""
    expired = delivered = 0
    token = new_token()
    for _ in range(MAX_DUE_BATCHES):
        now = settings.clock()
        reports = yield from _store(ClaimDueOp(now, _claim(settings, now, token), DUE_BATCH))
        for index, report in enumerate(reports):
            if not report.call_id:
                yield from orphaned(settings, report)
                continue
            if report.newly_expired:
                expired += 1
                _emit(settings, "expired", report.challenge_id)
            if (yield from deliver(settings, report)):
                delivered += 1
                continue
            for rest in reports[index + 1 :]:
                if rest.newly_expired:
                    expired += 1
                    _emit(settings, "expired", rest.challenge_id)
                yield from _store_quietly(
                    ReportFailedOp(rest.challenge_id, rest.token, settings.clock(), False)
                )
            return expired, delivered
        if len(reports) < DUE_BATCH:
            break
    return expired, delivered


def orphaned(settings: Settings, report: Report) -> Flow[None]:
    """A start whose worker died while Bird placed the call, whose id it never learnt. When it
    had picked the caller number (``caller_numbers``), the call is ended ``canceled`` by its
    numbers; otherwise it is said in a warning and an event, then forgotten."""
    record = yield from _store_quietly(SnapshotOp(report.challenge_id))
    if record is not None and record.expected_cli:
        by = (record.expected_cli, record.phone)
        error: BirdError | None = yield SendReport(report, by)
        verdict = report_verdict(error)
        if verdict in ("retry", "after_lease"):
            # Bird could not be asked: the next expire_due() or flush() tries again.
            failed = ReportFailedOp(report.challenge_id, report.token, settings.clock(), False)
            yield from _store_quietly(failed)
            return
        # Ended, or Bird knows no such call (it was never placed): nothing left to tell.
        _emit(settings, "orphaned", report.challenge_id, "canceled" if error is None else None)
    else:
        logger.warning(
            "challenge %s: its start was interrupted while Bird placed the call; that call, if "
            "placed, cannot be reported to Bird (caller_numbers= would let it be ended)",
            report.challenge_id,
        )
        _emit(settings, "orphaned", report.challenge_id)
    yield from _store_quietly(ReportDoneOp(report.challenge_id, report.token, settings.clock()))


def deliver(settings: Settings, report: Report) -> Flow[bool]:
    """Send one claimed report; mark it done, or release it for a later flush()."""
    error: BirdError | None = yield SendReport(report)
    now = settings.clock()
    verdict = report_verdict(error)
    if verdict == "done":
        yield from _store_quietly(ReportDoneOp(report.challenge_id, report.token, now))
        logger.debug("challenge %s: Bird took result %s", report.challenge_id, report.result)
        _emit(settings, "reported", report.challenge_id, report.result)
        return True
    give_up = verdict == "drop"
    if verdict != "after_lease":  # else the claim stays until its lease runs out
        yield from _store_quietly(ReportFailedOp(report.challenge_id, report.token, now, give_up))
    assert error is not None
    logger.warning(
        "challenge %s: reporting %s to Bird failed (%s%s); %s",
        report.challenge_id,
        report.result,
        type(error).__name__,
        f" {error.status_code}" if isinstance(error, APIStatusError) else "",
        {
            "drop": "dropped: retrying cannot help",
            "retry": "kept for the next flush()",
            "after_lease": "Bird may have it; sent again once report_lease has run out",
        }[verdict],
    )
    _emit(
        settings,
        "report_dropped" if give_up else "report_failed",
        report.challenge_id,
        report.result,
    )
    return False


def _store_quietly(operation: Operation[R]) -> Flow[R | None]:
    try:
        result: R = yield operation
        return result
    except Exception as error:
        # After the decision the user's outcome stands: a store failure here only delays the
        # report (its claim runs out and flush() sends it again).
        logger.warning(
            "store operation %s failed after a decision (%s)",
            operation.name,
            type(error).__name__,
        )
        return None
