"""FakeBird over HTTP on a loopback address: a thin adaptor from sockets to ``FakeBird.respond``.

Whatever reaches a client is in Bird's shape: JSON ``{code, message}`` with a
``Messagebird-Request-Id`` header, also for the errors ``http.server`` would answer in HTML
(a request line it cannot parse, a method it has no handler for, an unreadable Content-Length).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .._rules import is_loopback_host
from ._wire import FakeResponse, unreadable_request

Responder = Callable[[str, str, Mapping[str, str], bytes], FakeResponse]

logger = logging.getLogger("bird_flashcalls.testing")

# Bird's bodies are tiny; a larger request is refused rather than held in memory.
_MAX_BODY = 1024 * 1024
# An idle keep-alive connection is closed after this long.
_IDLE_SECONDS = 30.0


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

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a whole traceback on stderr; a client that goes away is routine.
        error = sys.exception()
        peer = _peer(client_address)
        if isinstance(error, ConnectionError | TimeoutError):
            logger.info("connection from %s ended early: %s", peer, type(error).__name__)
        else:
            logger.error("error while answering %s", peer, exc_info=error)

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


def _peer(client_address: Any) -> str:
    if isinstance(client_address, tuple) and len(client_address) >= 2:
        host, port = client_address[:2]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects
    server_version = "FakeBird"
    sys_version = ""
    timeout = _IDLE_SECONDS
    # Headers and body leave in two writes; with Nagle each answer would wait for an ACK.
    disable_nagle_algorithm = True
    server: _Server

    def __getattr__(self, name: str) -> Callable[[], None]:
        # http.server looks up do_<METHOD> and answers 501 in HTML when there is none: every
        # method (TRACE, PROPFIND, QUERY...) goes to FakeBird instead, which answers 405.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":  # "GET /path" alone: no headers, no body
            self.send_error(400, f"bad request line {self.requestline!r}")
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Every error http.server itself answers (400, 413, 414, 431, 505...), as Bird's JSON."""
        if self.request_version == "HTTP/0.9":
            # Still set while the request line is unparsed: a status line must go out anyway.
            self.request_version = self.protocol_version
        reply = unreadable_request(code, message or "")
        self._write(reply, close=True)

    def _dispatch(self) -> None:
        body = self._read_body()
        if isinstance(body, tuple):
            self.send_error(*body)
            return
        reply = self.server.respond(self.command, self.path, dict(self.headers.items()), body)
        # An Event rather than sleep, so that closing the server cuts a delay short.
        if reply.delay and self.server.closing.wait(reply.delay):
            self.close_connection = True
            return
        if reply.drop_connection:
            self.close_connection = True
            return
        self._write(reply, close=False)

    def _write(self, reply: FakeResponse, *, close: bool) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if close:
            # The rest of the connection cannot be trusted to be framed as we think.
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _read_body(self) -> bytes | tuple[int, str]:
        """The request body, or the error status (and why) to answer when it cannot be read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        declared = self.headers.get("Content-Length", "0").strip() or "0"
        if not (declared.isascii() and declared.isdigit()):
            return 400, f"Content-Length {declared!r} is not a number of bytes"
        if len(declared) > 9 or int(declared) > _MAX_BODY:
            return 413, f"Content-Length {declared} is over {_MAX_BODY} bytes"
        return self.rfile.read(int(declared))

    def _read_chunked(self) -> bytes | tuple[int, str]:
        chunks: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            if not line or line.strip(b"0123456789abcdefABCDEF"):
                return 400, "a chunk size is not a hexadecimal number"
            length = int(line, 16)
            if length == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            size += length
            if size > _MAX_BODY:
                return 413, f"the chunked body is over {_MAX_BODY} bytes"
            chunks.append(self.rfile.read(length))
            self.rfile.readline(1024)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read fake.requests instead


@contextlib.contextmanager
def serve(respond: Responder, host: str, port: int) -> Iterator[str]:
    if not is_loopback_host(host):
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
