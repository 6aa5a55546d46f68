"""The access key cannot be reached from anything the client hands out.

For each kind of failure (connection refused, read timeout, 404, 422, 500, a 202 that is not
JSON), sync and async, with a key made for the test alone and a server that echoes it back in
bodies and headers wherever it can:

- no ``str``, ``bytes`` or ``bytearray`` reachable from the error holds the key;
- ``pickle.dumps(error)`` does not hold it, and the error comes back with its attributes;
- its traceback formatted with the values of local variables, chained into an application's
  own exception, does not show it;
- nor does any log record written at DEBUG while it happened, or when it was logged with its
  traceback.

The same for what a successful call returns, and for the client itself. Controls show that
each check finds a key that is there.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import logging
import pickle
import re
import secrets
import traceback
import types
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from bird_flashcalls import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncFlashCalls,
    AuthenticationError,
    Backoff,
    BirdError,
    FlashCall,
    FlashCalls,
    InternalServerError,
    NotFoundError,
    UnprocessableEntityError,
)
from bird_flashcalls._secret import AccessKey
from error_fields import error_fields

from . import support as data
from .fault_server import (
    Behaviour,
    FaultServer,
    ReceivedRequest,
    closed_port,
    never_answer,
    respond,
    respond_with,
)

# These tests are about what an error holds, not about time: every server answers at once, and
# the generous timeout keeps a busy machine (or a garbage-collection pause of a large test
# process) from turning their error into a timeout. Only the read_timeout case, whose server
# never answers, uses the short one.
TIMEOUT = 10.0
SHORT_TIMEOUT = 0.3
REQUEST_ID = "req-7f3a9c"
WALK_LIMIT = 20_000
# Not followed by the walk: frames and tracebacks (what the capture_locals check covers: a
# formatted traceback shows each local's repr), and modules, classes, functions and code, which
# lead to the whole interpreter rather than to what an error or a client holds.
NOT_FOLLOWED = (
    types.FrameType,
    types.TracebackType,
    types.ModuleType,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.CodeType,
)
APP_LOG = logging.getLogger("signup_app")


@pytest.fixture
def key() -> str:
    """A key no other test, module or interned constant holds."""
    return f"test-key-{secrets.token_urlsafe(24)}"


# The graph walk.


class Walk:
    def __init__(self, found: list[str | bytes | bytearray], visited: int) -> None:
        self.found = found
        self.visited = visited


def walk(root: object, key: str) -> Walk:
    """Every object reachable from ``root`` through gc.get_referents, up to WALK_LIMIT."""
    needle = key.encode()
    seen = {id(root)}
    stack = [root]
    found: list[str | bytes | bytearray] = []
    visited = 0
    while stack:
        item = stack.pop()
        visited += 1
        assert visited <= WALK_LIMIT, "the walk did not finish: its result would prove nothing"
        if isinstance(item, str):
            if key in item:
                found.append(item)
            continue
        if isinstance(item, bytes | bytearray):
            if needle in item:
                found.append(item)
            continue
        for referent in gc.get_referents(item):
            if id(referent) not in seen and not isinstance(referent, NOT_FOLLOWED):
                seen.add(id(referent))
                stack.append(referent)
    return Walk(found, visited)


# The failures, each from a server that echoes the key it received.


def _sent_key(request: ReceivedRequest) -> str:
    return request.headers["authorization"].removeprefix("AccessKey ")


def _echoing(
    status: int,
    body: Callable[[str], bytes | dict[str, Any]],
    *,
    in_headers: bool = False,
    **options: Any,
) -> Behaviour:
    """The key it received, echoed in the body (and in headers, if asked)."""

    def answer(request: ReceivedRequest) -> Behaviour:
        sent = _sent_key(request)
        headers = {"Messagebird-Request-Id": REQUEST_ID}
        if in_headers:
            headers["WWW-Authenticate"] = f'AccessKey realm="bird", key="{sent}"'
            headers["X-Echo"] = f"AccessKey {sent}"
        return respond(status, body(sent), headers=headers, **options)

    return respond_with(answer)


FAILURES: dict[str, tuple[Callable[[], Behaviour | None], type[BirdError]]] = {
    "refused": (lambda: None, APIConnectionError),
    "read_timeout": (never_answer, APITimeoutError),
    "404": (
        lambda: _echoing(404, lambda key: {"code": "NotFound", "message": f"no channel for {key}"}),
        NotFoundError,
    ),
    "422": (
        lambda: _echoing(
            422,
            lambda key: {
                "code": "InvalidPayload",
                "message": f"malformed request from {key}",
                "details": {f".to.{key}": [f"not a number: {key}"]},
            },
        ),
        UnprocessableEntityError,
    ),
    "500": (
        lambda: _echoing(
            500, lambda key: f"<html>AccessKey {key} broke us</html>".encode(), content_type=None
        ),
        InternalServerError,
    ),
    "202_not_json": (
        lambda: _echoing(
            202, lambda key: f"<html>welcome {key}</html>".encode(), content_type="text/html"
        ),
        APIResponseValidationError,
    ),
}


class TaskFailed(Exception):
    """An application's own error, raised while it handles the client's."""


class Failure:
    """What one failed call left behind."""

    def __init__(self, task_error: TaskFailed, log_lines: list[str]) -> None:
        self.task_error = task_error
        assert isinstance(task_error.__cause__, BirdError)
        self.error: BirdError = task_error.__cause__
        self.log_lines = log_lines


def _options(key: str, base_url: str, timeout: float = TIMEOUT) -> dict[str, Any]:
    return {
        "access_key": key,
        "workspace_id": data.WORKSPACE_ID,
        "channel_id": data.CHANNEL_ID,
        "base_url": base_url,
        "timeout": timeout,
        "max_retries": 1,
        "backoff": Backoff(initial_delay=0.0, max_delay=0.0),
    }


# Only the client is a local of these frames: a test's own ``key`` would otherwise show up in
# the traceback they are part of.


def _signup_task(client: FlashCalls) -> TaskFailed:
    try:
        try:
            client.create(data.TO)
        except BirdError as error:
            raise TaskFailed("the signup task failed") from error
    except TaskFailed as failed:
        APP_LOG.exception("signup failed")
        return failed
    raise AssertionError("the call did not fail")


async def _async_signup_task(client: AsyncFlashCalls) -> TaskFailed:
    try:
        try:
            await client.create(data.TO)
        except BirdError as error:
            raise TaskFailed("the signup task failed") from error
    except TaskFailed as failed:
        APP_LOG.exception("signup failed")
        return failed
    raise AssertionError("the call did not fail")


async def _fail_async(options: dict[str, Any]) -> TaskFailed:
    async with AsyncFlashCalls(**options) as client:
        return await _async_signup_task(client)


class _FormattedLines(logging.Handler):
    """What a console handler would print: each message, and the traceback of any exc_info."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.lines.append(repr(record.args))


