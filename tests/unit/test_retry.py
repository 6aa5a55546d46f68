"""When the client tries again, how long it waits, and when it must not send twice: the policy
directly, the decision after each attempt on the sync client, the I/O (sleeps, bodies) on both."""

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
    AuthenticationError,
    Backoff,
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    UnprocessableEntityError,
    _client,
    _responses,
)
from bird_flashcalls._retry import parse_retry_after

from .support import (
    BOTH_CLIENTS,
    CALL_ID,
    CALLEE,
    FLASHCALLS_PATH,
    OPERATIONS,
    REAL_422,
    ChunkedBody,
    ModuleView,
    driven,
    raises,
    reply,
    request_error_body,
    streamed,
)

pytestmark = pytest.mark.anyio

NOW = datetime.datetime(2015, 10, 21, 7, 28, 0, tzinfo=datetime.UTC).timestamp()

# The policy.


@pytest.fixture(params=["UTC0", "EST+05"], ids=["utc", "new-york"])
def machine_time_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """The process's local time zone: UTC, or five hours behind (a POSIX TZ, no tz database)."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("machine_time_zone")
@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("1.5", 1.5),
        *[(garbage, None) for garbage in ("-1", "nan", "NaN", "inf", "INF", "Infinity", "-inf")],
        *[(garbage, None) for garbage in ("1e999", "", "soon", "Thu, 32 Foo 2024 99:00:00 GMT")],
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),  # IMF-fixdate
        ("Wednesday, 21-Oct-15 07:28:30 GMT", 30.0),  # obsolete RFC 850 form
        ("Wed Oct 21 07:28:30 2015", 30.0),  # asctime: no zone, GMT by definition (RFC 9110)
        ("Wed, 21 Oct 2015 07:28:30 +0000", 30.0),
        ("Wed, 21 Oct 2015 09:28:30 +0200", 30.0),  # an offset is applied, not dropped
        ("Wed, 21 Oct 2015 02:28:30 -0500", 30.0),
        ("Wed, 21 Oct 2015 07:28:30 -0000", 30.0),  # no zone said: GMT
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # past: now
    ],
)
def test_retry_after_is_seconds_or_an_http_date_in_gmt_whatever_the_local_zone(value, seconds):
    assert parse_retry_after(value, now=lambda: NOW) == seconds


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
        # max_retries has no upper bound, so neither has the retry number.
        *[(retry_number, 0.0, 8.0) for retry_number in (30, 1023, 1100, 10_000)],
    ],
)
def test_backoff_doubles_from_half_a_second_to_eight(retry_number, jitter, delay):
    assert Backoff().delay(retry_number, None, jitter) == pytest.approx(delay)


def test_backoff_jitter_only_shortens_by_a_quarter_at_most():
    backoff = Backoff(initial_delay=2.0, max_delay=2.0)

    assert backoff.delay(0, None, 0.0) == 2.0
    assert 1.5 < backoff.delay(0, None, 0.999999) < 1.5001


@pytest.mark.parametrize(
    ("retry_after", "delay"), [(0.0, 0.0), (12.5, 12.5), (60.0, 60.0), (60.5, 0.5), (-3.0, 0.5)]
)
def test_a_retry_after_up_to_a_minute_wins_over_the_backoff(retry_after, delay):
    assert Backoff().delay(0, retry_after, 0.0) == pytest.approx(delay)
    assert Backoff().delay(0, retry_after, 0.99) == pytest.approx(delay, abs=0.125)
    limited = Backoff(initial_delay=1.0, max_delay=1.0, max_retry_after=5.0)
    assert (limited.delay(0, 5.0, 0.0), limited.delay(0, 5.001, 0.0)) == (5.0, 1.0)


@pytest.mark.parametrize("setting", ["initial_delay", "max_delay", "max_retry_after"])
def test_backoff_takes_zero_or_more_seconds_only(setting):
    for value in (0, 0.0, 2, 2.5):
        assert getattr(Backoff(**{setting: value}), setting) == value
    for value in (-0.001, -1, float("nan"), "1", None, True):
        with pytest.raises(ConfigurationError, match=f"Backoff.{setting}"):
            Backoff(**{setting: value})


# The decision after each attempt.

RETRYABLE = [500, 502, 503, 504, 408, 429]
# A 500, 502 or 504 may come after Bird placed the call: create is not sent again after them.
CREATE_RETRYABLE = [503, 408, 429]


@pytest.mark.parametrize(
    ("operation", "status"),
    [
        (operation, status)
        for operation in OPERATIONS
        for status in (CREATE_RETRYABLE if operation == "create" else RETRYABLE)
    ],
)
async def test_a_retryable_status_is_sent_again_the_same(flash, bird, sleeps, operation, status):
    bird.then(reply(status, request_error_body("Busy", "try again")))

    assert await OPERATIONS[operation](flash()) is not None

    assert len(bird.requests) == 2
    assert bird.requests[0].content == bird.requests[1].content
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    ("status", "max_retries", "attempts", "delivered"),
    [
        *[(status, 3, 1, True) for status in (500, 502, 504)],
        *[
            (status, retries, retries + 1, False)
            for status in CREATE_RETRYABLE
            for retries in (0, 1, 3)
        ],
    ],
)
async def test_create_is_tried_max_retries_plus_one_times_unless_the_call_may_have_been_placed(
    flash, bird, sleeps, status, max_retries, attempts, delivered
):
    bird.always(reply(status, request_error_body("Upstream", "gateway gave up")))

    with pytest.raises(APIStatusError) as caught:
        await flash(max_retries=max_retries).create(CALLEE)

    assert caught.value.may_have_been_delivered is delivered
    assert (len(bird.requests), len(sleeps)) == (attempts, attempts - 1)


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(
    ("status", "reason", "body", "error_class"),
    [
        (400, "Bad Request", request_error_body("InvalidRequest", "bad"), BadRequestError),
        (401, "Unauthorized", request_error_body("Unauthorized", "bad key"), AuthenticationError),
        (404, "Not Found", request_error_body(), NotFoundError),
        (422, "Unprocessable Entity", REAL_422, UnprocessableEntityError),
    ],
)
async def test_a_client_error_is_never_retried_and_mapped_alike_for_every_operation(
    flash, bird, sleeps, operation, status, reason, body, error_class
):
    bird.always(reply(status, body))

    with pytest.raises(APIStatusError) as caught:
        await OPERATIONS[operation](flash(max_retries=3))

    assert type(caught.value) is error_class
    says = f"Bird answered {status} {reason}: {body['code']}: {body['message']}"
    assert str(caught.value).startswith(says)
    assert caught.value.may_have_been_delivered is False
    assert (len(bird.requests), sleeps) == (1, [])


@pytest.mark.parametrize(
    ("failure", "error_class"),
    [
        (httpx.ReadTimeout, APITimeoutError),
        (httpx.RemoteProtocolError, APIConnectionError),
        (httpx.ReadError, APIConnectionError),
        (httpx.WriteError, APIConnectionError),
    ],
)
async def test_create_is_sent_once_when_it_may_have_been_delivered_end_and_hangup_again(
    flash, bird, sleeps, failure, error_class
):
    bird.always(raises(failure))
    fc = flash(max_retries=2)

    with pytest.raises(APIConnectionError) as caught:
        await fc.create(CALLEE)

    assert type(caught.value) is error_class
    assert caught.value.may_have_been_delivered is True
    sent_once = "tried 1 time(s). The request may have reached Bird, so it was not sent again"
    assert sent_once in str(caught.value)
    assert caught.value.request.url.path == FLASHCALLS_PATH
    assert (len(bird.requests), sleeps) == (1, [])
    for operation in ("end", "hangup"):
        with pytest.raises(error_class, match=r"tried 3 time\(s\)") as caught:
            await OPERATIONS[operation](fc)
        assert caught.value.may_have_been_delivered is True
    assert (len(bird.requests), len(sleeps)) == (1 + 3 + 3, 2 + 2)


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(
    ("failure", "error_class"),
    [
        (httpx.ConnectError, APIConnectionError),
        (httpx.ConnectTimeout, APITimeoutError),
        (httpx.PoolTimeout, APITimeoutError),
    ],
)
async def test_a_failure_before_sending_is_retried_for_every_operation(
    flash, bird, sleeps, operation, failure, error_class
):
    bird.then(raises(failure), raises(failure))
    fc = flash(max_retries=2)

    assert await OPERATIONS[operation](fc) is not None
    assert len(bird.requests) == 3

    bird.always(raises(failure))
    with pytest.raises(APIConnectionError) as caught:
        await OPERATIONS[operation](fc)
    assert type(caught.value) is error_class
    assert caught.value.may_have_been_delivered is False
    assert "not sent again" not in str(caught.value)
    assert "tried 3 time(s)" in str(caught.value)


# How long it waits.


async def test_backoff_grows_exponentially_up_to_the_cap(flash, bird, sleeps):
    bird.always(reply(503))

    with pytest.raises(InternalServerError):
        await flash(backoff=Backoff(initial_delay=1.0, max_delay=3.0), max_retries=4).create(CALLEE)

    ranges = [(0.75, 1.0), (1.5, 2.0), (2.25, 3.0), (2.25, 3.0)]
    assert all(low <= delay <= high for delay, (low, high) in zip(sleeps, ranges, strict=True))


@pytest.mark.parametrize(
    ("status", "retry_after", "low", "high"),
    [
        (429, "7", 7.0, 7.0),
        (503, "7", 7.0, 7.0),
        (429, "5", 5.0, 5.0),  # the limit itself is waited for
        (429, "an HTTP date 30 s ahead", 28.0, 30.0),
        *[(429, garbage, 0.75, 1.0) for garbage in ("soon", "", "-5", "nan", "1e999")],
    ],
)
async def test_retry_after_is_honoured_up_to_the_limit(
    flash, bird, sleeps, status, retry_after, low, high
):
    if retry_after.startswith("an HTTP date"):
        moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30)
        retry_after = email.utils.format_datetime(moment, usegmt=True)
    bird.then(reply(status, headers={"Retry-After": retry_after}))
    backoff = Backoff(initial_delay=1.0, max_delay=3.0, max_retry_after=60.0 if low > 5 else 5.0)

    await flash(backoff=backoff).create(CALLEE)

    [delay] = sleeps
    assert low <= delay <= high
    assert len(bird.requests) == 2


@pytest.mark.parametrize(("status", "retry_after"), [(429, "6"), (503, "3600")])
async def test_a_retry_after_above_the_limit_raises_at_once(
    flash, bird, sleeps, status, retry_after
):
    bird.always(reply(status, headers={"Retry-After": retry_after}))

    with pytest.raises(APIStatusError) as caught:
        await flash(backoff=Backoff(max_retry_after=5.0), max_retries=3).create(CALLEE)

    if status == 429:
        assert caught.value.retry_after == 6.0
        ends = "Too many requests: Bird asks to wait 6 s before trying again."
        assert str(caught.value).endswith(ends)
    assert (len(bird.requests), sleeps) == (1, [])


async def test_a_derived_client_keeps_the_backoff_and_its_own_max_retries(flash, bird, sleeps):
    bird.always(reply(503))
    fc = flash(backoff=Backoff(initial_delay=3.0, max_delay=3.0), max_retries=2)

    with pytest.raises(InternalServerError):
        await driven(fc.wrapped.with_options(max_retries=1)).create(CALLEE)
    with pytest.raises(InternalServerError):
        await driven(fc.wrapped.with_options(max_retries=0)).create(CALLEE)
    with pytest.raises(InternalServerError):
        await fc.create(CALLEE)

    assert len(bird.requests) == 2 + 1 + 3
    assert all(2.25 <= delay <= 3.0 for delay in sleeps)


@BOTH_CLIENTS
async def test_retries_really_wait_with_a_fast_backoff(flash, bird):
    # No recorded sleep here: the real time.sleep / asyncio.sleep path runs.
    bird.then(reply(503), reply(429))

    assert (await flash(max_retries=2).create(CALLEE)).to == CALLEE
    assert len(bird.requests) == 3


# The whole attempt, body included, is bounded by `timeout`.


async def test_sync_a_body_that_outlives_the_timeout_is_a_timeout(flash, monkeypatch, bird):
    clock = [1000.0]

    class SlowBody(ChunkedBody):
        def __iter__(self):
            for chunk in super().__iter__():
                clock[0] += 0.6  # each chunk takes 0.6 s of the 1 s budget
                yield chunk

    # The attempt starts in the client; the body reader checks the deadline.
    for module in (_client, _responses):
        monkeypatch.setattr(module, "time", ModuleView(time, monotonic=lambda: clock[0]))
    body = SlowBody(b" " * 50, 10)
    bird.then(streamed(202, body))
    with pytest.raises(APITimeoutError) as caught:
        await flash(timeout=1.0).create(CALLEE)

    assert caught.value.may_have_been_delivered is True
    assert (body.pulled, len(bird.requests)) == (2, 1)


async def never_answers(request: httpx.Request) -> httpx.Response:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


@pytest.mark.parametrize("kind", ["async"])
async def test_async_a_response_that_never_completes_is_a_timeout(flash, bird):
    bird.then(never_answers)

    with pytest.raises(APITimeoutError) as caught:
        await flash(timeout=0.05).create(CALLEE)

    assert caught.value.may_have_been_delivered is True
    assert "0.05" in str(caught.value)
    assert len(bird.requests) == 1


@pytest.mark.parametrize("kind", ["async"])
async def test_async_a_body_that_stops_arriving_is_retried_for_end(flash, bird, sleeps):
    class StalledBody(ChunkedBody):
        async def __aiter__(self):
            yield b'{"result":'
            await asyncio.Event().wait()

    bird.then(streamed(202, StalledBody(b"")), reply(202, {"result": "verified"}))

    ended = await flash(timeout=0.05).end(CALL_ID, result="verified")

    assert ended.result == "verified"
    assert len(bird.requests) == 2


async def test_each_request_carries_its_own_timeout_extension(flash, bird):
    fc = flash()

    await fc.create(CALLEE)
    await fc.create(CALLEE)
    await driven(fc.wrapped.with_options(timeout=httpx.Timeout(7.0, connect=1.0))).create(CALLEE)

    first, second, derived = (request.extensions["timeout"] for request in bird.requests)
    assert first == second == {"connect": 5.0, "read": 10.0, "write": 10.0, "pool": 10.0}
    assert first is not second  # a hook that edits one request's timeout leaves the next alone
    assert derived == {"connect": 1.0, "read": 7.0, "write": 7.0, "pool": 7.0}


@pytest.mark.parametrize("kind", ["async"])
async def test_async_cancellation_is_not_turned_into_a_retry_or_an_error(flash, bird):
    entered = asyncio.Event()

    async def hangs(request: httpx.Request) -> httpx.Response:
        entered.set()
        return await never_answers(request)

    bird.always(hangs)
    task = asyncio.ensure_future(flash().end(CALL_ID, result="verified"))
    await entered.wait()
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(bird.requests) == 1
