"""A start is kept before Bird is asked to ring and completed after: a worker that dies in
between leaves a record that expire_due() finds once report_lease has run out (an orphan),
said in a warning and an ``orphaned`` event. A create Bird surely refused leaves nothing.
(Real killed workers: tests/chaos.)"""

from __future__ import annotations

import logging

import pytest
from bird_flashcalls import APIStatusError
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import VerificationEvent

from .support import PHONE, Clock, memory_verifier


@pytest.mark.parametrize(
    ("status", "orphans"), [(503, 0), (500, 1)], ids=["surely-not-placed", "maybe-placed"]
)
def test_a_start_whose_create_failed_leaves_an_orphan_only_if_the_call_may_exist(
    fake_bird: FakeBird, caplog: pytest.LogCaptureFixture, status: int, orphans: int
) -> None:
    events: list[VerificationEvent] = []
    clock = Clock()
    verifier = memory_verifier(fake_bird, clock=clock, report_lease=30, on_event=events.append)
    fake_bird.fail_next(status=status)
    with pytest.raises(APIStatusError) as raised:
        verifier.start(PHONE)
    assert raised.value.may_have_been_delivered is bool(orphans)

    clock.advance(29)
    assert verifier.expire_due() == 0 and events == []
    clock.advance(1)
    with caplog.at_level(logging.WARNING, "bird_flashcalls.verification"):
        assert verifier.expire_due() == 0  # not a timeout: nothing to tell Bird
        assert verifier.expire_due() == 0
    assert [(e.kind, e.detail) for e in events] == [("orphaned", None)] * orphans
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == orphans and all("interrupted while Bird placed" in w for w in warned)
    assert PHONE not in "".join(warned)
    assert verifier.store._records == {}  # type: ignore[attr-defined]
