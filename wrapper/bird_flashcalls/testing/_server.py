"""FakeBird over HTTP on a loopback address: a thin adaptor from sockets to ``FakeBird.respond``."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ._core import FakeResponse

Responder = Callable[[str, str, Mapping[str, str], bytes], FakeResponse]

# Bird's bodies are tiny; a larger request is refused rather than held in memory.
_MAX_BODY = 1024 * 1024
# An idle keep-alive connection is closed after this long.
_IDLE_SECONDS = 30.0


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Server(ThreadingHTTPServer):
    """Tracks each connection's thread and socket, so closing can wake and join them all."""

    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog of 5 resets bursts of concurrent connections.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], respond: Responder) -> None:
        self.respond = respond
        self.closing = threading.Event()
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"FakeBird connection {client_address}",
            daemon=True,
        )
        with self._connections_lock:
            self._connections[thread] = request
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.pop(threading.current_thread(), None)

    def close_connections(self) -> None:
        self.closing.set()
        with self._connections_lock:
            open_connections = list(self._connections.items())
        for _, connection in open_connections:
            # Wakes a thread blocked reading an idle keep-alive connection.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for thread, _ in open_connections:
            thread.join()


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects
    server_version = "FakeBird"
    sys_version = ""
    timeout = _IDLE_SECONDS
    # Headers and body leave in two writes; with Nagle each answer would wait for an ACK.
    disable_nagle_algorithm = True
    server: _Server

    def _dispatch(self) -> None:
        body = self._read_body()
        if isinstance(body, int):
            self.send_error(body)
            return
        reply = self.server.respond(self.command, self.path, dict(self.headers.items()), body)
        # An Event rather than sleep, so that closing the server cuts a delay short.
        if reply.delay and self.server.closing.wait(reply.delay):
            self.close_connection = True
            return
        if reply.drop_connection:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def _read_body(self) -> bytes | int:
        """The request body, or the error status to answer when it cannot be read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        declared = self.headers.get("Content-Length", "0").strip() or "0"
        if not declared.isdigit():
            return 400
        if int(declared) > _MAX_BODY:
            return 413
        return self.rfile.read(int(declared))

    def _read_chunked(self) -> bytes | int:
        chunks: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                length = int(line, 16)
            except ValueError:
                return 400
            if length == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            size += length
            if size > _MAX_BODY:
                return 413
            chunks.append(self.rfile.read(length))
            self.rfile.readline(1024)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read fake.requests instead


@contextlib.contextmanager
def serve(respond: Responder, host: str, port: int) -> Iterator[str]:
    if not is_loopback(host):
        raise ValueError(
            f"FakeBird only listens on loopback addresses (127.0.0.1, ::1, localhost), not {host!r}"
        )
    server_class = _IPv6Server if ":" in host else _Server
    server = server_class((host.strip("[]"), port), respond)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="FakeBird server"
    )
    thread.start()
    bound_host, bound_port = server.server_address[:2]
    if isinstance(bound_host, bytes):
        bound_host = bound_host.decode()
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    try:
        yield f"http://{shown_host}:{bound_port}"
    finally:
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
