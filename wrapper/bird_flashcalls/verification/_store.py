"""What a store keeps, the one codec every store writes it with, and the operations it offers.

A verifier never reads a record, decides, and writes it back: each operation below takes what
the decision needs ("this answer matched", "now", "a claim on the report") and applies it
atomically, under a lock (MemoryStore), in one ``BEGIN IMMEDIATE`` transaction (SQLiteStore) or
in one Lua script (RedisStore). The only plain read, ``snapshot``, serves ``Verifier.state``; no
write depends on it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol

import attrs

from ._models import ChallengeStatus, CheckStatus, LimitName

# What Bird is told with End.
ReportResult = Literal["verified", "wrong_cli", "canceled", "timeout"]


@attrs.define
class Record:
    """One challenge as a store keeps it. Times are seconds since the epoch (the verifier's
    clock). ``expected_cli`` is the secret of the challenge: it is never shown."""

    id: str
    call_id: str
    phone: str = attrs.field(repr=False)
    expected_cli: str = attrs.field(repr=False)
    code_digits: int
    max_attempts: int
    expires_at: float
    attempts: int = 0  # wrong answers so far
    state: ChallengeStatus = "pending"  # a challenge starts pending, ends in one of the others
    # The result Bird is still to be told, and the caller number to report with it.
    report: ReportResult | None = None
    report_cli: str | None = attrs.field(default=None, repr=False)
    # Who is sending that report, and until when the others leave it to them.
    claim: str | None = None
    lease_until: float = 0.0
    # When expire_due() must look at the record next (None: nothing left to do).
    due_at: float | None = None
    # When the store may forget the record.
    purge_at: float = 0.0


# The record codec. A row is the fields in order (SQLite's columns); text is what Redis keeps
# in a hash: every value a string, None as "".
FIELDS: tuple[str, ...] = tuple(field.name for field in attrs.fields(Record))
_ROW = operator.attrgetter(*FIELDS)  # one C call for the whole row


def _optional_float(text: str) -> float | None:
    return float(text) if text else None


def _optional_text(text: str) -> str | None:
    return text or None


_READERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": int,
    "float": float,
    "ChallengeStatus": str,
    "float | None": _optional_float,
    "str | None": _optional_text,
    "ReportResult | None": _optional_text,
}
# One reader per field, in order; a field of a new type fails here, at import.
_FIELD_READERS = tuple(_READERS[str(field.type)] for field in attrs.fields(Record))


def record_to_row(record: Record) -> tuple[Any, ...]:
    row: tuple[Any, ...] = _ROW(record)
    return row


def record_from_row(row: Sequence[Any]) -> Record:
    return Record(*row)


def record_to_text(record: Record) -> dict[str, str]:
    return {
        name: _text_of(value) for name, value in zip(FIELDS, record_to_row(record), strict=True)
    }


def record_from_text(fields: Mapping[str, str]) -> Record:
    return Record(*(read(fields[name]) for name, read in zip(FIELDS, _FIELD_READERS, strict=True)))


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


# What the operations take and give.


@attrs.define
class Claim:
    """A worker's hold on a report while it sends it: others leave it alone until ``until``."""

    token: str
    until: float


QuotaName = LimitName


@attrs.define
class Quota:
    """At most ``limit`` starts per ``window`` seconds under ``key`` (a hash, never a number)."""

    name: QuotaName  # the setting it comes from
    key: str
    limit: int
    window: float


@attrs.define
class Refusal:
    name: QuotaName
    retry_after: float


@attrs.define
class Report:
    """A result claimed for sending to Bird with End."""

    challenge_id: str
    call_id: str
    result: ReportResult
    received_cli: str | None = attrs.field(repr=False)
    token: str
    newly_expired: bool  # this claim is the one that decided the timeout


@attrs.define
class CheckOutcome:
    status: CheckStatus
    attempts_left: int
    report: Report | None = None
    # The number verified, where the store has it at hand (None: the flow reads the record).
    phone: str | None = attrs.field(default=None, repr=False)


@attrs.define
class CancelOutcome:
    canceled: bool
    report: Report | None = None


@attrs.define
class CallerSample:
    """The caller-number endings a store keeps (keyed hashes of them): how many, and how many
    pairs of them are equal. What ``guess_chance()`` is estimated from."""

    samples: int
    equal_pairs: int


