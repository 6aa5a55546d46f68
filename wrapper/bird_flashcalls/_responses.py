"""From what came back to a result or an exception: bounded body reads and error mapping.

Every error is made here, and only here, with the access key redacted: from its message, its
attributes, the response body it keeps, and the ``Authorization`` header of every request it
holds. These functions return errors rather than raise them, so that no frame of a traceback
holds a response body or a request as a local variable.
"""

from __future__ import annotations

import json
import time
from typing import Any, TypeVar

import httpx

from . import _constants as constants
from ._generated.types import Unset
from ._operations import Operation
from ._retry import parse_retry_after
from ._secret import REDACTED, AccessKey
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

Parsed = TypeVar("Parsed")

_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}
_STATUS_HINTS = {
    400: "Bird could not read the request; check the fields sent",
    401: "check the access key (BIRD_ACCESS_KEY): it is missing, wrong or revoked",
    403: "the access key's roles do not allow flash calls on this channel: check them in the "
    "Bird dashboard",
    404: "check workspace_id, channel_id and the flash call id",
    409: "the flash call is in a state that does not allow this (already ended?)",
    422: "fix the fields listed in details",
    429: "too many requests: slow down and try again later",
}
# A gateway may answer these after Bird acted on the request.
_MAYBE_ACTED_STATUSES = frozenset({500, 502, 504})
_REDACTED_AUTHORIZATION = f"AccessKey {REDACTED}"
_FRAMING_HEADERS = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})


class BodyReader:
    """Collects a response body; stops at the size limit, times out past the deadline."""

    __slots__ = ("_chunks", "_deadline", "_request", "_size", "_timeout", "too_large")

    def __init__(
        self, response: httpx.Response, deadline: float | None, timeout: float | None
    ) -> None:
        self._request = response.request
        self._deadline = deadline
        self._timeout = timeout
        self._chunks: list[bytes] = []
        self._size = 0
        # The size of a body refused unread: declared or found too large.
        self.too_large: int | None = None
        declared = response.headers.get("Content-Length")
        # The length check first: int() refuses strings of thousands of digits.
        if (
            declared is not None
            and declared.isascii()
            and declared.isdigit()
            and (len(declared) > 15 or int(declared) > constants.MAX_RESPONSE_BYTES)
        ):
            self.too_large = (
                int(declared) if len(declared) <= 15 else constants.MAX_RESPONSE_BYTES + 1
            )

    def feed(self, chunk: bytes) -> bool:
        """Keeps a chunk; False when the body has grown too large to read on."""
        self._size += len(chunk)
        if self._size > constants.MAX_RESPONSE_BYTES:
            self.too_large = self._size
            return False
        self._chunks.append(chunk)
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise httpx.ReadTimeout(
                f"the response was still arriving after the {self._timeout:g} s timeout",
                request=self._request,
            )
        return True

    def body(self) -> bytes:
        return b"".join(self._chunks)


def request_id(response: httpx.Response) -> str | None:
    for header in constants.REQUEST_ID_HEADERS:
        value: str | None = response.headers.get(header)
        if value:
            return value
    return None


def parse_success(
    operation: Operation[Parsed], response: httpx.Response, body: bytes, secret: AccessKey
) -> Parsed | APIResponseValidationError:
    """The operation's generated model, or the error saying what does not fit."""
    problem: str
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        problem = "is not JSON" if body.strip() else "has an empty body"
    else:
        if not isinstance(data, dict):
            problem = f"is a JSON {type(data).__name__}, not an object"
        else:
            try:
                return operation.parse(data)
            except KeyError as missing:
                problem = f"lacks the required field {missing}"
            except (TypeError, ValueError, AttributeError, RecursionError) as error:
                problem = f"has a field of the wrong type or format ({error})"
    return response_validation_error(
        f"Bird's {response.status_code} response to {operation.method_name}() {problem}; "
        "it does not fit the Flash Calling API spec. Check that base_url points at Bird"
        + ("; if it does, report this with the request id" if request_id(response) else ""),
        response,
        body,
        secret,
    )


def too_large_error(
    response: httpx.Response, size: int, secret: AccessKey
) -> APIResponseValidationError:
    return response_validation_error(
        f"Bird's response ({response.status_code}) is larger than "
        f"{constants.MAX_RESPONSE_BYTES // (1024 * 1024)} MB ({size} bytes so far) and was not "
        "read: a flash-call response is a few hundred bytes, so check base_url",
        response,
        b"",
        secret,
    )


def response_validation_error(
    message: str, response: httpx.Response, body: bytes, secret: AccessKey
) -> APIResponseValidationError:
    kept = _redacted_response(response, _redacted_bytes(body, secret), secret)
    return APIResponseValidationError(
        secret.redact(message) + _request_id_suffix(kept),
        response=kept,
        body=kept.content,
        request_id=request_id(kept),
    )


