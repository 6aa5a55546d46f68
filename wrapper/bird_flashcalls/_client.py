"""FlashCalls and AsyncFlashCalls: thin drivers that send, read and sleep.

Everything that decides lives in ``BaseFlashCalls``; the two attempts below have the same
shape and differ only in I/O. How long an attempt may take:

- ``FlashCalls``: httpx bounds each connect, read and write by ``timeout`` (connecting by 5 s at
  most), and the body as a whole must arrive within ``timeout`` of the start of the attempt.
- ``AsyncFlashCalls``: ``asyncio.timeout`` bounds the whole attempt, from connecting to the last
  byte of the body, with whatever ``httpx.AsyncClient`` it uses.

With an ``httpx.Timeout`` instead of a number of seconds, httpx's own bounds apply, as given.
"""

from __future__ import annotations

import ssl
import time
import weakref
from collections.abc import AsyncIterator, Callable
from types import ModuleType, TracebackType
from typing import Any, Self, TypeVar

import httpx

from . import _constants as constants
from ._base_client import BaseFlashCalls, NoReply, Reply, Retry
from ._generated.models.flash_call import FlashCall
from ._generated.models.flash_call_hangup import FlashCallHangup
from ._generated.models.flash_call_hangup_from_to import FlashCallHangupFromTo
from ._requests import CallRef, ExtraBody, Prepared, ResultValue
from ._verify import Verification, with_answer
from .errors import EventLoopError

Parsed = TypeVar("Parsed")
Method = TypeVar("Method", bound=Callable[..., Any])


class FlashCalls(BaseFlashCalls[httpx.Client]):
    """Synchronous client. Thread-safe; share one per process and close it (or use ``with``)."""

    _http_client_class = httpx.Client
    _other_client_name = "AsyncFlashCalls"

    def _new_http_client(self) -> httpx.Client:
        # A plain client: HTTP(S)_PROXY, NO_PROXY and SSL_CERT_FILE work as they do for httpx.
        return httpx.Client(limits=_default_limits())

    def create(
        self,
        to: str,
        *,
        from_: str | None = None,
        ring_timeout: int | None = None,
        extra_body: ExtraBody = None,
    ) -> FlashCall:
        """Ring ``to`` (E.164). Bird picks the caller number unless ``from_`` is given.

        Never sent twice once it may have reached Bird: a retry would ring the phone again.
        ``extra_body`` adds JSON fields the spec does not name yet (a field Bird has just
        added), after the documented ones, which it cannot set; so do ``end`` and ``hangup``.
        """
        return self._send(self._requests.create(to, from_, ring_timeout, extra_body))

    def end(
        self,
        call: CallRef,
        *,
        result: ResultValue,
        received_cli: str | None = None,
        extra_body: ExtraBody = None,
    ) -> FlashCallHangup:
        """Report the outcome of a flash call (``verified``, ``wrong_cli``, ``timeout``...).

        ``call`` is the ``FlashCall`` that ``create`` returned, or its id.
        """
        return self._send(self._requests.end(call, result, received_cli, extra_body))

    def hangup(
        self,
        *,
        from_: str,
        to: str,
        result: ResultValue,
        received_cli: str | None = None,
        extra_body: ExtraBody = None,
    ) -> FlashCallHangupFromTo:
        """End a flash call found by its caller and called numbers instead of its id."""
        return self._send(self._requests.hangup(from_, to, result, received_cli, extra_body))

    def verify(
        self, call: CallRef, received_cli: str, *, expected_cli: str | None = None
    ) -> Verification:
        """Compare the caller number the handset saw with the call's, and report the result.

        Bird is told ``verified`` or ``wrong_cli`` (with the number received). Given a call id
        instead of the ``FlashCall``, pass ``expected_cli=``, the number it was called from.
        Bird's answer is ``reported`` on the result (``disputed`` when it differs).
        """
        verification, report = self._requests.verify(call, received_cli, expected_cli)
        return with_answer(verification, self._send(report))

    def verify_code(
        self,
        call: CallRef,
        code: str,
        *,
        digits: int | None = None,
        expected_cli: str | None = None,
    ) -> Verification:
        """Compare the last digits the user typed with the call's caller number; report it.

        At least 4 digits are compared unless ``digits=`` says how many to expect.
        """
        verification, report = self._requests.verify_code(call, code, digits, expected_cli)
        return with_answer(verification, self._send(report))

    def close(self) -> None:
        """Close the connections, unless they belong to an ``http_client`` you passed."""
        if self._owns_http:
            self._connections.closed = True
            self._connections.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, prepared: Prepared[Parsed]) -> Parsed:
        self._check_open()
        http = self._connections.http
        request = self._build(http, prepared)
        retry_number = 0
        while True:
            outcome = self._attempt(http, request)
            step = self._conclude(prepared.operation, request, retry_number, outcome)
            if not isinstance(step, Retry):
                return step
            time.sleep(step.delay)
            retry_number += 1

    def _attempt(self, http: httpx.Client, request: httpx.Request) -> Reply | NoReply:
        started = time.monotonic()
        try:
            response = http.send(request, stream=True, follow_redirects=False, auth=None)
            try:
                reader = self._body_reader(response, started)
                if reader.too_large is None:
                    for chunk in response.iter_bytes():
                        if not reader.feed(chunk):
                            break
            finally:
                response.close()
        except httpx.RequestError as error:
            return NoReply(error, time.monotonic() - started)
        except OSError as error:
            return _socket_error(error, request, time.monotonic() - started)
        return Reply.read(response, reader, time.monotonic() - started)


