"""Throughput over loopback: AsyncFlashCalls against raw httpx.AsyncClient (same limits), 64
creates in flight, to one loopback_server.py process that counts each side's connections."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import Any, NamedTuple

import httpx
from benchlib import (
    BENCH_DIR,
    CREATE_PATH,
    RAW_HEADERS,
    TO,
    Check,
    Figure,
    Result,
    Stat,
    clean_env,
    flash_calls,
    interleave,
    main,
)
from bird_flashcalls import AsyncFlashCalls, _constants

MIN_RATIO = 0.95
CONCURRENCY = 64
SERVER = "loopback_server.py (asyncio.Protocol, HTTP/1.1 keep-alive, separate process)"


@contextmanager
def loopback_server() -> Iterator[tuple[str, Callable[[str], int]]]:
    """The server's URL, and how many connections it has accepted from a User-Agent product."""
    process = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "loopback_server.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=clean_env(),
        text=True,
    )
    commands, replies = process.stdin, process.stdout
    assert commands is not None and replies is not None

    def accepted(agent: str) -> int:
        commands.write("stats\n")
        commands.flush()
        return int(json.loads(replies.readline()).get(agent, 0))

    try:
        ready = replies.readline().split()
        if ready[:1] != ["listening"]:
            raise RuntimeError(f"the loopback server did not start: {ready!r}")
        yield f"http://127.0.0.1:{ready[1]}", accepted
    finally:
        commands.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        replies.close()


class Round(NamedTuple):
    per_second: float
    cpu_us: float  # this process's CPU time per create: what the client itself costs
    connections: int  # accepted by the server during the round


async def one_round(
    create: Callable[[], Awaitable[Any]], total: int, accepted: Callable[[], int]
) -> Round:
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await create()

    before = accepted()
    gc.collect()
    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return Round(total / elapsed, cpu / total * 1e6, accepted() - before)


def run(quick: bool) -> Iterator[Result]:
    total, rounds = (300, 2) if quick else (5_000, 5)
    with ExitStack() as stack:
        url, accepted = stack.enter_context(loopback_server())
        runner = stack.enter_context(asyncio.Runner())
        # Raw httpx with the client's limits: httpcore's pool work per request grows with the
        # connections it keeps, so the ratio is the client's own cost, not a pool setting's.
        client = flash_calls(AsyncFlashCalls, None, url)
        limits = httpx.Limits(
            max_connections=_constants.MAX_CONNECTIONS,
            max_keepalive_connections=_constants.MAX_KEEPALIVE_CONNECTIONS,
        )
        raw = httpx.AsyncClient(limits=limits)
        for closing in (client.aclose, raw.aclose):
            stack.callback(lambda closing=closing: runner.run(closing()))

        create_url = url + CREATE_PATH

        async def raw_create() -> Any:
            return (await raw.post(create_url, json={"to": TO}, headers=RAW_HEADERS)).json()

        sides = {  # each with its User-Agent product
            "client": (lambda: client.create(TO), partial(accepted, "bird-flashcalls")),
            "raw": (raw_create, partial(accepted, RAW_HEADERS["User-Agent"])),
        }
        for create, count in sides.values():
            runner.run(one_round(create, CONCURRENCY * (1 if total < 1_000 else 4), count))
        rounds_of = {
            side: lambda create=create, count=count: runner.run(one_round(create, total, count))
            for side, (create, count) in sides.items()
        }
        measured = interleave(rounds_of, rounds)
    ours, theirs = measured["client"], measured["raw"]
    yield Figure(
        "loopback",
        f"creates/s, {total} per round at {CONCURRENCY} in flight",
        "req/s",
        Stat.median_of([r.per_second for r in ours]),
        Stat.median_of([r.per_second for r in theirs]),
        target_min=MIN_RATIO,
        digits=0,
        note=f"server: {SERVER}",
    )
    yield Figure(
        "loopback",
        "client CPU time per create (the same rounds)",
        "us",
        Stat.median_of([r.cpu_us for r in ours]),
        Stat.median_of([r.cpu_us for r in theirs]),
        digits=0,
        note="less sensitive to other load than req/s",
    )
    yield Check(
        "loopback",
        f"connections AsyncFlashCalls opened per round (pool limit {_constants.MAX_CONNECTIONS}, "
        f"keep-alive {_constants.MAX_KEEPALIVE_CONNECTIONS})",
        max(r.connections for r in ours) <= _constants.MAX_CONNECTIONS,
        f"{'/'.join(str(r.connections) for r in ours)} for {total} creates each; "
        f"raw httpx (same limits) {'/'.join(str(r.connections) for r in theirs)}",
    )


if __name__ == "__main__":
    main({"loopback": run}, __doc__)
