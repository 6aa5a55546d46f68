"""What every suite shares: the ids, key and numbers (so a value means the same thing
everywhere), the Driver for sync and async twins, and an error's fields by value.

The access key is distinctive: a leak anywhere (messages, logs, reprs, pickles) is found by a
plain substring search.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import httpx

ACCESS_KEY = "Zq8vN3xW-test-access-key-7TqLm"
WORKSPACE_ID = "5a3e1f5b-3c5b-4b59-9a3e-1c2d3e4f5a6b"
CHANNEL_ID = "0b6f4d58-7b2f-4c3e-8d65-9a1b2c3d4e5f"
CALL_ID = "9c8d7e6f-5a4b-4c3d-8e2f-1a0b9c8d7e6f"
BASE_URL = "https://api.bird.test"
FLASHCALLS_PATH = f"/workspaces/{WORKSPACE_ID}/channels/{CHANNEL_ID}/flashcalls"
CALLER = "+31201234567"  # the number Bird rings from: what the handset sees
CALLEE = "+31612345678"


class Driver:
    """``await driver.method(...)`` calls ``method`` of the wrapped object, sync or async.

    ``check`` sees every exception on its way out (e.g. that it does not show a secret).
    Attributes that are not callable are returned as they are.
    """

    def __init__(self, wrapped: Any, check: Callable[[BaseException], None] | None = None) -> None:
        self.wrapped = wrapped
        self._check = check

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.wrapped, name)
        if not callable(attribute):
            return attribute

        async def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = attribute(*args, **kwargs)
                return (await result) if inspect.isawaitable(result) else result
            except BaseException as error:
                if self._check is not None:
                    self._check(error)
                raise

        return call


# What a user reads from an error, in a form that compares by value (pickle and copy tests).
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
