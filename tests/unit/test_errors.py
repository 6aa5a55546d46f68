"""Bird's non-2xx answers, mapped to one exception class per meaning."""

from __future__ import annotations

import httpx
import pytest
from bird_flashcalls import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

from .support import (
    BASE_URL,
    OPERATIONS,
    REAL_422,
    ScriptedBird,
    reply,
    request_error_body,
)

pytestmark = pytest.mark.anyio

REQUEST_ID = "a1b2c3d4-request"

STATUS_CASES = [
    (400, BadRequestError, {"code": "InvalidRequest", "message": "The request body is not JSON"}),
    (401, AuthenticationError, {"code": "Unauthorized", "message": "Access key is invalid"}),
    (403, PermissionDeniedError, {"code": "Forbidden", "message": "Missing role flashcall.write"}),
    (404, NotFoundError, request_error_body()),
    (409, ConflictError, {"code": "Conflict", "message": "Flash call already ended"}),
    (
        422,
        UnprocessableEntityError,
        {
            "code": "InvalidPayload",
            "message": "One or more fields are malformed",
            "details": {"to": ["must be a valid phone number"]},
        },
    ),
    (429, RateLimitError, {"code": "TooManyRequests", "message": "Slow down"}),
    (500, InternalServerError, {"code": "InternalError", "message": "Something broke"}),
    (502, InternalServerError, {"code": "BadGateway", "message": "Upstream failed"}),
    (503, InternalServerError, {"code": "Unavailable", "message": "Try again later"}),
    (504, InternalServerError, {"code": "GatewayTimeout", "message": "Upstream timed out"}),
]


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(
    ("status", "error_class", "body"), STATUS_CASES, ids=[str(case[0]) for case in STATUS_CASES]
)
async def test_each_status_gives_its_class_with_birds_fields(
    flash, bird: ScriptedBird, operation, status, error_class, body
):
    bird.always(reply(status, body, headers={"Messagebird-Request-Id": REQUEST_ID}))

    with pytest.raises(APIStatusError) as caught:
        await OPERATIONS[operation](flash(max_retries=0))

    error = caught.value
    assert type(error) is error_class
    assert error.status_code == status
    assert error.code == body["code"]
    assert body["message"] in error.message
    assert body["message"] in str(error)
    assert str(status) in str(error)
    assert error.details == body.get("details", {})
    assert error.request_id == REQUEST_ID
    assert f"[request id {REQUEST_ID}]" in str(error)
    assert isinstance(error.response, httpx.Response)
    assert error.response.status_code == status
    assert len(bird.requests) == 1


async def test_the_real_world_422_keeps_its_json_path_detail_keys(flash, bird: ScriptedBird):
    bird.always(reply(422, REAL_422))

    with pytest.raises(UnprocessableEntityError) as caught:
        await flash().create("+31612345678")

    error = caught.value
    assert error.code == "InvalidPayload"
    assert error.details == {".receiver.contacts[0]": ['property "listId" is unsupported']}
    assert "One or more fields provided in the request body are malformed" in str(error)
    assert '.receiver.contacts[0]: property "listId" is unsupported' in str(error)


@pytest.mark.parametrize(
    ("headers", "request_id"),
    [
        ({"Messagebird-Request-Id": "mb-1"}, "mb-1"),
        ({"X-Request-Id": "x-1"}, "x-1"),
        ({"X-Request-Id": "x-1", "Messagebird-Request-Id": "mb-1"}, "mb-1"),
        ({}, None),
    ],
)
async def test_the_request_id_comes_from_either_header(
    flash, bird: ScriptedBird, headers, request_id
):
    bird.always(reply(404, request_error_body(), headers=headers))

    with pytest.raises(NotFoundError) as caught:
        await flash().end("9c8d7e6f-5a4b-4c3d-8e2f-1a0b9c8d7e6f", result="verified")

    assert caught.value.request_id == request_id
    assert ("request id" in str(caught.value)) is (request_id is not None)


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(520, InternalServerError), (599, InternalServerError), (418, APIStatusError)],
)
async def test_an_undocumented_status_gets_the_nearest_class(
    flash, bird: ScriptedBird, status, error_class
):
    bird.always(reply(status, {"code": "Odd", "message": "undocumented"}))

    with pytest.raises(APIStatusError) as caught:
        await flash(max_retries=0).create("+31612345678")

    assert type(caught.value) is error_class
    assert caught.value.status_code == status
    assert str(status) in str(caught.value)
    assert "undocumented" in str(caught.value)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_not_followed(flash, bird: ScriptedBird, status):
    bird.always(reply(status, headers={"Location": "https://elsewhere.test/collect"}))

    with pytest.raises(APIStatusError) as caught:
        await flash().create("+31612345678")

    assert type(caught.value) is APIStatusError
    assert caught.value.status_code == status
    assert "redirect" in str(caught.value).lower()
    assert "https://elsewhere.test/collect" in str(caught.value)
    assert len(bird.requests) == 1