class UserAnswer(Protocol):
    """What the user gave, as the check flow hands it to a store."""

    def compare(self, expected_cli: str, code_digits: int) -> tuple[bool, str | None]:
        """(it matches, the E.164 number to report with the result or None), given a record's
        fields that never change after create; may raise InvalidRequestError for an answer that
        is not one."""
        ...

    def readable_alone(self) -> tuple[str, str] | None:
        """("code", digits) or ("cli", E.164 or "") when the answer can be compared without the
        caller number's country; None when it cannot (``GivenAnswer.readable_alone``)."""
        ...


class StoreOperations(Protocol):
    """The operations of a store; each is atomic across threads, and across processes and
    machines where the store is shared."""

    def salt(self) -> bytes:
        """A random secret kept in the store, the same for every worker: the key of the hash
        that turns phone numbers and client keys into rate-limit keys."""
        ...

    def take_quotas(self, quotas: Sequence[Quota], now: float, member: str) -> Refusal | None:
        """Count one start under every quota, or under none if one is used up."""
        ...

    def create(self, record: Record) -> None:
        """Keep a new record (MemoryStore keeps the object itself: the caller lets go of it)."""
        ...

    def complete(self, record: Record) -> bool:
        """Replace the ringing record of ``record.id`` by ``record`` (its call placed, or
        abandoned); False, changing nothing, when it is no longer ringing
        (``_transitions.on_complete``)."""
        ...

    def snapshot(self, challenge_id: str) -> Record | None:
        """A consistent copy of the whole record, state included, or None."""
        ...

    def check(
        self, challenge_id: str, answer: UserAnswer, now: float, claim: Claim
    ) -> CheckOutcome:
        """Compare ``answer`` with the record's expected caller number, then record it and say
        what it decided (``_transitions.on_check``)."""
        ...

    def cancel(self, challenge_id: str, now: float, claim: Claim) -> CancelOutcome:
        """End a challenge still open and claim its ``canceled`` report (``on_cancel``)."""
        ...

    def claim_due(self, now: float, claim: Claim, limit: int) -> list[Report]:
        """End challenges past their expiry and claim up to ``limit`` reports still waiting
        (never sent, failed, or left by a worker that died); forget records past purge_at."""
        ...

    def report_done(self, challenge_id: str, token: str, now: float) -> None:
        """Mark the report Bird accepted as sent, if ``token`` still holds its claim."""
        ...

    def report_failed(self, challenge_id: str, token: str, now: float, give_up: bool) -> None:
        """Release a claim after a failed send (or drop the report when ``give_up``)."""
        ...

    def note_caller(self, ending: str, keep: int) -> CallerSample:
        """Keep ``ending`` (a keyed hash of a caller number's last digits) among the last
        ``keep`` ones every worker saw, and say what they are now."""
        ...

    def caller_sample(self) -> CallerSample:
        """What ``note_caller`` keeps, without adding to it."""
        ...


class AsyncStoreOperations(Protocol):
    """The operations of ``StoreOperations`` as coroutines (RedisStore on redis.asyncio)."""

    async def salt(self) -> bytes: ...

    async def take_quotas(
        self, quotas: Sequence[Quota], now: float, member: str
    ) -> Refusal | None: ...

    async def create(self, record: Record) -> None: ...

    async def complete(self, record: Record) -> bool: ...

    async def snapshot(self, challenge_id: str) -> Record | None: ...

    async def check(
        self, challenge_id: str, answer: UserAnswer, now: float, claim: Claim
    ) -> CheckOutcome: ...

    async def cancel(self, challenge_id: str, now: float, claim: Claim) -> CancelOutcome: ...

    async def claim_due(self, now: float, claim: Claim, limit: int) -> list[Report]: ...

    async def report_done(self, challenge_id: str, token: str, now: float) -> None: ...

    async def report_failed(
        self, challenge_id: str, token: str, now: float, give_up: bool
    ) -> None: ...

    async def note_caller(self, ending: str, keep: int) -> CallerSample: ...

    async def caller_sample(self) -> CallerSample: ...


class VerificationStore:
    """Base of MemoryStore, SQLiteStore and RedisStore: how a verifier reaches the operations.

    ``Verifier`` needs ``sync_operations()``; ``AsyncVerifier`` takes ``async_operations()``
    when the store has them, and otherwise runs the sync ones inline (``blocking`` False) or in
    a thread (``blocking`` True) so that the event loop is never blocked.
    """

    blocking = True

    def sync_operations(self) -> StoreOperations:
        """The store's operations for a ``Verifier``."""
        raise NotImplementedError

    def async_operations(self) -> AsyncStoreOperations | None:
        """Native coroutine operations for an ``AsyncVerifier``, or None to use the sync ones."""
        return None

    def close(self) -> None:
        """Release what the store opened itself (SQLite's connections). A Redis client passed
        in stays open: it belongs to the caller."""