def _socket_error(error: OSError, request: httpx.Request, elapsed: float) -> NoReply:
    """A socket or TLS error that httpx did not map (some httpcore releases let TLS failures
    through a proxy pass), as the httpx error it stands for."""
    if isinstance(error, ssl.SSLCertVerificationError):
        # Refused during the handshake: nothing was sent.
        return NoReply(httpx.ConnectError(str(error), request=request), elapsed)
    return NoReply(httpx.NetworkError(str(error), request=request), elapsed, delivered=True)


def _documented_as(sync_method: Callable[..., Any]) -> Callable[[Method], Method]:
    """The coroutine version of a FlashCalls method carries the same docstring."""

    def document(method: Method) -> Method:
        method.__doc__ = sync_method.__doc__
        return method

    return document


class AsyncFlashCalls(BaseFlashCalls[httpx.AsyncClient]):
    """asyncio client: the methods of FlashCalls as coroutines. Close it (or ``async with``).

    Its connections belong to the event loop it is first used on. After that loop has closed
    (``asyncio.run`` per task), a client that made its own connections opens new ones on the
    next loop; with an ``http_client`` of yours, or while that loop still runs, a call from
    another loop raises ``EventLoopError`` before anything is sent.
    """

    _http_client_class = httpx.AsyncClient
    _other_client_name = "FlashCalls"

    def _new_http_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(limits=_default_limits())

    @_documented_as(FlashCalls.create)
    async def create(
        self,
        to: str,
        *,
        from_: str | None = None,
        ring_timeout: int | None = None,
        extra_body: ExtraBody = None,
    ) -> FlashCall:
        return await self._send(self._requests.create(to, from_, ring_timeout, extra_body))

    @_documented_as(FlashCalls.end)
    async def end(
        self,
        call: CallRef,
        *,
        result: ResultValue,
        received_cli: str | None = None,
        extra_body: ExtraBody = None,
    ) -> FlashCallHangup:
        return await self._send(self._requests.end(call, result, received_cli, extra_body))

    @_documented_as(FlashCalls.hangup)
    async def hangup(
        self,
        *,
        from_: str,
        to: str,
        result: ResultValue,
        received_cli: str | None = None,
        extra_body: ExtraBody = None,
    ) -> FlashCallHangupFromTo:
        return await self._send(self._requests.hangup(from_, to, result, received_cli, extra_body))

    @_documented_as(FlashCalls.verify)
    async def verify(
        self, call: CallRef, received_cli: str, *, expected_cli: str | None = None
    ) -> Verification:
        verification, report = self._requests.verify(call, received_cli, expected_cli)
        return with_answer(verification, await self._send(report))

    @_documented_as(FlashCalls.verify_code)
    async def verify_code(
        self,
        call: CallRef,
        code: str,
        *,
        digits: int | None = None,
        expected_cli: str | None = None,
    ) -> Verification:
        verification, report = self._requests.verify_code(call, code, digits, expected_cli)
        return with_answer(verification, await self._send(report))

    async def aclose(self) -> None:
        """Close the connections, unless they belong to an ``http_client`` you passed."""
        if not self._owns_http:
            return
        connections = self._connections
        connections.closed = True
        if connections.watcher is not None:
            await connections.watcher.aclose()  # closes the connections on their own loop
        else:
            await connections.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _send(self, prepared: Prepared[Parsed]) -> Parsed:
        self._check_open()
        http = self._http_if_bound_here() or await self._bind_to_this_loop()
        request = self._build(http, prepared)
        retry_number = 0
        while True:
            outcome = await self._attempt(http, request)
            step = self._conclude(prepared.operation, request, retry_number, outcome)
            if not isinstance(step, Retry):
                return step
            await _asyncio().sleep(step.delay)
            retry_number += 1

    async def _attempt(self, http: httpx.AsyncClient, request: httpx.Request) -> Reply | NoReply:
        started = time.monotonic()
        try:
            async with _asyncio().timeout(self._attempt_timeout):
                response = await http.send(request, stream=True, follow_redirects=False, auth=None)
                try:
                    reader = self._body_reader(response, started)
                    if reader.too_large is None:
                        async for chunk in response.aiter_bytes():
                            if not reader.feed(chunk):
                                break
                finally:
                    await response.aclose()
        except httpx.RequestError as error:
            return NoReply(error, time.monotonic() - started)
        except TimeoutError:  # before OSError: TimeoutError is one
            # The timer cannot tell whether the request had left: assume it may have.
            timeout = httpx.ReadTimeout(
                f"no complete response within the {self._attempt_timeout:g} s timeout",
                request=request,
            )
            return NoReply(timeout, time.monotonic() - started, delivered=True)
        except OSError as error:
            return _socket_error(error, request, time.monotonic() - started)
        return Reply.read(response, reader, time.monotonic() - started)

    def _http_if_bound_here(self) -> httpx.AsyncClient | None:
        loop = self._connections.loop
        if loop is not None and loop() is _asyncio().get_running_loop():
            return self._connections.http
        return None

    async def _bind_to_this_loop(self) -> httpx.AsyncClient:
        """The httpx client whose connections belong to the running loop, from now on."""
        connections = self._connections
        loop = _asyncio().get_running_loop()
        bound = None if connections.loop is None else connections.loop()
        if connections.loop is not None:
            if not connections.owned or (bound is not None and not bound.is_closed()):
                raise EventLoopError(
                    f"this {type(self).__name__} is in use on another event loop, and its "
                    "connections cannot move to this one: create one client per event loop "
                    "(for asyncio.run per task, create it inside the coroutine)"
                )
            # The loop its connections belonged to has ended: start afresh on this one.
            connections.http = self._new_http_client()
        connections.loop = weakref.ref(loop)
        if connections.owned:
            connections.watcher = _close_when_loop_ends(connections.http)
            await connections.watcher.__anext__()
        return connections.http


async def _close_when_loop_ends(http: httpx.AsyncClient) -> AsyncIterator[None]:
    """Closes ``http`` when its event loop shuts down.

    A loop closes every open async generator before it ends (``asyncio.run`` does, through
    ``loop.shutdown_asyncgens()``): that is the last moment the loop can still close the
    connections it owns, which would otherwise be left open when it is gone.
    """
    try:
        yield
    finally:
        await http.aclose()


def _asyncio() -> ModuleType:
    # Imported on first use: asyncio costs a sync-only process about 13 ms of import time.
    import asyncio

    return asyncio


def _default_limits() -> httpx.Limits:
    return httpx.Limits(
        max_connections=constants.MAX_CONNECTIONS,
        max_keepalive_connections=constants.MAX_KEEPALIVE_CONNECTIONS,
    )


__all__ = ["AsyncFlashCalls", "FlashCalls"]