@pytest.fixture
def debug_lines(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """Every logger at DEBUG, formatted into a list of lines."""
    handler = _FormattedLines()
    caplog.set_level(logging.DEBUG)
    for name in ("bird_flashcalls", "httpx", "httpcore", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=name)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)


@pytest.fixture(
    params=[(kind, mode) for kind in FAILURES for mode in ("sync", "async")],
    ids=lambda param: "-".join(param),
)
def failure(
    request: pytest.FixtureRequest, fault_server: FaultServer, key: str, debug_lines: list[str]
) -> Failure:
    kind, mode = request.param
    make_behaviour, error_class = FAILURES[kind]
    behaviour = make_behaviour()
    if behaviour is None:
        base_url = f"http://127.0.0.1:{closed_port()}"
    else:
        fault_server.script(behaviour)
        base_url = fault_server.url
    options = _options(key, base_url, SHORT_TIMEOUT if kind == "read_timeout" else TIMEOUT)
    if mode == "sync":
        with FlashCalls(**options) as client:
            task_error = _signup_task(client)
    else:
        task_error = asyncio.run(_fail_async(options))
    result = Failure(task_error, debug_lines)
    assert type(result.error) is error_class, result.error
    # The run was real: the key reached the server, which echoed it back.
    if behaviour is not None:
        assert fault_server.requests
        assert all(_sent_key(received) == key for received in fault_server.requests)
    return result


def test_no_string_reachable_from_the_error_holds_the_key(failure: Failure, key: str) -> None:
    for root in (failure.error, failure.task_error):
        found = walk(root, key)
        assert found.found == []
        assert found.visited > 20  # the walk went into the error's request or response
    request = getattr(failure.error, "request", None) or failure.error.response.request  # type: ignore[attr-defined]
    assert request.headers["Authorization"] == "AccessKey ***"


def test_the_pickled_error_holds_no_key_and_comes_back_whole(failure: Failure, key: str) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        pickled = pickle.dumps(failure.error, protocol=protocol)
        assert key.encode() not in pickled
        restored = pickle.loads(pickled)
        assert type(restored) is type(failure.error)
        assert error_fields(restored) == error_fields(failure.error)
    for copied in (copy.copy(failure.error), copy.deepcopy(failure.error)):
        assert type(copied) is type(failure.error)
        assert error_fields(copied) == error_fields(failure.error)


