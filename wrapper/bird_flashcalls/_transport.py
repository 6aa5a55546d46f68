"""The transports the clients create: every socket operation of one attempt shares its deadline.

httpx bounds each connect, read and write on its own, so a server that dribbles its headers a
byte at a time could hold a call for ever. httpcore's network backend sees every socket
operation; wrapping it lets each one wait only for what is left of the attempt. (With a
caller's own AsyncClient, an AttemptTimer cancels the attempt at its deadline instead.)
"""

from __future__ import annotations

import time
from contextvars import ContextVar, Token
from typing import Any

import httpx

_deadline: ContextVar[float | None] = ContextVar("bird_flashcalls_attempt_deadline", default=None)
# A zero timeout would switch the socket to non-blocking mode instead of timing out.
_SHORTEST_WAIT = 0.001


def start_attempt_deadline(seconds: float | None) -> Token[float | None]:
    """Bound the socket operations that follow; pass the result to end_attempt_deadline."""
    return _deadline.set(None if seconds is None else time.monotonic() + seconds)


def end_attempt_deadline(token: Token[float | None]) -> None:
    _deadline.reset(token)


def _bounded(timeout: float | None) -> float | None:
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    remaining = max(deadline - time.monotonic(), _SHORTEST_WAIT)
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream:
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = self._stream.read(max_bytes, _bounded(timeout))
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _DeadlineStream:
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend:
    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> _DeadlineStream:
        return _DeadlineStream(
            self._backend.connect_tcp(host, port, _bounded(timeout), local_address, socket_options)
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> _DeadlineStream:
        return _DeadlineStream(
            self._backend.connect_unix_socket(path, _bounded(timeout), socket_options)
        )

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _AsyncDeadlineStream:
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = await self._stream.read(max_bytes, _bounded(timeout))
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, _bounded(timeout))

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _AsyncDeadlineStream:
        stream = await self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout))
        return _AsyncDeadlineStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _AsyncDeadlineBackend:
    def __init__(self, backend: Any) -> None:
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> _AsyncDeadlineStream:
        stream = await self._backend.connect_tcp(
            host, port, _bounded(timeout), local_address, socket_options
        )
        return _AsyncDeadlineStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> _AsyncDeadlineStream:
        stream = await self._backend.connect_unix_socket(path, _bounded(timeout), socket_options)
        return _AsyncDeadlineStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def _wrap_backend(
    transport: httpx.HTTPTransport | httpx.AsyncHTTPTransport, wrapper: type[Any]
) -> bool:
    # httpx has no public hook for the network backend: reach it where httpx keeps it, and say
    # whether that worked (if not, the clients fall back to their other bounds).
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is None:
        return False
    pool._network_backend = wrapper(backend)  # type: ignore[union-attr]
    return True


def sync_transport(limits: httpx.Limits) -> httpx.HTTPTransport:
    """Without the backend hook, reads keep httpx's per-read bound and the body reader still
    enforces the deadline between chunks."""
    transport = httpx.HTTPTransport(limits=limits)
    _wrap_backend(transport, _DeadlineBackend)
    return transport


def async_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport | None:
    """An async transport whose sockets honour the attempt deadline, or None if httpx changed."""
    transport = httpx.AsyncHTTPTransport(limits=limits)
    return transport if _wrap_backend(transport, _AsyncDeadlineBackend) else None


class AttemptTimer:
    """``with AttemptTimer(seconds):`` in a task: TimeoutError once the seconds have passed.

    asyncio.timeout's behaviour (the task is cancelled at the deadline; a cancellation that
    is not the timer's passes through) for half its cost per attempt: one timer handle, no
    async context manager. Bounds a whole attempt when the transport is the caller's.
    """

    __slots__ = ("_cancelling", "_expired", "_handle", "_seconds", "_task")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._expired = False

    def __enter__(self) -> None:
        import asyncio  # loaded already in any program that runs a task

        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("AttemptTimer must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._handle = loop.call_at(loop.time() + self._seconds, self._expire)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: Any
    ) -> None:
        self._handle.cancel()
        if self._expired:
            import asyncio

            # No other cancellation pending: the CancelledError is the timer's, so it ends here.
            if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
                raise TimeoutError from exc

    def _expire(self) -> None:
        self._expired = True
        self._task.cancel()
