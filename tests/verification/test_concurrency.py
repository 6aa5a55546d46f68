"""Atomic under concurrency, in every store: real threads, tasks and worker processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import AsyncVerifier, SQLiteStore, Verifier

from . import verification_workers
from .support import NO_LIMITS, SHARED_STORES, Clock, Stores, locked, reports, wrong

THREADS = 50
PHONE = "+31612345678"


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together by a barrier."""
    barrier = threading.Barrier(count)

    def run(number: int) -> Any:
        barrier.wait(timeout=30)
        return work(number)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def verifiers(stores: Stores, fake: FakeBird, count: int, **settings: Any) -> list[Verifier]:
    """One verifier per worker thread, each on its own store handle and client."""
    return [Verifier(fake.client(max_retries=0), stores.new(), **settings) for _ in range(count)]


def assert_verified_once_and_locked_at_3(right: list[str], wrong: list[str]) -> None:
    """The statuses of many concurrent checks of one right answer, and of one wrong answer."""
    assert Counter(right) == {"verified": 1, "not_found": len(right) - 1}
    assert Counter(wrong) == {"wrong": 2, "locked": len(wrong) - 2}


# Threads of one process, every store.


def test_fifty_threads_verify_once_and_never_exceed_max_attempts(
    stores: Stores, fake_bird: FakeBird
) -> None:
    workers = verifiers(stores, fake_bird, THREADS, max_attempts=3, resend_cooldown=0)
    right_one, wrong_one = (workers[0].start(PHONE, client_key=None) for _ in range(2))
    right = fake_bird.handset_cli(right_one.call_id)
    given = wrong(fake_bird.handset_cli(wrong_one.call_id))

    verified = in_threads(
        THREADS, lambda number: workers[number].check(right_one.id, received_cli=right).status
    )
    locked = in_threads(
        THREADS, lambda number: workers[number].check(wrong_one.id, received_cli=given).status
    )

    assert_verified_once_and_locked_at_3(verified, locked)
    assert reports(fake_bird, right_one.call_id) == ["verified"]
    assert reports(fake_bird, wrong_one.call_id) == ["wrong_cli"]
    record = stores.new().sync_operations().snapshot(wrong_one.id)
    assert record is not None and record.attempts == 3


def test_workers_expiring_at_the_same_moment_report_each_timeout_once(
    stores: Stores, fake_bird: FakeBird
) -> None:
    clock = Clock()
    workers = verifiers(stores, fake_bird, 8, clock=clock, ttl=60, **NO_LIMITS)
    challenges = [workers[0].start(PHONE, client_key=None) for _ in range(40)]
    clock.advance(60)

    counts = in_threads(len(workers), lambda number: workers[number].expire_due())

    assert sum(counts) == len(challenges)
    assert [reports(fake_bird, c.call_id) for c in challenges] == [["timeout"]] * len(challenges)


# Tasks of one event loop, every store.


@pytest.mark.anyio
async def test_fifty_tasks_with_the_right_answer_verify_exactly_once(
    stores: Stores, fake_bird: FakeBird
) -> None:
    try:
        async with fake_bird.async_client(max_retries=0) as client:
            verifier = AsyncVerifier(client, stores.new(for_async=True))
            challenge = await verifier.start(PHONE, client_key=None)
            right = fake_bird.handset_cli(challenge.call_id)
            other = await verifier.start("+31612345679", client_key=None)
            given = wrong(fake_bird.handset_cli(other.call_id))

            statuses = await asyncio.gather(
                *(verifier.check(challenge.id, received_cli=right) for _ in range(THREADS)),
                *(verifier.check(other.id, received_cli=given) for _ in range(THREADS)),
            )
    finally:
        await stores.aclose()

    checked = [result.status for result in statuses]
    assert_verified_once_and_locked_at_3(checked[:THREADS], checked[THREADS:])
    assert reports(fake_bird, challenge.call_id) == ["verified"]


@pytest.mark.anyio
async def test_sqlite_transactions_do_not_block_the_event_loop(
    tmp_path: Any, fake_bird: FakeBird
) -> None:
    # While one process holds SQLite's write lock, an AsyncVerifier's check waits for it in a
    # thread: other coroutines keep running meanwhile.
    path = tmp_path / "verification.db"
    verifier = AsyncVerifier(fake_bird.async_client(max_retries=0), SQLiteStore(path))
    challenge = await verifier.start(PHONE, client_key=None)
    with locked(path):
        waiting = asyncio.create_task(verifier.check(challenge.id, received_cli="+3197010269999"))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not waiting.done()  # held up by the lock, yet the loop ran 20 times
    assert (await waiting).status == "wrong"


# Several worker processes: SQLite and Redis.

PROCESSES = 3
THREADS_PER_PROCESS = 8


@SHARED_STORES
def test_worker_processes_verify_once_lock_at_max_attempts_and_expire_once(
    stores: Stores, fake_bird_served: tuple[FakeBird, dict[str, str]]
) -> None:
    fake, bird = fake_bird_served
    ttl = 600
    here = Verifier(fake.client(max_retries=0), stores.new(), ttl=ttl, **NO_LIMITS)
    right_one, wrong_one = here.start(PHONE, client_key=None), here.start(PHONE, client_key=None)
    right = fake.handset_cli(right_one.call_id)
    given = wrong(fake.handset_cli(wrong_one.call_id))
    expiring = [here.start(PHONE, client_key=None) for _ in range(30)]
    scenarios = [
        ("check", {"challenge_id": right_one.id, "received_cli": right}, 0.0),
        ("check", {"challenge_id": wrong_one.id, "received_cli": given}, 0.0),
        ("expire_due", {}, ttl + 1.0),  # these workers' clocks are past every expiry
    ]
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(PROCESSES * THREADS_PER_PROCESS)
    results = spawn.Queue()
    processes = [
        spawn.Process(
            target=verification_workers.run_scenarios,
            args=(stores.location(), bird, scenarios, barrier, results, THREADS_PER_PROCESS),
        )
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    workers = PROCESSES * THREADS_PER_PROCESS
    collected = [results.get(timeout=120) for _ in range(len(scenarios) * workers)]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0

    by_scenario: dict[int, list[Any]] = {0: [], 1: [], 2: []}
    for number, result in collected:
        by_scenario[number].append(result)
    assert len(by_scenario[0]) == len(by_scenario[1]) == workers
    assert_verified_once_and_locked_at_3(by_scenario[0], by_scenario[1])
    assert sum(by_scenario[2]) == len(expiring)
    assert reports(fake, right_one.call_id) == ["verified"]
    assert reports(fake, wrong_one.call_id) == ["wrong_cli"]
    assert [reports(fake, c.call_id) for c in expiring] == [["timeout"]] * len(expiring)
