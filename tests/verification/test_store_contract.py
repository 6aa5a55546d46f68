"""What every store promises its verifier, on each store: the cases a verifier alone reaches
only by timing (another worker's claim, a record forgotten between two steps, a batch limit)."""

from __future__ import annotations

import os

import pytest
from bird_flashcalls.verification import MemoryStore
from bird_flashcalls.verification._store import (
    Claim,
)

from .support import NOW, SyncStores, record


def test_claim_due_claims_at_most_the_limit_earliest_first(stores: SyncStores) -> None:
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


def test_a_failed_report_is_released_only_by_its_own_claim(stores: SyncStores) -> None:
    store = stores.new().sync_operations()
    store.create(record("a", expires_at=NOW - 1, due_at=NOW - 1))
    [report] = store.claim_due(NOW, Claim("first", NOW + 60), 10)

    store.report_failed("a", "someone-else", NOW, False)
    assert store.claim_due(NOW + 1, Claim("second", NOW + 61), 10) == []  # still "first"'s

    store.report_failed("a", report.token, NOW + 1, False)
    [again] = store.claim_due(NOW + 1, Claim("second", NOW + 61), 10)
    assert (again.challenge_id, again.result, again.token) == ("a", "timeout", "second")
    assert again.newly_expired is False  # the timeout was decided by the first claim


def test_a_dropped_report_by_another_claim_keeps_the_record(stores: SyncStores) -> None:
    store = stores.new().sync_operations()
    store.create(record("a", expires_at=NOW - 1, due_at=NOW - 1))
    store.claim_due(NOW, Claim("first", NOW + 60), 10)

    store.report_failed("a", "someone-else", NOW, True)

    kept = store.snapshot("a")
    assert kept is not None and (kept.report, kept.claim) == ("timeout", "first")


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


# SQLiteStore's own connections.


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc")
def test_sqlite_store_keeps_one_connection_per_thread(tmp_path) -> None:
    from bird_flashcalls.verification import SQLiteStore

    store = SQLiteStore(tmp_path / "v.db")
    operations = store.sync_operations()
    operations.snapshot("warm-up")
    before = open_files()

    for number in range(50):
        operations.create(record(f"r{number}"))
        operations.snapshot(f"r{number}")

    assert open_files() == before
    store.close()


def test_sqlite_store_works_again_after_close(tmp_path) -> None:
    from bird_flashcalls.verification import SQLiteStore

    store = SQLiteStore(tmp_path / "v.db")
    operations = store.sync_operations()
    operations.create(record("a"))
    store.close()

    kept = operations.snapshot("a")
    operations.create(record("b"))

    assert kept is not None and kept.id == "a"
    assert operations.snapshot("b") is not None
    store.close()


@pytest.mark.parametrize("path", ["file:v.db", "file::memory:?cache=shared"])
def test_sqlite_store_refuses_uri_file_names(tmp_path, monkeypatch, path) -> None:
    from bird_flashcalls import ConfigurationError
    from bird_flashcalls.verification import SQLiteStore

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match="path of a database file"):
        SQLiteStore(path)
    assert list(tmp_path.iterdir()) == []


def test_a_second_report_done_for_a_kept_record_changes_nothing(stores: SyncStores) -> None:
    store = stores.new().sync_operations()
    store.create(record("a", expires_at=NOW - 1, due_at=NOW - 1))
    [report] = store.claim_due(NOW, Claim("first", NOW + 60), 10)
    store.report_done("a", report.token, NOW)

    store.report_done("a", report.token, NOW + 1)

    kept = store.snapshot("a")
    assert kept is not None and (kept.state, kept.report) == ("expired", None)
