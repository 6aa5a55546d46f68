"""FlashCalls and AsyncFlashCalls.

``BaseFlashCalls`` owns everything that decides: settings, validation, request building (through
the generated operations), the retry policy and the mapping of responses to results or errors.
The two clients only do I/O: send a request, read the body, sleep before a retry.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping
from types import ModuleType, TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar
from uuid import UUID

import httpx
from bird_channels_api.api.channel_flashcall import (
    create_channel_flash_call,
    end_channel_flash_call,
    end_channel_flash_call_from_to,
)
from bird_channels_api.models.flash_call import FlashCall
from bird_channels_api.models.flash_call_create import FlashCallCreate
from bird_channels_api.models.flash_call_hangup import FlashCallHangup
from bird_channels_api.models.flash_call_hangup_from_to import FlashCallHangupFromTo
from bird_channels_api.models.hangup_result import HangupResult
from bird_channels_api.types import UNSET, Unset

from . import _constants as constants
from . import _verify
from ._config import http_timeout, parse_uuid, resolve_settings
from ._operations import CREATE, END, HANGUP, Operation
from ._responses import BodyReader, connection_error, parse_success, status_error
from ._retry import Backoff, jitter, may_have_been_delivered, parse_retry_after
from ._rules import MAX_RING_TIMEOUT, MIN_RING_TIMEOUT, RESULTS, is_e164
from ._transport import (
    AttemptTimer,
    async_transport,
    end_attempt_deadline,
    start_attempt_deadline,
    sync_transport,
)
from ._urls import RequestUrls
from ._version import __version__
from .errors import (
    ClientClosedError,
    ConfigurationError,
    InvalidRequestError,
)

logger = logging.getLogger("bird_flashcalls")

Parsed = TypeVar("Parsed")
HttpClient = TypeVar("HttpClient", httpx.Client, httpx.AsyncClient)
CallRef = FlashCall | UUID | str
ResultValue = HangupResult | str

_JSON_CONTENT_TYPE = {"Content-Type": "application/json"}
_USER_AGENT = (
    f"bird-flashcalls/{__version__} python/{sys.version_info.major}.{sys.version_info.minor}"
    f".{sys.version_info.micro}"
)


# Plain slotted classes: a NamedTuple costs a tenth of a millisecond of import time each.


class _Prepared(Generic[Parsed]):
    __slots__ = ("operation", "request")

    def __init__(self, operation: Operation[Parsed], request: httpx.Request) -> None:
        self.operation = operation
        self.request = request


class _Answer:
    __slots__ = ("body", "elapsed", "response")

    def __init__(self, response: httpx.Response, body: bytes, elapsed: float) -> None:
        self.response = response
        self.body = body
        self.elapsed = elapsed


class _NoAnswer:
    __slots__ = ("elapsed", "error")

    def __init__(self, error: httpx.RequestError, elapsed: float) -> None:
        self.error = error
        self.elapsed = elapsed


class _Retry:
    __slots__ = ("delay",)

    def __init__(self, delay: float) -> None:
        self.delay = delay


class _FormattedUuid(UUID):
    """A UUID whose text is made once: the generated request builders format ids per request."""

    __slots__ = ("_text",)
    _text: str

    def __init__(self, value: UUID) -> None:
        super().__init__(int=value.int)
        object.__setattr__(self, "_text", str(value))

    def __str__(self) -> str:
        return self._text

    def __reduce__(self) -> tuple[type[_FormattedUuid], tuple[UUID]]:
        # UUID pickles and copies its int only; the text is made again from it.
        return (_FormattedUuid, (UUID(int=self.int),))


class BaseFlashCalls(Generic[HttpClient]):
    """Settings, validation, request building and response mapping, shared by both clients."""

    _http: HttpClient
    _owns_http: bool
    _http_client_class: ClassVar[type[httpx.Client | httpx.AsyncClient]]
    _other_client_name: ClassVar[str]

    def __init__(
        self,
        access_key: str | None = None,
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
        self._settings = resolve_settings(
            access_key=access_key,
            workspace_id=workspace_id,
            channel_id=channel_id,
            base_url=base_url,
        )
        self._configure(timeout, max_retries, backoff or Backoff())
        self._workspace_in_path = _FormattedUuid(self._settings.workspace_id)
        self._channel_in_path = _FormattedUuid(self._settings.channel_id)
        self._headers = {
            "Authorization": f"AccessKey {self._settings.access_key}",
            "User-Agent": _USER_AGENT,
            "Accept": "application/json",
        }
        self._json_headers = httpx.Headers({**_JSON_CONTENT_TYPE, **self._headers})
        self._urls = RequestUrls()
        self._owns_http = http_client is None
        self._socket_deadlines = False
        self._http = self._new_http_client() if http_client is None else http_client

    def _new_http_client(self) -> HttpClient:
        raise NotImplementedError

    def _configure(
        self, timeout: float | httpx.Timeout, max_retries: int, backoff: Backoff
    ) -> None:
        if (
            isinstance(max_retries, bool)
            or not isinstance(max_retries, int)
            or not 0 <= max_retries <= constants.MAX_RETRIES_LIMIT
        ):
            raise ConfigurationError(
                f"max_retries must be a whole number from 0 to {constants.MAX_RETRIES_LIMIT}, "
                f"got {max_retries!r}"
            )
        self._timeout_setting = timeout
        per_operation, self._attempt_timeout = http_timeout(timeout)
        # What build_request(timeout=...) would compute per request, computed once.
        self._timeout_extension = per_operation.as_dict()
        self._max_retries = max_retries
        self._backoff = backoff

    def _derive(self, timeout: float | httpx.Timeout | None, max_retries: int | None) -> Self:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._owns_http = False
        clone._configure(
            self._timeout_setting if timeout is None else timeout,
            self._max_retries if max_retries is None else max_retries,
            self._backoff,
        )
        return clone

    @property
    def _secret(self) -> str:
        return self._settings.access_key

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
        return self._timeout_setting

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, workspace_id='{self.workspace_id}',"
            f" channel_id='{self.channel_id}', access_key='***', timeout={self.timeout!r},"
            f" max_retries={self.max_retries})"
        )

    def _check_open(self) -> None:
        if self._http.is_closed:
            raise ClientClosedError(
                f"this {type(self).__name__} (or the http_client it uses) is closed: create a "
                "new client, and close it only when the application is done with it"
            )

    # Building requests: validate, then let the generated operation shape the request.

    def _prepare(
        self,
        operation: Operation[Parsed],
        kwargs: dict[str, Any],
        *,
        fixed_path: bool = False,
        ends_in_uuid: bool = False,
    ) -> _Prepared[Parsed]:
        # Parsing the URL string and normalising headers are most of the cost of a request:
        # paths that never change are parsed once, paths that end in an id are parsed up to the
        # id once, and the usual headers are built once.
        address = self._settings.base_url + kwargs["url"]
        url: httpx.URL | str = address
        if fixed_path:
            url = self._urls.fixed(address)
        elif ends_in_uuid:
            url = self._urls.ending_in_uuid(address)
        extra_headers = kwargs.get("headers", {})
        request = self._http.build_request(
            kwargs["method"],
            url,
            json=kwargs.get("json"),
            headers=self._json_headers
            if extra_headers == _JSON_CONTENT_TYPE
            else {**extra_headers, **self._headers},
            extensions={"timeout": dict(self._timeout_extension)},
        )
        return _Prepared(operation, request)

    def _create_request(
        self, to: str, from_: str | None, ring_timeout: int | None
    ) -> _Prepared[FlashCall]:
        body = FlashCallCreate(
            to=_verify.normalise_number(to, field="to"),
            from_=UNSET if from_ is None else _verify.normalise_number(from_, field="from_"),
            ring_timeout=UNSET if ring_timeout is None else _ring_timeout(ring_timeout),
        )
        kwargs = create_channel_flash_call._get_kwargs(
            self._workspace_in_path, self._channel_in_path, body=body
        )
        return self._prepare(CREATE, kwargs, fixed_path=True)

    def _end_request(
        self, call: CallRef, result: ResultValue, received_cli: str | None
    ) -> _Prepared[FlashCallHangup]:
        body = FlashCallHangup(result=_result(result), received_cli=_optional_cli(received_cli))
        kwargs = end_channel_flash_call._get_kwargs(
            self._workspace_in_path, self._channel_in_path, _call_id(call), body=body
        )
        return self._prepare(END, kwargs, ends_in_uuid=True)

    def _hangup_request(
        self, from_: str, to: str, result: ResultValue, received_cli: str | None
    ) -> _Prepared[FlashCallHangupFromTo]:
        body = FlashCallHangupFromTo(
            from_=_verify.normalise_number(from_, field="from_"),
            to=_verify.normalise_number(to, field="to"),
            result=_result(result),
            received_cli=_optional_cli(received_cli),
        )
        kwargs = end_channel_flash_call_from_to._get_kwargs(
            self._workspace_in_path, self._channel_in_path, body=body
        )
        return self._prepare(HANGUP, kwargs, fixed_path=True)

    # Verification: decide locally, then report the outcome with End.

    def _check_cli(
        self, call: CallRef, received_cli: str, expected_cli: str | None
    ) -> tuple[_verify.Verification, _Prepared[FlashCallHangup]]:
        verification = _verify.check_received_cli(
            _call_id(call), _expected_cli(call, expected_cli), received_cli
        )
        reported = verification.received_cli if is_e164(verification.received_cli) else None
        return verification, self._end_request(verification.call_id, verification.result, reported)

    def _check_code(
        self, call: CallRef, code: str, digits: int | None, expected_cli: str | None
    ) -> tuple[_verify.Verification, _Prepared[FlashCallHangup]]:
        verification = _verify.check_typed_code(
            _call_id(call), _expected_cli(call, expected_cli), code, digits
        )
        return verification, self._end_request(verification.call_id, verification.result, None)

    # After each attempt: the result, an error, or a retry.

    def _conclude(
        self, prepared: _Prepared[Parsed], retry_number: int, outcome: _Answer | _NoAnswer
    ) -> Parsed | _Retry:
        request = prepared.request
        retries_left = retry_number < self._max_retries
        if isinstance(outcome, _NoAnswer):
            delivered = may_have_been_delivered(outcome.error)
            self._log(request, retry_number, type(outcome.error).__name__, outcome.elapsed)
            if retries_left and (prepared.operation.retry_when_maybe_delivered or not delivered):
                return self._retry(request, retry_number, None, type(outcome.error).__name__)
            raise connection_error(
                prepared.operation,
                request,
                outcome.error,
                delivered=delivered,
                tries=retry_number + 1,
                secret=self._secret,
            ) from None  # the httpx error is summarised in the message, redacted

        response = outcome.response
        status = response.status_code
        self._log(request, retry_number, str(status), outcome.elapsed)
        if 200 <= status < 300:
            return parse_success(prepared.operation, response, outcome.body, self._secret)
        if retries_left and status in constants.RETRYABLE_STATUSES:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is None or retry_after <= self._backoff.max_retry_after:
                return self._retry(request, retry_number, retry_after, f"status {status}")
        raise status_error(
            response,
            outcome.body,
            tries=retry_number + 1,
            base_url=self.base_url,
            secret=self._secret,
        )

    def _retry(
        self, request: httpx.Request, retry_number: int, retry_after: float | None, reason: str
    ) -> _Retry:
        delay = self._backoff.delay(retry_number, retry_after, jitter())
        logger.debug(
            "retrying %s %s in %.2f s (retry %d of %d) after %s",
            request.method,
            request.url.path,
            delay,
            retry_number + 1,
            self._max_retries,
            reason,
        )
        return _Retry(delay)

    def _log(self, request: httpx.Request, retry_number: int, result: str, elapsed: float) -> None:
        if not logger.isEnabledFor(logging.DEBUG):
            return  # the arguments cost more than the call: url.path decodes the path
        logger.debug(
            "%s %s -> %s (attempt %d, %.1f ms)",
            request.method,
            request.url.path,
            result,
            retry_number + 1,
            elapsed * 1000,
        )

    def _body_reader(self, response: httpx.Response, started: float) -> BodyReader:
        timeout = self._attempt_timeout
        deadline = None if timeout is None else started + timeout
        return BodyReader(response, deadline, timeout)


def _ring_timeout(value: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not MIN_RING_TIMEOUT <= value <= MAX_RING_TIMEOUT
    ):
        raise InvalidRequestError(
            "ring_timeout must be a whole number of seconds from "
            f"{MIN_RING_TIMEOUT} to {MAX_RING_TIMEOUT}, got {value!r}",
            field="ring_timeout",
        )
    return value


def _result(value: ResultValue) -> HangupResult:
    if isinstance(value, str) and value in RESULTS:
        return HangupResult(value)
    raise InvalidRequestError(
        f"result must be one of {', '.join(RESULTS)}, got {value!r}",
        field="result",
    )


def _optional_cli(value: str | None) -> str | Unset:
    return UNSET if value is None else _verify.normalise_number(value, field="received_cli")


def _call_id(call: CallRef) -> UUID:
    if isinstance(call, FlashCall):
        return call.id
    return parse_uuid(call, field="call")


def _expected_cli(call: CallRef, expected_cli: str | None) -> str:
    if expected_cli is not None:
        return _verify.normalise_number(expected_cli, field="expected_cli")
    if not isinstance(call, FlashCall):
        raise InvalidRequestError(
            "verifying a call given by id needs expected_cli=: pass the FlashCall that "
            "create() returned, or the number it was called from",
            field="expected_cli",
        )
    if not isinstance(call.from_, str) or not call.from_:
        raise InvalidRequestError(
            f"flash call {call.id} has no 'from' number to compare with: pass expected_cli=",
            field="expected_cli",
        )
    return _verify.normalise_number(call.from_, field=f"the 'from' of flash call {call.id}")


class FlashCalls(BaseFlashCalls[httpx.Client]):
    """Synchronous client. Thread-safe; share one per process and close it (or use ``with``)."""

    _http_client_class = httpx.Client
    _other_client_name = "AsyncFlashCalls"

    def _new_http_client(self) -> httpx.Client:
        return httpx.Client(transport=sync_transport(_default_limits()))

    def create(
        self, to: str, *, from_: str | None = None, ring_timeout: int | None = None
    ) -> FlashCall:
        """Ring ``to`` (E.164). Bird picks the caller number unless ``from_`` is given.

        Never sent twice once it may have reached Bird: a retry would ring the phone again.
        """
        return self._send(self._create_request(to, from_, ring_timeout))

    def end(
        self, call: CallRef, *, result: ResultValue, received_cli: str | None = None
    ) -> FlashCallHangup:
        """Report the outcome of a flash call (``verified``, ``wrong_cli``, ``timeout``...)."""
        return self._send(self._end_request(call, result, received_cli))

    def hangup(
        self, *, from_: str, to: str, result: ResultValue, received_cli: str | None = None
    ) -> FlashCallHangupFromTo:
        """End a flash call found by its caller and called numbers instead of its id."""
        return self._send(self._hangup_request(from_, to, result, received_cli))

    def verify(
        self, call: CallRef, received_cli: str, *, expected_cli: str | None = None
    ) -> _verify.Verification:
        """Compare the caller number the handset saw with the call's, and report the result."""
        verification, report = self._check_cli(call, received_cli, expected_cli)
        self._send(report)
        return verification

    def verify_code(
        self,
        call: CallRef,
        code: str,
        *,
        digits: int | None = None,
        expected_cli: str | None = None,
    ) -> _verify.Verification:
        """Compare the last digits the user typed with the call's caller number; report it."""
        verification, report = self._check_code(call, code, digits, expected_cli)
        self._send(report)
        return verification

    def with_options(
        self, *, timeout: float | httpx.Timeout | None = None, max_retries: int | None = None
    ) -> Self:
        """A client with other limits that shares this one's connections (closing it is a no-op)."""
        return self._derive(timeout, max_retries)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, prepared: _Prepared[Parsed]) -> Parsed:
        self._check_open()
        retry_number = 0
        while True:
            step = self._conclude(prepared, retry_number, self._attempt(prepared.request))
            if not isinstance(step, _Retry):
                return step
            time.sleep(step.delay)
            retry_number += 1

    def _attempt(self, request: httpx.Request) -> _Answer | _NoAnswer:
        started = time.monotonic()
        try:
            deadline = start_attempt_deadline(self._attempt_timeout)
            try:
                response = self._http.send(request, stream=True, follow_redirects=False, auth=None)
                try:
                    reader = self._body_reader(response, started)
                    for chunk in response.iter_bytes():
                        reader.feed(chunk)
                finally:
                    response.close()
            finally:
                end_attempt_deadline(deadline)
        except httpx.RequestError as error:
            return _NoAnswer(error, time.monotonic() - started)
        return _Answer(response, reader.body(), time.monotonic() - started)


