"""What an error says and keeps, status by status: the hint a user acts on, Bird's fields, the
body's text, and the request and response it holds (with the access key taken out)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from bird_flashcalls import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    Backoff,
    FlashCalls,
)

from .support import (
    ACCESS_KEY,
    BASE_URL,
    CALL_ID,
    CALLEE,
    CHANNEL_ID,
    WORKSPACE_ID,
    MiB,
    Step,
    reply,
)

NO_WAIT = Backoff(initial_delay=0, max_delay=0)


@pytest.fixture
def client() -> Iterator[Callable[..., FlashCalls]]:
    """A FlashCalls whose requests ``handler`` answers."""
    opened: list[httpx.Client] = []

    def make(handler: Step, **options: object) -> FlashCalls:
        http = httpx.Client(transport=httpx.MockTransport(handler))
        opened.append(http)
        settings: dict[str, object] = {"max_retries": 0, "backoff": NO_WAIT, **options}
        return FlashCalls(
            ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, BASE_URL, http_client=http, **settings
        )  # type: ignore[arg-type]

    yield make
    for http in opened:
        http.close()


def error_of(client: Callable[..., FlashCalls], handler: Step, **options: object) -> APIStatusError:
    with pytest.raises(APIStatusError) as caught:
        client(handler, **options).end(CALL_ID, result="verified")
    assert ACCESS_KEY not in str(caught.value)
    return caught.value


# The hint a user acts on, for each kind of status.


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (400, "Bird could not read the request; check the fields sent."),
        (401, "Check the access key (BIRD_ACCESS_KEY): it is missing, wrong or revoked."),
        (403, "roles do not allow flash calls on this channel: check them in the Bird dashboard."),
        (404, "Check workspace_id, channel_id and the flash call id."),
        (409, "The flash call is in a state that does not allow this (already ended?)."),
        (422, "Fix the fields listed in details."),
        (429, "Too many requests: slow down and try again later."),
        (418, "See the status and body in .response."),
        (499, "See the status and body in .response."),
        (500, "Bird failed; tried 1 time(s), try again later."),
        (501, "Bird failed; tried 1 time(s), try again later."),
        (599, "Bird failed; tried 1 time(s), try again later."),
    ],
)
def test_each_status_ends_with_the_hint_to_act_on(client, status, hint):
    error = error_of(client, reply(status, {"code": "Code", "message": "says Bird"}))

    assert str(error).endswith(hint)
    assert f"Bird answered {status}" in str(error)


def test_the_5xx_hint_counts_every_attempt(client):
    error = error_of(client, reply(502), max_retries=2)

    assert str(error).endswith("Bird failed; tried 3 time(s), try again later.")


def test_a_429_with_retry_after_says_how_long_bird_asks_to_wait(client):
    error = error_of(client, reply(429, headers={"Retry-After": "90"}))

    assert str(error).endswith("Too many requests: Bird asks to wait 90 s before trying again.")


@pytest.mark.parametrize("status", [300, 302, 307, 399])
def test_a_redirect_is_not_followed_and_says_where_it_led(client, status):
    error = error_of(client, reply(status, headers={"Location": "https://elsewhere.example/x"}))

    assert str(error).endswith(
        "Redirect to https://elsewhere.example/x not followed, so the access key stays with "
        f"{BASE_URL}; check base_url."
    )


def test_a_redirect_without_a_location_says_so(client):
    error = error_of(client, reply(301))

    assert "Redirect to (no Location) not followed" in str(error)


# What Bird said, and what the body said when it is not Bird's error shape.


def test_birds_code_message_and_details_are_all_shown(client):
    body = {
        "code": "InvalidPayload",
        "message": "fields are malformed",
        "details": {"to": ["is not E.164", "is required"], "ringTimeout": ["too long"]},
    }

    error = error_of(client, reply(422, body))

    assert str(error).startswith(
        "Bird answered 422 Unprocessable Entity: InvalidPayload: fields are malformed "
        "(to: is not E.164, is required; ringTimeout: too long). Fix the fields"
    )
    assert (error.code, error.message) == ("InvalidPayload", "fields are malformed")
    assert error.details == body["details"]


def test_an_empty_code_or_message_is_said_to_be_missing(client):
    code_only = error_of(client, reply(409, {"code": "AlreadyEnded", "message": ""}))
    message_only = error_of(client, reply(409, {"code": "", "message": "the call has ended"}))

    assert str(code_only).startswith("Bird answered 409 Conflict: AlreadyEnded: (no message). ")
    assert str(message_only).startswith("Bird answered 409 Conflict: error: the call has ended. ")


def test_a_body_that_is_not_birds_error_is_shown_as_text(client):
    error = error_of(client, reply(503, content=b"  upstream connect error  "))

    assert str(error).startswith("Bird answered 503 Service Unavailable: upstream connect error. ")
    assert (error.code, error.message) == (None, str(error))


def test_a_long_body_shows_its_first_200_characters(client):
    text = "".join(chr(ord("a") + i % 26) for i in range(300))

    error = error_of(client, reply(500, content=text.encode()))

    assert f": {text[:200]}. Bird failed" in str(error)


def test_an_error_body_that_is_not_utf8_is_shown_with_replacement_characters(client):
    error = error_of(client, reply(500, content=b"bad gateway \xff\xfe here"))

    assert "bad gateway \ufffd\ufffd here" in str(error)
    assert error.response.content == b"bad gateway \xff\xfe here"


def test_an_empty_or_blank_body_adds_nothing(client):
    error = error_of(client, reply(500, content=b" \n "))

    assert (
        str(error)
        == "Bird answered 500 Internal Server Error. Bird failed; tried 1 time(s), try again later."
    )


def test_without_a_request_id_the_message_ends_with_the_hint(client):
    error = error_of(client, reply(404))

    assert error.request_id is None
    assert str(error).endswith("channel_id and the flash call id.")


def test_a_request_id_is_named_at_the_end(client):
    error = error_of(client, reply(404, headers={"X-Request-Id": "req-7"}))

    assert error.request_id == "req-7"
    assert str(error).endswith("flash call id. [request id req-7]")


# What an error keeps: the response and the request, without the access key.


def test_the_error_keeps_the_response_body_and_headers(client):
    body = {"code": "Forbidden", "message": "no"}

    error = error_of(client, reply(403, body, headers={"X-Request-Id": "req-9"}))

    assert error.response.status_code == 403
    assert error.response.json() == body
    assert error.response.headers["X-Request-Id"] == "req-9"


def test_a_compressed_error_body_is_kept_decoded_without_its_encoding(client):
    payload = json.dumps({"code": "Busy", "message": "later"}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            503, content=gzip.compress(payload), headers={"Content-Encoding": "gzip"}
        )

    error = error_of(client, handler)

    assert error.code == "Busy"
    assert error.response.content == payload
    assert "Content-Encoding" not in error.response.headers
    assert error.response.headers.get("Content-Length") in (None, str(len(payload)))


def test_the_request_an_error_holds_is_the_one_sent_without_the_key(client):
    error = error_of(client, reply(400))

    request = error.response.request
    assert request.headers["Authorization"] == "AccessKey ***"
    assert request.headers["User-Agent"].startswith("bird-flashcalls/")
    assert request.url.path.endswith(CALL_ID)
    assert json.loads(request.content) == {"result": "verified"}


def test_a_key_echoed_in_a_header_or_body_is_redacted_in_the_copy(client):
    error = error_of(
        client, reply(401, content=f"bad key {ACCESS_KEY}".encode(), headers={"X-Echo": ACCESS_KEY})
    )

    assert ACCESS_KEY.encode() not in error.response.content
    assert error.response.headers["X-Echo"] == "***"
    assert "bad key ***" in str(error)


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
def test_a_connection_error_names_the_call_the_host_and_what_happened(
    client, raised, error_class, says
):
    def handler(request: httpx.Request) -> httpx.Response:
        raise raised

    with pytest.raises(APIConnectionError) as caught:
        client(handler).end(CALL_ID, result="verified")

    assert type(caught.value) is error_class
    message = str(caught.value)
    assert message.startswith(f"end() to api.bird.test {says}; tried 1 time(s)")
    assert message.endswith(". Check the network and base_url, or raise the timeout")


def test_a_create_that_may_have_reached_bird_says_why_it_was_not_sent_again(client):
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    with pytest.raises(APITimeoutError) as caught:
        client(handler, max_retries=2).create(CALLEE)

    assert "tried 1 time(s). The request may have reached Bird, so it was not sent again" in str(
        caught.value
    )
    assert caught.value.may_have_been_delivered is True


def test_a_response_too_large_keeps_no_body(client):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(202, content=b"x", headers={"Content-Length": str(11 * MiB)})

    with pytest.raises(APIResponseValidationError) as caught:
        client(handler).end(CALL_ID, result="verified")

    assert caught.value.body == b""
    assert "larger than 10 MB" in str(caught.value)


# Body sizes: the limit itself is allowed.

LIMIT = 10 * MiB


def padded_call(size: int) -> bytes:
    body = json.dumps(
        {
            "id": CALL_ID,
            "channelId": CHANNEL_ID,
            "from": "+31201234567",
            "to": CALLEE,
            "status": "accepted",
            "ringTimeout": 30,
            "createdAt": "2024-05-01T10:00:00Z",
            "updatedAt": "2024-05-01T10:00:00Z",
        }
    ).encode()
    return body + b" " * (size - len(body))


class Chunks(httpx.SyncByteStream):
    def __init__(self, content: bytes, size: int) -> None:
        self.content, self.size = content, size

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.content), self.size):
            yield self.content[start : start + self.size]


@pytest.mark.parametrize("declared", [True, False])
def test_a_body_of_exactly_the_limit_is_read(client, declared):
    content = padded_call(LIMIT)

    def handler(request: httpx.Request) -> httpx.Response:
        if declared:
            return httpx.Response(202, content=content)
        return httpx.Response(202, stream=Chunks(content, MiB))

    call = client(handler).create(CALLEE)

    assert call.to == CALLEE


def test_a_body_one_byte_over_the_limit_in_chunks_is_refused(client):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(202, stream=Chunks(padded_call(LIMIT + 1), MiB))

    with pytest.raises(APIResponseValidationError, match="larger than 10 MB"):
        client(handler).create(CALLEE)


@pytest.mark.parametrize(
    ("declared", "shown"),
    [
        (str(LIMIT + 1), f"({LIMIT + 1} bytes so far)"),
        (str(11 * MiB), f"({11 * MiB} bytes so far)"),
        ("9" * 15, f"({'9' * 15} bytes so far)"),
    ],
)
def test_a_declared_size_over_the_limit_is_named(client, declared, shown):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(202, content=b"{}", headers={"Content-Length": declared})

    with pytest.raises(APIResponseValidationError) as caught:
        client(handler).create(CALLEE)

    assert shown in str(caught.value)


@pytest.mark.parametrize(
    "declared", ["9" * 16, "9" * 20, "9" * 5000, "0" * 15 + "2", "0" * 40 + "2"]
)
def test_a_declared_size_of_more_than_15_digits_is_refused_unread(client, declared):
    # Its value is not even read: int() of thousands of digits is slow, then refused.
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(202, content=b"{}", headers={"Content-Length": declared})

    with pytest.raises(APIResponseValidationError) as caught:
        client(handler).create(CALLEE)

    size = int(str(caught.value).split("MB (")[1].split(" bytes")[0])
    assert size > LIMIT


def test_a_declared_size_of_15_digits_is_read_as_a_number(client):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(202, content=b"{}", headers={"Content-Length": "0" * 14 + "2"})

    with pytest.raises(APIResponseValidationError) as caught:
        client(handler).create(CALLEE)

    assert "lacks the required field" in str(caught.value)  # read, not refused for its size


def test_a_200_is_a_success_as_a_202_is(client):
    call = client(reply(200, content=padded_call(400))).create(CALLEE)

    assert call.to == CALLEE


@pytest.mark.parametrize("status", [199, 300])
def test_statuses_just_outside_2xx_are_not_a_success(client, status):
    with pytest.raises(APIStatusError):
        client(reply(status, content=padded_call(400))).create(CALLEE)


def test_a_status_without_a_reason_phrase_has_no_trailing_space(client):
    error = error_of(client, reply(499))

    assert str(error).startswith("Bird answered 499. See the status")
