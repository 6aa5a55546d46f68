"""Safe by default: nothing secret in returned objects, reprs, logs or store keys; constant-time
comparison; hashed rate-limit keys; records that expire by themselves."""

from __future__ import annotations

import gc
import hmac
import logging
import pickle
import sqlite3
import types
from collections.abc import Iterator
from typing import Any

import pytest
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import (
    MemoryStore,
    SQLiteStore,
    VerificationEvent,
    VerificationRateLimited,
    Verifier,
)

from .support import PHONE, Clock, SyncStores

CLIENT_KEY = "203.0.113.7"
# What would give a phone number away in a key or a log line.
PHONE_PARTS = (PHONE, PHONE[1:], PHONE[3:])

_SKIPPED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.CodeType)


def reachable_text(root: object, *, limit: int = 20_000) -> Iterator[str]:
    """Every string (and bytes, decoded) reachable from ``root`` through gc referents, without
    crossing into classes, modules or functions (which reach everything)."""
    seen: set[int] = set()
    stack = [root]
    while stack and len(seen) < limit:
        item = stack.pop()
        if id(item) in seen or isinstance(item, _SKIPPED):
            continue
        seen.add(id(item))
        if isinstance(item, str):
            yield item
            continue
        if isinstance(item, bytes | bytearray):
            yield bytes(item).decode("latin-1")
            continue
        stack.extend(gc.get_referents(item))


def assert_hidden(obj: object, secrets: tuple[str, ...]) -> None:
    for text in reachable_text(obj):
        for secret in secrets:
            assert secret not in text, f"{type(obj).__name__} reaches {secret!r}"


