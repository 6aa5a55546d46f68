"""A misbehaving HTTP/1.1 server on 127.0.0.1 for the reliability and security tests.

Each received request is answered by the next behaviour of the current script (the last one
repeats), so "fail once, then succeed" is ``server.script(hang_up("reset"), respond(...))``.
A behaviour writes raw bytes on the socket: it can reset, stall, dribble or send nonsense in ways
a real HTTP server library would not allow. The server counts what it received and sent, and its
``stop()`` closes every socket and joins every thread it started.
"""

from __future__ import annotations

import email.utils
import json
import os
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, Literal

import attrs

_READ_SIZE = 65536
_MAX_HEAD = 64 * 1024

# How a behaviour leaves the connection: kept for the next request, closed, reset (a TCP RST
# instead of a FIN), or held open in silence until the client leaves.
End = Literal["keep", "close", "reset", "stall"]


class ClientGone(Exception):
    """The client closed or reset the connection while a behaviour was writing or waiting."""


@attrs.frozen
class ReceivedRequest:
    method: str
    raw_path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = 0.0  # time.time() when the whole request had arrived

    def json(self) -> Any:
        return json.loads(self.body)


class Exchange:
    """One request on one connection, as seen by a behaviour."""

    def __init__(self, server: FaultServer, conn: socket.socket, request: ReceivedRequest) -> None:
        self.server = server
        self.conn = conn
        self.request = request

    def send(self, data: bytes) -> None:
        try:
            self.conn.sendall(data)
        except OSError as error:
            raise ClientGone from error
        with self.server._lock:
            self.server.bytes_sent += len(data)

    def wait_for_client_close(self, seconds: float | None = None) -> bool:
        """Block until the client closes (True) or ``seconds`` pass (False)."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            with selectors.DefaultSelector() as selector:
                selector.register(self.conn, selectors.EVENT_READ)
                if not selector.select(left):
                    return False
            try:
                if not self.conn.recv(_READ_SIZE):
                    return True
            except OSError:
                return True

    def pause_unless_closed(self, seconds: float) -> None:
        """Wait ``seconds`` to pace a slow answer; stop at once if the client goes away."""
        if seconds and self.wait_for_client_close(seconds):
            raise ClientGone

    def finish(self, end: End) -> bool:
        if end == "reset":
            self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.conn.close()
        elif end == "stall":
            self.wait_for_client_close()
        return end == "keep"


# A behaviour answers one request; it returns True to keep the connection for the next request.
Behaviour = Callable[[Exchange], bool]


def head(status: int, headers: dict[str, str] | list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status}"]
    items = headers.items() if isinstance(headers, dict) else headers
    lines += [f"{name}: {value}" for name, value in items]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class FaultServer:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._wake_r, self._wake_w = socket.socketpair()
        self._lock = threading.Condition()
        self._behaviours: list[Behaviour] = [respond(204)]
        self._threads: list[threading.Thread] = []
        self._connections: set[socket.socket] = set()
        self.requests: list[ReceivedRequest] = []
        self.accepted = 0
        self.bytes_sent = 0
        self.clients_gone = 0  # behaviours cut short because the client closed or reset
        self.handler_errors: list[BaseException] = []
        # Whatever a behaviour wants the test to see afterwards (an HTTP date it sent...).
        self.notes: list[Any] = []
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"fault-{self.port}")

    def script(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._behaviours = list(behaviours)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def wait_until_idle(self, seconds: float = 10.0) -> bool:
        """True once every connection the server accepted is closed again."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._connections, seconds)

    def __enter__(self) -> FaultServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._wake_w.send(b"x")
        self._acceptor.join()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join()
        for sock in (self._listener, self._wake_r, self._wake_w):
            sock.close()

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ, "accept")
            selector.register(self._wake_r, selectors.EVENT_READ, "stop")
            while True:
                if any(key.data == "stop" for key, _ in selector.select()):
                    return
                conn, _ = self._listener.accept()
                with self._lock:
                    self.accepted += 1
                    self._connections.add(conn)
                thread = threading.Thread(
                    target=self._serve, args=(conn,), name=f"fault-{self.port}-conn"
                )
                self._threads.append(thread)
                thread.start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while True:
                request, buffer = _read_request(conn, buffer)
                if request is None:
                    return
                with self._lock:
                    index = len(self.requests)
                    self.requests.append(request)
                    behaviour = self._behaviours[min(index, len(self._behaviours) - 1)]
                try:
                    keep = behaviour(Exchange(self, conn, request))
                except ClientGone:
                    with self._lock:
                        self.clients_gone += 1
                    return
                if not keep or conn.fileno() == -1:
                    return
        except OSError:
            return
        except BaseException as error:  # a bug in a behaviour must fail the test, not vanish
            with self._lock:
                self.handler_errors.append(error)
        finally:
            if conn.fileno() != -1:
                conn.close()
            with self._lock:
                self._connections.discard(conn)
                self._lock.notify_all()


