"""BaseFlashCalls: settings, request building and the decision after each attempt, without I/O.

The clients in ``_client`` only send a request, read its body and sleep; after every attempt
they hand what happened to ``_conclude``, which returns the result, a ``Retry``, or raises.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any, ClassVar, Generic, Self, TypeVar
from uuid import UUID

import attrs
import httpx

from . import _constants as constants
from ._config import http_timeout, resolve_settings
from ._log import logger
from ._operations import Operation
from ._requests import Prepared, RequestBuilder
from ._responses import (
    BodyReader,
    connection_error,
    parse_success,
    request_id,
    status_error,
    too_large_error,
)
from ._retry import Backoff, jitter, parse_retry_after
from ._secret import AccessKey
from .errors import ClientClosedError, ConfigurationError

Parsed = TypeVar("Parsed")
HttpClient = TypeVar("HttpClient", httpx.Client, httpx.AsyncClient)

# Failing before any byte of the request left: the request cannot have reached Bird.
_NOT_DELIVERED = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)


@attrs.define
class Reply:
    """A response and its body, read as far as the size limit allows (``too_large``: the size)."""

    response: httpx.Response
    # Not in the repr: a traceback with locals would show what the server sent, the key included
    # when it echoes it (the errors made from it carry a redacted copy).
    body: bytes = attrs.field(repr=False)
    too_large: int | None
    elapsed: float

    @classmethod
    def read(cls, response: httpx.Response, reader: BodyReader, elapsed: float) -> Reply:
        return cls(response, reader.body(), reader.too_large, elapsed)


@attrs.define
class NoReply:
    """No usable response, and whether the request may have reached Bird all the same."""

    error: httpx.RequestError
    elapsed: float
    delivered: bool = attrs.field(
        default=attrs.Factory(lambda self: not isinstance(self.error, _NOT_DELIVERED), True)
    )


@attrs.define
class Retry:
    delay: float


@attrs.define
class Connections(Generic[HttpClient]):
    """The httpx client that a client and the clients derived from it with ``with_options`` share.

    ``owned``: created by bird-flashcalls, which may replace it (for a new event loop) and
    closes it. ``closed``: closed by the application. ``loop``: the event loop an async
    client's connections belong to, once used; ``watcher`` closes them when that loop ends.
    """

    http: HttpClient
    owned: bool
    closed: bool = False
    loop: weakref.ref[Any] | None = None
    watcher: Any = None


class BaseFlashCalls(Generic[HttpClient]):
    """Settings, request building and response mapping, shared by both clients."""

    _http_client_class: ClassVar[type[httpx.Client | httpx.AsyncClient]]
    _other_client_name: ClassVar[str]

    def __init__(
        self,
        access_key: str | AccessKey | None = None,
        workspace_id: str | UUID | None = None,
        channel_id: str | UUID | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout = constants.DEFAULT_TIMEOUT,
        max_retries: int = constants.DEFAULT_MAX_RETRIES,
        backoff: Backoff | None = None,
        http_client: HttpClient | None = None,
    ) -> None:
        if http_client is not None and not isinstance(http_client, self._http_client_class):
            expected = f"httpx.{self._http_client_class.__name__}"
            raise ConfigurationError(
                f"http_client must be an {expected}, got {type(http_client).__name__} (use "
                f"{self._other_client_name} with the other kind of httpx client)"
            )
        if (
            isinstance(max_retries, bool)
            or not isinstance(max_retries, int)
            or not 0 <= max_retries <= constants.MAX_RETRIES_LIMIT
        ):
            raise ConfigurationError(
                f"max_retries must be a whole number from 0 to {constants.MAX_RETRIES_LIMIT}, "
                f"got {max_retries!r}"
            )
        if backoff is not None and not isinstance(backoff, Backoff):
            raise ConfigurationError(
                f"backoff must be a bird_flashcalls.Backoff, got {type(backoff).__name__}"
            )
        self._settings = resolve_settings(
            access_key=access_key,
            workspace_id=workspace_id,
            channel_id=channel_id,
            base_url=base_url,
        )
        self._timeout = timeout
        per_operation, self._attempt_timeout = http_timeout(timeout)
        # httpx's documented "timeout" request extension.
        self._timeout_extension = per_operation.as_dict()
        self._max_retries = max_retries
        self._backoff = backoff or Backoff()
        self._requests = RequestBuilder(self._settings)
        self._owns_http = http_client is None
        self._connections: Connections[HttpClient] = Connections(
            self._new_http_client() if http_client is None else http_client, self._owns_http
        )

    def _new_http_client(self) -> HttpClient:
        raise NotImplementedError

    def with_options(
        self, *, timeout: float | httpx.Timeout | None = None, max_retries: int | None = None
    ) -> Self:
        """A client with other limits that shares this one's connections (closing it is a no-op)."""
        derived = type(self)(
            self._settings.access_key,
            self._settings.workspace_id,
            self._settings.channel_id,
            self._settings.base_url,
            timeout=self._timeout if timeout is None else timeout,
            max_retries=self._max_retries if max_retries is None else max_retries,
            backoff=self._backoff,
            http_client=self._connections.http,
        )
        derived._connections = self._connections
        return derived

    @property
    def workspace_id(self) -> UUID:
        return self._settings.workspace_id

    @property
    def channel_id(self) -> UUID:
        return self._settings.channel_id

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    @property
    def max_retries(self) -> int:
        return self._max_retries

    @property
    def timeout(self) -> float | httpx.Timeout:
        return self._timeout

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, workspace_id='{self.workspace_id}',"
            f" channel_id='{self.channel_id}', access_key='***', timeout={self.timeout!r},"
            f" max_retries={self.max_retries})"
        )

    def _check_open(self) -> None:
        connections = self._connections
        if connections.closed or (not connections.owned and connections.http.is_closed):
            raise ClientClosedError(
                f"this {type(self).__name__} (or the http_client it uses) is closed: create a "
                "new client, and close it only when the application is done with it"
            )

    def _build(self, http: HttpClient, prepared: Prepared[Any]) -> httpx.Request:
        return http.build_request(
            "POST",
            prepared.url,
            json=prepared.body,
            headers=self._requests.headers(),
            extensions={"timeout": dict(self._timeout_extension)},
        )

    def _body_reader(self, response: httpx.Response, started: float) -> BodyReader:
        timeout = self._attempt_timeout
        return BodyReader(response, None if timeout is None else started + timeout, timeout)

    # After each attempt: the result, an error, or a retry.

    def _conclude(
        self,
        operation: Operation[Parsed],
        request: httpx.Request,
        retry_number: int,
        outcome: Reply | NoReply,
    ) -> Parsed | Retry:
        retries_left = retry_number < self._max_retries
        secret = self._settings.access_key
        if isinstance(outcome, NoReply):
            reason = type(outcome.error).__name__
            _log(request, retry_number, reason, outcome.elapsed, None, secret)
            if retries_left and (operation.retry_when_maybe_delivered or not outcome.delivered):
                return self._retry(request, retry_number, None, reason, None)
            raise connection_error(
                operation,
                request,
                outcome.error,
                delivered=outcome.delivered,
                tries=retry_number + 1,
                secret=secret,
            ) from None  # the httpx error is summarised in the message, redacted

        response = outcome.response
        status = response.status_code
        _log(request, retry_number, str(status), outcome.elapsed, response, secret)
        if outcome.too_large is not None:
            raise too_large_error(response, outcome.too_large, secret)
        if 200 <= status < 300:
            parsed = parse_success(operation, response, outcome.body, secret)
            if isinstance(parsed, Exception):
                raise parsed
            return parsed
        if retries_left and status in operation.retry_statuses:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is None or retry_after <= self._backoff.max_retry_after:
                return self._retry(request, retry_number, retry_after, f"status {status}", response)
        raise status_error(
            response,
            outcome.body,
            tries=retry_number + 1,
            base_url=self.base_url,
            secret=secret,
        )

    def _retry(
        self,
        request: httpx.Request,
        retry_number: int,
        retry_after: float | None,
        reason: str,
        response: httpx.Response | None,
    ) -> Retry:
        delay = self._backoff.delay(retry_number, retry_after, jitter())
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "retrying %s %s in %.2f s (retry %d of %d) after %s%s",
                request.method,
                request.url.path,
                delay,
                retry_number + 1,
                self._max_retries,
                reason,
                _request_id_note(response, self._settings.access_key),
            )
        return Retry(delay)


def _log(
    request: httpx.Request,
    retry_number: int,
    result: str,
    elapsed: float,
    response: httpx.Response | None,
    secret: AccessKey,
) -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return
    logger.debug(
        "%s %s -> %s (attempt %d, %.1f ms)%s",
        request.method,
        request.url.path,
        result,
        retry_number + 1,
        elapsed * 1000,
        _request_id_note(response, secret),
    )


def _request_id_note(response: httpx.Response | None, secret: AccessKey) -> str:
    # A server could echo anything, the key included, even in its request id.
    found = None if response is None else request_id(response)
    return f" [request id {secret.redact(found)}]" if found else ""
