"""When the client tries again, how long it waits, and when it must not send twice."""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import time

import httpx
import pytest
from bird_flashcalls import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncFlashCalls,
    AuthenticationError,
    Backoff,
    BadRequestError,
    FlashCalls,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    UnprocessableEntityError,
    _client,
    _responses,
)
from bird_flashcalls._retry import parse_retry_after

from .support import (
    ACCESS_KEY,
    BASE_URL,
    CALL_ID,
    CALLEE,
    CHANNEL_ID,
    FLASHCALLS_PATH,
    OPERATIONS,
    REAL_422,
    WORKSPACE_ID,
    ChunkedBody,
    ModuleView,
    ScriptedBird,
    raises,
    reply,
    request_error_body,
    streamed,
)

pytestmark = pytest.mark.anyio

RETRYABLE = [500, 502, 503, 504, 408, 429]
# A 500, 502 or 504 may come after Bird placed the call: create is not sent again after them.
CREATE_RETRYABLE = [503, 408, 429]
MAY_HAVE_ACTED = [500, 502, 504]
RETRY_CASES = [
    (operation, status)
    for operation in OPERATIONS
    for status in (CREATE_RETRYABLE if operation == "create" else RETRYABLE)
]


@pytest.mark.parametrize(("operation", "status"), RETRY_CASES)
async def test_a_retryable_status_then_success_succeeds(
    flash, bird: ScriptedBird, sleeps, operation, status
):
    bird.then(reply(status, request_error_body("Busy", "try again")))

    result = await OPERATIONS[operation](flash())

    assert result is not None
    assert len(bird.requests) == 2
    assert bird.requests[0].content == bird.requests[1].content
    assert len(sleeps) == 1


@pytest.mark.parametrize("status", MAY_HAVE_ACTED)
async def test_create_is_not_sent_again_after_a_status_that_may_follow_the_call(
    flash, bird: ScriptedBird, sleeps, status
):
    bird.then(reply(status, request_error_body("Upstream", "gateway gave up")))

    with pytest.raises(InternalServerError) as caught:
        await flash(max_retries=3).create(CALLEE)

    assert caught.value.status_code == status
    assert caught.value.may_have_been_delivered is True
    assert len(bird.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [503, 408, 429, 400, 404])
async def test_statuses_that_say_nothing_was_done_are_not_delivered(
    flash, bird: ScriptedBird, status
):
    bird.always(reply(status, request_error_body("Busy", "not now")))

    with pytest.raises(APIStatusError) as caught:
        await flash(max_retries=0).create(CALLEE)

    assert caught.value.may_have_been_delivered is False


async def test_retries_really_wait_with_a_fast_backoff(flash, bird: ScriptedBird):
    # No recorded sleep here: the real time.sleep / asyncio.sleep path runs.
    bird.then(reply(503), reply(429))

    call = await flash(max_retries=2).create(CALLEE)

    assert call.to == CALLEE
    assert len(bird.requests) == 3


@pytest.mark.parametrize("max_retries", [0, 1, 3])
@pytest.mark.parametrize(
    ("status", "error_class"),
    [(503, InternalServerError), (429, RateLimitError), (408, APIStatusError)],
)
async def test_attempts_are_max_retries_plus_one(
    flash, bird: ScriptedBird, sleeps, max_retries, status, error_class
):
    bird.always(reply(status, request_error_body("Busy", "still busy")))

    with pytest.raises(APIStatusError) as caught:
        await flash(max_retries=max_retries).end(CALL_ID, result="verified")

    assert type(caught.value) is error_class
    assert len(bird.requests) == max_retries + 1
    assert len(sleeps) == max_retries


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(
    ("status", "error_class", "body"),
    [
        (400, BadRequestError, request_error_body("InvalidRequest", "bad")),
        (401, AuthenticationError, request_error_body("Unauthorized", "bad key")),
        (404, NotFoundError, request_error_body()),
        (422, UnprocessableEntityError, REAL_422),
    ],
)
async def test_a_client_error_is_never_retried(
    flash, bird: ScriptedBird, sleeps, operation, status, error_class, body
):
    bird.always(reply(status, body))

    with pytest.raises(error_class):
        await OPERATIONS[operation](flash(max_retries=3))

    assert len(bird.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    ("failure", "error_class"),
    [(httpx.ReadTimeout, APITimeoutError), (httpx.RemoteProtocolError, APIConnectionError)],
)
async def test_create_is_sent_exactly_once_when_it_may_have_been_delivered(
    flash, bird: ScriptedBird, sleeps, failure, error_class
):
    bird.then(raises(failure))

    with pytest.raises(APIConnectionError) as caught:
        await flash(max_retries=3).create(CALLEE)

    assert type(caught.value) is error_class
    assert caught.value.may_have_been_delivered is True
    assert "not sent again" in str(caught.value)
    assert caught.value.request is not None
    assert caught.value.request.url.path == FLASHCALLS_PATH
    assert len(bird.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError]
)
async def test_create_is_not_resent_after_any_failure_past_sending(
    flash, bird: ScriptedBird, failure
):
    bird.then(raises(failure))

    with pytest.raises(APIConnectionError) as caught:
        await flash(max_retries=3).create(CALLEE)

    assert caught.value.may_have_been_delivered is True
    assert len(bird.requests) == 1