def _read_request(conn: socket.socket, buffer: bytes) -> tuple[ReceivedRequest | None, bytes]:
    while b"\r\n\r\n" not in buffer:
        data = conn.recv(_READ_SIZE) if len(buffer) <= _MAX_HEAD else b""
        if not data:
            return None, b""
        buffer += data
    head_bytes, _, buffer = buffer.partition(b"\r\n\r\n")
    request_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
    method, raw_path, _ = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(buffer) < length:
        data = conn.recv(_READ_SIZE)
        if not data:
            return None, b""
        buffer += data
    body, buffer = buffer[:length], buffer[length:]
    return ReceivedRequest(method, raw_path, headers, body, time.time()), buffer


def open_socket_count() -> int | None:
    """Sockets this process holds open (Linux /proc), or None where that cannot be seen."""
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        return None
    count = 0
    for entry in fd_dir.iterdir():
        try:
            count += os.readlink(entry).startswith("socket:")
        except OSError:  # the descriptor of the listing itself, already closed
            continue
    return count


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port: int = probe.getsockname()[1]
    return port


# Behaviours: each writes the bytes it is given, however wrong.


def send(
    pieces: Sequence[bytes], *, delay: float = 0.0, interval: float = 0.0, end: End = "keep"
) -> Behaviour:
    """Raw response ``pieces``, the first after ``delay`` seconds and each followed by a pause of
    ``interval``, then ``end``."""

    def behaviour(exchange: Exchange) -> bool:
        exchange.pause_unless_closed(delay)
        for piece in pieces:
            exchange.send(piece)
            exchange.pause_unless_closed(interval)
        return exchange.finish(end)

    return behaviour


def hang_up(end: End) -> Behaviour:
    """No response at all."""
    return send([], end=end)


def respond(
    status: int,
    body: bytes | str | object = b"",
    *,
    headers: dict[str, str] | None = None,
    content_type: str | None = "application/json",
    declared: int | None = None,
    delay: float = 0.0,
    end: End = "keep",
) -> Behaviour:
    """A response, its body JSON-encoded unless bytes or str, with a Content-Length of
    ``declared`` (the body's true length unless given)."""
    if isinstance(body, str):
        payload = body.encode()
    elif isinstance(body, bytes):
        payload = body
    else:
        payload = json.dumps(body).encode()
    fields = {"Content-Length": str(len(payload) if declared is None else declared)}
    if content_type and payload:
        fields["Content-Type"] = content_type
    fields.update(headers or {})
    return send([head(status, fields) + payload], delay=delay, end=end)


def respond_with(make: Callable[[ReceivedRequest], Behaviour]) -> Behaviour:
    """A response computed from the request (to echo ids and numbers back)."""
    return lambda exchange: make(exchange.request)(exchange)


def redirect(status: int, location: str) -> Behaviour:
    return respond(status, headers={"Location": location}, content_type=None)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


CHUNKED = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}


def huge_body(total: int, *, declare_length: bool, piece: bytes = b" " * 65536) -> Behaviour:
    """A 202 with ``total`` bytes of JSON-looking filler, stopped early when the client leaves."""
    count = total // len(piece)
    if declare_length:
        fields = {"Content-Type": "application/json", "Content-Length": str(total)}
        return send([head(202, fields), *[piece] * count])
    return send([head(202, CHUNKED), *[chunk(piece)] * count, b"0\r\n\r\n"])


def stalled_body(delay: float = 0.0) -> Behaviour:
    """Headers (after ``delay`` seconds), a first byte of the body, then nothing."""
    return respond(202, b"{", declared=500, delay=delay, end="stall")


def dribble(fast: bytes, slow: bytes, interval: float, size: int = 1) -> Behaviour:
    """``fast`` at once, then ``slow`` ``size`` bytes every ``interval`` seconds."""
    return send([fast, *[slow[i : i + size] for i in range(0, len(slow), size)]], interval=interval)


def chunked_cut() -> Behaviour:
    """A chunked body that stops in its second chunk."""
    return send([head(202, CHUNKED) + chunk(b'{"id": "3fa85f64') + b"40\r\nab"], end="close")


def retry_after(value: str) -> Behaviour:
    return respond(429, headers={"Retry-After": value})


def retry_after_date(seconds_ahead: int) -> Behaviour:
    """A 429 whose Retry-After is an HTTP date, computed when the response is sent."""

    def behaviour(exchange: Exchange) -> bool:
        # HTTP dates have whole seconds: the retry may come at that second, not before.
        when = int(time.time()) + seconds_ahead
        exchange.server.notes.append(when)
        return retry_after(email.utils.formatdate(when, usegmt=True))(exchange)

    return behaviour
