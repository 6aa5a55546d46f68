"""Bird's non-2xx answers and failed connections as errors: one class per meaning, the hint to
act on, Bird's fields, the response and request without the key; each kept by pickle and copy."""

from __future__ import annotations

import copy
import gzip
import json
import pickle
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from bird_flashcalls import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BirdError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    EventLoopError,
    FlashCalls,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    errors,
)
from shared import error_fields

from .support import (
    ACCESS_KEY,
    BASE_URL,
    BOTH_CLIENTS,
    CALL_ID,
    CALLEE,
    CHANNEL_ID,
    OPERATIONS,
    REAL_422,
    WORKSPACE_ID,
    ScriptedBird,
    raises,
    reply,
)

pytestmark = pytest.mark.anyio

REQUEST_ID = "mb-req-42"
TESTS = Path(__file__).resolve().parents[1]
SERVER_FAILED = "Bird failed; tried 1 time(s), try again later."
LOOK = "See the status and body in .response."
CHECK_KEY = "Check the access key (BIRD_ACCESS_KEY): it is missing, wrong or revoked."
CHECK_ROLES = "roles do not allow flash calls on this channel: check them in the Bird dashboard."
ENDED = "The flash call is in a state that does not allow this (already ended?)."


async def error_of(flash: Any, bird: ScriptedBird, step: Any, **options: Any) -> APIStatusError:
    bird.always(step)
    with pytest.raises(APIStatusError) as caught:
        await flash(max_retries=0, **options).end(CALL_ID, result="verified")
    return caught.value


@pytest.mark.parametrize(
    ("status", "error_class", "hint"),
    [
        (400, BadRequestError, "Bird could not read the request; check the fields sent."),
        (401, AuthenticationError, CHECK_KEY),
        (403, PermissionDeniedError, CHECK_ROLES),
        (404, NotFoundError, "Check workspace_id, channel_id and the flash call id."),
        (409, ConflictError, ENDED),
        (422, UnprocessableEntityError, "Fix the fields listed in details."),
        (429, RateLimitError, "Too many requests: slow down and try again later."),
        (418, APIStatusError, LOOK),
        (499, APIStatusError, LOOK),
        (500, InternalServerError, SERVER_FAILED),
        (501, InternalServerError, SERVER_FAILED),
        (502, InternalServerError, SERVER_FAILED),
        (503, InternalServerError, SERVER_FAILED),
        (504, InternalServerError, SERVER_FAILED),
        (520, InternalServerError, SERVER_FAILED),
        (599, InternalServerError, SERVER_FAILED),
    ],
)
async def test_each_status_gives_its_class_birds_fields_and_the_hint_to_act_on(
    flash, bird, status, error_class, hint
):
    body = {"code": "Code", "message": "says Bird", "details": {"to": ["is not E.164"]}}
    headers = {"Messagebird-Request-Id": REQUEST_ID}

    error = await error_of(flash, bird, reply(status, body, headers=headers))

    assert type(error) is error_class
    assert (error.status_code, error.code, error.message) == (status, "Code", "says Bird")
    assert error.details == body["details"]
    assert error.request_id == REQUEST_ID
    assert str(error).startswith(f"Bird answered {status}")
    assert str(error).endswith(f"{hint} [request id {REQUEST_ID}]")
    assert error.args == (str(error),)
    assert error.response.status_code == status
    assert len(bird.requests) == 1


async def test_a_422_is_explained_in_birds_own_words_json_path_keys_kept(flash, bird):
    details = {"to": ["is not E.164", "is required"], "ringTimeout": ["too long"]}
    body = {"code": "InvalidPayload", "message": "fields are malformed", "details": details}

    error = await error_of(flash, bird, reply(422, body))
    real_world = await error_of(flash, bird, reply(422, REAL_422))

    assert str(error) == (
        "Bird answered 422 Unprocessable Entity: InvalidPayload: fields are malformed "
        "(to: is not E.164, is required; ringTimeout: too long). Fix the fields listed in details."
    )
    assert real_world.details == {".receiver.contacts[0]": ['property "listId" is unsupported']}
    assert '.receiver.contacts[0]: property "listId" is unsupported' in str(real_world)