class AsyncFlashCalls(BaseFlashCalls[httpx.AsyncClient]):
    """asyncio client: the methods of FlashCalls as coroutines. Close it (or ``async with``)."""

    _http_client_class = httpx.AsyncClient
    _other_client_name = "FlashCalls"

    def _new_http_client(self) -> httpx.AsyncClient:
        transport = async_transport(_default_limits())
        self._socket_deadlines = transport is not None
        if transport is None:
            return httpx.AsyncClient(limits=_default_limits())
        return httpx.AsyncClient(transport=transport)

    async def create(
        self, to: str, *, from_: str | None = None, ring_timeout: int | None = None
    ) -> FlashCall:
        """Ring ``to`` (E.164). Bird picks the caller number unless ``from_`` is given.

        Never sent twice once it may have reached Bird: a retry would ring the phone again.
        """
        return await self._send(self._create_request(to, from_, ring_timeout))

    async def end(
        self, call: CallRef, *, result: ResultValue, received_cli: str | None = None
    ) -> FlashCallHangup:
        """Report the outcome of a flash call (``verified``, ``wrong_cli``, ``timeout``...)."""
        return await self._send(self._end_request(call, result, received_cli))

    async def hangup(
        self, *, from_: str, to: str, result: ResultValue, received_cli: str | None = None
    ) -> FlashCallHangupFromTo:
        """End a flash call found by its caller and called numbers instead of its id."""
        return await self._send(self._hangup_request(from_, to, result, received_cli))

    async def verify(
        self, call: CallRef, received_cli: str, *, expected_cli: str | None = None
    ) -> _verify.Verification:
        """Compare the caller number the handset saw with the call's, and report the result."""
        verification, report = self._check_cli(call, received_cli, expected_cli)
        await self._send(report)
        return verification

    async def verify_code(
        self,
        call: CallRef,
        code: str,
        *,
        digits: int | None = None,
        expected_cli: str | None = None,
    ) -> _verify.Verification:
        """Compare the last digits the user typed with the call's caller number; report it."""
        verification, report = self._check_code(call, code, digits, expected_cli)
        await self._send(report)
        return verification

    def with_options(
        self, *, timeout: float | httpx.Timeout | None = None, max_retries: int | None = None
    ) -> Self:
        """A client with other limits that shares this one's connections (closing it is a no-op)."""
        return self._derive(timeout, max_retries)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _send(self, prepared: _Prepared[Parsed]) -> Parsed:
        self._check_open()
        retry_number = 0
        while True:
            step = self._conclude(prepared, retry_number, await self._attempt(prepared.request))
            if not isinstance(step, _Retry):
                return step
            await _asyncio().sleep(step.delay)
            retry_number += 1

    async def _attempt(self, request: httpx.Request) -> _Answer | _NoAnswer:
        started = time.monotonic()
        seconds = self._attempt_timeout
        if self._socket_deadlines:
            # The client's own transport bounds every socket operation by the deadline.
            deadline = start_attempt_deadline(seconds)
            try:
                return await self._exchange(request, started)
            finally:
                end_attempt_deadline(deadline)
        if seconds is None:
            return await self._exchange(request, started)
        # A caller's client: a timer bounds the whole attempt, headers included.
        try:
            with AttemptTimer(seconds):
                return await self._exchange(request, started)
        except TimeoutError:
            error = httpx.ReadTimeout(
                f"no complete response within the {seconds:g} s timeout", request=request
            )
            return _NoAnswer(error, time.monotonic() - started)

    async def _exchange(self, request: httpx.Request, started: float) -> _Answer | _NoAnswer:
        try:
            response = await self._http.send(
                request, stream=True, follow_redirects=False, auth=None
            )
            try:
                reader = self._body_reader(response, started)
                async for chunk in response.aiter_bytes():
                    reader.feed(chunk)
            finally:
                await response.aclose()
        except httpx.RequestError as error:
            return _NoAnswer(error, time.monotonic() - started)
        return _Answer(response, reader.body(), time.monotonic() - started)


def _asyncio() -> ModuleType:
    # Imported on first use: asyncio costs a sync-only process about 13 ms of import time.
    import asyncio

    return asyncio


def _default_limits() -> httpx.Limits:
    return httpx.Limits(
        max_connections=constants.MAX_CONNECTIONS,
        max_keepalive_connections=constants.MAX_KEEPALIVE_CONNECTIONS,
    )


def _configure_logging_from_env(environ: Mapping[str, str] = os.environ) -> None:
    # Off by default, like any library; BIRD_FLASHCALLS_LOG=debug|info turns on a stderr handler.
    level = environ.get(constants.ENV_LOG, "").strip().upper()
    if level in ("DEBUG", "INFO", "WARNING") and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(level)


_configure_logging_from_env()

__all__ = ["AsyncFlashCalls", "BaseFlashCalls", "FlashCalls"]
