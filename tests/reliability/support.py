"""The reliability and security tests' misbehaving server, spec bodies, operations and driver."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
import selectors
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, ExitStack, suppress
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import attrs
import bird_flashcalls as bird
import httpx
import shared
from bird_flashcalls.testing import FakeBird
from hypothesis import HealthCheck, settings

# FaultServer answers each request with the next behaviour of its script (the last one repeats),
# writing raw bytes: it can reset, stall, dribble or send nonsense no HTTP server library would.
_READ_SIZE = 65536
_MAX_HEAD = 64 * 1024

# How a behaviour leaves the connection: kept for the next request, closed, reset (a TCP RST
# instead of a FIN), or held open in silence until the client leaves.
End = Literal["keep", "close", "reset", "stall"]


class ClientGone(Exception):
    """The client left while a behaviour was writing or waiting."""


@attrs.frozen
class ReceivedRequest:
    method: str
    raw_path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Exchange(socketserver.BaseRequestHandler):
    """One connection; ``received`` is the request its behaviour answers."""

    server: FaultServer
    received: ReceivedRequest

    def send(self, data: bytes) -> None:
        try:
            self.request.sendall(data)
        except OSError as error:
            raise ClientGone from error
        with self.server.lock:
            self.server.bytes_sent += len(data)

    def wait_for_client_close(self, seconds: float | None = None) -> bool:
        """Block until the client closes (True) or ``seconds`` pass (False)."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            with selectors.DefaultSelector() as selector:
                selector.register(self.request, selectors.EVENT_READ)
                if not selector.select(left):
                    return False
            try:
                if not self.request.recv(_READ_SIZE):
                    return True
            except OSError:
                return True

    def pause_unless_closed(self, seconds: float) -> None:
        """Wait ``seconds`` to pace a slow answer; stop at once if the client goes away."""
        if seconds and self.wait_for_client_close(seconds):
            raise ClientGone

    def leave(self, end: End) -> bool:
        if end == "reset":
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.request.close()
        elif end == "stall":
            self.wait_for_client_close()
        return end == "keep"

    def handle(self) -> None:
        server = self.server
        conn = self.request
        buffer = b""
        with server.lock:
            server.accepted += 1
            server.connections.add(conn)
        try:
            while True:
                received, buffer = _read_request(conn, buffer)
                if received is None:
                    return
                with server.lock:
                    server.requests.append(received)
                    last = len(server.behaviours) - 1
                    behaviour = server.behaviours[min(len(server.requests) - 1, last)]
                self.received = received
                try:
                    keep = behaviour(self)
                except ClientGone:
                    with server.lock:
                        server.clients_gone += 1
                    return
                if not keep or conn.fileno() == -1:
                    return
        except OSError:
            return
        except BaseException as error:  # a bug in a behaviour must fail the test, not vanish
            with server.lock:
                server.handler_errors.append(error)
        finally:
            conn.close()
            with server.lock:
                server.connections.discard(conn)
                server.lock.notify_all()


# A behaviour answers one request; it returns True to keep the connection for the next request.
Behaviour = Callable[[Exchange], bool]