async def test_the_hint_counts_every_attempt(flash, bird, sleeps):
    bird.always(reply(502))

    with pytest.raises(APIStatusError) as caught:
        await flash(max_retries=2).end(CALL_ID, result="verified")

    assert str(caught.value).endswith("Bird failed; tried 3 time(s), try again later.")


# Redirects are not followed: the key stays with base_url.


@pytest.mark.parametrize("location", ["https://elsewhere.example/x", None])
@pytest.mark.parametrize("status", [300, 301, 302, 303, 307, 308, 399])
async def test_a_redirect_is_not_followed_and_says_where_it_led(flash, bird, status, location):
    headers = {"Location": location} if location else None

    error = await error_of(flash, bird, reply(status, headers=headers))

    assert type(error) is APIStatusError
    assert str(error).endswith(
        f"Redirect to {location or '(no Location)'} not followed, so the access key stays with "
        f"{BASE_URL}; check base_url."
    )
    assert len(bird.requests) == 1


@BOTH_CLIENTS
async def test_a_redirect_is_not_followed_even_when_the_http_client_would(flash, bird):
    step = reply(302, headers={"Location": f"{BASE_URL}/elsewhere"})

    error = await error_of(flash, bird, step, http_options={"follow_redirects": True})

    assert "Redirect to" in str(error)
    assert len(bird.requests) == 1


# Bodies that are not Bird's error shape.


@pytest.mark.parametrize(
    ("status", "content", "starts"),
    [
        (503, b"  upstream connect error  ", "503 Service Unavailable: upstream connect error. "),
        (502, b"<html><h1>502 Bad Gateway</h1></html>", "502 Bad Gateway: <html><h1>502 Bad"),
        (404, b"{not json", "404 Not Found: {not json. "),
        (400, b'["a", "list"]', '400 Bad Request: ["a", "list"]. '),
        (403, b'{"error": "forbidden"}', '403 Forbidden: {"error": "forbidden"}. '),
        (409, b'{"code":"Ended","message":""}', "409 Conflict: Ended: (no message). "),
        (409, b'{"code":"","message":"it has ended"}', "409 Conflict: error: it has ended. "),
        # details malformed: Bird's code and message are still read.
        (409, b'{"code":"Gone","message":"ended","details":1}', "409 Conflict: Gone: ended. "),
        (500, b"bad \xff\xfe here", "500 Internal Server Error: bad \ufffd\ufffd here. "),
        (500, b" \n ", "500 Internal Server Error. Bird failed"),
        (500, b"", "500 Internal Server Error. Bird failed"),
        (401, b"", "401 Unauthorized. Check the access key"),
        (422, b"", "422 Unprocessable Entity. Fix the fields"),
        (499, b"", "499. See the status"),  # no reason phrase, no trailing space
    ],
)
async def test_any_body_still_gives_the_class_and_what_it_said(
    flash, bird, status, content, starts
):
    error = await error_of(flash, bird, reply(status, content=content))

    assert str(error).startswith(f"Bird answered {starts}")
    assert error.response.content == content
    if not content.startswith(b'{"code"'):
        assert (error.code, error.details) == (None, {})
        assert error.message == str(error)


@pytest.mark.parametrize("size", [300, 100_000])
async def test_a_long_body_shows_its_first_200_characters(flash, bird, size):
    text = "".join(chr(ord("a") + i % 26) for i in range(size))

    error = await error_of(flash, bird, reply(500, content=text.encode()))

    assert f": {text[:200]}. Bird failed" in str(error)
    assert len(str(error)) < 400


@pytest.mark.parametrize(
    ("headers", "request_id"),
    [
        ({"Messagebird-Request-Id": "mb-1"}, "mb-1"),
        ({"X-Request-Id": "x-1"}, "x-1"),
        ({"X-Request-Id": "x-1", "Messagebird-Request-Id": "mb-1"}, "mb-1"),
        # An empty header names no request: the other one does, or none.
        ({"X-Request-Id": "x-1", "Messagebird-Request-Id": ""}, "x-1"),
        ({"Messagebird-Request-Id": "", "X-Request-Id": ""}, None),
        ({}, None),
    ],
)
async def test_the_request_id_comes_from_either_header(flash, bird, headers, request_id):
    error = await error_of(flash, bird, reply(404, headers=headers))

    assert error.request_id == request_id
    ends = f"flash call id. [request id {request_id}]" if request_id else "the flash call id."
    assert str(error).endswith(ends)


