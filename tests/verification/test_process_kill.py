"""A worker SIGKILLed after its decision: the outcome stands, another reports it after the lease."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import CheckResult, Verifier

from . import verification_workers
from .support import PHONE, SHARED_STORES, Clock, Stores, reports, wrong

LEASE = 120.0


def kill_after_decision(
    location: Any, bird: dict[str, str], operation: str, arguments: dict[str, Any], at: float
) -> None:
    spawn = multiprocessing.get_context("spawn")
    decided, never = spawn.Event(), spawn.Event()
    worker = spawn.Process(
        target=verification_workers.decide_then_hang,
        args=(location, bird, operation, arguments, at, decided, never),
    )
    worker.start()
    try:
        assert decided.wait(timeout=60), "the worker never reached its decision"
    finally:
        worker.kill()  # SIGKILL: no cleanup, no finally blocks, no report
        worker.join(timeout=30)
    assert worker.exitcode == -9


@pytest.mark.parametrize(
    ("answer", "decided", "then", "reported"),
    [
        ("right", "verified", "not_found", "verified"),
        ("wrong", "locked", "locked", "wrong_cli"),
        (None, "expired", "expired", "timeout"),  # decided by the killed worker's expire_due()
    ],
    ids=["right", "wrong", "timeout"],
)
@SHARED_STORES
def test_a_decision_of_a_killed_worker_stands_and_is_reported_once_its_lease_has_run_out(
    stores: Stores,
    fake_bird_served: tuple[FakeBird, dict[str, str]],
    answer: str | None,
    decided: str,
    then: str,
    reported: str,
) -> None:
    fake, bird = fake_bird_served
    clock = Clock()
    here = Verifier(
        fake.client(max_retries=0), stores.new(), max_attempts=1, report_lease=LEASE, clock=clock
    )
    challenge = here.start(PHONE, client_key=None)
    seen = fake.handset_cli(challenge.call_id)
    if answer is None:
        clock.advance(300)
        operation, arguments = "expire_due", {}
    else:
        given = seen if answer == "right" else wrong(seen)
        operation, arguments = "check", {"challenge_id": challenge.id, "received_cli": given}

    kill_after_decision(stores.location(), bird, operation, arguments, clock.now)

    assert reports(fake, challenge.call_id) == []  # the worker died before telling Bird
    state = here.state(challenge.id)
    assert state is not None and (state.status, state.reported) == (decided, False)
    # The outcome stands: no second chance for the same challenge.
    assert here.check(challenge.id, received_cli=seen) == CheckResult(then, False, 0)
    sweep = here.flush if answer else here.expire_due
    assert sweep() == 0  # the dead worker's claim still holds
    clock.advance(LEASE)
    assert sweep() == (1 if answer else 0)  # a timeout: the old one, not a new one
    assert reports(fake, challenge.call_id) == [reported]
    assert sweep() == 0
