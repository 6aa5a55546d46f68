"""FakeBird's HTTP server: the core's answers byte for byte, HTTP's edges, a clean stop."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import httpx
import pytest
from bird_flashcalls.testing import FakeBird, FakeResponse

from .support import OTHER, TO, WAIT, create, json_headers, paths, respond

# The server sends exactly what the core answers.


def test_the_server_sends_exactly_what_the_core_answers(
    fake: FakeBird, monkeypatch: pytest.MonkeyPatch
) -> None:
    replies: list[FakeResponse] = []
    core = fake.respond

    def recorded(*request: Any) -> FakeResponse:
        replies.append(core(*request))
        return replies[-1]

    monkeypatch.setattr(fake, "respond", recorded)
    p, key = paths(fake), json_headers(fake)
    call_id = respond(fake, "create", {"to": TO, "from": OTHER}).json()["id"]
    braced_channel = p["create"].replace(fake.channel_id, "{" + fake.channel_id + "}")
    script = [
        ("POST", p["create"], b'{"to": "+31612345678"}', key),
        ("POST", p["end"].format(call_id=call_id), b'{"result": "verified"}', key),
        ("POST", p["hangup"], b'{"from": "+3197010269999", "to": "+31612345678"}', key),
        ("POST", p["create"], b'{"to": "+31612345678", "ringTimeout": NaN}', key),
        ("POST", p["create"], b"{}", {**key, "Content-Type": "text/plain"}),
        ("POST", p["create"], b"{}", {"Authorization": "AccessKey nope"}),
        ("TRACE", p["create"], b"", key),
        ("BREW", p["create"], b"", key),
        ("POST", braced_channel, b"{}", key),
    ]
    with fake.serve() as base_url, httpx.Client(base_url=base_url) as http:
        for method, path, body, headers in script:
            response = http.request(method, path, content=body, headers=headers)
            reply = replies[-1]
            assert (response.status_code, response.content) == (reply.status, reply.body)
            assert all(response.headers[name] == value for name, value in reply.headers.items())
    assert [reply.status for reply in replies] == [202, 202, 202, 422, 400, 400, 401, 405, 405, 404]


# The server itself.


def test_serve_stops_its_threads_and_frees_its_port_even_with_idle_connections(
    fake: FakeBird,
) -> None:
    before = set(threading.enumerate())
    with fake.serve() as base_url:
        port = httpx.URL(base_url).port
        # A pooled keep-alive connection stays open while the server stops.
        http = httpx.Client(base_url=base_url)
        assert create(fake, http).status_code == 202
        assert set(threading.enumerate()) - before
    assert set(threading.enumerate()) <= before
    http.close()
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port or 0))


def test_serve_cuts_a_pending_delay_short_on_exit(fake: FakeBird) -> None:
    fake.fail_next(delay=60)
    outcome: list[BaseException] = []

    def slow_request(base_url: str) -> None:
        try:
            httpx.post(base_url + paths(fake)["create"], json={"to": TO}, timeout=30)
        except httpx.HTTPError as error:
            outcome.append(error)

    started = time.monotonic()
    with fake.serve() as base_url:
        requester = threading.Thread(target=slow_request, args=(base_url,))
        requester.start()
        deadline = time.monotonic() + WAIT
        while not fake.requests and time.monotonic() < deadline:
            time.sleep(0.01)  # polling the condition "the request arrived"
        assert fake.requests
    requester.join(WAIT)
    assert not requester.is_alive()
    assert time.monotonic() - started < 30  # well under the 60 s delay
    assert len(outcome) == 1  # the connection closed without an answer


def test_serve_on_localhost_and_ipv6_loopback(fake: FakeBird) -> None:
    with fake.serve(host="localhost") as base_url:
        assert base_url.startswith("http://127.0.0.1:")
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        with fake.serve(host="::1") as base_url, httpx.Client(base_url=base_url) as http:
            assert base_url.startswith("http://[::1]:")
            assert create(fake, http).status_code == 202
    except OSError as error:
        pytest.skip(f"no IPv6 loopback here: {error}")


def test_the_server_reads_chunked_bodies(fake: FakeBird, http: httpx.Client) -> None:
    body = json.dumps({"to": TO}).encode()
    chunks = iter([body[:5], body[5:]])
    response = http.post(paths(fake)["create"], content=chunks, headers=json_headers(fake))
    assert response.status_code == 202
    assert fake.requests[-1].json == {"to": TO}


def test_a_body_over_one_mebibyte_is_a_json_413_even_when_chunked(
    fake: FakeBird, http: httpx.Client
) -> None:
    chunks = iter([b"{" + b" " * 600_000, b" " * 600_000 + b"}"])
    response = http.post(paths(fake)["create"], content=chunks, headers=json_headers(fake))
    assert response.status_code == 413
    assert response.json()["code"] == "RequestEntityTooLarge"
    assert response.headers["Messagebird-Request-Id"]


@pytest.mark.parametrize(
    ("request_head", "status", "what"),
    [
        ("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413, "larger"),
        ("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "not a number"),
        ("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "not a number"),
        ("POST {path} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "chunk size"),
        ("THIS IS NOT HTTP\r\n", 400, "not valid HTTP"),
        ("GET {path}\r\n\r\n", 400, "not valid HTTP"),
        ("POST {path} HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP"),
    ],
    ids=["too large", "garbage length", "negative length", "bad chunk", "bad line", "0.9", "h2"],
)
def test_requests_the_server_cannot_read_get_bird_shaped_json(
    fake: FakeBird, served: str, request_head: str, status: int, what: str
) -> None:
    url = httpx.URL(served)
    with socket.create_connection((url.host, url.port or 80), timeout=WAIT) as connection:
        connection.sendall(request_head.format(path=paths(fake)["create"]).encode())
        received = b""  # up to the close the server announces
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {n.strip().lower(): v.strip() for n, _, v in (h.partition(":") for h in header_lines)}

    assert int(status_line.split()[1]) == status
    assert headers["content-type"] == "application/json"
    assert headers["messagebird-request-id"]
    assert headers["connection"] == "close"
    error = json.loads(body)
    assert set(error) == {"code", "message"}
    assert what in error["message"]
    assert fake.requests == []  # answered by the server; FakeBird never saw a request