# What an error keeps: the response and the request, without the access key.


async def test_the_error_keeps_the_response_and_the_request_sent_without_the_key(flash, bird):
    body = {"code": "Forbidden", "message": f"bad key {ACCESS_KEY}"}  # the key echoed back
    headers = {"X-Request-Id": "req-9", "X-Echo": ACCESS_KEY}

    error = await error_of(flash, bird, reply(403, body, headers=headers))

    assert error.response.json() == {"code": "Forbidden", "message": "bad key ***"}
    assert ACCESS_KEY.encode() not in error.response.content
    assert "bad key ***" in str(error)
    assert error.response.headers["X-Request-Id"] == "req-9"
    assert error.response.headers["X-Echo"] == "***"
    request = error.response.request
    assert request.headers["Authorization"] == "AccessKey ***"
    assert request.headers["User-Agent"].startswith("bird-flashcalls/")
    assert request.url.path.endswith(CALL_ID)
    assert json.loads(request.content) == {"result": "verified"}


@BOTH_CLIENTS
async def test_a_compressed_error_body_is_kept_decoded_without_its_encoding(flash, bird):
    payload = json.dumps({"code": "Busy", "message": "later"}).encode()
    gzipped = reply(503, content=gzip.compress(payload), headers={"Content-Encoding": "gzip"})

    error = await error_of(flash, bird, gzipped)

    assert (error.code, error.response.content) == ("Busy", payload)
    assert "Content-Encoding" not in error.response.headers
    assert error.response.headers.get("Content-Length") in (None, str(len(payload)))


# Errors without a response.


@pytest.mark.parametrize(
    ("raised", "error_class", "says"),
    [
        (httpx.ConnectTimeout("dns slow"), APITimeoutError, "timed out connecting (dns slow)"),
        (httpx.ReadTimeout("no bytes"), APITimeoutError, "timed out waiting (no bytes)"),
        (httpx.ReadTimeout(""), APITimeoutError, "timed out waiting (ReadTimeout)"),
        (httpx.ConnectError("refused"), APIConnectionError, "failed: ConnectError: refused"),
        (httpx.ConnectError(""), APIConnectionError, "failed: ConnectError: no detail"),
    ],
)
async def test_a_connection_error_names_the_call_the_host_and_what_happened(
    flash, bird, raised, error_class, says
):
    bird.always(raises(raised))

    with pytest.raises(APIConnectionError) as caught:
        await flash(max_retries=0).end(CALL_ID, result="verified")

    assert type(caught.value) is error_class
    assert str(caught.value).startswith(f"end() to api.bird.test {says}; tried 1 time(s)")
    assert str(caught.value).endswith(". Check the network and base_url, or raise the timeout")


# Socket and TLS errors a dependency lets through unmapped (httpcore 1.0.0, a TLS handshake
# through a proxy) are still BirdErrors; each client catches what escapes its own transport.
REFUSED = "certificate verify failed"


@BOTH_CLIENTS
@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(
    ("error", "says", "delivered"),
    [
        # Refused in the handshake: nothing was sent, so even create may try again.
        (ssl.SSLCertVerificationError(f"{REFUSED}: unable to get issuer"), REFUSED, False),
        # create is not sent again once it may have reached Bird; end and hangup are.
        (ConnectionResetError(104, "Connection reset by peer"), "reset by peer", True),
    ],
    ids=["refused-certificate", "raw-socket-error"],
)
async def test_an_unmapped_socket_error_is_a_connection_error(
    flash, bird, sleeps, operation, error, says, delivered
):
    bird.always(raises(error))

    with pytest.raises(APIConnectionError, match=says) as caught:
        await OPERATIONS[operation](flash(max_retries=1))

    assert caught.value.may_have_been_delivered is delivered
    assert len(bird.requests) == (1 if delivered and operation == "create" else 2)


# Every error can be kept: pickled (as a job queue stores a failed task's exception), copied.


