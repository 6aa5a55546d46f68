"""Per-call cost in process: the client against raw httpx on the same MockTransport.

For create and end, sync and async: FlashCalls / AsyncFlashCalls, a raw httpx post + .json(),
and the generated operation alone (sync_detailed / asyncio_detailed) for reference. Each
round times a batch of calls per side, the sides taking turns; the figure is the best round.
Time is this process's CPU time (single thread, no I/O): on an idle machine it equals wall
time, and on a busy one the other processes shift it much less.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Awaitable, Callable
from uuid import UUID

import attrs
import httpx
from benchlib import (
    ACCESS_KEY,
    BASE_URL,
    CALL_ID,
    CHANNEL_ID,
    CREATE_PATH,
    RAW_HEADERS,
    TO,
    WORKSPACE_ID,
    Figure,
    Result,
    Stat,
    bird_handler,
    emit,
    interleave,
)
from bird_flashcalls import AsyncFlashCalls, FlashCall, FlashCalls
from bird_flashcalls import _generated as generated_client
from bird_flashcalls._generated.api.channel_flashcall import (
    create_channel_flash_call,
    end_channel_flash_call,
)
from bird_flashcalls._generated.models.flash_call_create import FlashCallCreate
from bird_flashcalls._generated.models.flash_call_hangup import FlashCallHangup
from bird_flashcalls._generated.models.hangup_result import HangupResult

# end parses its whole address on every call, as a raw post of a string does, and async adds
# the whole-attempt timer: public API only, measured against a round trip of tens of ms.
MAX_RATIOS = {
    "create (sync)": 1.10,
    "end (sync)": 1.25,
    "create (async)": 1.15,
    "end (async)": 1.25,
}
CREATE_URL = BASE_URL + CREATE_PATH
WORKSPACE_UUID = UUID(WORKSPACE_ID)
CHANNEL_UUID = UUID(CHANNEL_ID)
# end goes to a new call id each time, as in real use (a client caching per-URL work must not
# look better than it is); 1,024 ids, cycled.
CALL_UUIDS = [UUID(int=UUID(CALL_ID).int + number) for number in range(1024)]
END_URLS = [f"{BASE_URL}{CREATE_PATH}/{call_id}" for call_id in CALL_UUIDS]


class SyncSides:
    """One client of each kind, all on one MockTransport."""

    def __init__(self) -> None:
        transport = httpx.MockTransport(bird_handler)
        self.client = FlashCalls(
            ACCESS_KEY,
            WORKSPACE_ID,
            CHANNEL_ID,
            BASE_URL,
            http_client=httpx.Client(transport=transport),
        )
        self.raw = httpx.Client(transport=transport)
        self.generated = generated_client.Client(base_url=BASE_URL).set_httpx_client(
            httpx.Client(transport=transport, base_url=BASE_URL, headers=RAW_HEADERS)
        )
        call = self.client.create(TO)
        self.calls = [attrs.evolve(call, id=call_id) for call_id in CALL_UUIDS]

    def close(self) -> None:
        self.client.close()
        self.raw.close()
        self.generated.get_httpx_client().close()

    # Each returns the seconds taken by n calls.

    def client_create(self, n: int) -> float:
        create = self.client.create
        started = time.process_time()
        for _ in range(n):
            create(TO)
        return time.process_time() - started

    def raw_create(self, n: int) -> float:
        post = self.raw.post
        started = time.process_time()
        for _ in range(n):
            post(CREATE_URL, json={"to": TO}, headers=RAW_HEADERS).json()
        return time.process_time() - started

    def generated_create(self, n: int) -> float:
        operation, client = create_channel_flash_call.sync_detailed, self.generated
        started = time.process_time()
        for _ in range(n):
            operation(WORKSPACE_UUID, CHANNEL_UUID, client=client, body=FlashCallCreate(to=TO))
        return time.process_time() - started

    def client_end(self, n: int) -> float:
        end, calls = self.client.end, self.calls
        started = time.process_time()
        for number in range(n):
            end(calls[number & 1023], result="verified")
        return time.process_time() - started

    def raw_end(self, n: int) -> float:
        post, urls = self.raw.post, END_URLS
        started = time.process_time()
        for number in range(n):
            post(urls[number & 1023], json={"result": "verified"}, headers=RAW_HEADERS).json()
        return time.process_time() - started

    def generated_end(self, n: int) -> float:
        operation, client = end_channel_flash_call.sync_detailed, self.generated
        started = time.process_time()
        for number in range(n):
            operation(
                WORKSPACE_UUID,
                CHANNEL_UUID,
                CALL_UUIDS[number & 1023],
                client=client,
                body=FlashCallHangup(result=HangupResult.VERIFIED),
            )
        return time.process_time() - started


class AsyncSides:
    def __init__(self) -> None:
        transport = httpx.MockTransport(bird_handler)
        self.client = AsyncFlashCalls(
            ACCESS_KEY,
            WORKSPACE_ID,
            CHANNEL_ID,
            BASE_URL,
            http_client=httpx.AsyncClient(transport=transport),
        )
        self.raw = httpx.AsyncClient(transport=transport)
        self.generated = generated_client.Client(base_url=BASE_URL).set_async_httpx_client(
            httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=RAW_HEADERS)
        )
        self.calls: list[FlashCall] = []

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.raw.aclose()
        await self.generated.get_async_httpx_client().aclose()

    async def client_create(self, n: int) -> float:
        create = self.client.create
        started = time.process_time()
        for _ in range(n):
            await create(TO)
        return time.process_time() - started

    async def raw_create(self, n: int) -> float:
        post = self.raw.post
        started = time.process_time()
        for _ in range(n):
            (await post(CREATE_URL, json={"to": TO}, headers=RAW_HEADERS)).json()
        return time.process_time() - started

    async def generated_create(self, n: int) -> float:
        operation, client = create_channel_flash_call.asyncio_detailed, self.generated
        started = time.process_time()
        for _ in range(n):
            await operation(
                WORKSPACE_UUID, CHANNEL_UUID, client=client, body=FlashCallCreate(to=TO)
            )
        return time.process_time() - started

    async def client_end(self, n: int) -> float:
        if not self.calls:
            call = await self.client.create(TO)
            self.calls = [attrs.evolve(call, id=call_id) for call_id in CALL_UUIDS]
        end, calls = self.client.end, self.calls
        started = time.process_time()
        for number in range(n):
            await end(calls[number & 1023], result="verified")
        return time.process_time() - started

    async def raw_end(self, n: int) -> float:
        post, urls = self.raw.post, END_URLS
        started = time.process_time()
        for number in range(n):
            (
                await post(urls[number & 1023], json={"result": "verified"}, headers=RAW_HEADERS)
            ).json()
        return time.process_time() - started

    async def generated_end(self, n: int) -> float:
        operation, client = end_channel_flash_call.asyncio_detailed, self.generated
        started = time.process_time()
        for number in range(n):
            await operation(
                WORKSPACE_UUID,
                CHANNEL_UUID,
                CALL_UUIDS[number & 1023],
                client=client,
                body=FlashCallHangup(result=HangupResult.VERIFIED),
            )
        return time.process_time() - started


def _timed(batch: Callable[[int], float], n: int) -> Callable[[], float]:
    def one_round() -> float:
        gc.collect()
        return batch(n) / n * 1e6  # microseconds per call

    return one_round


def _figure(name: str, measured: dict[str, list[float]], calls: int) -> Figure:
    return Figure(
        "per call",
        name,
        "us",
        Stat.best_of(measured["client"]),
        Stat.best_of(measured["raw"]),
        target_max=MAX_RATIOS[name],
        generated=Stat.best_of(measured["generated"]),
        digits=1,
        note=f"{calls} calls per round",
    )


def run_sync(calls: int, rounds: int, warmup: int) -> list[Result]:
    sides = SyncSides()
    results: list[Result] = []
    try:
        for operation in ("create", "end"):
            batches = {
                side: getattr(sides, f"{side}_{operation}")
                for side in ("client", "raw", "generated")
            }
            for batch in batches.values():
                batch(warmup)
            measured = interleave(
                {side: _timed(batch, calls) for side, batch in batches.items()}, rounds
            )
            results.append(emit(_figure(f"{operation} (sync)", measured, calls)))
    finally:
        sides.close()
    return results


async def _run_async(calls: int, rounds: int, warmup: int) -> list[Result]:
    sides = AsyncSides()
    results: list[Result] = []
    try:
        for operation in ("create", "end"):
            batches: dict[str, Callable[[int], Awaitable[float]]] = {
                side: getattr(sides, f"{side}_{operation}")
                for side in ("client", "raw", "generated")
            }
            for batch in batches.values():
                await batch(warmup)
            # interleave() is synchronous; run its rounds by hand inside the loop.
            measured: dict[str, list[float]] = {side: [] for side in batches}
            names = list(batches)
            for round_number in range(rounds):
                for side in names if round_number % 2 == 0 else reversed(names):
                    gc.collect()
                    measured[side].append(await batches[side](calls) / calls * 1e6)
            results.append(emit(_figure(f"{operation} (async)", measured, calls)))
    finally:
        await sides.aclose()
    return results


def run(quick: bool = False, calls: int | None = None, rounds: int | None = None) -> list[Result]:
    default_calls, default_rounds, warmup = (1_000, 3, 200) if quick else (20_000, 5, 2_000)
    calls, rounds = calls or default_calls, rounds or default_rounds
    results = run_sync(calls, rounds, warmup)
    results += asyncio.run(_run_async(calls, rounds, warmup))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test in a few seconds")
    parser.add_argument("--calls", type=int, help="calls per round (default 20,000)")
    parser.add_argument("--rounds", type=int, help="rounds per side (default 5)")
    args = parser.parse_args()
    results = run(args.quick, args.calls, args.rounds)
    sys.exit(1 if any(result.passed is False for result in results) else 0)


if __name__ == "__main__":
    main()
