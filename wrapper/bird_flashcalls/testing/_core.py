"""Bird's three flash-call operations over an in-memory store: a request in, a response out, no I/O.

Both ways of reaching FakeBird (the in-process transport and the HTTP server) hand every request
to ``Store.handle``, so they cannot answer differently. The domain rules (results, ring-timeout
bounds, E.164, canonical UUIDs) come from ``bird_flashcalls._rules``, as the client's do.
"""

from __future__ import annotations

import hmac
import http
import json
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx

from .._rules import (
    DEFAULT_RING_TIMEOUT,
    MAX_RING_TIMEOUT,
    MIN_RING_TIMEOUT,
    RESULTS,
    canonical_uuid,
    is_e164,
)

# Numbers Bird picks from when a create request has no `from` (Dutch 097 numbers, as Bird uses).
CALLER_NUMBERS = (
    "+3197010260000",
    "+3197010260001",
    "+3197010260002",
    "+3197010260003",
    "+3197010260004",
)

_PATH = re.compile(
    r"/workspaces/(?P<workspace>[^/]+)/channels/(?P<channel>[^/]+)/flashcalls(?:/(?P<call>[^/]+))?"
)
# The only media type the spec gives the three request bodies.
JSON_MEDIA_TYPE = "application/json"
_MAX_SHOWN = 60  # characters of a refused header value in an error message
_CREATE_FIELDS = ("to", "from", "ringTimeout")
_END_FIELDS = ("result", "receivedCli")
_HANGUP_FIELDS = ("from", "to", "result", "receivedCli")
# Bird's 422 body, as seen on its other endpoints.
_INVALID_PAYLOAD = (
    "InvalidPayload",
    "One or more fields provided in the request body are malformed",
)


@dataclass(frozen=True)
class FakeResponse:
    """What FakeBird answers: status, headers and body, and how the transport should deliver it.

    ``delay`` is waited before answering; ``drop_connection`` closes the connection instead of
    answering (the request was handled: Bird received it, the answer was lost).
    """

    status: int
    headers: dict[str, str]
    body: bytes
    delay: float = 0.0
    drop_connection: bool = False

    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)


@dataclass(frozen=True)
class FakeRequest:
    """A request FakeBird received, and the status it decided to answer with."""

    method: str
    path: str
    headers: httpx.Headers
    body: bytes
    json: Any  # the parsed body; None when it is not JSON
    request_id: str  # the Messagebird-Request-Id of the answer
    status: int


class Problem(Exception):
    """An error answer in Bird's shape: ``{code, message}``, plus ``details`` for a 422."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


def error_code(status: int) -> str:
    """``503`` -> ``"ServiceUnavailable"``: the code of an error body for a bare status."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"
    return "".join(word.capitalize() for word in re.split(r"[^A-Za-z]+", phrase))


def status_problem(status: int, retry_after: float | None = None) -> Problem:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    return Problem(status, error_code(status), f"{phrase} (injected by FakeBird)", headers=headers)


def _not_found(what: str) -> Problem:
    return Problem(404, "NotFound", f"The requested resource does not exist: {what} not found")


def _timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_request_id() -> str:
    return str(uuid4())


def error_response(problem: Problem, request_id: str) -> FakeResponse:
    """A Bird-shaped error answer: JSON ``{code, message[, details]}`` and the request id."""
    return FakeResponse(
        status=problem.status,
        headers={
            "Content-Type": JSON_MEDIA_TYPE,
            "Messagebird-Request-Id": request_id,
            **problem.headers,
        },
        body=json.dumps(problem.body()).encode(),
    )


def unreadable_request(status: int, reason: str) -> FakeResponse:
    """The answer to a request that is not readable HTTP (bad request line, Content-Length or
    size): what an API gateway in front of Bird would say, in Bird's error shape."""
    messages = {
        400: "The request is not valid HTTP/1.1",
        413: "The request body is larger than FakeBird accepts",
    }
    message = messages.get(status, "The request could not be read")
    return error_response(
        Problem(status, error_code(status), f"{message}: {_shown(reason)}"), new_request_id()
    )