def _says(status: int, body: Any = None, **headers: str) -> Any:
    headers = {"Messagebird-Request-Id": REQUEST_ID, **headers}
    if isinstance(body, bytes):
        return reply(status, content=body, headers=headers)
    return reply(status, body, headers=headers)


SCRIPTED: list[tuple[Any, str]] = [
    (_says(400, {"code": "InvalidRequest", "message": "not JSON"}), "create"),
    (_says(401, {"code": "Unauthorized", "message": "bad key"}), "create"),
    (_says(403, {"code": "Forbidden", "message": "no role"}), "end"),
    (_says(404, {"code": "NotFound", "message": "no such call"}), "end"),
    (_says(409, {"code": "Conflict", "message": "already ended"}), "end"),
    (_says(422, {"code": "Invalid", "message": "bad", "details": {".to": ["bad"]}}), "create"),
    (_says(429, {"code": "TooMany", "message": "slow"}, **{"Retry-After": "3600"}), "end"),
    (_says(500, b"<html>boom</html>"), "end"),
    (_says(418, {"code": "Teapot", "message": "short and stout"}), "end"),
    (_says(202, b"<html>not json</html>"), "create"),
    (raises(httpx.ConnectError), "create"),
    (raises(httpx.ReadTimeout), "create"),
]


async def every_kind_of_error(flash: Any, bird: ScriptedBird) -> list[BirdError]:
    """One error of each class in bird_flashcalls.errors, most of them raised by a client."""
    fc = flash(max_retries=0)
    raised: list[BirdError] = []
    for step, call in SCRIPTED:
        bird.then(step)
        with pytest.raises(BirdError) as caught:
            await (fc.create(CALLEE) if call == "create" else fc.end(CALL_ID, result="verified"))
        raised.append(caught.value)
    with pytest.raises(BirdError) as caught:
        await fc.create("not a number")
    raised.append(caught.value)
    with pytest.raises(ConfigurationError) as refused:
        FlashCalls(ACCESS_KEY, "not-a-uuid", CHANNEL_ID)
    assert refused.value.field == "workspace_id"  # copies and pickles keep it
    raised.append(refused.value)
    closed = FlashCalls(ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, BASE_URL)
    closed.close()
    with pytest.raises(ClientClosedError) as caught:
        closed.create(CALLEE)
    raised.append(caught.value)
    # Needs two event loops alive at once; its shape is that of any message-only error.
    raised.append(EventLoopError("this AsyncFlashCalls is in use on another event loop"))
    raised.append(BirdError("the base class"))
    classes = {getattr(errors, name) for name in errors.__all__}
    assert {type(error) for error in raised} == {
        cls for cls in classes if isinstance(cls, type) and issubclass(cls, BirdError)
    }
    return raised


async def test_every_error_survives_pickle_copy_deepcopy_and_unpickling_in_another_process(
    flash, bird, tmp_path: Path
):
    raised = await every_kind_of_error(flash, bird)
    for error in raised:
        kept = [copy.copy(error), copy.deepcopy(error)]
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            pickled = pickle.dumps(error, protocol=protocol)
            assert ACCESS_KEY.encode() not in pickled
            kept.append(pickle.loads(pickled))
        for restored in kept:
            assert type(restored) is type(error)
            assert restored is not error
            assert error_fields(restored) == error_fields(error), type(error).__name__
        if isinstance(error, APIStatusError):  # a deep copy shares no mutable part
            copy.deepcopy(error).details.setdefault("x", []).append("changed")
            assert "x" not in error.details
    # What a job queue's result backend does: one process stores it, another loads it.
    stored = tmp_path / "errors.pickle"
    stored.write_bytes(pickle.dumps(raised))
    loader = (
        "import pickle, sys\n"
        f"sys.path.insert(0, {str(TESTS)!r})\n"
        "from shared import error_fields\n"
        "loaded = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "sys.stdout.buffer.write(pickle.dumps([error_fields(e) for e in loaded]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", loader, str(stored)], capture_output=True, check=True, timeout=60
    )

    assert pickle.loads(done.stdout) == [error_fields(error) for error in raised]
    assert done.stderr == b""
