"""Faults on real servers under concurrent load (``support.run_load`` in threads or worker
processes): after each fault is healed and one worker swept what was left, nothing is lost and
nothing verified wrongly. Each experiment writes its row to ``results.md``.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification import RedisStore, SQLiteStore, Verifier
from verification.redis_server import start_server, stop

from .support import (
    CALLER,
    PROGRESS_TIMEOUT,
    SETTINGS,
    bird_client,
    bird_settings,
    load_process,
    open_store,
    recorded,
    run_load,
    seen,
    settle,
    wait_until,
)


class RedisServer:
    """A redis-server of the experiment's own, that it may kill, pause and start again."""

    def __init__(self, folder: Path, *options: str) -> None:
        self.folder, self.options = folder, options
        self.process, self.port = start_server(folder, *options)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def restart(self) -> None:
        self.process, _ = start_server(self.folder, *self.options, port=self.port)

    def admin(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url, decode_responses=True)


@pytest.fixture
def fake() -> FakeBird:
    return FakeBird(caller_numbers=[CALLER])


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Any]:
    """Makes the experiment's redis-server; stops it whatever happens."""
    made: list[RedisServer] = []

    def make(*options: str) -> RedisServer:
        made.append(RedisServer(tmp_path, *options))
        return made[-1]

    yield make
    for server in made:
        server.process.send_signal(signal.SIGCONT)
        stop(server.process)


@contextmanager
def redis_load(server: RedisServer, fake: FakeBird, folder: Path, timeout: float):
    """Four threads of load, each with its own client, until the block ends; then the sweep."""
    import redis

    stop = folder / "stop"
    threads, clients = [], []
    for number in range(4):
        client = redis.Redis.from_url(server.url, socket_timeout=timeout, socket_connect_timeout=5)
        clients.append(client)
        verifier = Verifier(
            fake.client(max_retries=0), RedisStore(client, prefix="chaos"), **SETTINGS
        )
        ledger = folder / f"thread-{number}.log"
        threads.append(threading.Thread(target=run_load, args=(verifier, number, ledger, stop)))
        threads[-1].start()
    try:
        yield
    finally:
        stop.touch()
        for thread in threads:
            thread.join()
        for client in clients:
            client.close()
    with server.admin() as client:
        settle(fake.client(max_retries=0), RedisStore(client, prefix="chaos"))


def more_calls(folder: Path, count: int, when: str) -> None:
    """Wait until the load has placed ``count`` more calls (starts that returned)."""
    target = seen(folder, "started") + count
    wait_until(lambda: seen(folder, "started") >= target, f"{count} calls placed {when}")


@pytest.mark.redis
def test_redis_killed_and_restarted_with_aof(
    tmp_path: Path, fake: FakeBird, redis_server: Any
) -> None:
    server = redis_server("--appendonly", "yes")
    with redis_load(server, fake, tmp_path, timeout=10):
        more_calls(tmp_path, 60, "before the kill")
        server.process.kill()
        server.process.wait()
        time.sleep(1)  # the fault itself: down for a second
        server.restart()
        more_calls(tmp_path, 60, "after the restart")
    result, failed = recorded(fake, tmp_path, "redis-server SIGKILL, restarted 1 s later (AOF)")

    assert failed["unreachable"] > 0
    assert result.calls >= 120 and result.lost == 0 and result.wrong_verified == 0


@pytest.mark.redis
def test_redis_paused_longer_than_the_socket_timeout(
    tmp_path: Path, fake: FakeBird, redis_server: Any
) -> None:
    server = redis_server()
    with redis_load(server, fake, tmp_path, timeout=2):
        more_calls(tmp_path, 60, "before the pause")
        server.process.send_signal(signal.SIGSTOP)
        time.sleep(3)  # the fault itself: longer than the 2 s socket timeout
        server.process.send_signal(signal.SIGCONT)
        more_calls(tmp_path, 60, "after the pause")
    result, failed = recorded(
        fake, tmp_path, "redis-server SIGSTOP 3 s (socket timeout 2 s), SIGCONT"
    )

    assert failed["timeout"] > 0
    assert result.calls >= 120 and result.lost == 0 and result.wrong_verified == 0


