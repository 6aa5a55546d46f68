"""A start cut off before Bird's answer leaves an orphan expire_due() ends, if a call may exist."""

from __future__ import annotations

import logging
from typing import Any
from unittest.mock import ANY

import pytest
from bird_flashcalls import APIConnectionError, APIStatusError, BirdError
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import VerificationEvent

from .support import PHONE, Clock, memory_verifier


@pytest.mark.parametrize(
    ("caller_picked", "fault", "orphaned", "warned", "canceled"),
    [
        (False, {"status": 503}, [], 0, False),
        (False, {"status": 500}, [None], 1, False),  # a call nobody can end may exist
        (True, {"drop_connection": True}, ["canceled"], 0, True),  # ended by its numbers
        (True, {"status": 500}, [None], 0, False),  # Bird knows no call of those numbers
    ],
    ids=["surely-not-placed", "maybe-placed", "placed-answer-lost", "never-placed"],
)
def test_a_start_whose_create_failed_leaves_an_orphan_only_if_the_call_may_exist(
    fake_bird: FakeBird,
    caplog: pytest.LogCaptureFixture,
    caller_picked: bool,
    fault: dict[str, Any],
    orphaned: list[str | None],
    warned: int,
    canceled: bool,
) -> None:
    events: list[VerificationEvent] = []
    clock = Clock()
    callers = {"caller_numbers": fake_bird.caller_numbers[:1]} if caller_picked else {}
    verifier = memory_verifier(
        fake_bird, clock=clock, report_lease=30, on_event=events.append, **callers
    )
    fake_bird.fail_next(**fault)
    with pytest.raises((APIStatusError, APIConnectionError)) as raised:
        verifier.start(PHONE, client_key=None)
    assert raised.value.may_have_been_delivered is bool(orphaned)

    clock.advance(29)
    assert verifier.expire_due() == 0 and events == []
    clock.advance(1)
    with caplog.at_level(logging.WARNING, "bird_flashcalls.verification"):
        assert verifier.expire_due() == 0  # not a timeout: nothing to tell Bird
        assert verifier.expire_due() == 0
    assert [(e.kind, e.detail) for e in events] == [("orphaned", d) for d in orphaned]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == warned and all("interrupted while Bird placed" in w for w in warnings)
    assert PHONE not in "".join(warnings)
    assert [call["reports"] for call in fake_bird.calls.values()] == (
        [[{"result": "canceled", "at": ANY}]] if canceled else []
    )
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