@pytest.mark.parametrize("operation", ["end", "hangup"])
@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.RemoteProtocolError])
async def test_end_and_hangup_are_retried_when_they_may_have_been_delivered(
    flash, bird: ScriptedBird, sleeps, operation, failure
):
    bird.then(raises(failure), raises(failure))

    result = await OPERATIONS[operation](flash(max_retries=2))

    assert result is not None
    assert len(bird.requests) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("operation", ["end", "hangup"])
@pytest.mark.parametrize(
    ("failure", "error_class"),
    [(httpx.ReadTimeout, APITimeoutError), (httpx.RemoteProtocolError, APIConnectionError)],
)
async def test_end_and_hangup_give_up_after_max_retries(
    flash, bird: ScriptedBird, sleeps, operation, failure, error_class
):
    bird.always(raises(failure))

    with pytest.raises(APIConnectionError) as caught:
        await OPERATIONS[operation](flash(max_retries=2))

    assert type(caught.value) is error_class
    assert caught.value.may_have_been_delivered is True
    assert "tried 3 time(s)" in str(caught.value)
    assert len(bird.requests) == 3


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("failure", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
async def test_a_failure_before_sending_is_retried_for_every_operation(
    flash, bird: ScriptedBird, sleeps, operation, failure
):
    bird.then(raises(failure), raises(failure))

    result = await OPERATIONS[operation](flash(max_retries=2))

    assert result is not None
    assert len(bird.requests) == 3


@pytest.mark.parametrize(
    ("failure", "error_class"),
    [
        (httpx.ConnectError, APIConnectionError),
        (httpx.ConnectTimeout, APITimeoutError),
        (httpx.PoolTimeout, APITimeoutError),
    ],
)
async def test_create_gives_up_on_connect_failures_saying_nothing_was_delivered(
    flash, bird: ScriptedBird, sleeps, failure, error_class
):
    bird.always(raises(failure))

    with pytest.raises(APIConnectionError) as caught:
        await flash(max_retries=2).create(CALLEE)

    assert type(caught.value) is error_class
    assert caught.value.may_have_been_delivered is False
    assert "not sent again" not in str(caught.value)
    assert "tried 3 time(s)" in str(caught.value)
    assert len(bird.requests) == 3
    assert len(sleeps) == 2


async def test_backoff_grows_exponentially_up_to_the_cap(flash, bird: ScriptedBird, sleeps):
    bird.always(reply(503))

    with pytest.raises(InternalServerError):
        await flash(backoff=Backoff(initial_delay=1.0, max_delay=3.0), max_retries=4).create(CALLEE)

    assert len(sleeps) == 4
    for delay, (low, high) in zip(
        sleeps, [(0.75, 1.0), (1.5, 2.0), (2.25, 3.0), (2.25, 3.0)], strict=True
    ):
        assert low <= delay <= high


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_in_seconds_is_honoured(flash, bird: ScriptedBird, sleeps, status):
    bird.then(reply(status, headers={"Retry-After": "7"}))

    await flash().create(CALLEE)

    assert sleeps == [7.0]
    assert len(bird.requests) == 2


async def test_retry_after_as_an_http_date_is_honoured(flash, bird: ScriptedBird, sleeps):
    in_30_seconds = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30)
    http_date = email.utils.format_datetime(in_30_seconds, usegmt=True)
    bird.then(reply(429, headers={"Retry-After": http_date}))

    await flash().create(CALLEE)

    [delay] = sleeps
    assert 28.0 < delay <= 30.0