@pytest.mark.redis
def test_redis_full_with_noeviction(tmp_path: Path, fake: FakeBird, redis_server: Any) -> None:
    server = redis_server("--maxmemory-policy", "noeviction")
    with redis_load(server, fake, tmp_path, timeout=10):
        more_calls(tmp_path, 60, "before memory ran out")
        with server.admin() as admin:
            # Room for a few hundred more challenges; full until 100 writes were refused.
            admin.config_set("maxmemory", admin.info("memory")["used_memory"] + 300_000)
            wait_until(lambda: seen(tmp_path, "error out-of-memory") >= 100, "100 writes refused")
            admin.config_set("maxmemory", 0)
        more_calls(tmp_path, 60, "after memory was freed")
    result, failed = recorded(
        fake, tmp_path, "redis-server `maxmemory` reached (noeviction), until 100 writes refused"
    )

    assert failed["out-of-memory"] >= 100
    assert result.calls >= 120 and result.lost == 0 and result.wrong_verified == 0


# SQLite: worker processes on one database file, reaching FakeBird over HTTP.

SPAWN = multiprocessing.get_context("spawn")


def spawn(location: Any, bird: dict[str, str], worker: int, folder: Path, **more: Any):
    """A worker process with the load until ``folder / "stop"`` exists."""
    process = SPAWN.Process(
        target=load_process,
        args=(location, bird, worker, folder / f"process-{worker}.log", folder / "stop"),
        kwargs=more,
    )
    process.start()
    return process


def test_sqlite_disk_full(tmp_path: Path, fake: FakeBird) -> None:
    path = tmp_path / "v.db"
    SQLiteStore(path).close()
    with fake.serve() as base_url:
        bird = bird_settings(fake, base_url)
        # The WAL grows by a few pages per transaction: a few hundred fit, then none.
        limit = path.stat().st_size + 1_000_000
        processes = [
            spawn(("sqlite", path), bird, n, tmp_path, file_size_limit=limit) for n in range(2)
        ]
        wait_until(lambda: seen(tmp_path, "error disk-full") >= 100, "100 writes refused")
        (tmp_path / "stop").touch()
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0
        store = SQLiteStore(path)
        settle(bird_client(bird), store)
        store.close()
    result, failed = recorded(
        fake, tmp_path, "SQLite disk full (RLIMIT_FSIZE, 1 MB more), until 100 writes refused"
    )

    # Once the disk is full, starts fail before Bird is asked to ring: few calls are placed.
    assert failed["disk-full"] >= 100
    assert result.calls > 10 and result.lost == 0 and result.wrong_verified == 0


@pytest.mark.parametrize("caller_known", [False, True], ids=["bird-picks-caller", "caller-known"])
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def test_workers_killed(
    tmp_path: Path, fake: FakeBird, redis_server: Any, kind: str, caller_known: bool
) -> None:
    """Worker processes SIGKILLed at random moments, each replaced at once, for at least 12 s and
    until they placed 150 calls; with the caller number known, a start killed while Bird placed
    its call is ended afterwards."""
    if kind == "sqlite":
        location: Any = ("sqlite", tmp_path / "v.db")
        SQLiteStore(location[1]).close()
    else:
        location = ("redis", redis_server().url)
    rng = random.Random(22)
    kills = 0
    began = time.monotonic()
    with fake.serve() as base_url:
        bird = bird_settings(fake, base_url)
        numbers = iter(range(10_000))
        more = {"caller_known": caller_known}
        running = [spawn(location, bird, next(numbers), tmp_path, **more) for _ in range(3)]
        while time.monotonic() - began < 12 or len(fake.calls) < 150:
            assert time.monotonic() - began < PROGRESS_TIMEOUT, "150 calls were never placed"
            time.sleep(rng.uniform(0.2, 0.8))  # the fault itself: a kill at a random moment
            victim = running.pop(rng.randrange(len(running)))
            os.kill(victim.pid, signal.SIGKILL)
            victim.join()
            kills += 1
            running.append(spawn(location, bird, next(numbers), tmp_path, **more))
        for process in running:
            process.kill()
            process.join()
            kills += 1
        store = open_store(location)
        orphans = settle(bird_client(bird), store)
        store.close()
        if kind == "redis":
            store.client.close()  # type: ignore[attr-defined]
    took = time.monotonic() - began
    name = "SQLite" if kind == "sqlite" else "redis-server"
    caller = "caller numbers known" if caller_known else "Bird picks the caller"
    note = f"{kills} kills in {took:.0f} s; orphaned starts found by expire_due(): {orphans}"
    result, _ = recorded(fake, tmp_path, f"{name}: worker processes SIGKILLed ({caller})", note)

    assert result.calls >= 150 and result.wrong_verified == 0
    # Each worker has one thread: a kill interrupts at most one start, whose call (if Bird
    # placed it) is the only one that can stay unreported.
    assert result.lost <= orphans <= kills
    if caller_known:
        assert result.lost == 0  # each orphan's call ended by its numbers
