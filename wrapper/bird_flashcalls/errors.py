"""Exceptions raised by bird-flashcalls.

Every exception the client raises is a ``BirdError``::

    BirdError
    ├── ConfigurationError          missing or invalid access key, ids or base URL (also ValueError)
    ├── InvalidRequestError         refused before sending: bad number, id, result... (also ValueError)
    ├── ClientClosedError           the client was used after close() (also RuntimeError)
    ├── EventLoopError              an async client used from another event loop (also RuntimeError)
    ├── APIConnectionError          no usable response: refused, reset, TLS, DNS...
    │   └── APITimeoutError         the attempt ran out of time
    ├── APIResponseValidationError  a response that does not fit the spec (not JSON, fields missing)
    └── APIStatusError              Bird answered with a non-2xx status
        ├── BadRequestError             400
        ├── AuthenticationError         401
        ├── PermissionDeniedError       403
        ├── NotFoundError               404
        ├── ConflictError               409
        ├── UnprocessableEntityError    422
        ├── RateLimitError              429 (``retry_after``)
        └── InternalServerError         >= 500

None of these exceptions holds the access key: not in its message or ``repr()``, and no ``str`` or
``bytes`` reachable from its attributes. The requests an error keeps (``request``,
``response.request``) carry ``Authorization: AccessKey ***``, and a key that a server echoes in a
response's body, headers or error fields is replaced there by ``***`` as well.

Every exception survives ``pickle`` (a job queue storing a failed task's exception) and
``copy.copy``/``copy.deepcopy``, as the same class with the same attributes, and its pickle does
not contain the key either.

A traceback is another matter: while it is kept, its frames refer to the request as it was sent,
header included. Formatted, even with the values of local variables (``capture_locals=True``),
the client's frames show only ``repr()``s, none of which contains the key.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BirdError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "EventLoopError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
]


class BirdError(Exception):
    """Base class of every exception bird-flashcalls raises."""

    message: str

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # The subclasses take keyword arguments, which Exception's own pickling does not pass:
        # rebuild from the message and restore every attribute as it was.
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(
    error_class: type[BirdError], args: tuple[Any, ...], state: dict[str, Any]
) -> BirdError:
    error = error_class.__new__(error_class)
    Exception.__init__(error, *args)
    for name, value in state.items():
        setattr(error, name, value)
    return error


class ConfigurationError(BirdError, ValueError):
    """The client cannot be built: an access key, id or base URL is missing or invalid.

    ``field`` names the argument refused (``access_key``, ``workspace_id``, ``channel_id``,
    ``base_url``, ``timeout``), or is None when the error is about several or none of them.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidRequestError(BirdError, ValueError):
    """The arguments of a call were refused before anything was sent.

    ``field`` names the argument refused (``to``, ``ring_timeout``, ``code``...), if one is.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ClientClosedError(BirdError, RuntimeError):
    """The client, or the http_client it was given, was used after it was closed."""


class EventLoopError(BirdError, RuntimeError):
    """An AsyncFlashCalls was called from an event loop its connections do not belong to.

    Raised before anything is sent. Create one client per event loop.
    """


class APIConnectionError(BirdError):
    """No usable response came back.

    ``may_have_been_delivered`` tells whether Bird may have received the request anyway (the
    connection failed after it was sent): for ``create`` that means the phone may have rung.
    ``request`` is the request sent, with its ``Authorization`` header redacted.
    """

    def __init__(
        self, message: str, *, request: httpx.Request | None = None, may_have_been_delivered: bool
    ) -> None:
        super().__init__(message)
        self.request = request
        self.may_have_been_delivered = may_have_been_delivered


class APITimeoutError(APIConnectionError):
    """The attempt took longer than the configured timeout."""


class APIResponseValidationError(BirdError):
    """Bird answered, but the response does not fit the API's spec.

    ``response`` is the response (its ``request`` redacted), ``body`` the bytes read. Both are
    None (and ``body`` empty) when the fault shows only later: ``verify`` on a call whose
    ``from`` is not a phone number.
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response | None,
        body: bytes,
        request_id: str | None,
    ) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = None if response is None else response.status_code
        self.body = body
        self.request_id = request_id


class APIStatusError(BirdError):
    """Bird answered with a status that is not a success.

    ``str(error)`` explains the failure and what to do. ``code``, ``message`` and ``details``
    come from Bird's error body (``message`` is Bird's own words; without them, the explanation);
    ``details`` maps a field (sometimes a JSON path such as ``.to``) to its problems.
    ``may_have_been_delivered`` is true for 500, 502 and 504: Bird (or a gateway) may have acted
    on the request before failing. ``response`` is the response, its ``request`` redacted.
    """

    def __init__(
        self,
        explanation: str,
        *,
        response: httpx.Response,
        code: str | None,
        message: str | None,
        details: dict[str, list[str]],
        request_id: str | None,
        may_have_been_delivered: bool = False,
    ) -> None:
        super().__init__(explanation)
        self.message = explanation if message is None else message
        self.response = response
        self.status_code = response.status_code
        self.code = code
        self.details = details
        self.request_id = request_id
        self.may_have_been_delivered = may_have_been_delivered


class BadRequestError(APIStatusError):
    """400: Bird could not read the request."""


class AuthenticationError(APIStatusError):
    """401: the access key is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the access key's roles do not allow flash calls on this channel."""


class NotFoundError(APIStatusError):
    """404: unknown workspace, channel or flash call."""


class ConflictError(APIStatusError):
    """409: the flash call is in a state that does not allow this (already ended...)."""


class UnprocessableEntityError(APIStatusError):
    """422: a field was refused; see ``details``."""


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is Bird's requested wait in seconds, if given."""

    def __init__(self, explanation: str, *, retry_after: float | None, **fields: Any) -> None:
        super().__init__(explanation, **fields)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """5xx: Bird failed; the client already retried as configured."""
