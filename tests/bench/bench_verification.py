"""Verification: ``start`` + ``check`` (Verifier, MemoryStore) against ``create`` + ``verify`` on
one MockTransport, CPU time per pair (one create and one end each); ``check`` throughput and p50/p99
latency at 64 concurrent (AsyncVerifier) with SQLiteStore and RedisStore, each against MemoryStore
in the same run: Bird answers through MockTransport, so these are the store's and client's cost."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from benchlib import (
    FROM,
    ROOT,
    TO,
    Check,
    Figure,
    Result,
    Stat,
    best_per_call,
    bird_handler,
    cpu_us_per_call,
    flash_calls,
    interleave,
    main,
)
from bird_flashcalls import AsyncFlashCalls, FlashCalls
from bird_flashcalls.verification import (
    AsyncVerifier,
    MemoryStore,
    SQLiteStore,
    VerificationStore,
    Verifier,
)

MAX_RATIO = 1.15
CONCURRENCY = 64


def numbers(count: int, offset: int = 0) -> list[str]:
    """Distinct phone numbers: the per-number limits stay on and never refuse."""
    return [f"+3161{offset + number:07d}" for number in range(count)]


def run_flow(pairs: int, rounds: int) -> Iterator[Figure]:
    client = flash_calls(FlashCalls, httpx.Client(transport=httpx.MockTransport(bird_handler)))
    # Both sides must give the right answer: the flow would lock after three wrong ones.
    assert client.create(TO).from_ == FROM
    offsets = itertools.count(step=pairs)

    def flow(n: int, verifier: Verifier) -> float:
        start, check, phones = verifier.start, verifier.check, numbers(n, next(offsets))
        return cpu_us_per_call(
            lambda number: check(start(phones[number], client_key=None).id, received_cli=FROM), n
        )

    # A new store per round: the one in a long-running process holds no more than this.
    def sessions(n: int) -> float:
        return flow(n, Verifier(client, MemoryStore()))

    # The same flow with every rate limit off: what the limits' store work costs.
    def unlimited(n: int) -> float:
        verifier = Verifier(
            client,
            MemoryStore(),
            per_number_limit=None,
            per_client_limit=None,
            new_destination_limit=None,
            resend_cooldown=0,
        )
        return flow(n, verifier)

    def bare(n: int) -> float:
        create, verify, phones = client.create, client.verify, numbers(n, next(offsets))
        return cpu_us_per_call(lambda number: verify(create(phones[number]), FROM), n)

    with client:
        sides = {"flow": sessions, "unlimited": unlimited, "bare": bare}
        best = best_per_call(sides, pairs, rounds, pairs // 5)
    note = f"{pairs} pairs per round, CPU time per pair"
    yield Figure(
        "verification",
        "start + check (Verifier, MemoryStore, limits on) vs create + verify",
        "us",
        best["flow"],
        best["bare"],
        target_max=MAX_RATIO,
        note=note,
    )
    yield Figure(
        "verification",
        "start + check with every rate limit off vs create + verify (info)",
        "us",
        best["unlimited"],
        best["bare"],
        note=note,
    )


async def check_throughput(store: VerificationStore, challenges: int) -> tuple[float, list[float]]:
    """Checks per second at CONCURRENCY, and the sorted latencies of the checks."""
    http = httpx.AsyncClient(transport=httpx.MockTransport(bird_handler))
    async with flash_calls(AsyncFlashCalls, http) as client:
        # Every challenge is started before the first check: no country is proven by then.
        verifier = AsyncVerifier(client, store, new_destination_limit=None)
        queue: asyncio.Queue[str] = asyncio.Queue()
        for phone in numbers(challenges):
            queue.put_nowait((await verifier.start(phone, client_key=None)).id)
        latencies: list[float] = []

        async def worker() -> None:
            while not queue.empty():
                challenge_id = queue.get_nowait()
                began = time.perf_counter()
                result = await verifier.check(challenge_id, received_cli=FROM)
                latencies.append(time.perf_counter() - began)
                assert result.verified, result

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - began
    return challenges / elapsed, sorted(latencies)


def compare(
    name: str, make: Callable[[int], VerificationStore], challenges: int, rounds: int
) -> Figure:
    """Check throughput on the stores ``make`` gives against MemoryStore, taking turns."""
    store_numbers = itertools.count()

    def measure(store: VerificationStore) -> tuple[float, list[float]]:
        try:
            return asyncio.run(check_throughput(store, challenges))
        finally:
            store.close()

    measured = interleave(
        {
            "ours": lambda: measure(make(next(store_numbers))),
            "memory": lambda: measure(MemoryStore()),
        },
        rounds,
    )

    def latency(side: str, fraction: float) -> str:
        def percentile(latencies: list[float]) -> float:
            return latencies[min(len(latencies) - 1, round(fraction * (len(latencies) - 1)))] * 1e3

        return f"{statistics.median(percentile(run[1]) for run in measured[side]):.2f} ms"

    return Figure(
        "verification",
        f"check throughput, {name} vs MemoryStore",
        "checks/s",
        Stat.median_of([rate for rate, _ in measured["ours"]]),
        Stat.median_of([rate for rate, _ in measured["memory"]]),
        digits=0,
        note=f"{CONCURRENCY} concurrent; p50 {latency('ours', 0.5)}, p99 {latency('ours', 0.99)} "
        f"(MemoryStore p50 {latency('memory', 0.5)}, p99 {latency('memory', 0.99)})",
    )


def with_redis(folder: Path, challenges: int, rounds: int) -> Result:
    sys.path.insert(0, str(ROOT / "tests" / "verification"))
    import redis_server

    if redis_server.shutil.which("redis-server") is None:
        skipped = "skipped: " + redis_server.INSTALL_HINT
        return Check("verification", "check throughput, RedisStore", None, skipped)
    import redis.asyncio
    from bird_flashcalls.verification import RedisStore

    with redis_server.running_redis(folder) as url:
        return compare(
            "RedisStore",
            lambda number: RedisStore(redis.asyncio.Redis.from_url(url), prefix=f"bench-{number}"),
            challenges,
            rounds,
        )


def run(quick: bool) -> Iterator[Result]:
    pairs, rounds, challenges, store_rounds = (300, 3, 300, 1) if quick else (3_000, 5, 2_000, 3)
    yield from run_flow(pairs, rounds)
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        yield compare(
            "SQLiteStore",
            lambda number: SQLiteStore(folder / f"bench-{number}.db"),
            challenges,
            store_rounds,
        )
        yield with_redis(folder, challenges, store_rounds)


if __name__ == "__main__":
    main({"verification": run}, __doc__)
