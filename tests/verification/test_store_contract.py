"""What every store promises its verifier, in the cases a verifier reaches only by timing."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest
from bird_flashcalls.verification import (
    CheckResult,
    MemoryStore,
    SQLiteStore,
    VerificationRateLimited,
)
from bird_flashcalls.verification._answers import GivenAnswer
from bird_flashcalls.verification._store import CheckOutcome, Claim

from .support import (
    NOW,
    OTHER_PHONE,
    PHONE,
    REDIS_KINDS,
    WRONG_CLI,
    Env,
    Stores,
    env_params,
    record,
)


def test_claim_due_claims_at_most_the_limit_earliest_first(stores: Stores) -> None:
    store = stores.new().sync_operations()
    # Due, by due_at: an expired challenge, one with nothing left to report, then three more
    # expired ones. The first batch holds one report, so a second batch is needed for one more.
    store.create(record("a", expires_at=NOW - 10, due_at=NOW - 10))
    store.create(record("b", state="verified", due_at=NOW - 9))
    for offset, name in ((8, "c"), (7, "d"), (6, "e")):
        store.create(record(name, expires_at=NOW - offset, due_at=NOW - offset))

    reports = store.claim_due(NOW, Claim("worker", NOW + 60), 2)

    assert [(r.challenge_id, r.result, r.newly_expired) for r in reports] == [
        ("a", "timeout", True),
        ("c", "timeout", True),
    ]
    assert all(r.token == "worker" for r in reports)
    later = store.claim_due(NOW, Claim("next", NOW + 60), 10)
    assert sorted(r.challenge_id for r in later) == ["d", "e"]


def test_a_report_is_released_or_settled_only_by_its_own_claim(stores: Stores) -> None:
    store = stores.new().sync_operations()
    store.create(record("a", expires_at=NOW - 1, due_at=NOW - 1))
    [report] = store.claim_due(NOW, Claim("first", NOW + 60), 10)

    for give_up in (False, True):
        store.report_failed("a", "someone-else", NOW, give_up)
    kept = store.snapshot("a")
    assert kept is not None and (kept.report, kept.claim) == ("timeout", "first")
    assert store.claim_due(NOW + 1, Claim("second", NOW + 61), 10) == []  # still "first"'s

    store.report_failed("a", report.token, NOW + 1, False)
    [again] = store.claim_due(NOW + 1, Claim("second", NOW + 61), 10)
    assert (again.challenge_id, again.result, again.token) == ("a", "timeout", "second")
    assert again.newly_expired is False  # the timeout was decided by the first claim
    store.report_done("a", again.token, NOW + 1)
    store.report_done("a", again.token, NOW + 2)  # a second time changes nothing
    kept = store.snapshot("a")
    assert kept is not None and (kept.state, kept.report, kept.due_at) == ("expired", None, None)


def test_memory_store_answers_not_found_for_a_record_forgotten_during_the_comparison() -> None:
    store = MemoryStore()
    store.create(record("a", state="verified", report="verified", purge_at=NOW))

    class ForgettingAnswer:
        """Another thread's expire_due() sweeps the record while this answer is compared."""

        def compare(self, expected_cli: str, code_digits: int) -> tuple[bool, str | None]:
            store.claim_due(NOW + 1, Claim("sweeper", NOW + 61), 10)
            return True, expected_cli

    outcome = store.check("a", ForgettingAnswer(), NOW + 1, Claim("checker", NOW + 61))

    assert (outcome.status, outcome.report) == ("not_found", None)


# SQLiteStore's own connections and files.


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc")
def test_sqlite_store_keeps_one_connection_per_live_thread_in_wal_mode(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "v.db")
    operations = store.sync_operations()
    operations.snapshot("warm-up")
    before = len(os.listdir("/proc/self/fd"))
    for number in range(50):
        operations.create(record(f"r{number}"))
        operations.snapshot(f"r{number}")
    assert len(os.listdir("/proc/self/fd")) == before
    opened: list[sqlite3.Connection] = []
    for _ in range(3):
        thread = threading.Thread(target=lambda: opened.append(store._connection()))
        thread.start()
        thread.join()

    # Each new thread's connection closed the one of the thread before it; close() the last.
    assert opened[-1].execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for connection in opened[:-1]:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            connection.execute("SELECT 1")
    store.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[-1].execute("SELECT 1")
    # And it works again after close().
    operations.create(record("b"))
    assert operations.snapshot("r0") is not None and operations.snapshot("b") is not None
    store.close()


