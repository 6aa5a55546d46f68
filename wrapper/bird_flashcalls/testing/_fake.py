"""FakeBird: an in-memory Bird Flash Calling API for tests, in process or on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import random
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from uuid import UUID, uuid4

import httpx

from .. import _constants as constants
from .._client import AsyncFlashCalls, FlashCalls
from .._retry import Backoff
from .._rules import canonical_uuid
from ._callers import DEFAULT_CALLER_POOL_SIZE, caller_pool, checked_caller_numbers
from ._control import control_response, is_control_path
from ._core import HANGUP_ANSWERS, CallRecords, FakeChannel, operation_of
from ._faults import (
    Fault,
    RandomFaults,
    checked_count,
    checked_operations,
    deliver,
    new_fault,
    raise_timeout,
    wait,
    waited,
)
from ._wire import FakeRequest, FakeResponse, new_request_id, parse_json, status_problem

# Where the in-process clients point: a reserved name (RFC 2606), never resolved.
IN_PROCESS_BASE_URL = "https://fakebird.invalid"


class FakeBird:
    """A faithful in-memory Bird Flash Calling API: one workspace, one channel, its calls.

    ::

        fake = FakeBird()
        flash_calls = fake.client()                 # FlashCalls wired to the fake in process
        with fake.serve() as base_url: ...          # or a real HTTP server on 127.0.0.1
        fake.calls[call.id]["result"]               # what was reported for a call
        fake.fail_next(status=503, retry_after=1)   # fault injection: the next request(s)
        fake.fail_randomly(rate=0.05, seed=1)       # or a share of all requests, for load tests
        len(fake.calls[call.id]["reports"]) > 1     # the call was reported twice

    It answers as the spec says, checking in this order:

    - 401 for a missing or wrong ``Authorization: AccessKey <key>``;
    - 404 for an unknown path, workspace or channel (ids only in canonical ``8-4-4-4-12`` form,
      in either case, as Bird's routes match them);
    - 405 with ``Allow: POST`` for any other method;
    - 400 for a body that is not a JSON object sent as ``application/json``: another or no
      Content-Type, a charset other than UTF-8, bytes that are not UTF-8, NaN or Infinity, a
      number beyond a double, a key twice in one object. 400 rather than 415 for a wrong
      Content-Type, because 400 is the status the spec documents for a request Bird cannot
      read, so clients built from the spec handle it;
    - 404 for an unknown call id (end) or no call with that ``from`` and ``to`` (hangup);
    - 422 with ``details`` per field for a body the schema refuses, numbers not in E.164
      (``+`` and 7 to 15 digits) included;
    - 202 with the call (``from`` picked from ``caller_numbers`` when the request has none:
      by default 1,000 numbers with distinct last four digits, drawn from ``seed``; or
      ``caller_pool_size`` of them). A second end or hangup for a call is answered as the
      first was (Bird documents nothing else) and kept in the call's ``reports``; the first
      result stays the call's ``result``.
      End by from/to answers with any shape its published schema allows: ``{result,
      receivedCli}``, ``{from, to}`` or all four, picked at random per call unless
      ``hangup_answer="result"``, ``"numbers"`` or ``"full"`` fixes one. ``seed`` makes the
      picks (and the caller numbers) repeatable.

    Every error is JSON in Bird's ``{code, message}`` shape with a ``Messagebird-Request-Id``
    header, over HTTP too (a request line, Content-Length or size the server cannot accept
    included). Paths under ``/_fakebird/`` are its control API, FakeBird's own (see
    ``FakeBirdControl``): neither faulted nor listed in ``requests``. Thread-safe.
    """

    def __init__(
        self,
        *,
        workspace_id: str | UUID | None = None,
        channel_id: str | UUID | None = None,
        access_key: str | None = None,
        caller_numbers: Sequence[str] | None = None,
        caller_pool_size: int | None = None,
        hangup_answer: str = "random",
        seed: int | None = None,
    ) -> None:
        if hangup_answer not in HANGUP_ANSWERS:
            raise ValueError(
                f"hangup_answer must be one of {', '.join(HANGUP_ANSWERS)}, got {hangup_answer!r}"
            )
        if caller_numbers is None:
            size = DEFAULT_CALLER_POOL_SIZE if caller_pool_size is None else caller_pool_size
            caller_numbers = caller_pool(size, seed)
        elif caller_pool_size is not None:
            raise ValueError("give caller_numbers or caller_pool_size, not both")
        self._channel = FakeChannel(
            workspace_id=_uuid(workspace_id, "workspace_id"),
            channel_id=_uuid(channel_id, "channel_id"),
            access_key=access_key or secrets.token_urlsafe(24),
            caller_numbers=checked_caller_numbers(caller_numbers),
            hangup_answer=hangup_answer,
            seed=seed,
        )
        self._lock = threading.Lock()
        self._requests: list[FakeRequest] = []
        self._faults: list[Fault] = []
        self._random_faults: RandomFaults | None = None

    def __repr__(self) -> str:
        return (
            f"FakeBird(workspace_id='{self.workspace_id}', channel_id='{self.channel_id}', "
            f"calls={len(self._channel.calls)})"
        )

    @property
    def workspace_id(self) -> str:
        """The workspace this fake serves (a random UUID unless given)."""
        return str(self._channel.workspace_id)

    @property
    def channel_id(self) -> str:
        """The flash-call channel this fake serves."""
        return str(self._channel.channel_id)

    @property
    def access_key(self) -> str:
        """The key its clients must send (random unless given; a test value, not a secret)."""
        return self._channel.access_key

    @property
    def caller_numbers(self) -> tuple[str, ...]:
        """The numbers it rings from when a create request names none."""
        return self._channel.caller_numbers

    def set_caller_numbers(self, numbers: Sequence[str]) -> None:
        """Ring from these numbers from now on (a non-empty list of E.164 numbers)."""
        checked = checked_caller_numbers(numbers)
        with self._lock:
            self._channel.caller_numbers = checked

    def reset(self) -> tuple[int, int]:
        """Forget every call and request (faults and caller numbers stay); returns how many
        calls and requests were forgotten."""
        with self._lock:
            forgotten = len(self._channel.calls), len(self._requests)
            self._channel.calls.clear()
            self._requests.clear()
        return forgotten

    # What happened.

    @property
    def calls(self) -> CallRecords:
        """Call id -> the call as Bird returned it, plus the reported ``result`` (and
        ``receivedCli``). A copy: later requests do not change it."""
        with self._lock:
            return CallRecords(copy.deepcopy(self._channel.calls))

    @property
    def requests(self) -> list[FakeRequest]:
        """Every request received, in order, including refused and faulted ones. (Bytes the
        HTTP server cannot read as a request are answered by the server and not listed.)"""
        with self._lock:
            return list(self._requests)

    def handset_cli(self, call_id: str | UUID) -> str:
        """The caller number the phone sees for a call: the call's ``from``."""
        with self._lock:
            call = self._channel.calls.get(str(call_id).lower())
            if call is None:
                raise KeyError(f"FakeBird has no flash call {call_id}")
            return str(call["from"])

    # Faults.

    def fail_next(
        self,
        status: int | None = None,
        *,
        retry_after: float | None = None,
        times: int = 1,
        drop_connection: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Make the next ``times`` requests fail; calls queue up in order.

        - ``status``: answer with it and a Bird-shaped error body, without handling the request
          (``retry_after`` adds a Retry-After header in seconds).
        - ``drop_connection``: handle the request (Bird received it), then close the connection
          without answering; the client sees a dropped connection.
        - ``delay``: wait this many seconds before answering (alone: a slow but correct answer).
        """
        fault = new_fault(status, retry_after, drop_connection, delay)
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError(f"times must be a whole number >= 1, got {times!r}")
        with self._lock:
            self._faults.extend([fault] * times)

    def fail_randomly(
        self,
        rate: float,
        status: int | None = 503,
        *,
        retry_after: float | None = None,
        drop_connection: bool = False,
        delay: float = 0.0,
        seed: int | None = None,
        operations: Sequence[str] | None = None,
        count: int | None = None,
    ) -> None:
        """Make each request fail with probability ``rate`` (after any ``fail_next`` faults),
        as ``fail_next`` describes; ``seed`` makes the draw repeatable; ``rate=0`` stops it.

        ``operations`` limits the faults to some of ``create``, ``end`` and ``hangup``;
        ``count`` stops them after that many."""
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValueError(f"rate must be a number from 0 to 1, got {rate!r}")
        fault = new_fault(status, retry_after, drop_connection, delay) if rate else None
        chosen = checked_operations(operations)
        limit = checked_count(count)
        with self._lock:
            self._random_faults = (
                None
                if fault is None
                else RandomFaults(rate, fault, random.Random(seed), chosen, limit)
            )

    def clear_faults(self) -> None:
        """Forget every queued and random fault."""
        with self._lock:
            self._faults.clear()
            self._random_faults = None

    # The one request-handling core.

    def respond(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> FakeResponse:
        """Handle one request: method, path (a query is ignored), headers and body in, the
        answer out. The in-process transport and the HTTP server both call only this."""
        request_headers = httpx.Headers(headers)
        if is_control_path(path):
            return control_response(
                self, self._channel.authenticate, method, path, request_headers, body
            )
        request_id = new_request_id()
        with self._lock:
            fault = self._next_fault(operation_of(path))
            if fault is not None and fault.status is not None:
                problem = status_problem(fault.status, fault.retry_after)
                status, extra_headers, payload = problem.status, problem.headers, problem.body()
            else:
                status, extra_headers, payload = self._channel.handle(
                    method.upper(), path, request_headers, body
                )
            self._requests.append(
                FakeRequest(
                    method=method.upper(),
                    path=path,
                    headers=request_headers,
                    body=body,
                    json=_parsed(body),
                    request_id=request_id,
                    status=status,
                )
            )
        return FakeResponse(
            status=status,
            headers={
                "Content-Type": "application/json",
                "Messagebird-Request-Id": request_id,
                **extra_headers,
            },
            body=json.dumps(payload).encode(),
            delay=0.0 if fault is None else fault.delay,
            drop_connection=fault is not None and fault.drop_connection,
        )

    def _next_fault(self, operation: str | None) -> Fault | None:
        if self._faults:
            return self._faults.pop(0)
        chance = self._random_faults
        return None if chance is None else chance.draw(operation)

    # Ways to reach it.

    def client(
        self,
        *,
        timeout: float | httpx.Timeout = constants.DEFAULT_TIMEOUT,
        max_retries: int = constants.DEFAULT_MAX_RETRIES,
        backoff: Backoff | None = None,
    ) -> FlashCalls:
        """A FlashCalls that talks to this fake in process (no socket).

        Retries wait as in production; pass ``backoff=Backoff(initial_delay=0.001)`` to speed
        up tests that inject retryable faults.
        """
        return FlashCalls(
            **self._client_settings(),
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            http_client=httpx.Client(transport=httpx.MockTransport(self._answer)),
        )

    def async_client(
        self,
        *,
        timeout: float | httpx.Timeout = constants.DEFAULT_TIMEOUT,
        max_retries: int = constants.DEFAULT_MAX_RETRIES,
        backoff: Backoff | None = None,
    ) -> AsyncFlashCalls:
        """An AsyncFlashCalls that talks to this fake in process (no socket)."""
        return AsyncFlashCalls(
            **self._client_settings(),
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(self._answer_async)),
        )

    def _client_settings(self) -> dict[str, str]:
        return {
            "access_key": self.access_key,
            "workspace_id": self.workspace_id,
            "channel_id": self.channel_id,
            "base_url": IN_PROCESS_BASE_URL,
        }

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Run this fake as an HTTP server on a loopback address; yields its base URL.

        ``port=0`` picks a free port. The server and its threads stop on exit.
        """
        # Imported here: only tests that need a socket pay for http.server.
        from ._server import serve

        with serve(self.respond, host, port) as base_url:
            yield base_url

    # The in-process transports: the same core, and faults as an HTTP client would see them.

    def _answer(self, request: httpx.Request) -> httpx.Response:
        reply = self.respond(request.method, _target(request), request.headers, request.read())
        wait(reply, request, time.sleep)
        return deliver(reply, request)

    async def _answer_async(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        reply = self.respond(request.method, _target(request), request.headers, body)
        seconds = waited(reply, request)
        if seconds:
            await asyncio.sleep(seconds)
        raise_timeout(reply, request)
        return deliver(reply, request)


def _target(request: httpx.Request) -> str:
    return request.url.raw_path.decode("ascii")


def _uuid(value: str | UUID | None, name: str) -> UUID:
    if value is None:
        return uuid4()
    if isinstance(value, UUID):
        return value
    parsed = canonical_uuid(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError(
            f"{name} must be a UUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6, got {value!r}"
        )
    return parsed


def _parsed(body: bytes) -> Any:
    try:
        return parse_json(body)
    except (ValueError, RecursionError):
        return None
