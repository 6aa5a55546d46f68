"""The clients honour HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY and SSL_CERT_FILE as httpx does,
through a proxy in front of FakeBird that ends TLS with its own test CA (a corporate egress)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import trustme
from bird_flashcalls import APIConnectionError
from bird_flashcalls.testing import FakeBird

from .support import KINDS, TO, fake_options, outcome_of

PROXY_VARIABLES = (
    *("http_proxy", "https_proxy", "all_proxy", "no_proxy"),
    *("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"),
    *("SSL_CERT_FILE", "SSL_CERT_DIR", "BIRD_BASE_URL"),
)
TLS_HOST = "fakebird.test"  # resolved by nobody: only the proxy is ever contacted


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer
    # Set on the handler that serves the inside of a CONNECT tunnel.
    tunnelled_to: str | None = None

    def do_CONNECT(self) -> None:
        self.server.record("CONNECT", self.path)
        self.send_response(200, "Connection established")
        self.end_headers()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server.certificate.configure_cert(context)
        try:
            tunnel = context.wrap_socket(self.connection, server_side=True)
        except ssl.SSLError:  # a client that does not trust the certificate: what a test wants
            self.close_connection = True
            return
        # The inside of the tunnel: the same handler, reading origin-form requests over TLS.
        inside = type("TunnelHandler", (_ProxyHandler,), {"tunnelled_to": self.path})
        try:
            inside(tunnel, self.client_address, self.server)
        finally:
            tunnel.close()  # the TLS socket took the connection over
        self.close_connection = True

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        target = (
            self.path if self.tunnelled_to is None else f"https://{self.tunnelled_to}{self.path}"
        )
        self.server.record("POST", target)
        # Bird behind the proxy: FakeBird's handler, called in process.
        answer = self.server.fake_bird.respond(
            "POST", urlsplit(target).path, dict(self.headers), body
        )
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake_bird: FakeBird, certificate: trustme.LeafCert) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.fake_bird = fake_bird
        self.certificate = certificate
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def record(self, method: str, target: str) -> None:
        with self._lock:
            self.seen.append((method, target))


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def proxy(
    fake_bird: FakeBird, authority: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> Iterator[_ProxyServer]:
    # No proxy or CA setting of the machine's own reaches these tests.
    for variable in PROXY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    server = _ProxyServer(fake_bird, authority.issue_cert(TLS_HOST))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def create(kind: str, fake_bird: FakeBird, base_url: str) -> Any:
    settings = fake_options(fake_bird, base_url, max_retries=0)
    return outcome_of(kind, lambda client: client.create(TO), settings)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "NO_PROXY"])
def test_a_proxy_from_the_environment_carries_every_request_but_those_no_proxy_names(
    proxy: _ProxyServer,
    fake_bird: FakeBird,
    fake_url: str,
    kind: str,
    variable: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if variable == "NO_PROXY":
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    else:
        monkeypatch.setenv(variable, proxy.url)

    call = create(kind, fake_bird, fake_url)

    path = f"/workspaces/{fake_bird.workspace_id}/channels/{fake_bird.channel_id}/flashcalls"
    assert proxy.seen == ([] if variable == "NO_PROXY" else [("POST", fake_url + path)])
    assert [request.path for request in fake_bird.requests] == [path]
    assert str(call.id) in fake_bird.calls


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("trusted", [True, False], ids=["SSL_CERT_FILE", "untrusted"])
def test_https_goes_through_connect_and_trusts_only_ssl_cert_file(
    proxy: _ProxyServer,
    fake_bird: FakeBird,
    authority: trustme.CA,
    tmp_path: Path,
    kind: str,
    trusted: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    if trusted:
        authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))

    call = create(kind, fake_bird, f"https://{TLS_HOST}")

    path = f"/workspaces/{fake_bird.workspace_id}/channels/{fake_bird.channel_id}/flashcalls"
    connect = ("CONNECT", f"{TLS_HOST}:443")
    if trusted:
        assert proxy.seen == [connect, ("POST", f"https://{TLS_HOST}:443{path}")]
        assert str(call.id) in fake_bird.calls
    else:
        assert isinstance(call, APIConnectionError)
        assert "CERTIFICATE_VERIFY_FAILED" in str(call)
        assert proxy.seen == [connect]
        assert fake_bird.requests == []