def _shown(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "..."


@dataclass
class _Checker:
    """Collects the problems of a request body, keyed by field as in Bird's 422 details."""

    body: Mapping[str, Any]
    details: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, problem: str) -> None:
        self.details.setdefault(name, []).append(problem)

    def only(self, allowed: Sequence[str]) -> None:
        for name in self.body:
            if name not in allowed:
                self.add(name, f'property "{name}" is unsupported')

    def string(self, name: str, *, required: bool, phone: bool = False) -> str | None:
        if name not in self.body:
            if required:
                self.add(name, "is required")
            return None
        value = self.body[name]
        if not isinstance(value, str):
            self.add(name, "must be a string")
        elif phone and not is_e164(value):
            self.add(
                name,
                "must be a phone number in E.164 format: '+' and 7 to 15 digits, such as "
                "+31612345678",
            )
        else:
            return value
        return None

    def ring_timeout(self) -> int:
        value = self.body.get("ringTimeout", DEFAULT_RING_TIMEOUT)
        # JSON Schema's integer: 30 and 30.0 are integers, true and 30.5 are not.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.add("ringTimeout", "must be an integer")
        elif not MIN_RING_TIMEOUT <= value <= MAX_RING_TIMEOUT:
            self.add("ringTimeout", f"must be between {MIN_RING_TIMEOUT} and {MAX_RING_TIMEOUT}")
        else:
            return value
        return DEFAULT_RING_TIMEOUT

    def result(self) -> str:
        value = self.string("result", required=True)
        if value is not None and value not in RESULTS:
            self.add("result", f"must be one of {', '.join(RESULTS)}")
        return value or ""

    def finish(self) -> None:
        if self.details:
            raise Problem(422, *_INVALID_PAYLOAD, details=self.details)


# What end by from/to answers: its published 202 is {result, receivedCli} or an open
# {from, to}, so a client must take either ("full" is both at once; "random" picks per call).
HANGUP_ANSWERS = ("random", "full", "result", "numbers")


