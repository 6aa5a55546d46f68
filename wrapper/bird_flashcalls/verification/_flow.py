"""Every decision of a verification session, once, without I/O.

Two kinds of code live here:

- the state changes (``on_check``, ``on_cancel``, ``on_due``, ``on_report_done``,
  ``on_report_failed``, ``quota_refusal``): pure functions that MemoryStore and SQLiteStore run
  under their lock or transaction, and that RedisStore's Lua scripts mirror line by line;
- the flows (``start``, ``check``, ``cancel``, ``process_due``, ``state``): generators that
  yield the I/O they need (a store operation, a call to create, a report to send) and receive
  its answer. ``Verifier`` and ``AsyncVerifier`` only drive them, the way httpx drives an auth
  flow, so the sync and async verifiers cannot disagree.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import os
import secrets
from collections.abc import Callable, Generator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from .._rules import is_e164
from .._verify import check_received_cli, check_typed_code, normalise_number
from ..errors import (
    APIResponseValidationError,
    APIStatusError,
    BirdError,
    ConfigurationError,
    InvalidRequestError,
)
from ._models import (
    Challenge,
    ChallengeState,
    ChallengeStatus,
    CheckResult,
    VerificationEvent,
    VerificationRateLimited,
)
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

logger = logging.getLogger("bird_flashcalls.verification")

# Defaults, in seconds where they are durations.
DEFAULT_TTL = 300.0
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_CODE_DIGITS = 4
DEFAULT_PER_NUMBER_LIMIT = (3, 600.0)
DEFAULT_PER_CLIENT_LIMIT = (20, 3600.0)
DEFAULT_RESEND_COOLDOWN = 30.0
# Longer than a report with all its retries can take (3 attempts of 10 s, backoff, Retry-After):
# a worker that died holding a report is taken over after this.
DEFAULT_REPORT_LEASE = 120.0

MAX_TTL = 86400.0
MIN_CODE_DIGITS = 4  # fewer is guessed too easily, even with few attempts
MAX_CODE_DIGITS = 6  # the prefix shown keeps the country code and most of the number
# A challenge whose report Bird has not accepted is kept this long past its expiry, waiting for
# expire_due() or flush(); after that the store forgets it unreported.
UNREPORTED_KEPT_FOR = 86400.0
# Locked and expired challenges answer so for this long after their expiry, then not_found.
ENDED_KEPT_FOR = 3600.0
# Reports claimed per store operation in expire_due() and flush().
DUE_BATCH = 200
MAX_DUE_BATCHES = 1000
MAX_ID_LENGTH = 128


T = TypeVar("T")


# The I/O a flow asks for.


class StoreCall:
    """Run ``getattr(store, name)(*args)`` and send back its result."""

    __slots__ = ("args", "name")

    def __init__(self, name: str, args: tuple[Any, ...]) -> None:
        self.name = name
        self.args = args


class CreateCall:
    """Ring ``phone``: ``flash_calls.create(phone)``; send back the FlashCall."""

    __slots__ = ("phone",)

    def __init__(self, phone: str) -> None:
        self.phone = phone


class SendReport:
    """Tell Bird a result with End; send back None, or the BirdError it failed with."""

    __slots__ = ("report",)

    def __init__(self, report: Report) -> None:
        self.report = report


Step = StoreCall | CreateCall | SendReport
Flow = Generator[Step, Any, T]


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


# Settings.


class Policy:
    """A verifier's settings, checked once, and what its flows share (clock, hook, salt)."""

    __slots__ = (
        "clock",
        "code_digits",
        "max_attempts",
        "on_event",
        "per_client_limit",
        "per_number_limit",
        "report_lease",
        "resend_cooldown",
        "salt",
        "ttl",
    )

    def __init__(
        self,
        *,
        ttl: float,
        max_attempts: int,
        code_digits: int,
        per_number_limit: tuple[int, float] | None,
        per_client_limit: tuple[int, float] | None,
        resend_cooldown: float,
        report_lease: float,
        clock: Callable[[], float],
        on_event: Callable[[VerificationEvent], None] | None,
    ) -> None:
        self.ttl = _seconds("ttl", ttl, maximum=MAX_TTL)
        self.max_attempts = _whole("max_attempts", max_attempts, 1, 100)
        self.code_digits = _whole("code_digits", code_digits, MIN_CODE_DIGITS, MAX_CODE_DIGITS)
        self.per_number_limit = _limit("per_number_limit", per_number_limit)
        self.per_client_limit = _limit("per_client_limit", per_client_limit)
        self.resend_cooldown = _seconds("resend_cooldown", resend_cooldown, allow_zero=True)
        self.report_lease = _seconds("report_lease", report_lease)
        if not callable(clock):
            raise ConfigurationError(
                "clock must be a function returning seconds since the epoch, like time.time"
            )
        if on_event is not None and not callable(on_event):
            raise ConfigurationError("on_event must be a function taking a VerificationEvent")
        self.clock = clock
        self.on_event = on_event
        self.salt: bytes | None = None

    def claim(self, now: float, token: str | None = None) -> Claim:
        return Claim(token or new_token(), now + self.report_lease)

    def quotas(self, phone: str, client_key: str | None, salt: bytes) -> list[Quota]:
        number = limit_key(phone, salt)
        quotas = []
        if self.resend_cooldown:
            quotas.append(Quota("resend_cooldown", "resend:" + number, 1, self.resend_cooldown))
        if self.per_number_limit is not None:
            count, window = self.per_number_limit
            quotas.append(Quota("per_number_limit", "number:" + number, count, window))
        if self.per_client_limit is not None and client_key is not None:
            count, window = self.per_client_limit
            quotas.append(
                Quota("per_client_limit", "client:" + limit_key(client_key, salt), count, window)
            )
        return quotas

    def emit(self, kind: str, challenge_id: str | None, detail: str | None = None) -> None:
        hook = self.on_event
        if hook is None:
            return
        try:
            hook(VerificationEvent(kind, challenge_id, detail))
        except Exception:
            # A failing metrics hook must not change what the user is told.
            logger.exception("on_event raised for a %s event; ignored", kind)