def status_error(
    response: httpx.Response, body: bytes, *, tries: int, base_url: str, secret: AccessKey
) -> APIStatusError:
    """The APIStatusError subclass for a status, with Bird's code, message and details."""
    status = response.status_code
    code, bird_message, details = error_fields(body)
    # Not Bird's error shape: the body's text explains, but it is not Bird's message.
    text = None if code or bird_message else _text(body)
    # The attributes too, not only the message: a server could echo the key anywhere.
    code = None if code is None else secret.redact(code)
    bird_message = None if bird_message is None else secret.redact(bird_message)
    details = {
        secret.redact(field): [secret.redact(problem) for problem in problems]
        for field, problems in details.items()
    }
    reason = httpx.codes.get_reason_phrase(status)
    parts = [f"Bird answered {status}{' ' + reason if reason else ''}"]
    if code or bird_message:
        parts.append(f": {code or 'error'}: {bird_message or '(no message)'}")
    elif text:
        parts.append(f": {secret.redact(text)}")
    if details:
        parts.append(" (" + "; ".join(f"{k}: {', '.join(v)}" for k, v in details.items()) + ")")
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if 300 <= status < 400:
        location = response.headers.get("Location", "(no Location)")
        hint = (
            f"redirect to {location} not followed, so the access key stays with "
            f"{base_url}; check base_url"
        )
    elif status >= 500:
        hint = f"Bird failed; tried {tries} time(s), try again later"
    elif status == 429 and retry_after is not None:
        hint = f"too many requests: Bird asks to wait {retry_after:g} s before trying again"
    else:
        hint = _STATUS_HINTS.get(status, "see the status and body in .response")
    kept = _redacted_response(response, _redacted_bytes(body, secret), secret)
    explanation = secret.redact("".join(parts) + f". {hint[0].upper()}{hint[1:]}.")
    explanation += _request_id_suffix(kept)
    error_class = _STATUS_ERRORS.get(status) or (
        InternalServerError if status >= 500 else APIStatusError
    )
    fields: dict[str, Any] = {
        "response": kept,
        "code": code,
        "message": bird_message,
        "details": details,
        "request_id": request_id(kept),
        "may_have_been_delivered": status in _MAYBE_ACTED_STATUSES,
    }
    if error_class is RateLimitError:
        return RateLimitError(explanation, retry_after=retry_after, **fields)
    return error_class(explanation, **fields)


def connection_error(
    operation: Operation[Any],
    request: httpx.Request,
    error: httpx.RequestError,
    *,
    delivered: bool,
    tries: int,
    secret: AccessKey,
) -> APIConnectionError:
    """APIConnectionError or APITimeoutError, saying whether the request may have reached Bird."""
    what = f"{operation.method_name}() to {request.url.host}"
    tried = f"tried {tries} time(s)"
    if isinstance(error, httpx.TimeoutException):
        kind = "connecting" if isinstance(error, httpx.ConnectTimeout) else "waiting"
        message = f"{what} timed out {kind} ({str(error) or type(error).__name__}); {tried}"
        error_class: type[APIConnectionError] = APITimeoutError
    else:
        message = f"{what} failed: {type(error).__name__}: {str(error) or 'no detail'}; {tried}"
        error_class = APIConnectionError
    if delivered and not operation.retry_when_maybe_delivered:
        message += (
            ". The request may have reached Bird, so it was not sent again (a second "
            "create would ring the phone twice)"
        )
    message += ". Check the network and base_url, or raise the timeout"
    return error_class(
        secret.redact(message),
        request=_redacted_request(request),
        may_have_been_delivered=delivered,
    )


def _redacted_request(request: httpx.Request) -> httpx.Request:
    """A copy of a request sent, with the Authorization header's key replaced by ***."""
    headers = httpx.Headers(request.headers)
    if "Authorization" in headers:
        headers["Authorization"] = _REDACTED_AUTHORIZATION
    return httpx.Request(request.method, request.url, headers=headers, content=request.content)


def _redacted_response(response: httpx.Response, body: bytes, secret: AccessKey) -> httpx.Response:
    """A read, closed copy of a response: its ``request`` redacted, and the key taken out of
    its headers' values too (a server may echo what it received anywhere)."""
    # The body was decoded as it was read: its copy has no Content-Encoding left to undo.
    headers = [
        (name, _redacted_bytes(value, secret))
        for name, value in response.headers.raw
        if name.lower() not in _FRAMING_HEADERS
    ]
    copy = httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=_redacted_request(response.request),
    )
    copy.close()
    return copy


def _redacted_bytes(body: bytes, secret: AccessKey) -> bytes:
    return secret.redact(body.decode("latin-1")).encode("latin-1")


def _request_id_suffix(response: httpx.Response) -> str:
    found = request_id(response)
    return f" [request id {found}]" if found else ""


def error_fields(body: bytes) -> tuple[str | None, str | None, dict[str, list[str]]]:
    """Bird's {code, message, details}, read with the spec's models."""
    # Loaded with the first error: three attrs classes a process that never fails need not build.
    from ._generated.models.request_error import RequestError
    from ._generated.models.validation_error import ValidationError

    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    for model in (ValidationError, RequestError):  # details malformed: keep code and message
        try:
            error = model.from_dict(data)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            continue
        details = (
            {}
            if isinstance(error, RequestError) or isinstance(error.details, Unset)
            else dict(error.details.additional_properties)
        )
        return error.code, error.message, details
    return None, None, {}


def _text(body: bytes) -> str | None:
    return body.decode("utf-8", errors="replace").strip()[:200] or None
