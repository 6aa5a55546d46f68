"""Request building: check the arguments, shape each operation's address and body.

Nothing here does I/O. A ``Prepared`` request says which operation it is, where it goes and what
it carries; the clients turn it into an ``httpx.Request`` with their own httpx client.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Mapping
from typing import Any, Generic, TypeVar
from uuid import UUID

import attrs
import httpx

from . import _spec, _verify
from ._config import Settings, parse_uuid
from ._generated.models.flash_call import FlashCall
from ._generated.models.flash_call_create import FlashCallCreate
from ._generated.models.flash_call_hangup import FlashCallHangup
from ._generated.models.flash_call_hangup_from_to import FlashCallHangupFromTo
from ._generated.models.flash_call_hangup_from_to_request import (
    FlashCallHangupFromToRequest,
)
from ._generated.models.flash_call_hangup_request import FlashCallHangupRequest
from ._generated.models.hangup_result import HangupResult
from ._generated.types import UNSET, Unset
from ._operations import CREATE, END, HANGUP, Operation
from ._rules import MAX_RING_TIMEOUT, MIN_RING_TIMEOUT, RESULTS, is_e164
from ._version import __version__
from .errors import APIResponseValidationError, InvalidRequestError

Parsed = TypeVar("Parsed")
CallRef = FlashCall | UUID | str
ResultValue = HangupResult | str
ExtraBody = Mapping[str, object] | None

USER_AGENT = (
    f"bird-flashcalls/{__version__} python/{sys.version_info.major}.{sys.version_info.minor}"
    f".{sys.version_info.micro}"
)


@attrs.define
class Prepared(Generic[Parsed]):
    """One operation's request, checked and shaped, not yet bound to an httpx client."""

    operation: Operation[Parsed]
    url: httpx.URL
    body: dict[str, Any] = attrs.field(repr=False)  # phone numbers: not in reprs or tracebacks


class RequestBuilder:
    """Builds the requests of one client's workspace and channel."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        # The spec's paths (tests/unit/test_requests.py holds them to the generated operations').
        # A UUID's text needs no quoting in a path.
        calls = (
            f"{settings.base_url}/workspaces/{settings.workspace_id}"
            f"/channels/{settings.channel_id}/flashcalls"
        )
        self._create_url = httpx.URL(calls)
        self._hangup_url = httpx.URL(calls + "/hangup")
        self._call_url_prefix = calls + "/"

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": self._settings.access_key.authorization(),
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }

    def create(
        self, to: str, from_: str | None, ring_timeout: int | None, extra_body: ExtraBody = None
    ) -> Prepared[FlashCall]:
        body = FlashCallCreate(
            to=_verify.normalise_number(to, field="to"),
            from_=UNSET if from_ is None else _verify.normalise_number(from_, field="from_"),
            ring_timeout=UNSET if ring_timeout is None else _ring_timeout(ring_timeout),
        )
        return Prepared(CREATE, self._create_url, with_extra(body.to_dict(), extra_body, CREATE))

    def end(
        self,
        call: CallRef,
        result: ResultValue,
        received_cli: str | None,
        extra_body: ExtraBody = None,
    ) -> Prepared[FlashCallHangup]:
        body = FlashCallHangupRequest(
            result=_result(result), received_cli=_optional_cli(received_cli)
        )
        url = httpx.URL(self._call_url_prefix + str(call_id(call)))
        return Prepared(END, url, with_extra(body.to_dict(), extra_body, END))

    def hangup(
        self,
        from_: str,
        to: str,
        result: ResultValue,
        received_cli: str | None,
        extra_body: ExtraBody = None,
    ) -> Prepared[FlashCallHangupFromTo]:
        body = FlashCallHangupFromToRequest(
            from_=_verify.normalise_number(from_, field="from_"),
            to=_verify.normalise_number(to, field="to"),
            result=_result(result),
            received_cli=_optional_cli(received_cli),
        )
        return Prepared(HANGUP, self._hangup_url, with_extra(body.to_dict(), extra_body, HANGUP))

    def verify(
        self, call: CallRef, received_cli: str, expected_cli: str | None
    ) -> tuple[_verify.Verification, Prepared[FlashCallHangup]]:
        """Decide locally, and the End request that reports the decision."""
        verification = _verify.check_received_cli(
            call_id(call), expected_cli_of(call, expected_cli), received_cli
        )
        reported = verification.received_cli if is_e164(verification.received_cli) else None
        return verification, self.end(verification.call_id, verification.result, reported)

    def verify_code(
        self, call: CallRef, code: str, digits: int | None, expected_cli: str | None
    ) -> tuple[_verify.Verification, Prepared[FlashCallHangup]]:
        verification = _verify.check_typed_code(
            call_id(call), expected_cli_of(call, expected_cli), code, digits
        )
        return verification, self.end(verification.call_id, verification.result, None)


def with_extra(
    body: dict[str, Any], extra_body: ExtraBody, operation: Operation[Any]
) -> dict[str, Any]:
    """``body`` then the fields of ``extra_body``, which may name no field the spec documents
    (those come from the method's own arguments, checked). Values are never shown: they may be
    phone numbers."""
    if extra_body is None:
        return body
    if not isinstance(extra_body, Mapping):
        raise InvalidRequestError(
            "extra_body must be a mapping of JSON field names to values, got "
            f"{type(extra_body).__name__}",
            field="extra_body",
        )
    documented = _spec.request_fields(operation.operation_id)
    for key, value in extra_body.items():
        if not isinstance(key, str):
            raise InvalidRequestError(
                f"extra_body's field names must be strings, got {type(key).__name__}",
                field="extra_body",
            )
        if key in documented:
            raise InvalidRequestError(
                f"extra_body cannot set {key!r}: {operation.method_name}() sends that "
                "documented field from its own arguments",
                field="extra_body",
            )
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise InvalidRequestError(
                f"extra_body[{key!r}] is not JSON (a {type(value).__name__})",
                field="extra_body",
            ) from None
    return {**body, **extra_body}


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


def call_id(call: CallRef) -> UUID:
    if isinstance(call, FlashCall):
        return call.id
    return parse_uuid(call, field="call")


def expected_cli_of(call: CallRef, expected_cli: str | None) -> str:
    if expected_cli is not None:
        return _verify.normalise_number(expected_cli, field="expected_cli")
    if not isinstance(call, FlashCall):
        raise InvalidRequestError(
            "verifying a call given by id needs expected_cli=: pass the FlashCall that "
            "create() returned, or the number it was called from",
            field="expected_cli",
        )
    # The call came from Bird: a 'from' that is not a phone number is Bird's fault, not the
    # caller's, and nothing can be verified against it.
    if isinstance(call.from_, str):
        with contextlib.suppress(InvalidRequestError):
            return _verify.normalise_number(call.from_, field="from")
    raise APIResponseValidationError(
        f"flash call {call.id} came back from Bird without a caller number in E.164 form "
        "('from'), so there is nothing to compare the handset's number with. Pass "
        "expected_cli= if you know the number Bird called from, or report this to Bird",
        response=None,
        body=b"",
        request_id=None,
    )
