"""The access key goes to base_url in the Authorization header, and nowhere else.

Not in a log line (at DEBUG, every logger), not on stdout or stderr, not in an exception's
message, repr() or attributes, not in the repr() of a client, request or response; never over
plain http to a host that is not loopback, and never to where a redirect points.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs
import httpx
import pytest
from bird_flashcalls import (
    APIStatusError,
    AsyncFlashCalls,
    Backoff,
    BirdError,
    ConfigurationError,
    FlashCalls,
)
from hypothesis import event, given
from hypothesis import strategies as st

from . import support as data
from .fault_server import (
    Behaviour,
    FaultServer,
    ReceivedRequest,
    closed_port,
    huge_body,
    never_answer,
    redirect,
    reset_before_response,
    respond,
    respond_with,
)
from .support import FUZZ

KEY = data.ACCESS_KEY
# Generous for every scenario but "timeout" (a server that never answers): these tests are about
# where the key goes, and a busy machine must not turn an answer into a timeout.
TIMEOUT = 10.0
SHORT_TIMEOUT = 0.3


def _sent_key(request: ReceivedRequest) -> str:
    return request.headers["authorization"].removeprefix("AccessKey ")


def _echoing(status: int, make_body: Callable[[str], object]) -> Behaviour:
    """An error that quotes the key it received, as a careless server might."""
    return respond_with(lambda request: respond(status, make_body(_sent_key(request))))


# What the server does; every operation of the client is run against each.
SCENARIOS: dict[str, Callable[[], Sequence[Behaviour]]] = {
    "success": lambda: (respond_with(_answer_in_kind),),
    "400_echoing_the_key": lambda: (
        _echoing(400, lambda key: {"code": "BadRequest", "message": f"bad header {key}"}),
    ),
    "401_echoing_the_key": lambda: (
        _echoing(401, lambda key: {"code": "Unauthorized", "message": f"key {key} is revoked"}),
    ),
    "403": lambda: (respond(403, {"code": "Forbidden", "message": "no role"}),),
    "404": lambda: (respond(404, {"code": "NotFound", "message": "channel not found"}),),
    "409": lambda: (respond(409, b"already ended", content_type="text/plain"),),
    "422_echoing_the_key": lambda: (
        _echoing(
            422,
            lambda key: {
                "code": "InvalidPayload",
                "message": "malformed",
                "details": {".to": [f"not with {key}"]},
            },
        ),
    ),
    "429_above_the_cap": lambda: (respond(429, headers={"Retry-After": "3600"}),),
    "429_then_success": lambda: (
        respond(429, headers={"Retry-After": "0"}),
        respond_with(_answer_in_kind),
    ),
    "500_always": lambda: (respond(500, b"<html>boom</html>", content_type="text/html"),),
    "503_then_success": lambda: (respond(503), respond_with(_answer_in_kind)),
    "418": lambda: (respond(418),),
    "redirect": lambda: (redirect(307, "http://127.0.0.1:9/elsewhere"),),
    "html_200": lambda: (respond(200, b"<html>hi</html>", content_type="text/html"),),
    "field_echoing_the_key": lambda: (
        respond_with(
            lambda request: respond(202, {**data.flash_call(), "createdAt": _sent_key(request)})
        ),
    ),
    "reset_always": lambda: (reset_before_response(),),
    "reset_then_success": lambda: (reset_before_response(), respond_with(_answer_in_kind)),
    "timeout": lambda: (never_answer(),),
    "huge_body": lambda: (huge_body(16 * 1024 * 1024, declare_length=True),),
    "refused": lambda: (),
}


def _answer_in_kind(request: ReceivedRequest) -> Behaviour:
    sent = request.json()
    if request.raw_path == data.BASE_PATH:
        return respond(202, data.flash_call(to=sent["to"]))
    if request.raw_path.endswith("/hangup"):
        return respond(202, sent)
    return respond(202, {"result": sent["result"]})


# Each operation, with arguments that pass validation and some that do not.
OPERATIONS: list[tuple[str, Callable[[Any], Any]]] = [
    ("create", lambda client: client.create(data.TO, ring_timeout=20)),
    ("end", lambda client: client.end(data.CALL_ID, result="verified")),
    ("hangup", lambda client: client.hangup(from_=data.FROM, to=data.TO, result="canceled")),
    ("verify", lambda client: client.verify(data.CALL_ID, data.FROM, expected_cli=data.FROM)),
    (
        "verify_code",
        lambda client: client.verify_code(data.CALL_ID, "0000", expected_cli=data.FROM),
    ),
    ("bad_number", lambda client: client.create("06-12345678")),
    ("bad_call_id", lambda client: client.end("../../admin", result="verified")),
    ("bad_result", lambda client: client.end(data.CALL_ID, result="approved")),
    ("bad_ring_timeout", lambda client: client.create(data.TO, ring_timeout=500)),
]


@attrs.define
class Leaks:
    """Every text the run produced that a user could see or log."""

    texts: list[str] = attrs.field(factory=list)

    def add(self, *texts: object) -> None:
        self.texts.extend(text if isinstance(text, str) else repr(text) for text in texts)

    def add_outcome(self, outcome: object) -> None:
        if not isinstance(outcome, BaseException):
            self.add(outcome, str(outcome))
            return
        self.add(str(outcome), outcome, *outcome.args)
        self.add("".join(traceback.format_exception(outcome)))
        for name in ("message", "code", "details", "request_id", "retry_after", "field"):
            if hasattr(outcome, name):
                self.add(getattr(outcome, name))
        request = getattr(outcome, "request", None)
        if isinstance(request, httpx.Request):
            self.add(request, request.headers, str(request.url))
        response = getattr(outcome, "response", None)
        if isinstance(response, httpx.Response):
            self.add(response, response.headers, response.request, response.request.headers)

    def containing(self, secret: str) -> list[str]:
        return [text for text in self.texts if secret in text]


class _ToStandardError(logging.Handler):
    """Writes to file descriptor 2 itself, where a user's console handler would write."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        os.write(2, (self.format(record) + "\n").encode("utf-8", "replace"))


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # the message, and any exc_info traceback


