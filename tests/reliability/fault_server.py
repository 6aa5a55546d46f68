"""A misbehaving HTTP/1.1 server on 127.0.0.1 for the reliability tests.

Each received request is answered by the next behaviour of the current script (the last one
repeats), so "fail once, then succeed" is ``server.script(reset_before_response(), respond(...))``.
A behaviour writes raw bytes on the socket: it can reset, stall, dribble or send nonsense in ways
a real HTTP server library would not allow.

The server keeps its own books (requests received, connections open, bytes sent) and its
``stop()`` closes every socket and joins every thread it started.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import attrs

_READ_SIZE = 65536
_MAX_HEAD = 64 * 1024


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
        self.server._count_sent(len(data))

    def wait_for_client_close(self, seconds: float | None = None) -> bool:
        """Block until the client closes (True) or ``seconds`` pass (False)."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not _readable(self.conn, left):
                return False
            try:
                data = self.conn.recv(_READ_SIZE)
            except OSError:
                return True
            if not data:
                return True
            # A pipelined request would land here; the client under test never pipelines.

    def pause_unless_closed(self, seconds: float) -> None:
        """Wait ``seconds`` to pace a slow answer; stop at once if the client goes away."""
        if self.wait_for_client_close(seconds):
            raise ClientGone

    def reset(self) -> None:
        """Close with a TCP RST instead of a FIN."""
        self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.conn.close()


# A behaviour answers one request; it returns True to keep the connection for the next request.
Behaviour = Callable[[Exchange], bool]


def _readable(conn: socket.socket, timeout: float | None) -> bool:
    with selectors.DefaultSelector() as selector:
        selector.register(conn, selectors.EVENT_READ)
        return bool(selector.select(timeout))


def head(status: int, headers: dict[str, str] | list[tuple[str, str]], reason: str = "") -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}".rstrip()]
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
        self.open_connections = 0
        self.bytes_sent = 0
        self.clients_gone = 0  # behaviours cut short because the client closed or reset
        self.handler_errors: list[BaseException] = []
        # Whatever a behaviour wants the test to see afterwards (an HTTP date it sent...).
        self.notes: list[Any] = []
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"fault-{self.port}")

    # Set-up from the tests.

    def script(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._behaviours = list(behaviours)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def wait_until_idle(self, seconds: float = 5.0) -> bool:
        """True once every connection the server accepted is closed again."""
        with self._lock:
            return self._lock.wait_for(lambda: self.open_connections == 0, seconds)

    # Lifetime.

    def start(self) -> FaultServer:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._wake_w.send(b"x")
        self._acceptor.join()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Inside.

    def _count_sent(self, size: int) -> None:
        with self._lock:
            self.bytes_sent += size

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ, "accept")
            selector.register(self._wake_r, selectors.EVENT_READ, "stop")
            while True:
                events = selector.select()
                if any(key.data == "stop" for key, _ in events):
                    return
                conn, _ = self._listener.accept()
                with self._lock:
                    self.accepted += 1
                    self.open_connections += 1
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
                self.open_connections -= 1
                self._lock.notify_all()


def _read_request(conn: socket.socket, buffer: bytes) -> tuple[ReceivedRequest | None, bytes]:
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > _MAX_HEAD:
            return None, b""
        data = conn.recv(_READ_SIZE)
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
            if os.readlink(entry).startswith("socket:"):
                count += 1
        except OSError:  # the descriptor of the listing itself, already closed
            continue
    return count


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port: int = probe.getsockname()[1]
    return port


# Behaviours.


def respond(
    status: int,
    body: bytes | str | object = b"",
    *,
    headers: dict[str, str] | None = None,
    content_type: str | None = "application/json",
    reason: str = "",
) -> Behaviour:
    """A complete, well-framed response (JSON-encoded unless ``body`` is bytes or str)."""
    if isinstance(body, str):
        payload = body.encode()
    elif isinstance(body, bytes):
        payload = body
    else:
        payload = json.dumps(body).encode()
    fields = {"Content-Length": str(len(payload))}
    if content_type and payload:
        fields["Content-Type"] = content_type
    fields.update(headers or {})

    def behaviour(exchange: Exchange) -> bool:
        exchange.send(head(status, fields, reason) + payload)
        return True

    return behaviour


