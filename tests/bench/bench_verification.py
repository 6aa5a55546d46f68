"""Verification sessions: what the flow costs over the bare client, and check throughput per store.

1. ``start`` + ``check`` (Verifier, MemoryStore, limits on) against ``create`` + ``verify`` on the
   same FlashCalls and ``httpx.MockTransport``: both sides make one create and one end per
   round trip. Process CPU time per pair, best round, the sides taking turns.
2. ``check`` throughput at 64 concurrent (AsyncVerifier, asyncio tasks) with SQLiteStore and
   RedisStore (a redis-server started for the run), each against MemoryStore in the same run;
   p50 and p99 latency of one check. Bird answers through MockTransport, so the figures are the
   store's and the client's own cost.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from benchlib import (
    ACCESS_KEY,
    BASE_URL,
    CHANNEL_ID,
    FROM,
    ROOT,
    WORKSPACE_ID,
    Check,
    Figure,
    Result,
    Stat,
    bird_handler,
    emit,
    interleave,
    parse_quick,
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


class FlowSides:
    def __init__(self) -> None:
        transport = httpx.MockTransport(bird_handler)
        self.flash_calls = FlashCalls(
            ACCESS_KEY,
            WORKSPACE_ID,
            CHANNEL_ID,
            BASE_URL,
            http_client=httpx.Client(transport=transport),
        )
        self.used = 0

    def fresh_numbers(self, n: int) -> list[str]:
        self.used += n
        return numbers(n, self.used)

    def sessions(self, n: int) -> float:
        # A new store per round: the one in a long-running process holds no more than this.
        verifier = Verifier(self.flash_calls, MemoryStore())
        start, check = verifier.start, verifier.check
        phones = self.fresh_numbers(n)
        started = time.process_time()
        for phone in phones:
            challenge = start(phone)
            check(challenge.id, received_cli=FROM)
        return time.process_time() - started

    def bare(self, n: int) -> float:
        create, verify = self.flash_calls.create, self.flash_calls.verify
        phones = self.fresh_numbers(n)
        started = time.process_time()
        for phone in phones:
            call = create(phone)
            verify(call, FROM)
        return time.process_time() - started


def run_flow(pairs: int, rounds: int) -> list[Result]:
    sides = FlowSides()
    # Both sides must give the right answer: the flow would lock after three wrong ones.
    assert sides.flash_calls.create("+31612345678").from_ == FROM
    sides.sessions(pairs // 5)
    sides.bare(pairs // 5)

    def timed(batch: Callable[[int], float]) -> Callable[[], float]:
        def one_round() -> float:
            gc.collect()
            return batch(pairs) / pairs * 1e6

        return one_round

    measured = interleave({"flow": timed(sides.sessions), "bare": timed(sides.bare)}, rounds)
    sides.flash_calls.close()
    return [
        emit(
            Figure(
                "verification",
                "start + check (Verifier, MemoryStore, limits on) vs create + verify",
                "us",
                Stat.best_of(measured["flow"]),
                Stat.best_of(measured["bare"]),
                target_max=MAX_RATIO,
                note=f"{pairs} pairs per round, CPU time per pair",
            )
        )
    ]


class Throughput:
    """One store's run: checks per second and the latency of each check."""

    def __init__(self, rate: float, latencies: list[float]) -> None:
        self.rate = rate
        self.latencies = sorted(latencies)

    def percentile(self, fraction: float) -> float:
        index = min(len(self.latencies) - 1, round(fraction * (len(self.latencies) - 1)))
        return self.latencies[index] * 1e3


async def check_throughput(store: VerificationStore, challenges: int) -> Throughput:
    transport = httpx.MockTransport(bird_handler)
    async with AsyncFlashCalls(
        ACCESS_KEY,
        WORKSPACE_ID,
        CHANNEL_ID,
        BASE_URL,
        http_client=httpx.AsyncClient(transport=transport),
    ) as flash_calls:
        verifier = AsyncVerifier(flash_calls, store)
        ids = [(await verifier.start(phone)).id for phone in numbers(challenges)]
        queue: asyncio.Queue[str] = asyncio.Queue()
        for challenge_id in ids:
            queue.put_nowait(challenge_id)
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
    return Throughput(challenges / elapsed, latencies)


def throughput_figure(name: str, ours: list[Throughput], memory: list[Throughput]) -> Figure:
    def median(values: list[float]) -> float:
        return statistics.median(values)

    note = (
        f"{CONCURRENCY} concurrent; p50 {median([t.percentile(0.5) for t in ours]):.2f} ms, "
        f"p99 {median([t.percentile(0.99) for t in ours]):.2f} ms "
        f"(MemoryStore p50 {median([t.percentile(0.5) for t in memory]):.2f} ms, "
        f"p99 {median([t.percentile(0.99) for t in memory]):.2f} ms)"
    )
    return Figure(
        "verification",
        f"check throughput, {name} vs MemoryStore",
        "checks/s",
        Stat.median_of([t.rate for t in ours]),
        Stat.median_of([t.rate for t in memory]),
        digits=0,
        note=note,
    )


def run_stores(challenges: int, rounds: int) -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)

        def sqlite_store(number: int) -> VerificationStore:
            return SQLiteStore(folder / f"bench-{number}.db")

        results.append(emit(compare("SQLiteStore", sqlite_store, challenges, rounds)))
        redis_result = with_redis(folder, challenges, rounds)
        results.append(emit(redis_result))
    return results


def compare(
    name: str, make: Callable[[int], VerificationStore], challenges: int, rounds: int
) -> Figure:
    ours: list[Throughput] = []
    memory: list[Throughput] = []
    for number in range(rounds):
        # Taking turns, as the other benchmarks do.
        order = [("ours", make(number)), ("memory", MemoryStore())]
        for side, store in order if number % 2 == 0 else reversed(order):
            measured = asyncio.run(check_throughput(store, challenges))
            store.close()
            (ours if side == "ours" else memory).append(measured)
    return throughput_figure(name, ours, memory)


def with_redis(folder: Path, challenges: int, rounds: int) -> Result:
    sys.path.insert(0, str(ROOT / "tests" / "verification"))
    import redis_server

    if redis_server.shutil.which("redis-server") is None:
        return Check(
            "verification",
            "check throughput, RedisStore",
            None,
            "skipped: " + redis_server.INSTALL_HINT,
        )
    import redis.asyncio
    from bird_flashcalls.verification import RedisStore

    with redis_server.running_redis(folder) as url:

        def redis_store(number: int) -> VerificationStore:
            return RedisStore(redis.asyncio.Redis.from_url(url), prefix=f"bench-{number}")

        figure = compare("RedisStore", redis_store, challenges, rounds)
    return figure


def run(quick: bool = False) -> list[Result]:
    pairs, rounds, challenges, store_rounds = (300, 3, 300, 1) if quick else (3_000, 5, 2_000, 3)
    results = run_flow(pairs, rounds)
    results += run_stores(challenges, store_rounds)
    return results


def main() -> None:
    results = run(parse_quick())
    sys.exit(1 if any(result.passed is False for result in results) else 0)


if __name__ == "__main__":
    main()