@pytest.fixture
def debug_logging(caplog: pytest.LogCaptureFixture) -> Iterator[_Collect]:
    """DEBUG on for every logger, into a collecting handler and onto stderr."""
    collect = _Collect()
    to_stderr = _ToStandardError()
    root = logging.getLogger()
    caplog.set_level(logging.DEBUG)
    for name in ("bird_flashcalls", "httpx", "httpcore", "hpack", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=name)
    root.addHandler(collect)
    root.addHandler(to_stderr)
    try:
        yield collect
    finally:
        root.removeHandler(collect)
        root.removeHandler(to_stderr)


def _options(base_url: str, scenario: str = "") -> dict[str, Any]:
    return {
        "access_key": KEY,
        "workspace_id": data.WORKSPACE_ID,
        "channel_id": data.CHANNEL_ID,
        "base_url": base_url,
        "timeout": SHORT_TIMEOUT if scenario == "timeout" else TIMEOUT,
        "max_retries": 1,
        "backoff": Backoff(initial_delay=0.0, max_delay=0.0, max_retry_after=1),
    }


def _check_nothing_leaked(
    leaks: Leaks,
    collect: _Collect,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    server: FaultServer,
    scenario: str,
) -> None:
    out, err = capfd.readouterr()
    leaks.add(out, err, caplog.text, *collect.lines)
    leaks.add(*(record.getMessage() for record in caplog.records))
    assert leaks.containing(KEY) == []
    # The run was real: the key did travel to the server, and DEBUG lines were captured.
    if scenario != "refused":
        assert server.requests and all(_sent_key(r) == KEY for r in server.requests)
    assert any(" DEBUG " in line for line in collect.lines)
    assert " DEBUG " in err


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_key_stays_secret_sync(
    scenario: str,
    fault_server: FaultServer,
    debug_logging: _Collect,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    fault_server.script(*SCENARIOS[scenario]())
    base_url = f"http://127.0.0.1:{closed_port()}" if scenario == "refused" else fault_server.url
    leaks = Leaks()
    with FlashCalls(**_options(base_url, scenario)) as client:
        leaks.add(client, str(client), client.with_options(timeout=5.0))
        for _, run in OPERATIONS:
            try:
                leaks.add_outcome(run(client))
            except BirdError as error:
                leaks.add_outcome(error)
    _check_nothing_leaked(leaks, debug_logging, caplog, capfd, fault_server, scenario)


@pytest.mark.anyio
@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_key_stays_secret_async(
    scenario: str,
    fault_server: FaultServer,
    debug_logging: _Collect,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    fault_server.script(*SCENARIOS[scenario]())
    base_url = f"http://127.0.0.1:{closed_port()}" if scenario == "refused" else fault_server.url
    leaks = Leaks()
    async with AsyncFlashCalls(**_options(base_url, scenario)) as client:
        leaks.add(client, str(client), client.with_options(timeout=5.0))
        for _, run in OPERATIONS:
            try:
                leaks.add_outcome(await run(client))
            except BirdError as error:
                leaks.add_outcome(error)
    _check_nothing_leaked(leaks, debug_logging, caplog, capfd, fault_server, scenario)


@pytest.mark.parametrize(
    "bad_key",
    [f"{KEY} ", f" {KEY}", f"{KEY}\n", f"{KEY}\tx", f"{KEY}\u00e9", f"AccessKey {KEY}"],
    ids=["trailing-space", "leading-space", "newline", "tab", "non-ascii", "with-scheme"],
)
def test_a_refused_key_is_not_quoted(bad_key: str, debug_logging: _Collect) -> None:
    with pytest.raises(ConfigurationError) as refused:
        FlashCalls(bad_key, data.WORKSPACE_ID, data.CHANNEL_ID, "https://api.bird.test")
    leaks = Leaks()
    leaks.add_outcome(refused.value)
    leaks.add(*debug_logging.lines)
    assert leaks.containing(KEY) == []


@pytest.mark.parametrize(
    "arguments",
    [
        {"workspace_id": KEY},
        {"channel_id": KEY},
        {"base_url": KEY},
        {"base_url": f"{KEY}/v1"},
    ],
    ids=["as-workspace-id", "as-channel-id", "as-base-url", "as-base-url-path"],
)
def test_a_key_passed_in_the_wrong_place_is_not_quoted(arguments: dict[str, str]) -> None:
    """Swapped arguments or environment variables put the key where an id or URL belongs."""
    settings: dict[str, Any] = {
        "access_key": "another-key-1",
        "workspace_id": data.WORKSPACE_ID,
        "channel_id": data.CHANNEL_ID,
        "base_url": "https://api.bird.test",
        **arguments,
    }
    recorder = Recorder()
    with pytest.raises(ConfigurationError) as refused:
        FlashCalls(**settings, http_client=recorder.client())
    leaks = Leaks()
    leaks.add_outcome(refused.value)
    assert leaks.containing(KEY) == []
    assert recorder.requests == []


# Where the key may go.


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("follow_redirects", [False, True], ids=["default", "client-follows"])
def test_a_redirect_is_not_followed(
    status: int, follow_redirects: bool, fault_server: FaultServer, redirect_target: FaultServer
) -> None:
    """Even an http_client built to follow redirects does not carry the key elsewhere."""
    fault_server.script(redirect(status, redirect_target.url + data.BASE_PATH))
    http_client = httpx.Client(follow_redirects=follow_redirects)
    with (
        http_client,
        FlashCalls(**_options(fault_server.url), http_client=http_client) as client,
        pytest.raises(APIStatusError) as answered,
    ):
        client.create(data.TO)
    assert answered.value.status_code == status
    assert redirect_target.accepted == 0
    assert fault_server.request_count == 1


@pytest.mark.anyio
async def test_a_redirect_is_not_followed_async(
    fault_server: FaultServer, redirect_target: FaultServer
) -> None:
    fault_server.script(redirect(308, redirect_target.url + data.BASE_PATH))
    async with (
        httpx.AsyncClient(follow_redirects=True) as http_client,
        AsyncFlashCalls(**_options(fault_server.url), http_client=http_client) as client,
    ):
        with pytest.raises(APIStatusError):
            await client.create(data.TO)
    assert redirect_target.accepted == 0


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(202, json=data.flash_call())

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


REMOTE_PLAIN_HTTP = [
    "http://api.bird.com",
    "HTTP://API.BIRD.COM",
    "http://10.0.0.7:8080",
    "http://192.168.1.10",
    "http://[2001:db8::1]",
    "http://127.0.0.1.nip.io",
    "http://localhost.attacker.example",
    "http://127.1",
    "http://2130706433",
    "http://0x7f000001",
    "http://[::ffff:10.0.0.7]",
]


@pytest.mark.parametrize("base_url", REMOTE_PLAIN_HTTP)
def test_plain_http_to_a_remote_host_is_refused_before_sending(
    base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    with pytest.raises(ConfigurationError) as refused:
        FlashCalls(KEY, data.WORKSPACE_ID, data.CHANNEL_ID, base_url, http_client=recorder.client())
    assert KEY not in str(refused.value)
    # The same from the environment.
    monkeypatch.setenv("BIRD_BASE_URL", base_url)
    with pytest.raises(ConfigurationError):
        FlashCalls(KEY, data.WORKSPACE_ID, data.CHANNEL_ID, http_client=recorder.client())
    assert recorder.requests == []


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:9000", "https://x.test"]
)
def test_https_or_loopback_is_accepted(base_url: str) -> None:
    recorder = Recorder()
    with FlashCalls(
        KEY, data.WORKSPACE_ID, data.CHANNEL_ID, base_url, http_client=recorder.client()
    ) as client:
        client.create(data.TO)
    (request,) = recorder.requests
    assert request.headers["Authorization"] == f"AccessKey {KEY}"
    assert str(request.url).startswith(base_url.lower().rstrip("/"))


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


hosts = st.sampled_from(
    [
        "127.0.0.1",
        "127.255.0.9",
        "localhost",
        "LocalHost",
        "[::1]",
        "api.bird.com",
        "10.1.2.3",
        "127.0.0.1.nip.io",
        "localhost.evil.test",
        "127.1",
        "0x7f.0.0.1",
        "2130706433",
        "[::ffff:127.0.0.1]",
        "[::ffff:10.0.0.1]",
        "0.0.0.0",
        "[::]",
        "xn--bird-9ya.test",
    ]
)
base_urls = st.builds(
    lambda scheme, userinfo, host, port, path: f"{scheme}://{userinfo}{host}{port}{path}",
    st.sampled_from(["http", "https", "HTTP", "Https", "ftp", "ws", "file", ""]),
    st.sampled_from(["", "user@", "user:pw@", "127.0.0.1@", "api.bird.com@"]),
    hosts,
    st.sampled_from(["", ":443", ":80", ":8080", ":0", ":99999", ":x"]),
    st.sampled_from(["", "/", "/v1", "/v1/", "/..", "?q=1", "#frag", "/%2F"]),
)


@pytest.mark.timeout(900)  # the "fuzz" profile runs it for minutes
@FUZZ
@given(base_url=st.one_of(base_urls, st.text(max_size=40)))
def test_fuzz_base_urls_never_carry_the_key_in_clear(base_url: str) -> None:
    recorder = Recorder()
    try:
        client = FlashCalls(
            KEY, data.WORKSPACE_ID, data.CHANNEL_ID, base_url, http_client=recorder.client()
        )
    except ConfigurationError as refused:
        event("refused")
        assert KEY not in str(refused)
        assert recorder.requests == []
        return
    event("accepted")
    with client:
        client.create(data.TO)
    (request,) = recorder.requests
    assert request.url.scheme == "https" or _is_loopback(request.url.host)
    # It went to the configured host (an empty base_url means Bird's), and only there.
    assert request.url.host == httpx.URL(base_url or "https://api.bird.com").host
    assert not request.url.userinfo
    assert urlsplit(str(request.url)).path.endswith(data.BASE_PATH)
