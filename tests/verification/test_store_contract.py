"""What every store promises its verifier, held to the state changes of ``_flow`` directly: the
cases a verifier alone reaches only by timing (another worker's claim, a record forgotten
between two steps, a batch limit)."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from bird_flashcalls.verification import MemoryStore, _flows, _transitions
from bird_flashcalls.verification._settings import Settings
from bird_flashcalls.verification._store import (
    Claim,
    Quota,
    Record,
    Report,
)

from .support import SyncStores

NOW = time.time()


def record(challenge_id: str, **fields: Any) -> Record:
    defaults: dict[str, Any] = {
        "id": challenge_id,
        "call_id": "5e0d4c1e-8d43-4e5b-a5f1-0c9a2b6f7d10",
        "phone": "+31612345678",
        "expected_cli": "+3197010260002",
        "code_digits": 4,
        "max_attempts": 3,
        "expires_at": NOW + 300,
        "due_at": NOW + 300,
        "purge_at": NOW + 300 + _transitions.UNREPORTED_KEPT_FOR,
    }
    defaults.update(fields)
    return Record(**defaults)


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


# The state changes themselves, for the cases no store reaches through a verifier's steps.


def test_a_pending_challenge_looked_at_early_is_looked_at_again_at_its_expiry() -> None:
    early = record("a", due_at=NOW - 5, expires_at=NOW + 100)

    assert _transitions.on_due(early, NOW, Claim("worker", NOW + 60)) is None

    assert (early.state, early.due_at, early.claim) == ("pending", NOW + 100, None)


def test_an_ended_challenge_with_nothing_to_report_is_not_looked_at_again() -> None:
    done = record("a", state="verified", due_at=NOW - 5)

    assert _transitions.on_due(done, NOW, Claim("worker", NOW + 60)) is None

    assert done.due_at is None


def test_a_report_another_worker_is_sending_is_left_to_it_until_its_lease_ends() -> None:
    held = record(
        "a",
        state="locked",
        report="wrong_cli",
        report_cli="+3197010269999",
        claim="other",
        lease_until=NOW + 30,
        due_at=NOW - 1,
    )

    assert _transitions.on_due(held, NOW, Claim("worker", NOW + 60)) is None
    assert (held.claim, held.due_at) == ("other", NOW + 30)

    report = _transitions.on_due(held, NOW + 30, Claim("worker", NOW + 90))

    assert report == Report("a", held.call_id, "wrong_cli", "+3197010269999", "worker", False)
    assert (held.claim, held.lease_until, held.due_at) == ("worker", NOW + 90, NOW + 90)


def test_a_failed_report_of_another_claim_changes_nothing() -> None:
    held = record("a", state="verified", report="verified", claim="other", lease_until=NOW + 30)

    assert _transitions.on_report_failed(held, "mine", NOW, give_up=False) is False
    assert _transitions.on_report_failed(held, "mine", NOW, give_up=True) is False

    assert (held.report, held.claim, held.lease_until) == ("verified", "other", NOW + 30)


def test_a_released_report_is_due_at_once_for_anyone() -> None:
    held = record("a", state="verified", report="verified", claim="mine", lease_until=NOW + 30)

    assert _transitions.on_report_failed(held, "mine", NOW, give_up=False) is False

    assert (held.report, held.claim, held.lease_until, held.due_at) == ("verified", None, NOW, NOW)


@pytest.mark.parametrize(("state", "forget"), [("verified", True), ("canceled", True)])
def test_a_reported_verified_or_canceled_challenge_is_forgotten_at_once(state, forget) -> None:
    ended = record("a", state=state, report=state, claim="mine")

    assert _transitions.on_report_done(ended, NOW) is forget


@pytest.mark.parametrize("state", ["locked", "expired"])
def test_a_reported_locked_or_expired_challenge_is_kept_for_an_hour_past_its_expiry(state) -> None:
    ended = record("a", state=state, report="timeout", claim="mine", expires_at=NOW)

    assert _transitions.on_report_done(ended, NOW) is False
    assert (ended.report, ended.claim, ended.due_at) == (None, None, None)
    assert ended.purge_at == NOW + _transitions.ENDED_KEPT_FOR
    old = record("b", state=state, report="timeout", expires_at=NOW - _transitions.ENDED_KEPT_FOR)
    assert _transitions.on_report_done(old, NOW) is True


def test_a_start_is_counted_for_the_window_that_follows_it_only() -> None:
    quota = Quota("per_number_limit", "number:x", 2, 60.0)

    assert _transitions.quota_wait([NOW - 60, NOW - 10], quota, NOW) is None  # 60 s ago: out
    assert _transitions.quota_wait([NOW - 59, NOW - 10], quota, NOW) == pytest.approx(1.0)


def test_the_longest_wait_among_refusing_quotas_is_given() -> None:
    quotas = [
        Quota("resend_cooldown", "resend:x", 1, 30.0),
        Quota("per_number_limit", "number:x", 1, 600.0),
        Quota("per_client_limit", "client:y", 5, 3600.0),
    ]
    times = [[NOW - 20], [NOW - 20], [NOW - 20]]

    refusal = _transitions.quota_refusal(quotas, times, NOW)

    assert refusal is not None
    assert (refusal.name, refusal.retry_after) == ("per_number_limit", pytest.approx(580.0))
    assert _transitions.quota_refusal(quotas[2:], times[2:], NOW) is None


def test_between_equal_waits_the_first_quota_is_named() -> None:
    quotas = [
        Quota("resend_cooldown", "resend:x", 1, 60.0),
        Quota("per_number_limit", "number:x", 1, 60.0),
    ]

    refusal = _transitions.quota_refusal(quotas, [[NOW - 10], [NOW - 10]], NOW)

    assert refusal is not None and refusal.name == "resend_cooldown"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_worker_makes_claim_tokens_of_its_own() -> None:
    parent = _flows.new_token()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its first token, then leave without cleanup
        try:
            os.write(write, _flows.new_token().encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    os.waitpid(pid, 0)

    # Same counter, another random prefix: two workers never hold the same claim.
    assert child and child.rsplit("-", 1)[0] != parent.rsplit("-", 1)[0]


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


def _validation_error(status: int | None) -> Any:
    import httpx
    from bird_flashcalls import APIResponseValidationError

    response = None if status is None else httpx.Response(status)
    return APIResponseValidationError("odd body", response=response, body=b"", request_id=None)


def _status_error(status: int) -> Any:
    import httpx
    from bird_flashcalls import APIStatusError

    response = httpx.Response(status, request=httpx.Request("POST", "https://api.bird.test"))
    return APIStatusError(
        "no", response=response, code=None, message=None, details={}, request_id=None
    )


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (None, "done"),
        (_validation_error(200), "done"),  # Bird took it; only its answer was odd
        (_validation_error(202), "done"),
        (_validation_error(299), "done"),
        (_validation_error(300), "retry"),
        (_validation_error(199), "retry"),
        (_validation_error(None), "retry"),
        (_status_error(500), "retry"),
        (_status_error(503), "retry"),
        (_status_error(408), "retry"),
        (_status_error(429), "retry"),
        (_status_error(409), "drop"),  # already ended: it never will take it
        (_status_error(404), "drop"),
        (_status_error(430), "drop"),
        (_status_error(407), "drop"),
        (_status_error(499), "drop"),
    ],
)
def test_what_becomes_of_a_report_after_each_answer(error, verdict) -> None:
    assert _transitions.report_verdict(error) == verdict


def test_what_becomes_of_a_report_that_got_no_answer() -> None:
    import httpx
    from bird_flashcalls import (
        APIConnectionError,
        ClientClosedError,
        ConfigurationError,
        InvalidRequestError,
    )

    request = httpx.Request("POST", "https://api.bird.test")
    no_answer = APIConnectionError("down", request=request, may_have_been_delivered=False)
    assert _transitions.report_verdict(no_answer) == "retry"
    assert _transitions.report_verdict(ClientClosedError("closed")) == "retry"
    assert _transitions.report_verdict(InvalidRequestError("bad", field="x")) == "drop"
    assert _transitions.report_verdict(ConfigurationError("bad")) == "drop"


def test_claim_tokens_are_unique_and_a_given_one_is_kept() -> None:
    settings = Settings(report_lease=30)

    tokens = {_flows._claim(settings, NOW).token for _ in range(100)}
    given = _flows._claim(settings, NOW, "this-run")

    assert len(tokens) == 100 and all(tokens)
    assert (given.token, given.until) == ("this-run", NOW + 30)


def test_a_second_report_done_for_a_kept_record_changes_nothing(stores: SyncStores) -> None:
    store = stores.new().sync_operations()
    store.create(record("a", expires_at=NOW - 1, due_at=NOW - 1))
    [report] = store.claim_due(NOW, Claim("first", NOW + 60), 10)
    store.report_done("a", report.token, NOW)

    store.report_done("a", report.token, NOW + 1)

    kept = store.snapshot("a")
    assert kept is not None and (kept.state, kept.report) == ("expired", None)


def test_the_hook_a_forked_child_runs_gives_claim_tokens_a_new_prefix() -> None:
    before = _flows.new_token()

    _flows._new_token_prefix()  # what os.register_at_fork runs in a child

    after = _flows.new_token()
    assert after != before
    assert after.rsplit("-", 1)[0] != before.rsplit("-", 1)[0]
