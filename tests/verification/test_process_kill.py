"""A worker SIGKILLed between the store's decision and the report: the outcome stands, and
another worker delivers the report once the dead one's claim (report_lease) has run out."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import CheckResult, Verifier

from . import verification_workers
from .support import SHARED_STORES, Clock, Stores, reports, wrong

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


@pytest.mark.parametrize("answer", ["right", "wrong"])
@SHARED_STORES
def test_a_check_decided_by_a_killed_worker_is_reported_by_the_next_flush(
    stores: Stores, fake_bird_served: tuple[FakeBird, dict[str, str]], answer: str
) -> None:
    fake, bird = fake_bird_served
    clock = Clock()
    here = Verifier(
        fake.client(max_retries=0), stores.new(), max_attempts=1, report_lease=LEASE, clock=clock
    )
    challenge = here.start("+31612345678", client_key=None)
    seen = fake.handset_cli(challenge.call_id)
    given = seen if answer == "right" else wrong(seen)

    kill_after_decision(
        stores.location(),
        bird,
        "check",
        {"challenge_id": challenge.id, "received_cli": given},
        clock.now,
    )

    decided, expected = ("verified", "verified") if answer == "right" else ("locked", "wrong_cli")
    assert reports(fake, challenge.call_id) == []  # the worker died before telling Bird
    state = here.state(challenge.id)
    assert state is not None and (state.status, state.reported) == (decided, False)
    # The outcome stands: no second chance for the same challenge.
    assert here.check(challenge.id, received_cli=seen).status == (
        "not_found" if answer == "right" else "locked"
    )
    assert here.flush() == 0  # the dead worker's claim still holds
    clock.advance(LEASE)
    assert here.flush() == 1
    assert reports(fake, challenge.call_id) == [expected]
    assert here.flush() == 0


@SHARED_STORES
def test_a_timeout_decided_by_a_killed_worker_is_reported_by_the_next_expire_due(
    stores: Stores, fake_bird_served: tuple[FakeBird, dict[str, str]]
) -> None:
    fake, bird = fake_bird_served
    clock = Clock()
    here = Verifier(
        fake.client(max_retries=0), stores.new(), ttl=60, report_lease=LEASE, clock=clock
    )
    challenge = here.start("+31612345678", client_key=None)
    clock.advance(60)

    kill_after_decision(stores.location(), bird, "expire_due", {}, clock.now)

    assert reports(fake, challenge.call_id) == []
    assert here.check(challenge.id, code="0000") == CheckResult("expired", False, 0)
    assert here.expire_due() == 0  # decided by the dead worker, claimed by it too
    clock.advance(LEASE)
    assert here.expire_due() == 0  # not a new timeout: the old one, delivered now
    assert reports(fake, challenge.call_id) == ["timeout"]