@pytest.mark.parametrize("garbage", ["soon", "", "-5", "nan", "inf", "1e999", "Thu, 99 Foo"])
async def test_a_garbage_retry_after_falls_back_to_backoff(
    flash, bird: ScriptedBird, sleeps, garbage
):
    bird.then(reply(429, headers={"Retry-After": garbage}))

    await flash(backoff=Backoff(initial_delay=1.0, max_delay=3.0)).create(CALLEE)

    [delay] = sleeps
    assert 0.75 <= delay <= 1.0


async def test_retry_after_above_the_limit_raises_at_once(flash, bird: ScriptedBird, sleeps):
    bird.always(
        reply(429, request_error_body("TooManyRequests", "later"), headers={"Retry-After": "6"})
    )

    with pytest.raises(RateLimitError) as caught:
        await flash(backoff=Backoff(max_retry_after=5.0), max_retries=3).create(CALLEE)

    assert caught.value.retry_after == 6.0
    assert "6 s" in str(caught.value)
    assert len(bird.requests) == 1
    assert sleeps == []


async def test_retry_after_at_the_limit_is_still_waited_for(flash, bird: ScriptedBird, sleeps):
    bird.then(reply(429, headers={"Retry-After": "5"}))

    await flash(backoff=Backoff(max_retry_after=5.0)).create(CALLEE)

    assert sleeps == [5.0]


async def test_a_5xx_retry_after_above_the_limit_raises_at_once(flash, bird: ScriptedBird, sleeps):
    bird.always(reply(503, headers={"Retry-After": "3600"}))

    with pytest.raises(InternalServerError):
        await flash(max_retries=3).create(CALLEE)

    assert len(bird.requests) == 1
    assert sleeps == []


async def test_the_last_rate_limit_error_carries_retry_after(flash, bird: ScriptedBird, sleeps):
    bird.always(reply(429, headers={"Retry-After": "2"}))

    with pytest.raises(RateLimitError) as caught:
        await flash(max_retries=1).create(CALLEE)

    assert caught.value.retry_after == 2.0
    assert sleeps == [2.0]
    assert len(bird.requests) == 2


async def test_with_options_max_retries_applies_per_call(flash, bird: ScriptedBird, sleeps):
    bird.always(reply(503))
    fc = flash(max_retries=2)

    with pytest.raises(InternalServerError):
        await fc.with_options(max_retries=0).create(CALLEE)
    assert len(bird.requests) == 1

    with pytest.raises(InternalServerError):
        await fc.create(CALLEE)
    assert len(bird.requests) == 1 + 3


# The whole attempt, body included, is bounded by `timeout`.


def test_sync_a_body_that_outlives_the_timeout_is_a_timeout(monkeypatch, bird: ScriptedBird):
    clock = [1000.0]

    def monotonic() -> float:
        return clock[0]

    class SlowBody(ChunkedBody):
        def __iter__(self):
            for chunk in super().__iter__():
                clock[0] += 0.6  # each chunk takes 0.6 s of the 1 s budget
                yield chunk

    # The attempt starts in the client; the body reader checks the deadline.
    for module in (_client, _responses):
        monkeypatch.setattr(module, "time", ModuleView(time, monotonic=monotonic))
    body = SlowBody(b" " * 10, 5)
    bird.then(streamed(202, body))

    with httpx.Client(transport=httpx.MockTransport(bird)) as http:
        fc = FlashCalls(
            ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, BASE_URL, timeout=1.0, http_client=http
        )
        with pytest.raises(APITimeoutError) as caught:
            fc.create(CALLEE)

    assert caught.value.may_have_been_delivered is True
    assert body.pulled == 2
    assert len(bird.requests) == 1


