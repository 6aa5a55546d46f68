"""The flow that ends what is due and sends waiting reports: ``expire_due()`` and ``flush()``."""

from __future__ import annotations

import logging

from ..errors import APIStatusError, BirdError
from ._operations import ClaimDueOp, ReportDoneOp, ReportFailedOp, SnapshotOp
from ._settings import VerifierSettings
from ._steps import Flow, SendReport, claim_for, emit, new_token, store, store_quietly
from ._store import Report
from ._transitions import report_verdict

logger = logging.getLogger("bird_flashcalls.verification")

# Reports claimed per store operation in expire_due() and flush().
DUE_BATCH = 200
MAX_DUE_BATCHES = 1000


def process_due(settings: VerifierSettings) -> Flow[tuple[int, int]]:
    """End what is past its ttl and send every waiting report; (expired, delivered) counts.

    Stops at the first report Bird does not take: the rest wait for the next call."""
    expired = delivered = 0
    token = new_token()
    for _ in range(MAX_DUE_BATCHES):
        now = settings.clock()
        reports = yield from store(ClaimDueOp(now, claim_for(settings, now, token), DUE_BATCH))
        for index, report in enumerate(reports):
            if not report.call_id:
                yield from orphaned(settings, report)
                continue
            if report.newly_expired:
                expired += 1
                emit(settings, "expired", report.challenge_id)
            if (yield from deliver(settings, report)):
                delivered += 1
                continue
            for rest in reports[index + 1 :]:
                if rest.newly_expired:
                    expired += 1
                    emit(settings, "expired", rest.challenge_id)
                yield from store_quietly(
                    ReportFailedOp(rest.challenge_id, rest.token, settings.clock(), False)
                )
            return expired, delivered
        if len(reports) < DUE_BATCH:
            break
    return expired, delivered


def orphaned(settings: VerifierSettings, report: Report) -> Flow[None]:
    """A start whose worker died while Bird placed the call, whose id it never learnt. When it
    had picked the caller number (``caller_numbers``), the call is ended ``canceled`` by its
    numbers; otherwise it is said in a warning and an event, then forgotten."""
    # A store that cannot be read raises: the orphan stays claimed and is found again later.
    record = yield from store(SnapshotOp(report.challenge_id))
    if record is not None and record.expected_cli:
        by = (record.expected_cli, record.phone)
        error: BirdError | None = yield SendReport(report, by)
        verdict = report_verdict(error)
        if verdict in ("retry", "after_lease"):
            # Bird could not be asked: the next expire_due() or flush() tries again.
            failed = ReportFailedOp(report.challenge_id, report.token, settings.clock(), False)
            yield from store_quietly(failed)
            return
        # Ended, or Bird knows no such call (it was never placed): nothing left to tell.
        emit(settings, "orphaned", report.challenge_id, "canceled" if error is None else None)
    else:
        logger.warning(
            "challenge %s: its start was interrupted while Bird placed the call; that call, if "
            "placed, cannot be reported to Bird (caller_numbers= would let it be ended)",
            report.challenge_id,
        )
        emit(settings, "orphaned", report.challenge_id)
    yield from store_quietly(ReportDoneOp(report.challenge_id, report.token, settings.clock()))


def deliver(settings: VerifierSettings, report: Report) -> Flow[bool]:
    """Send one claimed report; mark it done, or release it for a later flush()."""
    error: BirdError | None = yield SendReport(report)
    now = settings.clock()
    verdict = report_verdict(error)
    if verdict == "done":
        yield from store_quietly(ReportDoneOp(report.challenge_id, report.token, now))
        logger.debug("challenge %s: Bird took result %s", report.challenge_id, report.result)
        emit(settings, "reported", report.challenge_id, report.result)
        return True
    give_up = verdict == "drop"
    if verdict != "after_lease":  # else the claim stays until its lease runs out
        yield from store_quietly(ReportFailedOp(report.challenge_id, report.token, now, give_up))
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
    emit(
        settings,
        "report_dropped" if give_up else "report_failed",
        report.challenge_id,
        report.result,
    )
    return False
