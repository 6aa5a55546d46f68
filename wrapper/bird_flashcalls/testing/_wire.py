"""What crosses the wire between a client and FakeBird: the request as received, the answer as
sent, Bird's error shape, the strict reading of a JSON request body, and its check against the
operation's request schema in the spec the client was generated from. No I/O."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import attrs
import httpx

from .. import _spec
from .._rules import E164_PATTERN, is_e164

# The only media type the spec gives the three request bodies.
JSON_MEDIA_TYPE = "application/json"
_MAX_SHOWN = 60  # characters of a refused header value in an error message
# Bird's 422 body, as seen on its other endpoints.
INVALID_PAYLOAD = (
    "InvalidPayload",
    "One or more fields provided in the request body are malformed",
)
E164_PROBLEM = (
    "must be a phone number in E.164 format: '+' and 7 to 15 digits, such as +31612345678"
)


@attrs.frozen
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


@attrs.frozen
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


def _phrase(status: int) -> str:
    # httpx's table, not http.HTTPStatus: Python 3.13 renamed 413, 414, 416 and 422 after RFC
    # 9110, and FakeBird's error codes must not change with the Python that runs it.
    return httpx.codes.get_reason_phrase(status) or "Error"


def _code(phrase: str) -> str:
    return "".join(word.capitalize() for word in re.split(r"[^A-Za-z]+", phrase))


def error_code(status: int) -> str:
    """``503`` -> ``"ServiceUnavailable"``: the code of an error body for a bare status."""
    return _code(_phrase(status))


def status_problem(status: int, retry_after: float | None = None) -> Problem:
    phrase = _phrase(status)
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    return Problem(status, _code(phrase), f"{phrase} (injected by FakeBird)", headers=headers)


def not_found(what: str) -> Problem:
    return Problem(404, "NotFound", f"The requested resource does not exist: {what} not found")


def timestamp() -> str:
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
        Problem(status, error_code(status), f"{message}: {shown(reason)}"), new_request_id()
    )


def shown(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "..."


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
        raise _NotJson(f"the number {shown(text)} is too large")
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
            f"The Content-Type must be {JSON_MEDIA_TYPE}, not {shown(content_type)!r}",
        )
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            raise Problem(
                400, "BadRequest", f"JSON must be sent as UTF-8, not {shown(value.strip())!r}"
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


# The request body against its schema: what the spec says, nothing copied by hand. The schemas
# use objects (closed or open, required fields), strings (enum, pattern, lengths), integers
# (bounds) and $refs; any other JSON Schema keyword a new field brings is checked by type alone.


def check_request(operation_id: str, body: Mapping[str, Any]) -> None:
    """Nothing, or a 422 naming each field of ``body`` that the operation's schema refuses."""
    details: dict[str, list[str]] = {}
    _check_object(_spec.request_schema(operation_id), body, "", details)
    if details:
        raise Problem(422, *INVALID_PAYLOAD, details=details)


_TYPES: dict[str, tuple[str, Any]] = {
    "string": ("a string", lambda v: isinstance(v, str)),
    # JSON Schema's integer: 30 and 30.0 are integers, true and 30.5 are not.
    "integer": ("an integer", lambda v: _number(v) and float(v).is_integer()),
    "number": ("a number", lambda v: _number(v)),
    "boolean": ("a boolean", lambda v: isinstance(v, bool)),
    "object": ("an object", lambda v: isinstance(v, dict)),
    "array": ("an array", lambda v: isinstance(v, list)),
}


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_object(
    schema: Mapping[str, Any], body: Mapping[str, Any], prefix: str, details: dict[str, list[str]]
) -> None:
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in body:
            details.setdefault(prefix + name, []).append("is required")
    for name, value in body.items():
        if name in properties:
            problems = _value_problems(
                _spec.resolve(properties[name]), value, prefix + name, details
            )
            if problems:
                details.setdefault(prefix + name, []).extend(problems)
        elif schema.get("additionalProperties") is False:
            details.setdefault(prefix + name, []).append(f'property "{name}" is unsupported')


def _value_problems(
    schema: Mapping[str, Any], value: Any, name: str, details: dict[str, list[str]]
) -> list[str]:
    kind = schema.get("type")
    if kind in _TYPES and not _TYPES[kind][1](value):
        return [f"must be {_TYPES[kind][0]}"]
    problems = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"must be one of {', '.join(map(str, schema['enum']))}")
    if isinstance(value, str):
        pattern = schema.get("pattern")
        if pattern == E164_PATTERN:
            if not is_e164(value):
                problems.append(E164_PROBLEM)
        elif pattern is not None and re.search(pattern.removesuffix("$") + r"\Z", value) is None:
            problems.append(f"must match {pattern}")
        if len(value) > schema.get("maxLength", len(value)):
            problems.append(f"must be at most {schema['maxLength']} characters")
        if len(value) < schema.get("minLength", 0):
            problems.append(f"must be at least {schema['minLength']} characters")
    if _number(value):
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            if low is not None and high is not None:
                problems.append(f"must be between {low} and {high}")
            else:
                problems.append(
                    f"must be at least {low}" if high is None else f"must be at most {high}"
                )
    if isinstance(value, dict) and kind == "object":
        _check_object(schema, value, name + ".", details)
    return problems
