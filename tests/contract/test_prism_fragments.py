"""The client against Prism serving each of Bird's fragments verbatim, not our corrected spec.

Responses must be parsed as leniently as Bird publishes them: whatever 2xx Prism builds from a
published fragment, static or random, every call that sent it must return its typed result.
Prism also checks each request against the fragment, with every optional field sent and left out;
none may break it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from bird_flashcalls import (
    AsyncFlashCalls,
    FlashCall,
    FlashCallHangup,
    FlashCallHangupFromTo,
    Verification,
)

from .prism import PrismServer, running_prism
from .support import (
    CALL_ID,
    CALLED,
    CHANNEL_ID,
    FRAGMENTS,
    SPEC_OPERATIONS,
    WORKSPACE_ID,
    Exchange,
    async_client,
    flash_call_body,
)

# One worker starts this module's Prism servers (make test runs the suite on xdist).
pytestmark = [pytest.mark.prism, pytest.mark.anyio, pytest.mark.xdist_group("prism-fragments")]

CALLS_PER_MODE = 100
CALLER = "+3197010260002"
A_FLASH_CALL = FlashCall.from_dict(flash_call_body({"from": CALLER, "to": CALLED}))
MODES = {"static": {"Prefer": "dynamic=false"}, "dynamic": {"Prefer": "dynamic=true"}}

# operation -> (fragment file, the call, the type it returns)
Call = Callable[[AsyncFlashCalls, int], Any]
OPERATIONS: dict[str, tuple[str, Call, type]] = {
    "create": (
        "create-flash-call.json",
        lambda client, n: client.create(
            CALLED, from_=CALLER if n % 2 else None, ring_timeout=3 + n % 118
        ),
        FlashCall,
    ),
    "end": (
        "end-flash-call.json",
        lambda client, n: client.end(
            CALL_ID,
            result=("timeout", "canceled", "unknown", "wrong_cli")[n % 4],
            received_cli=CALLER if n % 2 else None,
        ),
        FlashCallHangup,
    ),
    "verify": (
        "end-flash-call.json",
        lambda client, n: client.verify(A_FLASH_CALL, CALLER if n % 2 else "+3197010260003"),
        Verification,
    ),
    "verify_code": (
        "end-flash-call.json",
        lambda client, n: client.verify_code(A_FLASH_CALL, CALLER[-4:] if n % 2 else "0000"),
        Verification,
    ),
    "hangup": (
        "end-flash-call-from-to.json",
        lambda client, n: client.hangup(
            from_=CALLER,
            to=CALLED,
            result=("canceled", "verified")[n % 2],
            received_cli=CALLER if n % 3 else None,
        ),
        FlashCallHangupFromTo,
    ),
}


@pytest.fixture(scope="module")
def fragment_prisms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, PrismServer]]:
    """One Prism per published fragment, dynamic unless a request prefers otherwise."""
    logs = tmp_path_factory.mktemp("prism-fragments")
    with ExitStack() as stack:
        yield {
            name: stack.enter_context(
                running_prism(
                    FRAGMENTS / name,
                    ["--dynamic", "--verboseLevel", "warn"],
                    logs / f"{name}.log",
                )
            )
            for name in sorted({fragment for fragment, _, _ in OPERATIONS.values()})
        }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("operation", OPERATIONS)
async def test_every_published_answer_parses(
    fragment_prisms: dict[str, PrismServer], operation: str, mode: str
) -> None:
    fragment, call, result_type = OPERATIONS[operation]
    prism = fragment_prisms[fragment]
    limit = asyncio.Semaphore(8)
    returned: Counter[str] = Counter()
    bodies: set[bytes] = set()

    async def one(client: AsyncFlashCalls, number: int) -> None:
        async with limit:
            result = await call(client, number)
        returned[type(result).__name__] += 1

    async with async_client(prism.base_url, MODES[mode]) as (client, exchanges):
        await asyncio.gather(*(one(client, number) for number in range(CALLS_PER_MODE)))

    assert returned == {result_type.__name__: CALLS_PER_MODE}
    for exchange in exchanges:
        assert 200 <= exchange.status_code < 300, exchange.response_body
        assert not exchange.error_violations(), (exchange.body, exchange.violations())
        bodies.add(exchange.response_body)
    # Static answers are one example; dynamic ones really vary.
    assert (len(bodies) == 1) if mode == "static" else (len(bodies) > CALLS_PER_MODE // 2)


@pytest.mark.parametrize(
    ("operation_id", "fragment", "body"),
    [
        ("createChannelFlashCall", "create-flash-call.json", {"to": CALLED, "callerId": CALLER}),
        ("createChannelFlashCall", "create-flash-call.json", {"to": CALLED, "ringTimeout": 121}),
        ("createChannelFlashCall", "create-flash-call.json", {"from": CALLER}),
        ("endChannelFlashCall", "end-flash-call.json", {"result": "verified", "reason": "ok"}),
        ("endChannelFlashCall", "end-flash-call.json", {"result": "maybe"}),
        ("endChannelFlashCallFromTo", "end-flash-call-from-to.json", {"from": CALLER}),
    ],
)
async def test_prism_flags_what_the_fragment_refuses(
    fragment_prisms: dict[str, PrismServer], operation_id: str, fragment: str, body: Any
) -> None:
    # The checks above are only worth something if Prism does check requests against them.
    path = SPEC_OPERATIONS[operation_id].path.format(
        workspaceId=WORKSPACE_ID, channelId=CHANNEL_ID, callId=CALL_ID
    )
    headers = {"Authorization": "AccessKey k"}
    async with httpx.AsyncClient(base_url=fragment_prisms[fragment].base_url, timeout=30) as http:
        response = await http.post(path, json=body, headers=headers)
    assert response.status_code == 422 or Exchange.of(response).error_violations(), response.text
