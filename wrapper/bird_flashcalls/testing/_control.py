"""FakeBird's control API under ``/_fakebird/``: read what it was asked, steer what it answers.

Not part of Bird's API (a deployed app's tests use it through ``FakeBirdControl``). It takes the
same ``Authorization: AccessKey <key>`` as the Bird paths; bodies are read as JSON whatever their
Content-Type; errors are Bird's ``{code, message[, details]}``, and a refused request changes
nothing. Its requests are neither faulted nor listed in ``requests``::

    GET    /_fakebird/calls              {"calls": [call, ...]}   (as FakeBird.calls holds them)
    GET    /_fakebird/calls/{id}         call, or 404
    GET    /_fakebird/requests           {"requests": [{method, path, status, requestId}, ...]}
    POST   /_fakebird/reset              forget calls and requests: {"calls": n, "requests": n}
    POST   /_fakebird/faults             {"status": 503, "rate": 1, "operations": ["create"], ...}
    DELETE /_fakebird/faults             no more faults
    PUT    /_fakebird/caller-numbers     ["+3197010260000", ...]
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from .._rules import canonical_uuid
from ._wire import (
    JSON_MEDIA_TYPE,
    FakeResponse,
    Problem,
    error_response,
    new_request_id,
    not_found,
    parse_json,
)

if TYPE_CHECKING:
    from ._fake import FakeBird

CONTROL_PREFIX = "/_fakebird"
_INVALID = "InvalidPayload"
# The fault spec: each field, the JSON types it takes and its default.
_FAULT_FIELDS: dict[str, tuple[tuple[type, ...], Any]] = {
    "status": ((int, type(None)), 503),
    "rate": ((int, float), 1.0),
    "operations": ((list, type(None)), None),
    "count": ((int, type(None)), None),
    "retry_after": ((int, float, type(None)), None),
    "drop_connection": ((bool,), False),
    "delay": ((int, float), 0.0),
    "seed": ((int, type(None)), None),
}

Handler = Callable[["FakeBird", bytes], tuple[int, Any]]


def is_control_path(path: str) -> bool:
    """Whether a request path belongs to the control API rather than to Bird's."""
    bare = path.split("?", 1)[0]
    return bare == CONTROL_PREFIX or bare.startswith(CONTROL_PREFIX + "/")


def control_response(
    fake: FakeBird,
    authenticate: Callable[[str | None], None],
    method: str,
    path: str,
    headers: httpx.Headers,
    body: bytes,
) -> FakeResponse:
    """The control API's answer to one request."""
    request_id = new_request_id()
    try:
        authenticate(headers.get("Authorization"))
        handler = _handler(method.upper(), path.split("?", 1)[0])
        status, payload = handler(fake, body)
    except Problem as problem:
        return error_response(problem, request_id)
    return FakeResponse(
        status=status,
        headers={"Content-Type": JSON_MEDIA_TYPE, "Messagebird-Request-Id": request_id},
        body=json.dumps(payload).encode(),
    )


def _handler(method: str, path: str) -> Handler:
    route = path.removeprefix(CONTROL_PREFIX)
    if route.startswith("/calls/"):
        call_id = route.removeprefix("/calls/")
        methods: dict[str, Handler] = {"GET": lambda fake, _: (200, _call(fake, call_id))}
    elif route in _ROUTES:
        methods = _ROUTES[route]
    else:
        raise not_found(f"control path (FakeBird's are {', '.join(sorted(_ROUTES))})")
    if method not in methods:
        allowed = ", ".join(methods)
        raise Problem(
            405,
            "MethodNotAllowed",
            f"{method} is not allowed on {CONTROL_PREFIX}{route}: use {allowed}",
            headers={"Allow": allowed},
        )
    return methods[method]


def _call(fake: FakeBird, call_id: str) -> dict[str, Any]:
    canonical = canonical_uuid(call_id)
    calls = fake.calls
    if canonical is None or str(canonical) not in calls:
        raise not_found("flash call")
    return calls[str(canonical)]


def _requests(fake: FakeBird, _: bytes) -> tuple[int, Any]:
    # Never a header or a body: the path (without its query), the status and the request id.
    listed = [
        {
            "method": request.method,
            "path": request.path.split("?", 1)[0],
            "status": request.status,
            "requestId": request.request_id,
        }
        for request in fake.requests
    ]
    return 200, {"requests": listed}


def _reset(fake: FakeBird, _: bytes) -> tuple[int, Any]:
    calls, requests = fake.reset()
    return 200, {"calls": calls, "requests": requests}


def _fail(fake: FakeBird, body: bytes) -> tuple[int, Any]:
    spec = _json(body)
    if not isinstance(spec, dict):
        raise _invalid("fault", 'must be a JSON object such as {"status": 503, "rate": 1}')
    details: dict[str, list[str]] = {}
    for name, value in spec.items():
        if name not in _FAULT_FIELDS:
            details[name] = [f'property "{name}" is unsupported']
        elif isinstance(value, bool) != (name == "drop_connection") or not isinstance(
            value, _FAULT_FIELDS[name][0]
        ):
            details[name] = [f"has the wrong type {type(value).__name__}"]
    if details:
        raise Problem(422, _INVALID, "The fault spec is not valid", details=details)
    settings = {name: spec.get(name, default) for name, (_, default) in _FAULT_FIELDS.items()}
    try:
        fake.fail_randomly(**settings)
    except ValueError as error:
        # Each message opens with the field it refuses.
        name = str(error).split(" ", 1)[0]
        raise _invalid(name if name in _FAULT_FIELDS else "status", str(error)) from None
    return 200, {"faults": settings}


def _clear_faults(fake: FakeBird, _: bytes) -> tuple[int, Any]:
    fake.clear_faults()
    return 200, {"faults": None}


def _caller_numbers(fake: FakeBird, body: bytes) -> tuple[int, Any]:
    numbers = _json(body)
    try:
        fake.set_caller_numbers(numbers)
    except ValueError as error:
        raise _invalid("callerNumbers", str(error)) from None
    return 200, {"callerNumbers": len(numbers)}


def _json(body: bytes) -> Any:
    try:
        return parse_json(body)
    except (ValueError, RecursionError) as error:
        raise Problem(400, "BadRequest", f"The request body is not valid JSON: {error}") from None


def _invalid(name: str, problem: str) -> Problem:
    return Problem(422, _INVALID, f"{name}: {problem}", details={name: [problem]})


_ROUTES: dict[str, dict[str, Handler]] = {
    "/calls": {"GET": lambda fake, _: (200, {"calls": list(fake.calls.values())})},
    "/requests": {"GET": _requests},
    "/reset": {"POST": _reset},
    "/faults": {"POST": _fail, "DELETE": _clear_faults},
    "/caller-numbers": {"PUT": _caller_numbers},
}