def test_the_traceback_with_locals_does_not_show_the_key(failure: Failure, key: str) -> None:
    for error in (failure.error, failure.task_error):
        shown = "".join(
            traceback.TracebackException.from_exception(error, capture_locals=True).format()
        )
        assert key not in shown
        # It did show the client's frames and the values of their locals, the client among them.
        assert "bird_flashcalls" in shown
        assert re.search(r"self = (Async)?FlashCalls\(base_url=", shown)
    chained = "".join(
        traceback.TracebackException.from_exception(
            failure.task_error, capture_locals=True
        ).format()
    )
    assert "The above exception was the direct cause" in chained
    assert type(failure.error).__name__ in chained


def test_no_log_record_shows_the_key(failure: Failure, key: str) -> None:
    logged = "\n".join(failure.log_lines)
    assert key not in logged
    # Lines were written at DEBUG by the client, and the error's traceback was logged.
    assert " bird_flashcalls DEBUG POST " in logged
    assert "signup_app ERROR signup failed\nTraceback (most recent call last):" in logged
    assert f"{type(failure.error).__module__}.{type(failure.error).__name__}" in logged


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_key_echoed_in_response_headers_is_taken_out_of_the_error(
    mode: str, fault_server: FaultServer, key: str, debug_lines: list[str]
) -> None:
    fault_server.script(
        _echoing(401, lambda key: {"code": "Unauthorized", "message": "no"}, in_headers=True)
    )
    options = _options(key, fault_server.url)
    if mode == "sync":
        with FlashCalls(**options) as client:
            error = _signup_task(client).__cause__
    else:
        error = asyncio.run(_fail_async(options)).__cause__
    assert isinstance(error, AuthenticationError)
    assert walk(error, key).found == []
    assert key.encode() not in pickle.dumps(error)
    assert error.response.headers["X-Echo"] == "AccessKey ***"
    assert error.response.headers["WWW-Authenticate"] == 'AccessKey realm="bird", key="***"'
    assert error.request_id == REQUEST_ID
    # The client's own lines; httpcore's DEBUG lines list response headers as they came.
    ours = [line for line in debug_lines if " bird_flashcalls " in line]
    assert ours
    assert not [line for line in ours if key in line]


# The checks find a key that is there.


def _an_error_holding(key: str) -> NotFoundError:
    leaky = httpx.Request("POST", "https://api.bird.test/x", headers={"Authorization": key})
    error = NotFoundError(
        "not found",
        response=httpx.Response(404, request=leaky),
        code=None,
        message=None,
        details={},
        request_id=None,
    )
    return error


def test_control_the_walk_finds_a_key_in_an_attached_dict(key: str) -> None:
    error = NotFoundError(
        "not found",
        response=httpx.Response(404, request=httpx.Request("POST", "https://api.bird.test/x")),
        code=None,
        message=None,
        details={},
        request_id=None,
    )
    assert walk(error, key).found == []
    error.extra = {"context": [("authorization", f"AccessKey {key}")]}  # type: ignore[attr-defined]
    assert walk(error, key).found == [f"AccessKey {key}"]


def test_control_the_walk_pickle_and_copy_find_an_unredacted_request(key: str) -> None:
    """The form of the leak these tests guard against: a request as sent, kept by an error."""
    error = _an_error_holding(key)
    assert walk(error, key).found == [key.encode()]
    assert walk(_task_failed_from(error), key).found == [key.encode()]  # through __cause__
    assert key.encode() in pickle.dumps(error)
    assert copy.deepcopy(error).response.request.headers["Authorization"] == key


def _task_failed_from(error: BaseException) -> TaskFailed:
    try:
        raise TaskFailed("the task failed") from error
    except TaskFailed as failed:
        return failed


def test_control_the_traceback_check_sees_locals_of_chained_exceptions(key: str) -> None:
    def careless(secret: str) -> None:
        raise ValueError("refused")

    def task(secret: str) -> None:
        try:
            careless(secret)
        except ValueError as error:
            raise TaskFailed("the task failed") from error

    with pytest.raises(TaskFailed) as caught:
        task(key)
    caught.value.__traceback__ = None  # only the cause's frames still hold the key
    shown = "".join(
        traceback.TracebackException.from_exception(caught.value, capture_locals=True).format()
    )
    assert f"secret = '{key}'" in shown