class Store:
    """One workspace with one flash-call channel, and the calls made on it. Not thread-safe:
    FakeBird holds its lock around ``handle``."""

    def __init__(
        self,
        workspace_id: UUID,
        channel_id: UUID,
        access_key: str,
        caller_numbers: Sequence[str],
        hangup_answer: str = "random",
        seed: int | None = None,
    ) -> None:
        self.workspace_id = workspace_id
        self.channel_id = channel_id
        self.access_key = access_key
        self.caller_numbers = tuple(caller_numbers)
        self.hangup_answer = hangup_answer
        # Call id -> the call as returned by create, plus the last reported result.
        self.calls: dict[str, dict[str, Any]] = {}
        self._random = random.Random(seed)

    def handle(
        self, method: str, path: str, headers: httpx.Headers, body: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        try:
            return 202, {}, self._route(method, path, headers, body)
        except Problem as problem:
            return problem.status, problem.headers, problem.body()

    def _route(self, method: str, path: str, headers: httpx.Headers, body: bytes) -> dict[str, Any]:
        self._authenticate(headers.get("Authorization"))
        match = _PATH.fullmatch(path.split("?", 1)[0])
        if match is None:
            raise _not_found("path")
        # Only the canonical 8-4-4-4-12 form: Bird's routes match no other spelling of a UUID.
        if canonical_uuid(match["workspace"]) != self.workspace_id:
            raise _not_found("workspace")
        if canonical_uuid(match["channel"]) != self.channel_id:
            raise _not_found("channel")
        if method != "POST":
            shown = _shown(method)
            raise Problem(
                405,
                "MethodNotAllowed",
                f"{shown} is not allowed here: flash-call operations are POST",
                headers={"Allow": "POST"},
            )
        # The body is read before the operation runs, as a web framework would.
        data = json_object(headers.get("Content-Type"), body)
        call = match["call"]
        if call is None:
            return self._create(data)
        if call == "hangup":
            return self._hangup(data)
        call_id = canonical_uuid(call)
        if call_id is None or str(call_id) not in self.calls:
            raise _not_found("flash call")
        return self._end(str(call_id), data)

    def _authenticate(self, authorization: str | None) -> None:
        if not authorization:
            raise Problem(
                401,
                "Unauthorized",
                "The Authorization header is missing: send 'Authorization: AccessKey <key>'",
            )
        scheme, _, key = authorization.partition(" ")
        valid = scheme.lower() == "accesskey" and hmac.compare_digest(
            key.strip().encode(), self.access_key.encode()
        )
        if not valid:
            raise Problem(401, "Unauthorized", "The access key is not valid")

    def _create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        checker = _Checker(body)
        checker.only(_CREATE_FIELDS)
        to = checker.string("to", required=True, phone=True)
        from_ = checker.string("from", required=False, phone=True)
        ring_timeout = checker.ring_timeout()
        checker.finish()
        assert to is not None
        now = _timestamp()
        call_id = str(uuid4())
        call: dict[str, Any] = {
            "id": call_id,
            "channelId": str(self.channel_id),
            "from": from_ or self._random.choice(self.caller_numbers),
            "to": to,
            "status": "accepted",
            "ringTimeout": ring_timeout,
            "createdAt": now,
            "updatedAt": now,
        }
        self.calls[call_id] = dict(call)
        return call

    def _end(self, call_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        checker = _Checker(body)
        checker.only(_END_FIELDS)
        result = checker.result()
        received_cli = checker.string("receivedCli", required=False, phone=True)
        checker.finish()
        return self._report(self.calls[call_id], result, received_cli)

    def _hangup(self, body: Mapping[str, Any]) -> dict[str, Any]:
        checker = _Checker(body)
        checker.only(_HANGUP_FIELDS)
        from_ = checker.string("from", required=True, phone=True)
        to = checker.string("to", required=True, phone=True)
        result = checker.result()
        received_cli = checker.string("receivedCli", required=False, phone=True)
        checker.finish()
        matching = [c for c in self.calls.values() if c["from"] == from_ and c["to"] == to]
        if not matching:
            raise _not_found("flash call with that from and to")
        # Most recent first: calls are kept in creation order.
        reported = self._report(matching[-1], result, received_cli)
        answer = self.hangup_answer
        if answer == "random":
            answer = self._random.choice(HANGUP_ANSWERS[1:])
        if answer == "result":
            return reported
        if answer == "numbers":
            return {"from": from_, "to": to}
        return {"from": from_, "to": to, **reported}

    def _report(
        self, call: dict[str, Any], result: str, received_cli: str | None
    ) -> dict[str, Any]:
        call["result"] = result
        call.pop("receivedCli", None)
        answer = {"result": result}
        if received_cli is not None:
            call["receivedCli"] = answer["receivedCli"] = received_cli
        call["updatedAt"] = _timestamp()
        return answer


class _NotJson(ValueError):
    """The body is not strict JSON; the message says why."""


def parse_json(body: bytes) -> Any:
    """Strict JSON (RFC 8259): UTF-8 only, no NaN or Infinity, no number beyond a double, no key
    twice in an object. Python's json module allows all of these; Bird's parser would not."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _NotJson("it is not UTF-8") from None
    return json.loads(
        text,
        parse_constant=_refuse_constant,
        parse_float=_finite_float,
        object_pairs_hook=_unique_keys,
    )


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson(f"the number {_shown(text)} is too large")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _NotJson(f"the key {json.dumps(key)} appears twice in one object")
        seen.add(key)
    return dict(pairs)


def _check_content_type(content_type: str | None) -> None:
    # Bird's spec gives application/json as the only request media type. A wrong one is a 400
    # (the status the spec documents for a request Bird cannot read), not an undocumented 415.
    if content_type is None:
        raise Problem(
            400, "BadRequest", f"The Content-Type header is missing: send {JSON_MEDIA_TYPE}"
        )
    media_type, _, parameters = content_type.partition(";")
    if media_type.strip().lower() != JSON_MEDIA_TYPE:
        raise Problem(
            400,
            "BadRequest",
            f"The Content-Type must be {JSON_MEDIA_TYPE}, not {_shown(content_type)!r}",
        )
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            raise Problem(
                400, "BadRequest", f"JSON must be sent as UTF-8, not {_shown(value.strip())!r}"
            )


def json_object(content_type: str | None, body: bytes) -> Mapping[str, Any]:
    """The request body as a JSON object, or the 400 that says why it is not one."""
    _check_content_type(content_type)
    try:
        data = parse_json(body)
    except _NotJson as problem:
        raise Problem(400, "BadRequest", f"The request body is not valid JSON: {problem}") from None
    except (ValueError, RecursionError):
        raise Problem(400, "BadRequest", "The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Problem(
            400, "BadRequest", f"The request body must be a JSON object, not {_json_type(data)}"
        )
    return data


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array"
