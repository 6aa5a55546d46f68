"""The faults FakeBird injects, and how its in-process transport delivers an answer: late,
cut off at the client's read timeout, or not at all."""

from __future__ import annotations

import random
from collections.abc import Callable

import attrs
import httpx

from .._operations import OPERATIONS
from ._wire import FakeResponse


@attrs.frozen
class Fault:
    status: int | None
    retry_after: float | None
    drop_connection: bool
    delay: float


# What a fault can be limited to: Bird's operations, by their method names.
OPERATION_NAMES = tuple(operation.method_name for operation in OPERATIONS)


@attrs.define
class RandomFaults:
    """A fault for a share of the requests: only to ``operations`` (None: every request), at
    most ``remaining`` times (None: no limit)."""

    rate: float
    fault: Fault
    rng: random.Random
    operations: frozenset[str] | None = None
    remaining: int | None = None

    def draw(self, operation: str | None) -> Fault | None:
        if self.operations is not None and operation not in self.operations:
            return None
        if self.remaining == 0 or self.rng.random() >= self.rate:
            return None
        if self.remaining is not None:
            self.remaining -= 1
        return self.fault


def checked_operations(operations: object) -> frozenset[str] | None:
    if operations is None:
        return None
    if (
        isinstance(operations, str)
        or not isinstance(operations, list | tuple | set | frozenset)
        or not operations
        or any(name not in OPERATION_NAMES for name in operations)
    ):
        raise ValueError(
            f"operations must name one or more of {', '.join(OPERATION_NAMES)} (None: every request), "
            f"got {operations!r}"
        )
    return frozenset(operations)


def checked_count(count: object) -> int | None:
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"count must be a whole number >= 1, or None (no limit), got {count!r}")
    return count


def read_timeout(request: httpx.Request) -> float | None:
    timeouts = request.extensions.get("timeout", {})
    value = timeouts.get("read") if isinstance(timeouts, dict) else None
    return float(value) if isinstance(value, int | float) else None


def waited(reply: FakeResponse, request: httpx.Request) -> float:
    # A transport gives up after its read timeout, as a socket would.
    limit = read_timeout(request)
    return reply.delay if limit is None else min(reply.delay, limit)


def raise_timeout(reply: FakeResponse, request: httpx.Request) -> None:
    limit = read_timeout(request)
    if limit is not None and reply.delay > limit:
        raise httpx.ReadTimeout(f"no answer within the {limit:g} s read timeout", request=request)


def wait(reply: FakeResponse, request: httpx.Request, sleep: Callable[[float], None]) -> None:
    seconds = waited(reply, request)
    if seconds:
        sleep(seconds)
    raise_timeout(reply, request)


def deliver(reply: FakeResponse, request: httpx.Request) -> httpx.Response:
    if reply.drop_connection:
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    return httpx.Response(reply.status, headers=reply.headers, content=reply.body)


def new_fault(
    status: int | None, retry_after: float | None, drop_connection: bool, delay: float
) -> Fault:
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
    ):
        raise ValueError(f"status must be an error status from 400 to 599, got {status!r}")
    if status is not None and drop_connection:
        raise ValueError("a fault either answers with a status or drops the connection")
    if status is None and not drop_connection and not delay:
        raise ValueError("nothing to inject: give a status, drop_connection=True or a delay")
    if retry_after is not None and (status is None or retry_after < 0):
        raise ValueError("retry_after needs a status and is a number of seconds >= 0")
    if delay < 0:
        raise ValueError(f"delay must be >= 0 seconds, got {delay!r}")
    return Fault(status, retry_after, drop_connection, float(delay))
