"""Nothing lost: a worker process killed between the store's decision and the report to Bird.

The worker stops dead inside its on_event hook, right after the decision was committed and
before the report was sent; the test then SIGKILLs it. Another worker's flush() must deliver the
report once the dead worker's claim (report_lease) has run out, and the user's outcome stands.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import CheckResult, Verifier

from . import verification_workers
from .support import Clock, Stores, reports

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
def test_a_check_decided_by_a_killed_worker_is_reported_by_the_next_flush(
    shared_stores: Stores, fake_bird_served: tuple[FakeBird, dict[str, str]], answer: str
) -> None:
    fake, bird = fake_bird_served
    clock = Clock()
    here = Verifier(
        fake.client(max_retries=0),
        shared_stores.new(),
        max_attempts=1,
        report_lease=LEASE,
        clock=clock,
    )
    challenge = here.start("+31612345678", client_key=None)
    seen = fake.handset_cli(challenge.call_id)
    given = seen if answer == "right" else seen[:-1] + str((int(seen[-1]) + 1) % 10)

    kill_after_decision(
        shared_stores.location(),
        bird,
        "check",
        {"challenge_id": challenge.id, "received_cli": given},
        clock.now,
    )

    expected = "verified" if answer == "right" else "wrong_cli"
    assert reports(fake, challenge.call_id) == []  # the worker died before telling Bird
    state = here.state(challenge.id)
    assert state is not None
    assert (state.status, state.reported) == ("verified" if answer == "right" else "locked", False)
    # The outcome stands: no second chance for the same challenge.
    assert here.check(challenge.id, received_cli=seen).status in ("not_found", "locked")
    assert here.flush() == 0  # the dead worker's claim still holds
    clock.advance(LEASE)
    assert here.flush() == 1
    assert reports(fake, challenge.call_id) == [expected]
    assert here.flush() == 0


def test_a_timeout_decided_by_a_killed_worker_is_reported_by_the_next_expire_due(
    shared_stores: Stores, fake_bird_served: tuple[FakeBird, dict[str, str]]
) -> None:
    fake, bird = fake_bird_served
    clock = Clock()
    here = Verifier(
        fake.client(max_retries=0), shared_stores.new(), ttl=60, report_lease=LEASE, clock=clock
    )
    challenge = here.start("+31612345678", client_key=None)
    clock.advance(60)

    kill_after_decision(shared_stores.location(), bird, "expire_due", {}, clock.now)

    assert reports(fake, challenge.call_id) == []
    assert here.check(challenge.id, code="0000") == CheckResult("expired", False, 0)
    assert here.expire_due() == 0  # decided by the dead worker, claimed by it too
    clock.advance(LEASE)
    assert here.expire_due() == 0  # not a new timeout: the old one, delivered now
    assert reports(fake, challenge.call_id) == ["timeout"]
