"""The store operations as values, for a flow to yield.

Each runs on either kind of store (``run``, ``run_async``), and its type parameter is what it
gives back, so the flow that yields it is checked against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Generic, TypeVar

import attrs

from ._store import (
    AsyncStoreOperations,
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
)

R = TypeVar("R")

# The values a flow makes on every call (operations, steps, outcomes) are attrs.define, not
# frozen: nothing changes them once made, and a frozen instance costs more to build (together
# some 50,000 instructions of a start + check, about 2% of it).


class StoreOp(Generic[R]):
    name: ClassVar[str]  # the StoreOperations method it calls

    def run(self, store: StoreOperations) -> R:
        raise NotImplementedError

    async def run_async(self, store: AsyncStoreOperations) -> R:
        raise NotImplementedError


@attrs.define
class SaltOp(StoreOp[bytes]):
    name = "salt"

    def run(self, store: StoreOperations) -> bytes:
        return store.salt()

    async def run_async(self, store: AsyncStoreOperations) -> bytes:
        return await store.salt()


@attrs.define
class TakeQuotasOp(StoreOp["Refusal | None"]):
    name = "take_quotas"
    quotas: Sequence[Quota]
    now: float
    member: str

    def run(self, store: StoreOperations) -> Refusal | None:
        return store.take_quotas(self.quotas, self.now, self.member)

    async def run_async(self, store: AsyncStoreOperations) -> Refusal | None:
        return await store.take_quotas(self.quotas, self.now, self.member)


@attrs.define
class CreateOp(StoreOp[None]):
    name = "create"
    record: Record

    def run(self, store: StoreOperations) -> None:
        store.create(self.record)

    async def run_async(self, store: AsyncStoreOperations) -> None:
        await store.create(self.record)


@attrs.define
class CompleteOp(StoreOp[bool]):
    name = "complete"
    record: Record

    def run(self, store: StoreOperations) -> bool:
        return store.complete(self.record)

    async def run_async(self, store: AsyncStoreOperations) -> bool:
        return await store.complete(self.record)


@attrs.define
class SnapshotOp(StoreOp["Record | None"]):
    name = "snapshot"
    challenge_id: str

    def run(self, store: StoreOperations) -> Record | None:
        return store.snapshot(self.challenge_id)

    async def run_async(self, store: AsyncStoreOperations) -> Record | None:
        return await store.snapshot(self.challenge_id)


@attrs.define
class CheckOp(StoreOp[CheckOutcome]):
    name = "check"
    challenge_id: str
    answer: UserAnswer
    now: float
    claim: Claim

    def run(self, store: StoreOperations) -> CheckOutcome:
        return store.check(self.challenge_id, self.answer, self.now, self.claim)

    async def run_async(self, store: AsyncStoreOperations) -> CheckOutcome:
        return await store.check(self.challenge_id, self.answer, self.now, self.claim)


@attrs.define
class CancelOp(StoreOp[CancelOutcome]):
    name = "cancel"
    challenge_id: str
    now: float
    claim: Claim

    def run(self, store: StoreOperations) -> CancelOutcome:
        return store.cancel(self.challenge_id, self.now, self.claim)

    async def run_async(self, store: AsyncStoreOperations) -> CancelOutcome:
        return await store.cancel(self.challenge_id, self.now, self.claim)


@attrs.define
class ClaimDueOp(StoreOp["list[Report]"]):
    name = "claim_due"
    now: float
    claim: Claim
    limit: int

    def run(self, store: StoreOperations) -> list[Report]:
        return store.claim_due(self.now, self.claim, self.limit)

    async def run_async(self, store: AsyncStoreOperations) -> list[Report]:
        return await store.claim_due(self.now, self.claim, self.limit)


@attrs.define
class ReportDoneOp(StoreOp[None]):
    name = "report_done"
    challenge_id: str
    token: str
    now: float

    def run(self, store: StoreOperations) -> None:
        store.report_done(self.challenge_id, self.token, self.now)

    async def run_async(self, store: AsyncStoreOperations) -> None:
        await store.report_done(self.challenge_id, self.token, self.now)


@attrs.define
class ReportFailedOp(StoreOp[None]):
    name = "report_failed"
    challenge_id: str
    token: str
    now: float
    give_up: bool

    def run(self, store: StoreOperations) -> None:
        store.report_failed(self.challenge_id, self.token, self.now, self.give_up)

    async def run_async(self, store: AsyncStoreOperations) -> None:
        await store.report_failed(self.challenge_id, self.token, self.now, self.give_up)


@attrs.define
class NoteCallerOp(StoreOp[CallerSample]):
    name = "note_caller"
    ending: str
    keep: int

    def run(self, store: StoreOperations) -> CallerSample:
        return store.note_caller(self.ending, self.keep)

    async def run_async(self, store: AsyncStoreOperations) -> CallerSample:
        return await store.note_caller(self.ending, self.keep)


@attrs.define
class CallerSampleOp(StoreOp[CallerSample]):
    name = "caller_sample"

    def run(self, store: StoreOperations) -> CallerSample:
        return store.caller_sample()

    async def run_async(self, store: AsyncStoreOperations) -> CallerSample:
        return await store.caller_sample()
