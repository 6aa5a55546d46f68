"""A start cut off before Bird's answer leaves an orphan expire_due() ends, if a call may exist."""

from __future__ import annotations

import logging
from typing import Any
from unittest.mock import ANY

import pytest
from bird_flashcalls import APIStatusError, BirdError
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
        verifier.start(PHONE, client_key=None)
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


@pytest.mark.parametrize(
    ("fault", "reports", "detail"),
    [({"drop_connection": True}, ["canceled"], "canceled"), ({"status": 500}, [], None)],
    ids=["placed-answer-lost", "never-placed"],
)
def test_an_orphan_whose_caller_was_picked_is_ended_by_its_numbers(
    fake_bird: FakeBird,
    caplog: pytest.LogCaptureFixture,
    fault: dict[str, Any],
    reports: list[str],
    detail: str | None,
) -> None:
    events: list[VerificationEvent] = []
    clock = Clock()
    caller = fake_bird.caller_numbers[0]
    verifier = memory_verifier(
        fake_bird, clock=clock, report_lease=30, on_event=events.append, caller_numbers=[caller]
    )
    fake_bird.fail_next(**fault)
    with pytest.raises(BirdError):
        verifier.start(PHONE, client_key=None)

    clock.advance(30)
    with caplog.at_level(logging.WARNING, "bird_flashcalls.verification"):
        assert verifier.expire_due() == 0
        assert verifier.expire_due() == 0
    assert [call["reports"] for call in fake_bird.calls.values()] == (
        [[{"result": "canceled", "at": ANY}]] if reports else []
    )
    assert [(e.kind, e.detail) for e in events] == [("orphaned", detail)]
    assert caplog.records == []
    assert verifier.store._records == {}  # type: ignore[attr-defined]


def test_an_orphan_is_ended_at_a_later_flush_when_bird_cannot_be_asked(fake_bird: FakeBird) -> None:
    clock = Clock()
    caller = fake_bird.caller_numbers[0]
    verifier = memory_verifier(fake_bird, clock=clock, report_lease=30, caller_numbers=[caller])
    fake_bird.fail_next(drop_connection=True)
    with pytest.raises(BirdError):
        verifier.start(PHONE, client_key=None)
    clock.advance(30)
    fake_bird.fail_next(status=503)
    verifier.expire_due()  # Bird refuses the hangup: the orphan waits
    [call] = fake_bird.calls.values()
    assert call["reports"] == []
    assert verifier.flush() == 0 and verifier.expire_due() == 0
    assert [r["result"] for r in fake_bird.calls[call["id"]]["reports"]] == ["canceled"]