def test_control_the_log_check_sees_the_traceback_of_a_cause(
    key: str, debug_lines: list[str]
) -> None:
    try:
        try:
            raise ValueError(f"echoed {key}")
        except ValueError as error:
            raise TaskFailed("the task failed") from error
    except TaskFailed:
        APP_LOG.exception("signup failed")
    assert key in "\n".join(debug_lines)


# What a successful call returns.


def _answer_in_kind(request: ReceivedRequest) -> Behaviour:
    sent = request.json()
    headers = {"Messagebird-Request-Id": REQUEST_ID}
    if request.raw_path == data.BASE_PATH:
        return respond(202, data.flash_call(to=sent["to"]), headers=headers)
    if request.raw_path.endswith("/hangup"):
        return respond(202, sent, headers=headers)
    return respond(202, {"result": sent["result"]}, headers=headers)


def _every_result(client: FlashCalls) -> list[object]:
    call = client.create(data.TO)
    return [
        call,
        client.end(call, result="timeout"),
        client.hangup(from_=data.FROM, to=data.TO, result="canceled"),
        client.verify(call, data.FROM),
        client.verify_code(call, data.FROM[-4:]),
    ]


async def _every_result_async(options: dict[str, Any]) -> list[object]:
    async with AsyncFlashCalls(**options) as client:
        call = await client.create(data.TO)
        return [
            call,
            await client.end(call, result="timeout"),
            await client.hangup(from_=data.FROM, to=data.TO, result="canceled"),
            await client.verify(call, data.FROM),
            await client.verify_code(call, data.FROM[-4:]),
        ]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_returned_flash_call_and_every_other_result_hold_no_key(
    mode: str, fault_server: FaultServer, key: str
) -> None:
    fault_server.script(respond_with(_answer_in_kind))
    options = _options(key, fault_server.url)
    if mode == "sync":
        with FlashCalls(**options) as client:
            results = _every_result(client)
    else:
        results = asyncio.run(_every_result_async(options))
    assert isinstance(results[0], FlashCall)
    assert all(_sent_key(received) == key for received in fault_server.requests)
    for result in results:
        assert walk(result, key).found == [], type(result).__name__
        pickled = pickle.dumps(result)
        assert key.encode() not in pickled
        assert pickle.loads(pickled) == result
        assert key not in repr(result)


# The client itself.


def _use(client: FlashCalls) -> None:
    client.create(data.TO)
    with pytest.raises(NotFoundError):
        client.end(data.CALL_ID, result="verified")


async def _use_async(client: AsyncFlashCalls) -> None:
    await client.create(data.TO)
    with pytest.raises(NotFoundError):
        await client.end(data.CALL_ID, result="verified")


def _after_a_success_then_a_failure(fault_server: FaultServer) -> None:
    fault_server.script(
        respond_with(_answer_in_kind),
        _echoing(404, lambda key: {"code": "NotFound", "message": f"no call for {key}"}),
    )


def _check_client(client: FlashCalls | AsyncFlashCalls, key: str) -> None:
    for each in (client, client.with_options(timeout=5.0)):
        found = walk(each, key)
        assert found.found == []
        assert found.visited > 50  # down into the connection pool
        with pytest.raises(TypeError, match="never pickled"):
            pickle.dumps(each)
        for text in (repr(each), str(each)):
            assert key not in text


def test_no_string_reachable_from_a_sync_client_holds_the_key(
    fault_server: FaultServer, key: str
) -> None:
    _after_a_success_then_a_failure(fault_server)
    with FlashCalls(**_options(key, fault_server.url)) as client:
        _use(client)
        _check_client(client, key)


def test_no_string_reachable_from_an_async_client_holds_the_key(
    fault_server: FaultServer, key: str
) -> None:
    _after_a_success_then_a_failure(fault_server)

    async def run() -> None:
        async with AsyncFlashCalls(**_options(key, fault_server.url)) as client:
            await _use_async(client)
            _check_client(client, key)  # with its connections and the event loop they use

    asyncio.run(run())


def test_the_access_key_object_never_shows_the_key(key: str) -> None:
    secret = AccessKey(key)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", format(secret)):
        assert key not in text
        assert "***" in text
    assert copy.copy(secret) is secret
    assert copy.deepcopy(secret) is secret
    assert copy.deepcopy({"key": secret})["key"] is secret
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError, match="never pickled") as refused:
            pickle.dumps(secret, protocol=protocol)
        assert key not in str(refused.value)
    assert walk(secret, key).found == []
    assert not hasattr(secret, "__dict__")
    # Its one way out: the header value, and a redaction.
    assert secret.authorization() == f"AccessKey {key}"
    assert secret.redact(f"a {key} b {key}") == "a *** b ***"
