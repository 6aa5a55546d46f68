"""What a store keeps and the few atomic operations it offers, one per decision.

A verifier never reads a record, decides, and writes it back: each operation below takes what
the decision needs ("this answer matched", "now", "a claim on the report") and applies it
atomically, under a lock (MemoryStore), in one ``BEGIN IMMEDIATE`` transaction (SQLiteStore) or
in one Lua script (RedisStore). The only plain read, ``load``, returns fields that never change
after ``create`` (the expected caller number, expiry, limits) plus a snapshot of the state for
``Verifier.state``; no write depends on that snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

# A record's states. A challenge starts PENDING and ends in exactly one of the others.
PENDING = "pending"
VERIFIED = "verified"
LOCKED = "locked"
EXPIRED = "expired"
CANCELED = "canceled"
STATES = (PENDING, VERIFIED, LOCKED, EXPIRED, CANCELED)


@dataclass(slots=True)
class Record:
    """One challenge as a store keeps it. Times are seconds since the epoch (the verifier's
    clock). ``expected_cli`` is the secret of the challenge: it is never shown."""

    id: str
    call_id: str
    phone: str = field(repr=False)
    expected_cli: str = field(repr=False)
    code_digits: int
    max_attempts: int
    expires_at: float
    attempts: int = 0  # wrong answers so far
    state: str = PENDING
    # The result Bird is still to be told, and the caller number to report with it.
    report: str | None = None
    report_cli: str | None = field(default=None, repr=False)
    # Who is sending that report, and until when the others leave it to them.
    claim: str | None = None
    lease_until: float = 0.0
    # When expire_due() must look at the record next (None: nothing left to do).
    due_at: float | None = None
    # When the store may forget the record.
    purge_at: float = 0.0

    def copy(self) -> Record:
        # By hand: dataclasses.replace() costs several times more, on every check.
        return Record(
            self.id,
            self.call_id,
            self.phone,
            self.expected_cli,
            self.code_digits,
            self.max_attempts,
            self.expires_at,
            self.attempts,
            self.state,
            self.report,
            self.report_cli,
            self.claim,
            self.lease_until,
            self.due_at,
            self.purge_at,
        )


# The small classes below are not frozen: a frozen dataclass sets each field through
# object.__setattr__, which costs more than the rest of a check's bookkeeping. Nothing
# changes them after they are made.


@dataclass(slots=True)
class Claim:
    """A worker's hold on a report while it sends it: others leave it alone until ``until``."""

    token: str
    until: float


@dataclass(slots=True)
class Quota:
    """At most ``limit`` starts per ``window`` seconds under ``key`` (a hash, never a number)."""

    name: str  # which setting: per_number_limit, per_client_limit or resend_cooldown
    key: str
    limit: int
    window: float


@dataclass(slots=True)
class Refusal:
    name: str
    retry_after: float


@dataclass(slots=True)
class Report:
    """A result claimed for sending to Bird with End."""

    challenge_id: str
    call_id: str
    result: str
    received_cli: str | None = field(repr=False)
    token: str
    newly_expired: bool  # this claim is the one that decided the timeout


@dataclass(slots=True)
class CheckOutcome:
    status: str
    attempts_left: int
    report: Report | None = None


@dataclass(slots=True)
class CancelOutcome:
    canceled: bool
    report: Report | None = None


class Answer(Protocol):
    """What the user gave, as the check flow hands it to a store."""

    def compare(self, expected_cli: str, code_digits: int) -> tuple[bool, str | None]:
        """(it matches, the E.164 number to report with the result or None), given a record's
        fields that never change after create; may raise InvalidRequestError for an answer that
        is not one."""
        ...


class Store(Protocol):
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

    def snapshot(self, challenge_id: str) -> Record | None:
        """A consistent copy of the whole record, state included, or None."""
        ...

    def check(self, challenge_id: str, answer: Answer, now: float, claim: Claim) -> CheckOutcome:
        """Compare ``answer`` with the record's expected caller number, then record it and say
        what it decided (``_flow.on_check``)."""
        ...

    def cancel(self, challenge_id: str, now: float, claim: Claim) -> CancelOutcome:
        """End a challenge still open and claim its ``canceled`` report (``_flow.on_cancel``)."""
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


class AsyncStore(Protocol):
    """The operations of ``Store`` as coroutines (RedisStore on a redis.asyncio client)."""

    async def salt(self) -> bytes: ...

    async def take_quotas(
        self, quotas: Sequence[Quota], now: float, member: str
    ) -> Refusal | None: ...

    async def create(self, record: Record) -> None: ...

    async def snapshot(self, challenge_id: str) -> Record | None: ...

    async def check(
        self, challenge_id: str, answer: Answer, now: float, claim: Claim
    ) -> CheckOutcome: ...

    async def cancel(self, challenge_id: str, now: float, claim: Claim) -> CancelOutcome: ...

    async def claim_due(self, now: float, claim: Claim, limit: int) -> list[Report]: ...

    async def report_done(self, challenge_id: str, token: str, now: float) -> None: ...

    async def report_failed(
        self, challenge_id: str, token: str, now: float, give_up: bool
    ) -> None: ...


class VerificationStore:
    """Base of MemoryStore, SQLiteStore and RedisStore: how a verifier reaches the operations.

    ``Verifier`` needs ``sync_operations()``; ``AsyncVerifier`` takes ``async_operations()``
    when the store has them, and otherwise runs the sync ones inline (``blocking`` False) or in
    a thread (``blocking`` True) so that the event loop is never blocked.
    """

    blocking = True

    def sync_operations(self) -> Store:
        """The store's operations for a ``Verifier``."""
        raise NotImplementedError

    def async_operations(self) -> AsyncStore | None:
        """Native coroutine operations for an ``AsyncVerifier``, or None to use the sync ones."""
        return None

    def close(self) -> None:
        """Release what the store opened itself (SQLite's connections). A Redis client passed
        in stays open: it belongs to the caller."""
