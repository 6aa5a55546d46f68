"""What the unit tests share: a scripted stand-in for Bird behind httpx.MockTransport,
spec-shaped bodies, and the clients behind one async interface (``driven``)."""

from __future__ import annotations

import json
import sys
import traceback
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import shared
from bird_flashcalls import AsyncFlashCalls, Backoff, FlashCall, FlashCalls, __version__
from shared import Driver

FAST = Backoff(initial_delay=0.001, max_delay=0.002)
USER_AGENT = (
    f"bird-flashcalls/{__version__} python/"
    f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
)
TIMESTAMP = "2024-05-01T10:00:00.000Z"
REAL_422 = {
    "code": "InvalidPayload",
    "message": "One or more fields provided in the request body are malformed",
    "details": {".receiver.contacts[0]": ['property "listId" is unsupported']},
}
MiB = 1024 * 1024
EXAMPLE_UUID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"  # the one the refusals show

# Shared by every suite (tests/shared.py).
ACCESS_KEY = shared.ACCESS_KEY
BASE_URL = shared.BASE_URL
CALL_ID = shared.CALL_ID
CALLEE = shared.CALLEE
CALLER = shared.CALLER
CHANNEL_ID = shared.CHANNEL_ID
FLASHCALLS_PATH = shared.FLASHCALLS_PATH
WORKSPACE_ID = shared.WORKSPACE_ID

Step = Callable[[httpx.Request], Any]


# Spec-shaped bodies (openapi/bird-flashcalls.openapi.json).


def flash_call_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": CALL_ID,
        "channelId": CHANNEL_ID,
        "from": CALLER,
        "to": CALLEE,
        "status": "accepted",
        "ringTimeout": 30,
        "createdAt": TIMESTAMP,
        "updatedAt": TIMESTAMP,
    }
    body.update(fields)
    return body


def hangup_body(**fields: Any) -> dict[str, Any]:
    return {"result": "verified", **fields}


def hangup_from_to_body(**fields: Any) -> dict[str, Any]:
    return {"from": CALLER, "to": CALLEE, "result": "canceled", **fields}


def request_error_body(
    code: str = "NotFound",
    message: str = "The requested resource does not exist: flash call not found",
) -> dict[str, Any]:
    return {"code": code, "message": message}


def a_flash_call(**fields: Any) -> FlashCall:
    return FlashCall.from_dict(flash_call_body(**fields))


# Replies: each step builds a fresh response (httpx responses are single use).


def reply(
    status: int,
    body: Any = None,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Step:
    def step(request: httpx.Request) -> httpx.Response:
        if content is not None:
            return httpx.Response(status, content=content, headers=headers)
        if body is None:
            return httpx.Response(status, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return step


def raises(error: type[httpx.RequestError] | BaseException) -> Step:
    """Raises ``error``: an instance as it is, an httpx error class with a message and the request."""

    def step(request: httpx.Request) -> httpx.Response:
        if isinstance(error, BaseException):
            raise error
        raise error(f"simulated {error.__name__}", request=request)

    return step


class ChunkedBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """``content`` sent in chunks of ``size`` bytes, to either client, counting the chunks pulled."""

    def __init__(self, content: bytes, size: int = MiB) -> None:
        self.chunks = [content[start : start + size] for start in range(0, len(content), size)]
        self.pulled = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self:
            yield chunk


def streamed(status: int, stream: ChunkedBody, headers: dict[str, str] | None = None) -> Step:
    def step(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, stream=stream, headers=headers)

    return step


def spec_success(request: httpx.Request) -> httpx.Response:
    """What Bird answers to a valid request: 202 and a body built from the request."""
    sent = json.loads(request.content)
    echoed = {key: sent[key] for key in ("receivedCli",) if key in sent}
    if request.url.path.endswith("/flashcalls"):
        call = flash_call_body(to=sent["to"], ringTimeout=sent.get("ringTimeout", 30))
        call["from"] = sent.get("from", CALLER)
        return httpx.Response(202, json=call)
    if request.url.path.endswith("/hangup"):
        body = {"from": sent["from"], "to": sent["to"], "result": sent["result"], **echoed}
        return httpx.Response(202, json=body)
    if "/flashcalls/" in request.url.path:
        return httpx.Response(202, json={"result": sent["result"], **echoed})
    return httpx.Response(404, json=request_error_body())


class ScriptedBird:
    """MockTransport handler: records every request, plays scripted steps, then answers as Bird."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._next: deque[Step] = deque()
        self._forever: Step | None = None

    def then(self, *steps: Step) -> ScriptedBird:
        self._next.extend(steps)
        return self

    def always(self, step: Step) -> ScriptedBird:
        self._forever = step
        return self

    def __call__(self, request: httpx.Request) -> Any:
        self.requests.append(request)
        if self._next:
            return self._next.popleft()(request)
        if self._forever is not None:
            return self._forever(request)
        return spec_success(request)

    def bodies(self) -> list[Any]:
        return [json.loads(request.content) for request in self.requests]


# One test body for both clients.


def assert_no_secret(error: BaseException) -> None:
    shown = (str(error), repr(error), "".join(traceback.format_exception(error)))
    for text in shown:
        assert ACCESS_KEY not in text, f"the access key leaked into {type(error).__name__}"


def driven(client: FlashCalls | AsyncFlashCalls) -> Driver:
    """``client`` behind one async interface; no exception out of it may show the access key."""
    return Driver(client, check=assert_no_secret)


# The settings every client of these tests is built with, and the two kinds of client.
SETTINGS = {
    "access_key": ACCESS_KEY,
    "workspace_id": WORKSPACE_ID,
    "channel_id": CHANNEL_ID,
    "base_url": BASE_URL,
    "backoff": FAST,
}
CLIENTS = {"sync": (FlashCalls, httpx.Client), "async": (AsyncFlashCalls, httpx.AsyncClient)}

# Sync only by default: the two clients share every decision and differ only in their I/O.
# Tests of that I/O run on both with @BOTH_CLIENTS (the ``kind`` fixture, parametrised).
BOTH_CLIENTS = pytest.mark.parametrize("kind", ["sync", "async"])


# The three operations, for tests that hold for each of them.

OPERATIONS: dict[str, Callable[[Driver], Any]] = {
    "create": lambda fc: fc.create(CALLEE),
    "end": lambda fc: fc.end(CALL_ID, result="verified"),
    "hangup": lambda fc: fc.hangup(from_=CALLER, to=CALLEE, result="canceled"),
}
OPERATION_PATHS = {
    "create": FLASHCALLS_PATH,
    "end": f"{FLASHCALLS_PATH}/{CALL_ID}",
    "hangup": f"{FLASHCALLS_PATH}/hangup",
}
SUCCESS_BODIES: dict[str, dict[str, Any]] = {
    "create": flash_call_body(),
    "end": hangup_body(),
    "hangup": hangup_from_to_body(),
}


class ModuleView:
    """A module with a few attributes replaced, to patch what one module sees and nothing else."""

    def __init__(self, module: Any, **replaced: Any) -> None:
        self._module = module
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)
