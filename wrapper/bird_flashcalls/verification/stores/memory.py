"""MemoryStore: the embedded default, for one process. A lock around dicts."""

from __future__ import annotations

import collections
import secrets
import threading
from collections.abc import Sequence

import attrs

from .. import _transitions
from .._store import (
    CallerSample,
    CancelOutcome,
    CheckOutcome,
    Claim,
    Quota,
    Record,
    Refusal,
    Report,
    StoreOperations,
    UserAnswer,
    VerificationStore,
)

# Records past purge_at are swept at most this often (seconds of the verifier's clock), so a
# process that never calls expire_due() does not grow without bound.
_SWEEP_EVERY = 60.0


class MemoryStore(VerificationStore, StoreOperations):
    """Challenges in this process's memory: thread-safe, lost when the process ends.

    For tests, scripts and a single worker. Run ``expire_due()`` now and then all the same, so
    that challenges nobody answered are reported to Bird as ``timeout``.
    """

    blocking = False  # no I/O: AsyncVerifier calls it directly

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, Record] = {}
        # Rate-limit key -> (its window, the times of the starts inside it).
        self._starts: dict[str, tuple[float, list[float]]] = {}
        self._salt = secrets.token_bytes(32)
        self._next_sweep = 0.0
        # Caller endings seen, oldest first, and how many times each is among them.
        self._endings: collections.deque[str] = collections.deque()
        self._ending_counts: dict[str, int] = {}
        self._equal_pairs = 0

    def __repr__(self) -> str:
        return f"MemoryStore(challenges={len(self._records)})"

    def sync_operations(self) -> StoreOperations:
        return self

    def salt(self) -> bytes:
        return self._salt

    def take_quotas(self, quotas: Sequence[Quota], now: float, member: str) -> Refusal | None:
        starts = self._starts
        with self._lock:
            times = []
            full = False
            for quota in quotas:
                entry = starts.get(quota.key)
                if entry is None:
                    recent: list[float] = []
                    starts[quota.key] = (quota.window, recent)
                else:
                    recent = entry[1]
                    # Only the starts still inside the window are kept (they are in order).
                    cutoff = now - quota.window
                    while recent and recent[0] <= cutoff:
                        del recent[0]
                    full = full or len(recent) >= quota.limit
                times.append(recent)
            if full:
                refusal = _transitions.quota_refusal(quotas, times, now)
                if refusal is not None:
                    return refusal
            for recent in times:
                recent.append(now)
            if now >= self._next_sweep:
                self._sweep(now)
            return None

    def create(self, record: Record) -> None:
        with self._lock:
            self._records[record.id] = record

    def complete(self, record: Record) -> bool:
        with self._lock:
            stored = self._records.get(record.id)
            if stored is None or not _transitions.on_complete(stored):
                return False
            # A new object: a check comparing outside the lock sees the change (below).
            self._records[record.id] = record
            return True

    def snapshot(self, challenge_id: str) -> Record | None:
        with self._lock:
            record = self._records.get(challenge_id)
            return None if record is None else attrs.evolve(record)

    def check(
        self, challenge_id: str, answer: UserAnswer, now: float, claim: Claim
    ) -> CheckOutcome:
        record = self._records.get(challenge_id)
        if record is None or _transitions.is_ringing(record):
            return CheckOutcome("not_found", 0)
        # Outside the lock: it reads only fields that never change once the record is complete.
        matched, received_cli = answer.compare(record.expected_cli, record.code_digits)
        with self._lock:
            if self._records.get(challenge_id) is not record:
                return CheckOutcome("not_found", 0)  # forgotten meanwhile
            return _transitions.on_check(record, matched, received_cli, now, claim)

    def cancel(self, challenge_id: str, now: float, claim: Claim) -> CancelOutcome:
        with self._lock:
            record = self._records.get(challenge_id)
            if record is None:
                return CancelOutcome(False)
            return _transitions.on_cancel(record, now, claim)

    def claim_due(self, now: float, claim: Claim, limit: int) -> list[Report]:
        with self._lock:
            self._sweep(now)
            due = sorted(
                (r.due_at, r.id)
                for r in self._records.values()
                if r.due_at is not None and r.due_at <= now
            )
            reports = []
            for _, challenge_id in due:
                report = _transitions.on_due(self._records[challenge_id], now, claim)
                if report is not None:
                    reports.append(report)
                    if len(reports) == limit:
                        break
            return reports

    def report_done(self, challenge_id: str, token: str, now: float) -> None:
        with self._lock:
            record = self._records.get(challenge_id)
            if record is not None and _transitions.on_report_done(record, now):
                del self._records[challenge_id]

    def report_failed(self, challenge_id: str, token: str, now: float, give_up: bool) -> None:
        with self._lock:
            record = self._records.get(challenge_id)
            if record is not None and _transitions.on_report_failed(record, token, now, give_up):
                del self._records[challenge_id]

    def _sweep(self, now: float) -> None:
        # Called with the lock held.
        self._next_sweep = now + _SWEEP_EVERY
        for challenge_id in [i for i, r in self._records.items() if r.purge_at <= now]:
            del self._records[challenge_id]
        for key in [
            key
            for key, (window, times) in self._starts.items()
            if not times or times[-1] <= now - window
        ]:
            del self._starts[key]

    def note_caller(self, ending: str, keep: int) -> CallerSample:
        counts = self._ending_counts
        with self._lock:
            # Adding one ending makes a pair with each equal one kept; dropping one undoes that.
            self._equal_pairs += counts.get(ending, 0)
            counts[ending] = counts.get(ending, 0) + 1
            self._endings.append(ending)
            while len(self._endings) > keep:
                oldest = self._endings.popleft()
                counts[oldest] -= 1
                self._equal_pairs -= counts[oldest]
                if not counts[oldest]:
                    del counts[oldest]
            return CallerSample(len(self._endings), self._equal_pairs)

    def caller_sample(self) -> CallerSample:
        with self._lock:
            return CallerSample(len(self._endings), self._equal_pairs)
