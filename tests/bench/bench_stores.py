"""What a store adds over the one primitive it cannot do without: a wrong ``check`` (no report,
no Bird call) and a ``start`` (one create on MockTransport) of a sync Verifier against one EVALSHA
of a no-op script (RedisStore, its own redis-server) or one BEGIN IMMEDIATE / UPDATE / COMMIT of a
row (SQLiteStore, WAL), wall time per call; the "raw httpx" column holds the primitive here."""

from __future__ import annotations

import gc
import itertools
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from benchlib import FROM, ROOT, Check, Figure, Result, best_per_call, bird_handler, flash_calls
from bird_flashcalls import FlashCalls
from bird_flashcalls.verification import SQLiteStore, VerificationStore, Verifier

TARGETS = {"RedisStore": 1.5, "SQLiteStore": 2.0}


def wall_us_per_call(call: Callable[[int], object], n: int) -> float:
    gc.collect()
    started = time.perf_counter()
    for number in range(n):
        call(number)
    return (time.perf_counter() - started) / n * 1e6


def figures(
    name: str, store: VerificationStore, primitive: Callable[[int], object], calls: int, rounds: int
) -> Iterator[Figure]:
    client = flash_calls(FlashCalls, httpx.Client(transport=httpx.MockTransport(bird_handler)))
    # No limit refuses: the starts are to distinct numbers, as many as the run needs.
    verifier = Verifier(
        client,
        store,
        resend_cooldown=0,
        per_number_limit=None,
        new_destination_limit=None,  # starts come before any check: no country is proven yet
        max_attempts=100,
    )
    numbers = itertools.count()
    # Wrong answers spread over enough challenges that none of them locks (and is reported).
    pool = [
        verifier.start(f"+3160{n:07d}", client_key=None).id
        for n in range((200 + calls * rounds) // 90 + 1)
    ]
    checked = itertools.count()
    wrong = FROM[:-1] + str((int(FROM[-1]) + 1) % 10)

    def check(_: int) -> None:
        assert verifier.check(pool[next(checked) // 90], received_cli=wrong).status == "wrong"

    def checks(n: int) -> float:
        return wall_us_per_call(check, n)

    def starts(n: int) -> float:
        return wall_us_per_call(
            lambda _: verifier.start(f"+3161{next(numbers):07d}", client_key=None), n
        )

    def bare(n: int) -> float:
        return wall_us_per_call(primitive, n)

    with client:
        best = best_per_call({"check": checks, "start": starts, "bare": bare}, calls, rounds, 200)
    note = f"{calls} calls per round, wall time per call"
    yield Figure(
        "stores",
        f"check, wrong answer (no report), {name} vs {PRIMITIVES[name]}",
        "us",
        best["check"],
        best["bare"],
        target_max=TARGETS[name],
        note=note,
    )
    yield Figure(
        "stores",
        f"start (a create through MockTransport), {name} vs {PRIMITIVES[name]}",
        "us",
        best["start"],
        best["bare"],
        note=note,
    )


PRIMITIVES = {
    "RedisStore": "one EVALSHA of a no-op script",
    "SQLiteStore": "one BEGIN IMMEDIATE / UPDATE / COMMIT",
}


def sqlite_figures(folder: Path, calls: int, rounds: int) -> Iterator[Figure]:
    store = SQLiteStore(folder / "bench.db")
    # The primitive on a table of its own in the same file, with the store's settings.
    bare = sqlite3.connect(folder / "bench.db", isolation_level=None)
    bare.execute("PRAGMA synchronous=NORMAL")
    bare.execute("CREATE TABLE bench_counter (id INTEGER PRIMARY KEY, n INTEGER)")
    bare.execute("INSERT INTO bench_counter VALUES (1, 0)")

    def transaction(_: int) -> None:
        bare.execute("BEGIN IMMEDIATE")
        bare.execute("UPDATE bench_counter SET n = n + 1 WHERE id = 1")
        bare.execute("COMMIT")

    try:
        yield from figures("SQLiteStore", store, transaction, calls, rounds)
    finally:
        bare.close()
        store.close()


def redis_figures(folder: Path, calls: int, rounds: int) -> Iterator[Result]:
    sys.path.insert(0, str(ROOT / "tests" / "verification"))
    import redis_server

    if redis_server.shutil.which("redis-server") is None:
        yield Check("stores", "RedisStore", None, "skipped: " + redis_server.INSTALL_HINT)
        return
    import redis
    from bird_flashcalls.verification import RedisStore

    with redis_server.running_redis(folder) as url, redis.Redis.from_url(url) as client:
        sha: Any = client.script_load("return 1")

        def evalsha(_: int) -> None:
            client.evalsha(sha, 1, "bench:{key}", "0")

        yield from figures("RedisStore", RedisStore(client, prefix="bench"), evalsha, calls, rounds)


def run(quick: bool) -> Iterator[Result]:
    calls, rounds = (300, 1) if quick else (3_000, 5)
    with tempfile.TemporaryDirectory() as directory:
        yield from redis_figures(Path(directory), calls, rounds)
        yield from sqlite_figures(Path(directory), calls, rounds)


if __name__ == "__main__":
    from benchlib import main

    main({"stores": run}, __doc__)
