"""A minimal asyncio HTTP/1.1 keep-alive server that answers every request with Bird's 202.

Run as its own process (so it shares neither event loop nor GIL with the client measured):
it prints `listening <port>` once bound to 127.0.0.1, then answers `stats` lines on stdin
with one JSON line of counters, per client as named by the first User-Agent product token of
each connection. It exits when stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict, dataclass

from benchlib import CREATE_RESPONSE

RESPONSE = (
    b"HTTP/1.1 202 Accepted\r\n"
    b"Content-Type: application/json\r\n"
    b"Messagebird-Request-Id: 5f0c2f4e-7a8b-4c1d-9e2f-3a4b5c6d7e8f\r\n"
    b"Content-Length: " + str(len(CREATE_RESPONSE)).encode() + b"\r\n"
    b"\r\n" + CREATE_RESPONSE
)
CLOSE_RESPONSE = RESPONSE.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
MAX_HEAD = 64 * 1024


@dataclass
class Counters:
    accepted: int = 0
    open: int = 0
    peak_open: int = 0
    requests: int = 0


counters: dict[str, Counters] = {}


def _header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


class OneResponseProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.client: Counters | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self.transport.close()
                return
            head = bytes(self.buffer[:end])
            length = int(_header(head, b"content-length") or 0)
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            if self.client is None:
                self._count_connection(head)
            assert self.client is not None
            self.client.requests += 1
            if (_header(head, b"connection") or b"").lower() == b"close":
                self.transport.write(CLOSE_RESPONSE)
                self.transport.close()
                return
            self.transport.write(RESPONSE)

    def _count_connection(self, head: bytes) -> None:
        agent = (_header(head, b"user-agent") or b"unknown").split(b"/")[0].decode()
        self.client = counters.setdefault(agent, Counters())
        self.client.accepted += 1
        self.client.open += 1
        self.client.peak_open = max(self.client.peak_open, self.client.open)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.client is not None:
            self.client.open -= 1


async def serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(OneResponseProtocol, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    print(f"listening {port}", flush=True)
    async with server:
        while line := await commands.readline():
            if line.strip() == b"stats":
                report = {agent: asdict(counts) for agent, counts in counters.items()}
                print(json.dumps(report), flush=True)


if __name__ == "__main__":
    asyncio.run(serve())