def respond_with(make: Callable[[ReceivedRequest], Behaviour]) -> Behaviour:
    """A response computed from the request (to echo ids and numbers back)."""

    def behaviour(exchange: Exchange) -> bool:
        return make(exchange.request)(exchange)

    return behaviour


def reset_before_response() -> Behaviour:
    def behaviour(exchange: Exchange) -> bool:
        exchange.reset()
        return False

    return behaviour


def close_before_response() -> Behaviour:
    def behaviour(exchange: Exchange) -> bool:
        return False

    return behaviour


def reset_mid_body(status: int = 202, body: bytes = b'{"id": "' + b"x" * 200) -> Behaviour:
    def behaviour(exchange: Exchange) -> bool:
        fields = {"Content-Type": "application/json", "Content-Length": str(len(body) * 2)}
        exchange.send(head(status, fields) + body)
        exchange.reset()
        return False

    return behaviour


def close_short_body(status: int = 202, body: bytes = b'{"id": "' + b"x" * 200) -> Behaviour:
    """Content-Length promises more than is sent before the connection closes."""

    def behaviour(exchange: Exchange) -> bool:
        fields = {"Content-Type": "application/json", "Content-Length": str(len(body) + 100)}
        exchange.send(head(status, fields) + body)
        return False

    return behaviour


def content_length_shorter_than_body(status: int, body: bytes) -> Behaviour:
    """Content-Length cuts the JSON short; the rest of the bytes follow on the same connection."""

    def behaviour(exchange: Exchange) -> bool:
        fields = {"Content-Type": "application/json", "Content-Length": str(len(body) // 2)}
        exchange.send(head(status, fields) + body)
        return True

    return behaviour


def chunked_cut(status: int = 202) -> Behaviour:
    def behaviour(exchange: Exchange) -> bool:
        fields = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        chunk = b'{"id": "3fa85f64'
        exchange.send(head(status, fields) + b"%x\r\n%s\r\n" % (len(chunk), chunk) + b"40\r\nab")
        return False

    return behaviour


def never_answer() -> Behaviour:
    def behaviour(exchange: Exchange) -> bool:
        exchange.wait_for_client_close()
        return False

    return behaviour


def stall_body(status: int = 202, headers_after: float = 0.0) -> Behaviour:
    """Headers (after ``headers_after`` seconds), a first byte of the body, then nothing."""

    def behaviour(exchange: Exchange) -> bool:
        if headers_after:
            exchange.pause_unless_closed(headers_after)
        fields = {"Content-Type": "application/json", "Content-Length": "500"}
        exchange.send(head(status, fields) + b"{")
        exchange.wait_for_client_close()
        return False

    return behaviour


def dribble(status: int, body: bytes, interval: float, *, headers_too: bool) -> Behaviour:
    """One byte every ``interval`` seconds: the body only, or the status line and headers too."""

    def behaviour(exchange: Exchange) -> bool:
        fields = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        preamble = head(status, fields)
        slow = preamble + body if headers_too else body
        if not headers_too:
            exchange.send(preamble)
        for index in range(len(slow)):
            exchange.send(slow[index : index + 1])
            exchange.pause_unless_closed(interval)
        return True

    return behaviour


def redirect(status: int, location: str) -> Behaviour:
    return respond(status, b"", headers={"Location": location}, content_type=None)


def huge_body(total: int, *, declare_length: bool, chunk_size: int = 65536) -> Behaviour:
    """A 202 with ``total`` bytes of JSON-looking filler, stopped early when the client leaves."""
    chunk = b" " * chunk_size

    def behaviour(exchange: Exchange) -> bool:
        if declare_length:
            fields = {"Content-Type": "application/json", "Content-Length": str(total)}
        else:
            fields = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        exchange.send(head(202, fields))
        sent = 0
        while sent < total:
            if declare_length:
                exchange.send(chunk)
            else:
                exchange.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        if not declare_length:
            exchange.send(b"0\r\n\r\n")
        return True

    return behaviour
