"""What a user reads from an error, in a form that compares by value (pickle and copy tests)."""

from __future__ import annotations

from typing import Any

import httpx

FIELDS = (
    "status_code",
    "code",
    "message",
    "details",
    "request_id",
    "may_have_been_delivered",
    "retry_after",
    "field",
    "body",
)


def error_fields(error: BaseException) -> dict[str, Any]:
    shown: dict[str, Any] = {"type": type(error), "str": str(error), "args": error.args}
    for name in FIELDS:
        if hasattr(error, name):
            shown[name] = getattr(error, name)
    response = getattr(error, "response", None)
    if response is not None:
        shown["response"] = (
            response.status_code,
            response.headers.multi_items(),
            response.content,
            request_fields(response.request),
        )
    request = getattr(error, "request", None)
    if request is not None:
        shown["request"] = request_fields(request)
    return shown


def request_fields(request: httpx.Request) -> tuple[Any, ...]:
    return request.method, str(request.url), request.headers.multi_items(), request.content
