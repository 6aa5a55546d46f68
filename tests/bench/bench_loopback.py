"""Throughput over loopback: AsyncFlashCalls against raw httpx.AsyncClient, 64 creates in flight.

Both talk to one loopback_server.py process (a minimal asyncio HTTP/1.1 keep-alive server);
each keeps its own connection pool, with the client's default limits. The server counts the
connections each side opens (told apart by User-Agent) to show the pool is reused.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import httpx
from benchlib import (
    ACCESS_KEY,
    BENCH_DIR,
    CHANNEL_ID,
    CREATE_PATH,
    RAW_HEADERS,
    TO,
    WORKSPACE_ID,
    Check,
    Figure,
    Result,
    Stat,
    clean_env,
    emit,
)
from bird_flashcalls import AsyncFlashCalls, _constants

MIN_RATIO = 0.95
POOL_LIMITS = httpx.Limits(
    max_connections=_constants.MAX_CONNECTIONS,
    max_keepalive_connections=_constants.MAX_KEEPALIVE_CONNECTIONS,
)
CONCURRENCY = 64
OUR_AGENT = "bird-flashcalls"  # the product token of the client's User-Agent
SERVER = "loopback_server.py (asyncio.Protocol, HTTP/1.1 keep-alive, separate process)"


class LoopbackServer:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "loopback_server.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=clean_env(),
            text=True,
        )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline().split()
        if ready[:1] != ["listening"]:
            self.close()
            raise RuntimeError(f"the loopback server did not start: {ready!r}")
        self.port = int(ready[1])

    def stats(self) -> dict[str, dict[str, int]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        report: dict[str, dict[str, int]] = json.loads(self.process.stdout.readline())
        return report

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


class Round(NamedTuple):
    per_second: float
    cpu_us: float  # this process's CPU time per create: what the client itself costs
    connections: int  # accepted by the server during the round


async def _round(
    create: Callable[[], Awaitable[Any]], total: int, server: LoopbackServer, agent: str
) -> Round:
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await create()

    before = server.stats().get(agent, {}).get("accepted", 0)
    gc.collect()
    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    after = server.stats().get(agent, {}).get("accepted", 0)
    return Round(total / elapsed, cpu / total * 1e6, after - before)


async def _measure(server: LoopbackServer, total: int, rounds: int) -> dict[str, list[Round]]:
    base_url = f"http://127.0.0.1:{server.port}"
    url = base_url + CREATE_PATH
    # The client with its own pool; raw httpx with the same limits, so that the ratio is the
    # client's own cost and not a difference of pool settings (httpcore's pool work per request
    # grows with the number of connections it keeps).
    client = AsyncFlashCalls(ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, base_url)
    raw = httpx.AsyncClient(limits=POOL_LIMITS)

    async def raw_create() -> Any:
        return (await raw.post(url, json={"to": TO}, headers=RAW_HEADERS)).json()

    sides: dict[str, tuple[Callable[[], Awaitable[Any]], str]] = {
        "client": (lambda: client.create(TO), OUR_AGENT),
        "raw": (raw_create, RAW_HEADERS["User-Agent"]),
    }
    measured: dict[str, list[Round]] = {side: [] for side in sides}
    try:
        for create, agent in sides.values():
            await _round(create, CONCURRENCY * (1 if total < 1_000 else 4), server, agent)
        for round_number in range(rounds):
            for side in ("client", "raw") if round_number % 2 == 0 else ("raw", "client"):
                create, agent = sides[side]
                measured[side].append(await _round(create, total, server, agent))
    finally:
        await client.aclose()
        await raw.aclose()
    return measured


def run(quick: bool = False, total: int | None = None, rounds: int | None = None) -> list[Result]:
    default_total, default_rounds = (300, 2) if quick else (5_000, 5)
    total, rounds = total or default_total, rounds or default_rounds
    server = LoopbackServer()
    try:
        measured = asyncio.run(_measure(server, total, rounds))
    finally:
        server.close()
    ours, theirs = measured["client"], measured["raw"]
    results: list[Result] = [
        emit(
            Figure(
                "loopback",
                f"creates/s, {total} per round at {CONCURRENCY} in flight",
                "req/s",
                Stat.median_of([r.per_second for r in ours]),
                Stat.median_of([r.per_second for r in theirs]),
                target_min=MIN_RATIO,
                digits=0,
                note=f"server: {SERVER}",
            )
        ),
        emit(
            Figure(
                "loopback",
                "client CPU time per create (the same rounds)",
                "us",
                Stat.median_of([r.cpu_us for r in ours]),
                Stat.median_of([r.cpu_us for r in theirs]),
                digits=0,
                note="less sensitive to other load than req/s",
            )
        ),
    ]
    limit = _constants.MAX_CONNECTIONS
    results.append(
        emit(
            Check(
                "loopback",
                f"connections AsyncFlashCalls opened per round (pool limit {limit}, "
                f"keep-alive {_constants.MAX_KEEPALIVE_CONNECTIONS})",
                max(r.connections for r in ours) <= limit,
                f"{'/'.join(str(r.connections) for r in ours)} for {total} creates each; "
                f"raw httpx (same limits) {'/'.join(str(r.connections) for r in theirs)}",
            )
        )
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test in a few seconds")
    parser.add_argument("--total", type=int, help="creates per round (default 5,000)")
    parser.add_argument("--rounds", type=int, help="rounds per side (default 5)")
    args = parser.parse_args()
    results = run(args.quick, args.total, args.rounds)
    sys.exit(1 if any(result.passed is False for result in results) else 0)


if __name__ == "__main__":
    main()