def run_everything(verifier: Verifier, fake: FakeBird, clock: Clock) -> list[Any]:
    """Every kind of outcome and object verification hands out, collected."""
    handed_out: list[Any] = []
    challenge = verifier.start(PHONE, client_key=CLIENT_KEY)
    seen = fake.handset_cli(challenge.call_id)
    handed_out += [
        challenge,
        verifier.check(challenge.id, code="0" * 4 if seen[-4:] != "0000" else "1111"),
    ]
    fake.fail_next(status=503)
    handed_out += [verifier.check(challenge.id, received_cli=seen), verifier.flush()]
    try:
        verifier.start(PHONE, client_key=CLIENT_KEY)
    except VerificationRateLimited as error:
        handed_out.append(error)
    other = verifier.start("+31612345679", client_key=CLIENT_KEY)
    handed_out += [other, verifier.state(other.id)]
    clock.advance(400)
    handed_out += [verifier.expire_due(), verifier.state(other.id), verifier.cancel(other.id)]
    return handed_out


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_nothing_secret_is_handed_out_stored_shown_or_logged(
    stores: SyncStores, fake_bird: FakeBird, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[VerificationEvent] = []
    store = stores.new()
    verifier = Verifier(fake_bird.client(max_retries=0), store, clock=clock, on_event=events.append)

    with caplog.at_level(logging.DEBUG):
        handed_out = run_everything(verifier, fake_bird, clock)

    assert any(isinstance(item, VerificationRateLimited) for item in handed_out)
    key = fake_bird.access_key
    # The access key reaches nothing handed out or stored.
    for item in [*handed_out, *events, store]:
        # A raised exception's traceback holds the frames it left, as any exception's does:
        # what it carries itself is checked.
        assert_hidden(vars(item) if isinstance(item, Exception) else item, (key,))
        assert_hidden(getattr(item, "args", ()), (key,))
        assert key not in repr(item)
    for item in [*handed_out, *events]:
        assert key.encode() not in pickle.dumps(item)
    # Reprs and logs (even at debug) show no phone number, caller number or key.
    callers = tuple(fake_bird.calls[call_id]["from"] for call_id in fake_bird.calls)
    for item in [*handed_out, verifier]:
        for text in (repr(item), str(item)):
            for secret in (*PHONE_PARTS, *callers, key):
                assert secret not in text, (type(item).__name__, text)
    assert any(r.name == "bird_flashcalls.verification" for r in caplog.records)
    for record in caplog.records:
        text = record.getMessage() + str(record.args) + (record.exc_text or "")
        for secret in (*PHONE_PARTS, *callers, CLIENT_KEY, key):
            assert secret not in text, (record.name, text)


def stored_keys(stores: SyncStores, store: Any) -> list[str]:
    if stores.kind == "memory":
        return list(store._starts) + list(store._records)
    if stores.kind == "sqlite":
        with sqlite3.connect(stores.path) as connection:
            rows = connection.execute("SELECT key FROM bird_flashcalls_starts").fetchall()
        return [row[0] for row in rows]
    import redis

    client = redis.Redis.from_url(stores.url, decode_responses=True)
    try:
        return list(client.scan_iter(match=f"{stores.prefix}:*"))
    finally:
        client.close()


def test_store_keys_hold_no_phone_number_or_client_key(
    stores: SyncStores, fake_bird: FakeBird, clock: Clock
) -> None:
    store = stores.new()
    verifier = Verifier(fake_bird.client(max_retries=0), store, clock=clock)
    verifier.start(PHONE, client_key=CLIENT_KEY)

    keys = stored_keys(stores, store)

    assert any(key.startswith(("number:", f"{stores.prefix}:limit:{{number:")) for key in keys)
    for key in keys:
        for secret in (*PHONE_PARTS, CLIENT_KEY, "612345678"):
            assert secret not in key


def test_rate_limit_hashes_are_keyed_per_store(tmp_path: Any, fake_bird: FakeBird) -> None:
    # A hash of a phone number alone can be reversed by trying every number; the key of the
    # hash is a secret of each store.
    keys = []
    for name in ("a.db", "b.db"):
        Verifier(fake_bird.client(), SQLiteStore(tmp_path / name)).start(PHONE)
        with sqlite3.connect(tmp_path / name) as connection:
            keys.append(
                {row[0] for row in connection.execute("SELECT key FROM bird_flashcalls_starts")}
            )
    assert keys[0] and keys[1] and not keys[0] & keys[1]


def test_answers_are_compared_in_constant_time(
    fake_bird: FakeBird, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    verifier = Verifier(fake_bird.client(), MemoryStore(), resend_cooldown=0)
    challenge = verifier.start(PHONE)
    seen = fake_bird.handset_cli(challenge.call_id)

    assert verifier.check(challenge.id, code=seen[-4:]).verified
    other = verifier.start(PHONE)
    seen_other = fake_bird.handset_cli(other.call_id)
    assert verifier.check(other.id, received_cli=seen_other).verified

    # (FakeBird compares access keys with it too.) Full numbers are compared padded to one
    # length, so the time does not depend on how long either number is.
    assert (seen[-4:].encode(),) * 2 in compared
    assert any(a == b and a.strip() == seen_other.encode() for a, b in compared)


def redis_client(stores: SyncStores) -> Any:
    import redis

    return redis.Redis.from_url(stores.url, decode_responses=True)


@pytest.fixture
def redis_stores(tmp_path: Any, request: pytest.FixtureRequest) -> Iterator[SyncStores]:
    handles = SyncStores("redis", tmp_path, request)
    yield handles
    handles.close()


@pytest.mark.redis
def test_redis_records_and_limits_expire_by_themselves(
    redis_stores: SyncStores, fake_bird: FakeBird
) -> None:
    client = redis_client(redis_stores)
    verifier = Verifier(fake_bird.client(), redis_stores.new(), ttl=300, max_attempts=1)
    challenge = verifier.start(PHONE, client_key=CLIENT_KEY)
    key = f"{redis_stores.prefix}:challenge:{{{challenge.id}}}"

    # Pending: kept until a day past its expiry at most, waiting for expire_due().
    assert 0 < client.pttl(key) <= (300 + 86400) * 1000
    limits = list(client.scan_iter(match=f"{redis_stores.prefix}:limit:*"))
    assert len(limits) == 3
    windows = {"resend": 30, "number": 600, "client": 3600}
    for limit in limits:
        kind = limit.split("{", 1)[1].split(":", 1)[0]
        assert 0 < client.pttl(limit) <= windows[kind] * 1000
    # Locked and reported: kept an hour past its expiry, to answer "locked".
    verifier.check(challenge.id, received_cli="+3197010269999")
    assert 0 < client.pttl(key) <= (300 + 3600) * 1000
    # Verified and reported: gone at once.
    other = verifier.start("+31612345679")
    verifier.check(other.id, received_cli=fake_bird.handset_cli(other.call_id))
    assert not client.exists(f"{redis_stores.prefix}:challenge:{{{other.id}}}")
    client.close()


@pytest.mark.redis
def test_redis_keys_of_a_challenge_carry_its_hash_tag(
    redis_stores: SyncStores, fake_bird: FakeBird
) -> None:
    client = redis_client(redis_stores)
    challenge = Verifier(fake_bird.client(), redis_stores.new()).start(PHONE)

    challenge_keys = list(client.scan_iter(match=f"{redis_stores.prefix}:challenge:*"))

    assert challenge_keys == [f"{redis_stores.prefix}:challenge:{{{challenge.id}}}"]
    client.close()


def test_sqlite_rows_are_removed_by_expire_due(tmp_path: Any, fake_bird: FakeBird) -> None:
    clock = Clock()
    path = tmp_path / "v.db"
    verifier = Verifier(fake_bird.client(), SQLiteStore(path), ttl=60, clock=clock)
    verifier.start(PHONE)
    clock.advance(60)
    verifier.expire_due()  # reports the timeout; the row stays an hour to answer "expired"

    def rows() -> tuple[int, int]:
        with sqlite3.connect(path) as connection:
            challenges = connection.execute("SELECT count(*) FROM bird_flashcalls_challenges")
            starts = connection.execute("SELECT count(*) FROM bird_flashcalls_starts")
            return challenges.fetchone()[0], starts.fetchone()[0]

    assert rows() == (1, 1)  # the resend cooldown's start is forgotten after 30 s
    clock.advance(3600)
    verifier.expire_due()
    assert rows() == (0, 0)


def test_sqlite_runs_in_wal_mode(tmp_path: Any) -> None:
    SQLiteStore(tmp_path / "v.db")
    with sqlite3.connect(tmp_path / "v.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_refuses_a_database_only_one_connection_could_see(tmp_path: Any) -> None:
    from bird_flashcalls import ConfigurationError

    for path in (":memory:", ""):
        with pytest.raises(ConfigurationError, match="MemoryStore"):
            SQLiteStore(path)


def test_unreported_records_are_not_kept_forever(fake_bird: FakeBird) -> None:
    clock = Clock()
    store = MemoryStore()
    verifier = Verifier(fake_bird.client(max_retries=0), store, ttl=60, clock=clock)
    challenge = verifier.start(PHONE)
    clock.advance(60)
    fake_bird.fail_next(status=503, times=10)
    assert verifier.expire_due() == 1  # decided; Bird down

    clock.advance(86400)
    fake_bird.clear_faults()
    verifier.expire_due()

    assert verifier.state(challenge.id) is None
    assert "result" not in fake_bird.calls[challenge.call_id]  # given up after a day


def test_sqlite_closes_the_connections_of_finished_threads(tmp_path: Any) -> None:
    import threading

    store = SQLiteStore(tmp_path / "v.db")
    opened: list[sqlite3.Connection] = []

    def use_in_a_thread() -> None:
        opened.append(store._connection())

    for _ in range(3):
        thread = threading.Thread(target=use_in_a_thread)
        thread.start()
        thread.join()
    store.snapshot("x")  # opens no new connection: this thread has its own already

    # Each new thread's connection closed the one of the thread before it.
    for connection in opened[:-1]:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            connection.execute("SELECT 1")
    store.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[-1].execute("SELECT 1")
