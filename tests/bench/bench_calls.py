"""Per-call CPU time of create and end, sync and async, on one MockTransport: the client, a raw
httpx post + .json(), and the generated operation alone (*_detailed) for reference."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from functools import partial
from typing import Any
from uuid import UUID

import attrs
import httpx
from benchlib import (
    BASE_URL,
    CALL_ID,
    CHANNEL_ID,
    CREATE_PATH,
    CREATE_URL,
    RAW_HEADERS,
    TO,
    WORKSPACE_ID,
    Figure,
    Result,
    best_per_call,
    bird_handler,
    cpu_us_per_call,
    cpu_us_per_call_async,
    flash_calls,
    main,
    profile_excess,
)
from bird_flashcalls import AsyncFlashCalls, FlashCalls
from bird_flashcalls import _generated as generated_client
from bird_flashcalls._generated.api.channel_flashcall import (
    create_channel_flash_call,
    end_channel_flash_call,
)
from bird_flashcalls._generated.models.flash_call_create import FlashCallCreate
from bird_flashcalls._generated.models.flash_call_hangup import FlashCallHangup
from bird_flashcalls._generated.models.hangup_result import HangupResult

# end parses its whole address on every call, as a raw post of a string does; async adds the
# whole-attempt timer.
MAX_RATIOS = {
    "create (sync)": 1.10,
    "end (sync)": 1.25,
    "create (async)": 1.15,
    "end (async)": 1.25,
}
WORKSPACE_UUID = UUID(WORKSPACE_ID)
CHANNEL_UUID = UUID(CHANNEL_ID)
# end goes to a new call id each time, as in real use (a client caching per-URL work must not
# look better than it is); 1,024 ids, cycled.
CALL_UUIDS = [UUID(int=UUID(CALL_ID).int + number) for number in range(1024)]
END_URLS = [f"{BASE_URL}{CREATE_PATH}/{call_id}" for call_id in CALL_UUIDS]

# operation -> side -> one call, given its number.
Calls = dict[str, dict[str, Callable[[int], Any]]]


def sync_calls(stack: ExitStack) -> Calls:
    """One client of each kind, all on one MockTransport."""
    transport = httpx.MockTransport(bird_handler)
    client = stack.enter_context(flash_calls(FlashCalls, httpx.Client(transport=transport)))
    raw = stack.enter_context(httpx.Client(transport=transport))
    generated = generated_client.Client(base_url=BASE_URL).set_httpx_client(
        stack.enter_context(
            httpx.Client(transport=transport, base_url=BASE_URL, headers=RAW_HEADERS)
        )
    )
    calls = [attrs.evolve(client.create(TO), id=call_id) for call_id in CALL_UUIDS]
    create, end, post = client.create, client.end, raw.post
    generated_create = create_channel_flash_call.sync_detailed
    generated_end = end_channel_flash_call.sync_detailed
    return {
        "create": {
            "client": lambda _: create(TO),
            "raw": lambda _: post(CREATE_URL, json={"to": TO}, headers=RAW_HEADERS).json(),
            "generated": lambda _: generated_create(
                WORKSPACE_UUID, CHANNEL_UUID, client=generated, body=FlashCallCreate(to=TO)
            ),
        },
        "end": {
            "client": lambda number: end(calls[number & 1023], result="verified"),
            "raw": lambda number: post(
                END_URLS[number & 1023], json={"result": "verified"}, headers=RAW_HEADERS
            ).json(),
            "generated": lambda number: generated_end(
                WORKSPACE_UUID,
                CHANNEL_UUID,
                CALL_UUIDS[number & 1023],
                client=generated,
                body=FlashCallHangup(result=HangupResult.VERIFIED),
            ),
        },
    }


def async_calls(stack: ExitStack, runner: asyncio.Runner) -> Calls:
    """The same on httpx.AsyncClient; every side awaits through one coroutine of its own."""
    transport = httpx.MockTransport(bird_handler)
    client = flash_calls(AsyncFlashCalls, httpx.AsyncClient(transport=transport))
    raw = httpx.AsyncClient(transport=transport)
    generated = generated_client.Client(base_url=BASE_URL).set_async_httpx_client(
        httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=RAW_HEADERS)
    )
    for closing in (client.aclose, raw.aclose, generated.get_async_httpx_client().aclose):
        stack.callback(lambda closing=closing: runner.run(closing()))
    call = runner.run(client.create(TO))
    calls = [attrs.evolve(call, id=call_id) for call_id in CALL_UUIDS]
    create, end, post = client.create, client.end, raw.post
    generated_create = create_channel_flash_call.asyncio_detailed
    generated_end = end_channel_flash_call.asyncio_detailed
    return {
        "create": {
            "client": lambda _: awaited(create(TO)),
            "raw": lambda _: json_of(post(CREATE_URL, json={"to": TO}, headers=RAW_HEADERS)),
            "generated": lambda _: awaited(
                generated_create(
                    WORKSPACE_UUID, CHANNEL_UUID, client=generated, body=FlashCallCreate(to=TO)
                )
            ),
        },
        "end": {
            "client": lambda number: awaited(end(calls[number & 1023], result="verified")),
            "raw": lambda number: json_of(
                post(END_URLS[number & 1023], json={"result": "verified"}, headers=RAW_HEADERS)
            ),
            "generated": lambda number: awaited(
                generated_end(
                    WORKSPACE_UUID,
                    CHANNEL_UUID,
                    CALL_UUIDS[number & 1023],
                    client=generated,
                    body=FlashCallHangup(result=HangupResult.VERIFIED),
                )
            ),
        },
    }


async def awaited(call: Awaitable[Any]) -> Any:
    return await call


async def json_of(response: Awaitable[httpx.Response]) -> Any:
    return (await response).json()


def run(quick: bool) -> Iterator[Result]:
    calls, rounds, warmup = (1_000, 3, 200) if quick else (20_000, 5, 2_000)
    with ExitStack() as stack:
        runner = stack.enter_context(asyncio.Runner())

        def async_batch(call: Callable[[int], Awaitable[Any]], n: int) -> float:
            return runner.run(cpu_us_per_call_async(call, n))

        for kind, operations, batch in (
            ("sync", sync_calls(stack), cpu_us_per_call),
            ("async", async_calls(stack, runner), async_batch),
        ):
            for operation, sides in operations.items():
                batches = {side: partial(batch, call) for side, call in sides.items()}
                best = best_per_call(batches, calls, rounds, warmup)
                name = f"{operation} ({kind})"
                yield Figure(
                    "per call",
                    name,
                    "us",
                    best["client"],
                    best["raw"],
                    target_max=MAX_RATIOS[name],
                    generated=best["generated"],
                    note=f"{calls} calls per round",
                )


def profile(quick: bool) -> Iterator[str]:
    """cProfile of FlashCalls.create against a raw post, function by function."""
    with ExitStack() as stack:
        sides = sync_calls(stack)["create"]
        yield from profile_excess(
            "FlashCalls.create",
            partial(cpu_us_per_call, sides["client"]),
            partial(cpu_us_per_call, sides["raw"]),
            500 if quick else 5_000,
            15,
        )


if __name__ == "__main__":
    main({"calls": run}, __doc__, profile=profile)