def head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class FaultServer(socketserver.ThreadingTCPServer):
    """Counts what it received and sent; leaving it closes every socket and joins its threads."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Exchange)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.lock = threading.Condition()
        self.behaviours: list[Behaviour] = [respond(204)]
        self.connections: set[socket.socket] = set()
        self.requests: list[ReceivedRequest] = []
        self.accepted = 0
        self.bytes_sent = 0
        self.clients_gone = 0  # behaviours cut short because the client closed or reset
        self.handler_errors: list[BaseException] = []
        self._serving = threading.Thread(target=self.serve_forever, args=(0.01,), name="fault")

    def script(self, *behaviours: Behaviour) -> None:
        with self.lock:
            self.behaviours = list(behaviours)

    @property
    def request_count(self) -> int:
        with self.lock:
            return len(self.requests)

    def wait_until_idle(self, seconds: float = 10.0) -> bool:
        """True once every connection the server accepted is closed again."""
        with self.lock:
            return self.lock.wait_for(lambda: not self.connections, seconds)

    def __enter__(self) -> FaultServer:
        self._serving.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self._serving.join()
        with self.lock:
            connections = list(self.connections)
        for conn in connections:  # wakes the behaviours that wait for the client
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self.server_close()  # joins every connection's thread


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
    return ReceivedRequest(method, raw_path, headers, body), buffer


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


def send(
    pieces: Sequence[bytes], *, delay: float = 0.0, interval: float = 0.0, end: End = "keep"
) -> Behaviour:
    """Raw ``pieces`` after ``delay`` s, each followed by ``interval`` s, then ``end``."""

    def behaviour(exchange: Exchange) -> bool:
        exchange.pause_unless_closed(delay)
        for piece in pieces:
            exchange.send(piece)
            exchange.pause_unless_closed(interval)
        return exchange.leave(end)

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
    """A response, its body JSON unless bytes or str, declaring ``declared`` (or its) length."""
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
    """A response computed from the request."""
    return lambda exchange: make(exchange.received)(exchange)


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


def dribble(fast: bytes, slow: bytes, interval: float, size: int) -> Behaviour:
    """``fast`` at once, then ``slow`` ``size`` bytes every ``interval`` seconds."""
    return send([fast, *[slow[i : i + size] for i in range(0, len(slow), size)]], interval=interval)


def retry_after(value: str) -> Behaviour:
    return respond(429, headers={"Retry-After": value})


SPEC_FILE = Path(__file__).resolve().parents[2] / "openapi" / "bird-flashcalls.openapi.json"
SCHEMAS: dict[str, Any] = json.loads(SPEC_FILE.read_text(encoding="utf-8"))["components"]["schemas"]

WORKSPACE_ID = UUID(shared.WORKSPACE_ID)
CHANNEL_ID = UUID(shared.CHANNEL_ID)
CALL_ID = UUID(shared.CALL_ID)
ACCESS_KEY = shared.ACCESS_KEY
TO = shared.CALLEE
FROM = shared.CALLER
BASE_PATH = f"/workspaces/{WORKSPACE_ID}/channels/{CHANNEL_ID}/flashcalls"
KINDS = ("sync", "async")
# For every test not about time: a server that answers at once never comes near it, even on a
# busy machine.
ANSWERED_TIMEOUT = 10.0

_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Every path the client may send: create, end by id, end by numbers. Nothing else, ever.
ALLOWED_PATH = re.compile(rf"/workspaces/{_UUID}/channels/{_UUID}/flashcalls(/{_UUID}|/hangup)?")
E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def flash_call(to: str = TO, from_: str = FROM, call_id: UUID = CALL_ID) -> dict[str, Any]:
    """A 202 body of createChannelFlashCall with every required field of the spec."""
    return {
        "id": str(call_id),
        "channelId": str(CHANNEL_ID),
        "from": from_,
        "to": to,
        "status": "accepted",
        "ringTimeout": 30,
        "createdAt": "2024-05-01T10:00:00Z",
        "updatedAt": "2024-05-01T10:00:00Z",
    }


def answer_in_kind(path: str, sent: dict[str, Any]) -> dict[str, Any]:
    """A 202 body that fits whichever operation sent ``sent`` to ``path``."""
    if path.endswith("/flashcalls"):
        return flash_call(to=sent["to"])
    if path.endswith("/hangup"):
        return sent
    return {"result": sent["result"]}


def answering(**extra: Any) -> Behaviour:
    """A 202 that fits the request it answers, with ``extra`` fields."""
    return respond_with(
        lambda request: respond(202, {**answer_in_kind(request.raw_path, request.json()), **extra})
    )


@attrs.frozen
class Operation:
    name: str
    call: Callable[[Any], Any]  # a client -> the result, or a coroutine of it
    path: str
    schema: str  # of its 202 body
    returns: type
    # What its result holds when Bird answers in kind.
    shows: dict[str, Any]
    # Sent again after a failure that may have come once Bird had the request (create never is).
    resent_after_delivery: bool = True

    def answer(self, **changes: Any) -> dict[str, Any]:
        """Its 202 body, with ``changes``."""
        return {**answer_in_kind(self.path, _SENT), **changes}


_SENT = {"to": TO, "from": FROM, "result": "verified"}


CREATE = Operation(
    "create",
    lambda client: client.create(TO),
    BASE_PATH,
    "FlashCall",
    bird.FlashCall,
    {"to": TO, "from_": FROM, "status": bird.FlashCallStatus.ACCEPTED},
    resent_after_delivery=False,
)
END = Operation(
    "end",
    lambda client: client.end(CALL_ID, result="verified"),
    f"{BASE_PATH}/{CALL_ID}",
    "HangupFlashCall",
    bird.FlashCallHangup,
    {"result": bird.HangupResult.VERIFIED},
)
HANGUP = Operation(
    "hangup",
    lambda client: client.hangup(from_=FROM, to=TO, result="canceled"),
    f"{BASE_PATH}/hangup",
    "HangupFlashCallFromTo",
    bird.FlashCallHangupFromTo,
    {"from_": FROM, "to": TO, "result": bird.HangupResult.CANCELED},
)
# The three requests the client sends.
OPERATIONS = (CREATE, END, HANGUP)
VERIFY = Operation(
    "verify",
    lambda client: client.verify(CALL_ID, FROM, expected_cli=FROM),
    END.path,
    END.schema,
    bird.Verification,
    {},
)


def options(base_url: str, **overrides: Any) -> dict[str, Any]:
    """Settings of a client on the test ids."""
    return {
        "access_key": ACCESS_KEY,
        "workspace_id": WORKSPACE_ID,
        "channel_id": CHANNEL_ID,
        "base_url": base_url,
        "timeout": ANSWERED_TIMEOUT,
        **overrides,
    }


def fake_options(fake: FakeBird, base_url: str, **overrides: Any) -> dict[str, Any]:
    """Settings of a client of FakeBird served on ``base_url``."""
    return options(
        base_url,
        access_key=fake.access_key,
        workspace_id=fake.workspace_id,
        channel_id=fake.channel_id,
        **overrides,
    )


class Recorder:
    """An httpx transport's handler that keeps every request and answers it (in kind by default)."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer or self.in_kind

    @staticmethod
    def in_kind(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode("ascii")
        return httpx.Response(202, json=answer_in_kind(path, json.loads(request.content)))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


# One driver for both clients: the test is written once, as a coroutine function; the sync
# client's calls block inside it, the async client's are awaited.


async def settle(value: Any) -> Any:
    """The value of a sync call, or the awaited value of an async one."""
    return await value if inspect.isawaitable(value) else value


async def outcome(call: Callable[[], Any]) -> Any:
    """What ``call()`` returns, or the BirdError it raises."""
    try:
        return await settle(call())
    except bird.BirdError as error:
        return error


def drive(
    kind: str,
    use: Callable[[Any], Awaitable[Any]],
    settings: dict[str, Any],
    http: dict[str, Any] | None = None,
) -> Any:
    """``use(client)`` on a ``kind`` client of ``settings`` (and an httpx client of ``http``)."""
    settings = dict(settings)

    async def run() -> Any:
        if kind == "sync":
            with ExitStack() as stack:
                if http is not None:
                    settings["http_client"] = stack.enter_context(httpx.Client(**http))
                return await use(stack.enter_context(bird.FlashCalls(**settings)))
        async with AsyncExitStack() as stack:
            if http is not None:
                settings["http_client"] = await stack.enter_async_context(httpx.AsyncClient(**http))
            return await use(await stack.enter_async_context(bird.AsyncFlashCalls(**settings)))

    return asyncio.run(run())


def outcome_of(kind: str, call: Callable[[Any], Any], settings: dict[str, Any], **http: Any) -> Any:
    """What ``call(client)`` returns or raises, with a client of ``kind`` (see ``drive``)."""

    async def use(client: Any) -> Any:
        return await outcome(lambda: call(client))

    return drive(kind, use, settings, http or None)


# The fuzz tests: seconds in `make test`, minutes in `make fuzz`. Applied per test rather than as
# a loaded profile, so other hypothesis tests keep their own.
FUZZ = settings(
    max_examples=10_000 if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else 200,
    # No deadline: two slow CI cores make per-example timings meaningless.
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def encoded(value: Any) -> bytes:
    return json.dumps(value).encode()
