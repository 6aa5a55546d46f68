"""A store failure is a StoreError naming store, check and cause, never the number."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bird_flashcalls import BirdError, ConfigurationError
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import (
    AsyncVerifier,
    RedisStore,
    SQLiteStore,
    StoreError,
    Verifier,
)
from shared import Driver

from .support import OTHER_PHONE, PHONE, WRONG_CLI, Clock, Env, Stores, env_params, locked, reports


def assert_store_error(error: BaseException, store: str, says: str, cause: type) -> None:
    assert isinstance(error, StoreError) and isinstance(error, BirdError)
    assert isinstance(error.__cause__, cause), repr(error.__cause__)
    message = str(error)
    assert message.startswith(f"{store} failed during ") and "Check " in message
    assert says in message, message
    assert PHONE not in message and PHONE[1:] not in message


# SQLite.


@pytest.mark.parametrize(
    ("path", "make", "says"),
    [
        ("missing/v.db", None, "the directory"),
        ("v.db", Path.mkdir, "is a directory"),
        ("v.db", lambda path: path.write_bytes(b"name,phone\n"), "not an SQLite database"),
        # Databases other connections could not open.
        (":memory:", None, "MemoryStore"),
        ("", None, "MemoryStore"),
        ("file:v.db", None, "path of a database file"),
        ("file::memory:?cache=shared", None, "path of a database file"),
    ],
)
def test_sqlite_store_refuses_a_path_it_cannot_use_at_construction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, make: Any, says: str
) -> None:
    monkeypatch.chdir(tmp_path)
    if make is not None:
        make(tmp_path / path)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(ConfigurationError, match=says) as raised:
        SQLiteStore(path)
    assert str(path) in str(raised.value)
    assert sorted(tmp_path.rglob("*")) == before


def test_sqlite_store_creates_its_files_for_the_owner_alone_whatever_the_umask(
    tmp_path: Path, fake_bird: FakeBird
) -> None:
    previous = os.umask(0o022)
    try:
        store = SQLiteStore(tmp_path / "v.db")
        Verifier(fake_bird.client(), store).start(PHONE, client_key=None)
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    store.close()
    assert modes == {"v.db": 0o600, "v.db-wal": 0o600, "v.db-shm": 0o600}


def test_a_corrupt_sqlite_file_raises_store_error_at_construction(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    with pytest.raises(StoreError) as raised:
        SQLiteStore(path)
    assert_store_error(raised.value, "SQLiteStore", "not an SQLite database", sqlite3.DatabaseError)
    assert str(path) in str(raised.value)


def test_a_database_locked_longer_than_busy_timeout_raises_store_error(
    tmp_path: Path, fake_bird: FakeBird
) -> None:
    path = tmp_path / "v.db"
    verifier = Verifier(fake_bird.client(), SQLiteStore(path, busy_timeout=0.05))
    challenge = verifier.start(PHONE, client_key=None)
    with locked(path), pytest.raises(StoreError) as raised:
        verifier.check(challenge.id, received_cli=WRONG_CLI)
    assert_store_error(raised.value, "SQLiteStore", "busy_timeout (0.05 s)", sqlite3.Error)
    assert verifier.check(challenge.id, received_cli=WRONG_CLI).attempts_left == 2  # counted now
    verifier.store.close()


@pytest.mark.parametrize("bird_takes_the_cancel", [True, False], ids=["canceled", "cancel-lost"])
def test_a_start_failing_after_bird_placed_the_call_says_so_and_reports_canceled(
    tmp_path: Path,
    fake_bird: FakeBird,
    monkeypatch: pytest.MonkeyPatch,
    bird_takes_the_cancel: bool,
) -> None:
    path = tmp_path / "v.db"
    store = SQLiteStore(path, busy_timeout=0.05)
    client = fake_bird.client(max_retries=0)
    create, lock = client.create, contextlib.ExitStack()

    def create_then_lock(*args: Any, **kwargs: Any) -> Any:
        call = create(*args, **kwargs)  # Bird has placed the call; now the store stays locked
        lock.enter_context(locked(path))
        if not bird_takes_the_cancel:
            fake_bird.fail_next(status=503)
        return call

    monkeypatch.setattr(client, "create", create_then_lock)
    with lock, pytest.raises(StoreError) as raised:
        Verifier(client, store).start(PHONE, client_key=None)
    store.close()

    error = raised.value
    assert_store_error(error, "SQLiteStore", "was placed (the phone rang)", sqlite3.Error)
    assert error.call_placed and error.operation == "complete"
    [call_id] = fake_bird.calls
    if bird_takes_the_cancel:
        assert "Bird was told `canceled`" in str(error)
        assert reports(fake_bird, call_id) == ["canceled"]
    else:
        assert "failed too" in str(error)
        assert reports(fake_bird, call_id) == []


# Redis.


@pytest.mark.redis
@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_redis_down_raises_store_error(
    tmp_path: Path, fake_bird: FakeBird, mode: str
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        stores = Stores("redis", tmp_path, f"redis://127.0.0.1:{unused.getsockname()[1]}/0")
        client = stores.redis_client(for_async=mode == "async")
        if mode == "sync":
            with pytest.raises(StoreError) as raised:
                RedisStore(client)  # reads maxmemory-policy at construction
            assert raised.value.operation == "maxmemory_policy"
            verifier = Driver(Verifier(fake_bird.client(), RedisStore(client, allow_eviction=True)))
        else:
            verifier = Driver(AsyncVerifier(fake_bird.async_client(), RedisStore(client)))
        with pytest.raises(StoreError) as raised:
            await verifier.start(PHONE, client_key=None)
        await verifier.wrapped._flash_calls.aclose() if mode == "async" else None
        await client.aclose() if mode == "async" else client.close()
    assert_store_error(raised.value, "RedisStore", "could not reach Redis", Exception)
    assert "reachable" in str(raised.value)
    assert fake_bird.calls == {}  # nothing rang


@contextlib.contextmanager
def redis_config(url: str, **settings: str) -> Iterator[Any]:
    """This test's settings on the shared redis-server, put back afterwards."""
    import redis

    with redis.Redis.from_url(url, decode_responses=True) as admin:
        before = {name: admin.config_get(name)[name] for name in settings}
        for name, value in settings.items():
            admin.config_set(name, value)
        try:
            yield admin
        finally:
            for name, value in before.items():
                admin.config_set(name, value)