def _seconds(
    name: str, value: float, *, maximum: float = math.inf, allow_zero: bool = False
) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not allow_zero)
        or value > maximum
    ):
        bound = "" if maximum == math.inf else f" and at most {maximum:g}"
        least = ">= 0" if allow_zero else "> 0"
        raise ConfigurationError(
            f"{name} must be a number of seconds {least}{bound}, got {value!r}"
        )
    return float(value)


def _whole(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigurationError(
            f"{name} must be a whole number from {low} to {high}, got {value!r}"
        )
    return value


def _limit(name: str, value: tuple[int, float] | None) -> tuple[int, float] | None:
    if value is None:
        return None
    if not isinstance(value, tuple) or len(value) != 2:
        raise ConfigurationError(
            f"{name} must be (count, seconds), e.g. (3, 600) for 3 starts per 10 minutes, or "
            f"None to turn it off; got {value!r}"
        )
    count, window = value
    return _whole(f"{name}[0] (starts)", count, 1, 1_000_000), _seconds(
        f"{name}[1] (window)", window, maximum=30 * 86400.0
    )


def limit_key(value: str, salt: bytes) -> str:
    """A keyed hash of a phone number or client key: rate-limit keys never hold either."""
    return hashlib.blake2b(value.encode(), key=salt, digest_size=16).hexdigest()


# State changes: each store applies these atomically. Every one mutates only the record it is
# given (or computes from the times given) and does no I/O.


def new_challenge_id() -> str:
    """192 random bits, URL-safe: unguessable, so a check cannot hit someone else's challenge."""
    return secrets.token_urlsafe(24)


def new_record(
    policy: Policy, challenge_id: str, call_id: UUID, phone: str, expected_cli: str, now: float
) -> Record:
    expires_at = now + policy.ttl
    return Record(
        id=challenge_id,
        call_id=str(call_id),
        phone=phone,
        expected_cli=expected_cli,
        code_digits=policy.code_digits,
        max_attempts=policy.max_attempts,
        expires_at=expires_at,
        due_at=expires_at,
        purge_at=expires_at + UNREPORTED_KEPT_FOR,
    )


def _end(
    record: Record,
    state: ChallengeStatus,
    result: ReportResult,
    received_cli: str | None,
    now: float,
    claim: Claim,
    newly_expired: bool = False,
) -> Report:
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
    if state in ("verified", "canceled"):
        return CheckOutcome("not_found", 0)
    if state == "locked":
        return CheckOutcome("locked", 0)
    if state == "expired":
        return CheckOutcome("expired", 0)
    if now >= record.expires_at:
        report = _end(record, "expired", "timeout", None, now, claim, newly_expired=True)
        return CheckOutcome("expired", 0, report)
    if matched:
        report = _end(record, "verified", "verified", received_cli, now, claim)
        return CheckOutcome("verified", record.max_attempts - record.attempts, report)
    record.attempts += 1
    left = record.max_attempts - record.attempts
    if left > 0:
        return CheckOutcome("wrong", left)
    return CheckOutcome("locked", 0, _end(record, "locked", "wrong_cli", received_cli, now, claim))


def on_cancel(record: Record, now: float, claim: Claim) -> CancelOutcome:
    """Cancel a pending challenge. One already past its expiry is reported as a timeout."""
    if record.state != "pending":
        return CancelOutcome(False)
    if now >= record.expires_at:
        return CancelOutcome(False, _end(record, "expired", "timeout", None, now, claim, True))
    return CancelOutcome(True, _end(record, "canceled", "canceled", None, now, claim))


def on_due(record: Record, now: float, claim: Claim) -> Report | None:
    """What expire_due() does with a record whose due_at has come: end it as a timeout, claim
    its waiting report, or set when to look again (due_at None: never)."""
    if record.state == "pending":
        if now >= record.expires_at:
            return _end(record, "expired", "timeout", None, now, claim, newly_expired=True)
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


def quota_wait(times: Sequence[float], quota: Quota, now: float) -> float | None:
    """Seconds until one more start fits under ``quota``, given the times of earlier starts
    under its key; None when it fits now. A sliding window: exact, and no burst at a boundary."""
    if len(times) < quota.limit:
        return None  # the usual case, decided without looking at the times
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


def start(policy: Policy, phone: str, client_key: str | None) -> Flow[Challenge]:
    phone = normalise_number(phone, field="phone")
    if client_key is not None and (not isinstance(client_key, str) or not client_key):
        raise InvalidRequestError(
            "client_key must be a non-empty string naming who asks (e.g. the client's IP "
            f"address), or None; got {type(client_key).__name__}",
            field="client_key",
        )
    if policy.salt is None:
        policy.salt = yield StoreCall("salt", ())
    now = policy.clock()
    quotas = policy.quotas(phone, client_key, policy.salt)
    challenge_id = new_challenge_id()
    refusal = yield StoreCall("take_quotas", (quotas, now, challenge_id))
    if refusal is not None:
        policy.emit("rate_limited", None, refusal.name)
        raise _rate_limited(refusal)

    call = yield CreateCall(phone)
    record = None
    try:
        expected_cli = normalise_number(call.from_, field="the caller number Bird returned")
        record = new_record(policy, challenge_id, call.id, phone, expected_cli, policy.clock())
        yield StoreCall("create", (record,))
    except Exception:
        # The phone is ringing but nobody could check the answer: tell Bird (best effort).
        record_id = record.id if record is not None else "-"
        yield SendReport(Report(record_id, str(call.id), "canceled", None, "", False))
        raise
    policy.emit("started", record.id)
    return challenge_of(record, call.id)


def _rate_limited(refusal: Refusal) -> VerificationRateLimited:
    wait = max(1, math.ceil(refusal.retry_after))
    what = {
        "resend_cooldown": "a verification call to this phone number was started moments ago",
        "per_number_limit": "too many verification calls to this phone number",
        "per_client_limit": "too many verifications started by this client",
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


_UNUSED_CALL_ID = UUID(int=0)


class GivenAnswer:
    """The user's answer, compared with a record by the client's own functions: in constant
    time, and in every number format they accept."""

    __slots__ = ("code", "received_cli")

    def __init__(self, code: str | None, received_cli: str | None) -> None:
        self.code = code
        self.received_cli = received_cli

    def compare(self, expected_cli: str, code_digits: int) -> tuple[bool, str | None]:
        # Only the comparison is used; the Verification these return (and its call id) is not.
        call_id = _UNUSED_CALL_ID
        if self.code is not None:
            typed = check_typed_code(call_id, expected_cli, self.code, code_digits)
            return typed.verified, None
        assert self.received_cli is not None
        seen = check_received_cli(call_id, expected_cli, self.received_cli)
        return seen.verified, seen.received_cli if is_e164(seen.received_cli) else None


def check(
    policy: Policy, challenge_id: str, received_cli: str | None, code: str | None
) -> Flow[CheckResult]:
    if (received_cli is None) == (code is None):
        raise InvalidRequestError(
            "check needs exactly one answer: received_cli= (the number the phone saw) or "
            "code= (the digits the user typed)",
            field="received_cli" if received_cli is not None else "code",
        )
    if not _challenge_id(challenge_id):
        return _NOT_FOUND
    now = policy.clock()
    outcome: CheckOutcome = yield StoreCall(
        "check", (challenge_id, GivenAnswer(code, received_cli), now, policy.claim(now))
    )
    if outcome.status == "not_found":
        policy.emit("checked", None, "not_found")
        return _NOT_FOUND
    policy.emit("checked", challenge_id, outcome.status)
    if outcome.report is not None:
        yield from deliver(policy, outcome.report)
    return CheckResult(outcome.status, outcome.status == "verified", outcome.attempts_left)


def cancel(policy: Policy, challenge_id: str) -> Flow[bool]:
    if not _challenge_id(challenge_id):
        return False
    now = policy.clock()
    outcome: CancelOutcome = yield StoreCall("cancel", (challenge_id, now, policy.claim(now)))
    if outcome.canceled:
        policy.emit("canceled", challenge_id)
    if outcome.report is not None:
        yield from deliver(policy, outcome.report)
    return outcome.canceled


def state(policy: Policy, challenge_id: str) -> Flow[ChallengeState | None]:
    if not _challenge_id(challenge_id):
        return None
    record: Record | None = yield StoreCall("snapshot", (challenge_id,))
    return None if record is None else state_of(record, policy.clock())


def process_due(policy: Policy) -> Flow[tuple[int, int]]:
    """End what is past its ttl and send every waiting report; (expired, delivered) counts.

    Stops at the first report Bird does not take: the rest wait for the next call."""
    expired = delivered = 0
    token = new_token()
    for _ in range(MAX_DUE_BATCHES):
        now = policy.clock()
        reports: list[Report] = yield StoreCall(
            "claim_due", (now, policy.claim(now, token), DUE_BATCH)
        )
        for index, report in enumerate(reports):
            if report.newly_expired:
                expired += 1
                policy.emit("expired", report.challenge_id)
            if (yield from deliver(policy, report)):
                delivered += 1
                continue
            for rest in reports[index + 1 :]:
                if rest.newly_expired:
                    expired += 1
                    policy.emit("expired", rest.challenge_id)
                yield from _store_quietly(
                    "report_failed", (rest.challenge_id, rest.token, policy.clock(), False)
                )
            return expired, delivered
        if len(reports) < DUE_BATCH:
            break
    return expired, delivered


def deliver(policy: Policy, report: Report) -> Flow[bool]:
    """Send one claimed report; mark it done, or release it for a later flush()."""
    error: BirdError | None = yield SendReport(report)
    now = policy.clock()
    verdict = report_verdict(error)
    if verdict == "done":
        try:
            yield StoreCall("report_done", (report.challenge_id, report.token, now))
        except Exception as store_error:
            _store_failed("report_done", store_error)
        logger.debug("challenge %s: Bird took result %s", report.challenge_id, report.result)
        policy.emit("reported", report.challenge_id, report.result)
        return True
    give_up = verdict == "drop"
    yield from _store_quietly("report_failed", (report.challenge_id, report.token, now, give_up))
    assert error is not None
    logger.warning(
        "challenge %s: reporting %s to Bird failed (%s%s); %s",
        report.challenge_id,
        report.result,
        type(error).__name__,
        f" {error.status_code}" if isinstance(error, APIStatusError) else "",
        "dropped: retrying cannot help" if give_up else "kept for the next flush()",
    )
    policy.emit(
        "report_dropped" if give_up else "report_failed", report.challenge_id, report.result
    )
    return False


def _store_quietly(name: str, args: tuple[Any, ...]) -> Flow[None]:
    try:
        yield StoreCall(name, args)
    except Exception as error:
        _store_failed(name, error)


def _store_failed(name: str, error: Exception) -> None:
    # After the decision the user's outcome stands: a store failure here only delays the report
    # (its claim runs out and flush() sends it again).
    logger.warning("store operation %s failed after a decision (%s)", name, type(error).__name__)


def report_verdict(error: BirdError | None) -> str:
    """done (Bird has it), retry (try again later) or drop (it never will take it)."""
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
    return "retry"  # no answer (connection, timeout) or a closed client: another worker can


# Driving a flow: the sync half (the async half is in _verifier.py, next to AsyncVerifier).


def drive(flow: Flow[T], perform: Callable[[Step], Any]) -> T:
    answer: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = flow.send(answer) if error is None else flow.throw(error)
        except StopIteration as stop:
            result: T = stop.value
            return result
        error = None
        try:
            answer = perform(step)
        except Exception as failure:
            answer, error = None, failure