async def test_async_a_response_that_never_completes_is_a_timeout(bird: ScriptedBird):
    async def never_answers(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    bird.then(never_answers)
    async with httpx.AsyncClient(transport=httpx.MockTransport(bird)) as http:
        fc = AsyncFlashCalls(
            ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, BASE_URL, timeout=0.05, http_client=http
        )
        with pytest.raises(APITimeoutError) as caught:
            await fc.create(CALLEE)

    assert caught.value.may_have_been_delivered is True
    assert "0.05" in str(caught.value)
    assert len(bird.requests) == 1


async def test_async_a_body_that_stops_arriving_is_retried_for_end(bird: ScriptedBird, sleeps):
    class StalledBody(ChunkedBody):
        async def __aiter__(self):
            yield b'{"result":'
            await asyncio.Event().wait()

    bird.then(streamed(202, StalledBody(b"", 0)), reply(202, {"result": "verified"}))
    async with httpx.AsyncClient(transport=httpx.MockTransport(bird)) as http:
        fc = AsyncFlashCalls(
            ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, BASE_URL, timeout=0.05, http_client=http
        )
        ended = await fc.end(CALL_ID, result="verified")

    assert ended.result == "verified"
    assert len(bird.requests) == 2


async def test_the_timeout_reaches_httpx_per_request(flash, bird: ScriptedBird):
    fc = flash()

    await fc.create(CALLEE)
    await fc.with_options(timeout=3.0).create(CALLEE)
    await fc.with_options(timeout=httpx.Timeout(7.0, connect=1.0)).create(CALLEE)

    timeouts = [request.extensions["timeout"] for request in bird.requests]
    assert timeouts == [
        {"connect": 5.0, "read": 10.0, "write": 10.0, "pool": 10.0},
        {"connect": 3.0, "read": 3.0, "write": 3.0, "pool": 3.0},
        {"connect": 1.0, "read": 7.0, "write": 7.0, "pool": 7.0},
    ]


async def test_each_request_carries_its_own_timeout_extension(flash, bird: ScriptedBird):
    fc = flash()

    await fc.create(CALLEE)
    await fc.create(CALLEE)

    first, second = (request.extensions["timeout"] for request in bird.requests)
    assert first == second
    assert first is not second  # a hook that edits one request's timeout leaves the next alone


# The pure decisions, with time and randomness injected.


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        ("1e999", None),
        ("", None),
        ("soon", None),
        ("Thu, 32 Foo 2024 99:00:00 GMT", None),
    ],
)
def test_parse_retry_after_seconds_and_garbage(value, seconds):
    assert parse_retry_after(value, now=lambda: 0.0) == seconds


NOW = datetime.datetime(2015, 10, 21, 7, 28, 0, tzinfo=datetime.UTC).timestamp()


@pytest.mark.parametrize(
    "http_date",
    [
        "Wed, 21 Oct 2015 07:28:30 GMT",  # IMF-fixdate
        "Wednesday, 21-Oct-15 07:28:30 GMT",  # obsolete RFC 850 form
        "Wed, 21 Oct 2015 07:28:30 +0000",
        email.utils.format_datetime(
            datetime.datetime(2015, 10, 21, 7, 28, 30, tzinfo=datetime.UTC), usegmt=True
        ),
    ],
)
def test_parse_retry_after_http_dates(http_date):
    assert parse_retry_after(http_date, now=lambda: NOW) == 30.0


def test_parse_retry_after_asctime_date():
    # RFC 9110 5.6.7: a recipient MUST accept all three HTTP-date formats; asctime has no zone
    # and is GMT by definition.
    assert parse_retry_after("Wed Oct 21 07:28:30 2015", now=lambda: NOW) == 30.0


def test_parse_retry_after_a_past_date_means_now():
    assert parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now=lambda: NOW) == 0.0


@pytest.mark.parametrize(
    ("retry_number", "jitter", "delay"),
    [
        (0, 0.0, 0.5),
        (1, 0.0, 1.0),
        (2, 0.0, 2.0),
        (4, 0.0, 8.0),
        (5, 0.0, 8.0),  # capped at max_delay
        (0, 0.5, 0.5 * 0.875),
        (3, 0.5, 4.0 * 0.875),
        (9, 0.5, 8.0 * 0.875),
    ],
)
def test_backoff_delay_without_retry_after(retry_number, jitter, delay):
    assert Backoff().delay(retry_number, None, jitter) == pytest.approx(delay)


def test_backoff_jitter_only_shortens_by_a_quarter_at_most():
    backoff = Backoff(initial_delay=2.0, max_delay=2.0)
    assert backoff.delay(0, None, 0.0) == 2.0
    assert 1.5 < backoff.delay(0, None, 0.999999) < 1.5001


@pytest.mark.parametrize(
    ("retry_after", "delay"),
    [(0.0, 0.0), (12.5, 12.5), (60.0, 60.0), (60.5, 0.5), (-3.0, 0.5)],
)
def test_backoff_delay_with_retry_after(retry_after, delay):
    # Within max_retry_after the server's wait wins, jitter or not; beyond it, the backoff.
    assert Backoff().delay(0, retry_after, 0.0) == pytest.approx(delay)
    assert Backoff().delay(0, retry_after, 0.99) == pytest.approx(delay, abs=0.125)


@pytest.mark.parametrize("retry_number", [30, 1023, 1100, 10_000])
def test_backoff_delay_stays_at_the_cap_for_any_retry_number(retry_number):
    # max_retries has no upper bound, so neither has the retry number.
    assert Backoff().delay(retry_number, None, 0.0) == 8.0
