"""The key-secrecy tests' object walk, the texts a user sees, key-echoing servers, DEBUG logs."""

from __future__ import annotations

import gc
import json
import logging
import os
import secrets
import traceback
import types
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import httpx
from bird_flashcalls import Backoff, BirdError
from reliability import support as data
from reliability.support import Behaviour, ReceivedRequest, respond, respond_with, settle

REQUEST_ID = "req-7f3a9c"
WALK_LIMIT = 20_000
# Not followed by the walk: frames and tracebacks (what the capture_locals check covers: a
# formatted traceback shows each local's repr), and modules, classes, functions and code, which
# lead to the whole interpreter rather than to what an error or a client holds.
NOT_FOLLOWED = (
    *(types.FrameType, types.TracebackType, types.ModuleType, type),
    *(types.FunctionType, types.BuiltinFunctionType, types.CodeType),
)
APP_LOG = logging.getLogger("task_app")
DEBUG_LOGGERS = ("bird_flashcalls", "httpx", "httpcore", "hpack", "asyncio")


def unique_key() -> str:
    """A key no other test, module or interned constant holds."""
    return f"test-key-{secrets.token_urlsafe(24)}"


def settings(key: str, base_url: str, **overrides: Any) -> dict[str, Any]:
    """A client that retries once at once: the retry paths run too."""
    backoff = Backoff(initial_delay=0.0, max_delay=0.0, max_retry_after=1)
    return data.options(base_url, access_key=key, max_retries=1, backoff=backoff, **overrides)


@attrs.frozen
class Walk:
    found: list[str | bytes | bytearray]
    visited: int


def walk(root: object, key: str) -> Walk:
    """Every object reachable from ``root`` through gc.get_referents, up to WALK_LIMIT."""
    needle = key.encode()
    seen = {id(root)}
    stack = [root]
    found: list[str | bytes | bytearray] = []
    visited = 0
    while stack:
        item = stack.pop()
        visited += 1
        assert visited <= WALK_LIMIT, "the walk did not finish: its result would prove nothing"
        if isinstance(item, str | bytes | bytearray):
            if (key if isinstance(item, str) else needle) in item:
                found.append(item)
            continue
        for referent in gc.get_referents(item):
            if id(referent) not in seen and not isinstance(referent, NOT_FOLLOWED):
                seen.add(id(referent))
                stack.append(referent)
    return Walk(found, visited)


def shown(outcome: object) -> list[str]:
    """str, repr, traceback, fields, request and response: all a user sees of an outcome."""
    texts: list[object] = [str(outcome), repr(outcome)]
    if isinstance(outcome, BaseException):
        texts += [*outcome.args, "".join(traceback.format_exception(outcome))]
        for name in ("message", "code", "details", "request_id", "retry_after", "field"):
            texts.append(getattr(outcome, name, None))
        request = getattr(outcome, "request", None)
        if isinstance(request, httpx.Request):
            texts += [request, request.headers, str(request.url)]
        response = getattr(outcome, "response", None)
        if isinstance(response, httpx.Response):
            texts += [response, response.headers, response.request, response.request.headers]
    return [text if isinstance(text, str) else repr(text) for text in texts]


def holding(key: str, texts: Iterable[str]) -> list[str]:
    return [text for text in texts if key in text]


def sent_key(request: ReceivedRequest) -> str:
    return request.headers["authorization"].removeprefix("AccessKey ")


def echoing(status: int, body: str, *, in_headers: bool = False, **options: Any) -> Behaviour:
    """A careless server's response, quoting the key it received where ``body`` says {key}."""

    def answer(request: ReceivedRequest) -> Behaviour:
        key = sent_key(request)
        headers = {"Messagebird-Request-Id": REQUEST_ID}
        if in_headers:
            headers["WWW-Authenticate"] = f'AccessKey realm="bird", key="{key}"'
            headers["X-Echo"] = f"AccessKey {key}"
        return respond(status, body.replace("{key}", key), headers=headers, **options)

    return respond_with(answer)


def bird_error(
    status: int, code: str, message: str, *, in_headers: bool = False, **fields: Any
) -> Behaviour:
    """Bird's error body, quoting the key where ``message`` or ``fields`` say {key}."""
    body = json.dumps({"code": code, "message": message, **fields})
    return echoing(status, body, in_headers=in_headers)


class TaskFailed(Exception):
    """An application's own error, raised while it handles the client's."""


async def attempt(client: Any, operation: Callable[[Any], Any]) -> Any:
    """The result, or the app's own error chained to the client's and logged (no ``key`` local)."""
    try:
        try:
            return await settle(operation(client))
        except BirdError as error:
            raise TaskFailed("the task failed") from error
    except TaskFailed as failed:
        APP_LOG.exception("task failed")
        return failed


class DebugLines(logging.Handler):
    """Each record as a console prints it, and its arguments; also written to stderr (fd 2)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        self.lines += [line, f"{record.name} args {record.args!r}"]
        os.write(2, (line + "\n").encode("utf-8", "replace"))