@pytest.mark.anyio
@pytest.mark.parametrize("env", env_params(("redis",)), indirect=True)
async def test_a_redis_that_evicts_keys_is_refused_unless_allowed(env: Env, redis_url: str) -> None:
    with redis_config(redis_url, **{"maxmemory-policy": "allkeys-lru"}):
        if env.mode == "sync":
            with pytest.raises(ConfigurationError, match="maxmemory-policy is allkeys-lru"):
                env.new_store()
        else:
            verifier = env.verifier(env.new_store())
            for _ in range(2):  # at every operation, until the server is fixed
                with pytest.raises(ConfigurationError, match="noeviction"):
                    await verifier.start(PHONE, client_key=None)
        client = env.stores.redis_client(for_async=env.mode == "async")
        allowed = RedisStore(client, prefix=env.stores.prefix, allow_eviction=True)
        env.stores._opened.append(allowed.client)
        assert (await env.verifier(allowed).start(PHONE, client_key=None)).phone == PHONE


@pytest.mark.redis
@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_where_config_get_is_not_allowed_one_warning_is_logged(
    tmp_path: Path, redis_url: str, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    import redis

    user = f"app-{mode}"
    with redis.Redis.from_url(redis_url) as admin:
        admin.acl_setuser(
            user, enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-config"]
        )
    stores = Stores("redis", tmp_path, redis_url.replace("redis://", f"redis://{user}:pw@"))
    with caplog.at_level(logging.WARNING, "bird_flashcalls.verification"):
        env = Env(stores, mode, Clock())  # one store, two verifiers
        verifier = env.verifier(resend_cooldown=0)
        await env.verifier().start(OTHER_PHONE, client_key=None)
        for _ in range(2):
            await verifier.start(PHONE, client_key=None)
    await env.aclose()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "could not read maxmemory-policy" in warnings[0]


@pytest.mark.anyio
@pytest.mark.parametrize("env", env_params(("redis",)), indirect=True)
async def test_a_full_redis_raises_store_error_before_anything_rings(
    env: Env, redis_url: str
) -> None:
    verifier = env.verifier()
    await verifier.start("+31612345670", client_key=None)  # the salt, before memory runs out
    with redis_config(redis_url, maxmemory="1"), pytest.raises(StoreError) as raised:
        await verifier.start(PHONE, client_key=None)
    assert_store_error(raised.value, "RedisStore", "out of memory", Exception)
    # The start is kept before Bird is asked to ring: a store that cannot keep it stops it.
    assert raised.value.operation == "create" and not raised.value.call_placed
    assert len(env.fake.calls) == 1


@pytest.mark.redis
@pytest.mark.parametrize("stores", ["redis"], indirect=True)
def test_a_report_whose_due_time_cannot_be_moved_keeps_the_decision_and_is_sent_once(
    stores: Stores, fake_bird: FakeBird, caplog: pytest.LogCaptureFixture
) -> None:
    import redis

    clock = Clock()
    store = stores.new()
    verifier = Verifier(fake_bird.client(max_retries=0), store, clock=clock)
    challenge = verifier.start(PHONE, client_key=None)
    commands = store._ops._commands  # type: ignore[attr-defined]
    client = commands._client

    class DueKeyUnreachable:  # the node holding the due index is down (a Cluster's, say)
        def __getattr__(self, name: str) -> Any:
            return getattr(client, name)

        def zadd(self, *args: Any, **kwargs: Any) -> Any:
            raise redis.exceptions.ConnectionError("connection refused")

    commands._client = DueKeyUnreachable()
    try:
        result = verifier.check(challenge.id, received_cli=fake_bird.handset_cli(challenge.call_id))
    finally:
        commands._client = client
    assert (result.status, result.phone) == ("verified", PHONE)
    assert "could not move a report's due time" in caplog.text and PHONE[1:] not in caplog.text
    clock.advance(24 * 3600)
    verifier.expire_due()
    assert reports(fake_bird, challenge.call_id) == ["verified"]