# Redis: scripts a server does not know (restart, failover, SCRIPT FLUSH), on every kind of
# client. A NOSCRIPT answer means the script did not run: it is loaded and sent once more.


@pytest.mark.anyio
@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
@pytest.mark.parametrize("env", env_params(REDIS_KINDS), indirect=True)
async def test_redis_store_reloads_flushed_scripts_and_runs_each_command_once(
    env: Env, decode: bool
) -> None:
    stores = env.stores
    store = stores.new(for_async=env.mode == "async", decode=decode)
    # Every node forgets every script before each call, and after each event inside one: the
    # pipelines of start and check, the scripts of cancel and expire_due, report_done's.
    verifier = env.verifier(
        store,
        ttl=60,
        max_attempts=3,
        resend_cooldown=0,
        per_number_limit=(2, 600),
        on_event=lambda event: stores.flush_scripts(),
    )
    calls = []
    for _ in range(2):
        stores.flush_scripts()
        calls.append(await verifier.start(PHONE, client_key=None))
    stores.flush_scripts()
    with pytest.raises(VerificationRateLimited):  # each start was counted once
        await verifier.start(PHONE, client_key=None)
    checked, canceled = calls
    stores.flush_scripts()
    assert (await verifier.check(checked.id, received_cli=WRONG_CLI)).attempts_left == 2
    stores.flush_scripts()
    seen = env.fake.handset_cli(checked.call_id)
    assert await verifier.check(checked.id, received_cli=seen) == CheckResult(
        "verified", True, 2, PHONE
    )
    stores.flush_scripts()
    assert await verifier.cancel(canceled.id)
    expiring = await verifier.start(OTHER_PHONE, client_key=None)
    env.clock.advance(60)
    stores.flush_scripts()
    assert await verifier.expire_due() == 1

    assert [env.reports(c.call_id) for c in (checked, canceled, expiring)] == [
        ["verified"],
        ["canceled"],
        ["timeout"],
    ]
    assert await verifier.flush() == 0


def test_a_ringing_record_is_completed_once_or_taken_for_an_orphan(stores: Stores) -> None:
    from bird_flashcalls.verification._transitions import abandoned_record

    store = stores.new().sync_operations()
    # Kept while Bird places the call: not checkable, not cancelable, due at its deadline.
    for name in ("done", "orphan", "abandoned"):
        store.create(
            record(name, call_id="", expected_cli="", expires_at=NOW + 30, due_at=NOW + 30)
        )
    assert store.check("done", GivenAnswer(None, WRONG_CLI), NOW, Claim("c", NOW + 60)) == (
        CheckOutcome("not_found", 0)
    )
    assert store.cancel("done", NOW, Claim("c", NOW + 60)).canceled is False
    assert store.claim_due(NOW + 29, Claim("early", NOW + 89), 10) == []

    assert store.complete(record("done")) is True
    assert store.complete(abandoned_record(record("abandoned", call_id=""), NOW)) is True
    [orphan] = store.claim_due(NOW + 30, Claim("sweeper", NOW + 90), 10)
    assert (orphan.challenge_id, orphan.call_id, orphan.result) == ("orphan", "", "canceled")
    assert store.complete(record("orphan")) is False  # too late: already an orphan
    store.report_done("orphan", orphan.token, NOW + 30)

    assert store.snapshot("orphan") is None
    completed = store.snapshot("done")
    assert completed is not None and completed == record("done")
    outcome = store.check("done", GivenAnswer(None, WRONG_CLI), NOW, Claim("c", NOW + 60))
    assert (outcome.status, outcome.attempts_left) == ("wrong", 2)