async def test_a_redirect_is_not_followed_even_when_the_http_client_would(
    flash, bird: ScriptedBird
):
    bird.then(reply(302, headers={"Location": f"{BASE_URL}/elsewhere"}))
    fc = flash(http_options={"follow_redirects": True})

    with pytest.raises(APIStatusError, match=r"(?i)redirect"):
        await fc.create("+31612345678")

    assert len(bird.requests) == 1


@pytest.mark.parametrize(
    ("status", "error_class", "reason"),
    [
        (500, InternalServerError, "Internal Server Error"),
        (401, AuthenticationError, "Unauthorized"),
        (404, NotFoundError, "Not Found"),
        (422, UnprocessableEntityError, "Unprocessable"),
    ],
)
async def test_an_empty_error_body_still_gives_a_useful_error(
    flash, bird: ScriptedBird, status, error_class, reason
):
    bird.always(reply(status, content=b""))

    with pytest.raises(APIStatusError) as caught:
        await flash(max_retries=0).create("+31612345678")

    error = caught.value
    assert type(error) is error_class
    assert (error.code, error.details) == (None, {})
    assert f"{status} {reason}" in str(error)


@pytest.mark.parametrize(
    ("status", "error_class", "body", "shown"),
    [
        (502, InternalServerError, b"<html><body><h1>502 Bad Gateway</h1></body></html>", None),
        (401, AuthenticationError, b"Unauthorized: bad key", None),
        (404, NotFoundError, b"{not json", None),
        (400, BadRequestError, b'["a", "list"]', None),
        (403, PermissionDeniedError, b'{"error": "forbidden"}', None),
        # details malformed: Bird's code and message are still read.
        (
            409,
            ConflictError,
            b'{"code": "Conflict", "message": "ended", "details": "not a map"}',
            "Conflict: ended",
        ),
    ],
)
async def test_an_error_body_that_is_not_birds_shape_still_gives_the_class(
    flash, bird: ScriptedBird, status, error_class, body, shown
):
    bird.always(reply(status, content=body, headers={"Content-Type": "text/html"}))

    with pytest.raises(APIStatusError) as caught:
        await flash(max_retries=0).create("+31612345678")

    error = caught.value
    assert type(error) is error_class
    assert error.status_code == status
    assert error.details == {}
    assert str(status) in str(error)
    # Whatever Bird said is shown, shortened, so the user sees something to act on.
    assert (shown or body.decode()[:20]) in str(error)


async def test_a_huge_text_error_body_is_shortened_in_the_message(flash, bird: ScriptedBird):
    bird.always(reply(400, content=b"x" * 100_000))

    with pytest.raises(BadRequestError) as caught:
        await flash().create("+31612345678")

    assert len(str(caught.value)) < 1000


async def test_the_hints_say_what_to_do(flash, bird: ScriptedBird):
    fc = flash(max_retries=0)
    bird.then(reply(401, request_error_body("Unauthorized", "nope")))
    with pytest.raises(AuthenticationError, match="BIRD_ACCESS_KEY"):
        await fc.create("+31612345678")

    bird.then(reply(404, request_error_body()))
    with pytest.raises(NotFoundError, match="workspace_id, channel_id"):
        await fc.create("+31612345678")

    bird.then(reply(503, content=b""))
    with pytest.raises(InternalServerError, match=r"tried 1 time"):
        await fc.create("+31612345678")
