"""An asyncio HTTP/1.1 keep-alive server answering Bird's 202, in its own process: it prints
`listening <port>`, answers each `stats` line on stdin with a JSON line of the connections accepted
per User-Agent product, and exits when stdin closes."""

from __future__ import annotations

import asyncio
import json
import sys

from benchlib import CREATE_RESPONSE, RESPONSE_HEADERS

HEADERS = {**RESPONSE_HEADERS, "Content-Length": len(CREATE_RESPONSE)}
HEAD = "HTTP/1.1 202 Accepted\r\n" + "".join(
    f"{name}: {value}\r\n" for name, value in HEADERS.items()
)
RESPONSE = f"{HEAD}\r\n".encode() + CREATE_RESPONSE
CLOSE_RESPONSE = f"{HEAD}Connection: close\r\n\r\n".encode() + CREATE_RESPONSE
MAX_HEAD = 64 * 1024

accepted: dict[str, int] = {}


def header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


class OneResponseProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self.transport.close()
                return
            head = bytes(self.buffer[:end])
            length = int(header(head, b"content-length") or 0)
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            if not self.counted:
                agent = (header(head, b"user-agent") or b"unknown").split(b"/")[0].decode()
                accepted[agent] = accepted.get(agent, 0) + 1
                self.counted = True
            if (header(head, b"connection") or b"").lower() == b"close":
                self.transport.write(CLOSE_RESPONSE)
                self.transport.close()
                return
            self.transport.write(RESPONSE)


async def serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(OneResponseProtocol, "127.0.0.1", 0, backlog=1024)
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        while line := await commands.readline():
            if line.strip() == b"stats":
                print(json.dumps(accepted), flush=True)


if __name__ == "__main__":
    asyncio.run(serve())
