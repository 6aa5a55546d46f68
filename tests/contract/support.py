"""The contract tests' shared parts: the spec's operations, clients that record what goes over
the wire, and a transport that answers as the spec says."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import httpx
import ids
from bird_flashcalls import AsyncFlashCalls, FlashCalls

ROOT = Path(__file__).resolve().parents[2]
MERGED_SPEC = ROOT / "openapi" / "bird-flashcalls.openapi.json"
FRAGMENTS = ROOT / "openapi" / "fragments"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
WORKSPACE_ID, CHANNEL_ID, CALL_ID = ids.WORKSPACE_ID, ids.CHANNEL_ID, ids.CALL_ID
ACCESS_KEY = ids.ACCESS_KEY
CALLER = "+31201234567"
CALLED = "+31612345678"
NOWHERE = "http://127.0.0.1:9"  # never dialled: a MockTransport answers


# The spec


@attrs.frozen
class SpecOperation:
    operation_id: str
    method: str  # upper case, as httpx reports it
    path: str  # the template, e.g. /workspaces/{workspaceId}/...
    operation: Mapping[str, Any]

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and path_pattern(self.path).fullmatch(path) is not None


def load_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def spec_operations(spec: Mapping[str, Any]) -> dict[str, SpecOperation]:
    return {
        operation["operationId"]: SpecOperation(
            operation["operationId"], method.upper(), path, operation
        )
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def path_pattern(template: str) -> re.Pattern[str]:
    """/a/{id}/b -> a pattern where each {param} is one path segment, a group of its name."""
    return re.compile(re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)))


def resolve(spec: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        ref: str = node["$ref"]
        assert ref.startswith("#/"), f"only local $refs are expected, got {ref}"
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def request_body_schema(spec: Mapping[str, Any], operation: SpecOperation) -> Mapping[str, Any]:
    body = resolve(spec, operation.operation["requestBody"])
    schema: Mapping[str, Any] = body["content"]["application/json"]["schema"]
    return schema


SPEC = load_json(MERGED_SPEC)
SPEC_OPERATIONS = spec_operations(SPEC)


# What the wrapper sends and receives


@attrs.frozen
class Exchange:
    method: str
    path: str
    headers: httpx.Headers
    body: Any  # the request's JSON body
    status_code: int
    response_headers: httpx.Headers
    response_body: bytes

    def response_json(self) -> Any:
        return json.loads(self.response_body)

    def violations(self) -> list[dict[str, Any]]:
        """Prism's findings about this request and its response (header ``sl-violations``)."""
        header = self.response_headers.get("sl-violations")
        if header is None:
            return []
        # Prism cuts a header longer than ~8 kB to "Too many violations! <prefix>".
        if not header.startswith("["):
            return [{"severity": "Error", "message": header}]
        found: list[dict[str, Any]] = json.loads(header)
        return found

    def error_violations(self) -> list[dict[str, Any]]:
        return [v for v in self.violations() if v.get("severity") == "Error"]


class RecordingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Sends through ``inner`` (sync or async), records each exchange, and can add request
    headers on the way."""

    def __init__(self, inner: Any, extra_headers: Mapping[str, str] | None = None) -> None:
        self.inner = inner
        self.extra_headers = dict(extra_headers or {})
        self.exchanges: list[Exchange] = []

    def _record(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        content = request.content
        exchange = Exchange(
            method=request.method,
            path=request.url.path,
            headers=request.headers,
            body=json.loads(content) if content else None,
            status_code=response.status_code,
            response_headers=response.headers,
            response_body=response.content,
        )
        self.exchanges.append(exchange)
        return httpx.Response(
            response.status_code, headers=response.headers, content=exchange.response_body
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers.update(self.extra_headers)
        request.read()
        response = self.inner.handle_request(request)
        try:
            response.read()
        finally:
            response.close()
        return self._record(request, response)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers.update(self.extra_headers)
        await request.aread()
        response = await self.inner.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return self._record(request, response)

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()


def flash_call_body(request_body: Mapping[str, Any]) -> dict[str, Any]:
    """A FlashCall as the spec's 202 describes it, for the number the request rang."""
    return {
        "id": CALL_ID,
        "channelId": CHANNEL_ID,
        "from": request_body.get("from", CALLER),
        "to": request_body["to"],
        "status": "accepted",
        "createdAt": "2025-01-02T03:04:05Z",
        "updatedAt": "2025-01-02T03:04:05Z",
    }


def spec_conform(request: httpx.Request) -> httpx.Response:
    """An httpx.MockTransport handler answering each operation with a 202 the spec allows."""
    body = json.loads(request.content) if request.content else {}
    for operation in SPEC_OPERATIONS.values():
        if operation.matches(request.method, request.url.path):
            # Both end operations answer with the object they were sent.
            created = operation.operation_id == "createChannelFlashCall"
            return httpx.Response(202, json=flash_call_body(body) if created else body)
    return httpx.Response(404, json={"code": "not_found", "message": "no such route"})


@contextlib.contextmanager
def sync_client(
    base_url: str = NOWHERE, headers: Mapping[str, str] | None = None, **options: Any
) -> Iterator[tuple[FlashCalls, RecordingTransport]]:
    """A FlashCalls recording its exchanges; without a base URL the spec answers (spec_conform)."""
    inner = httpx.MockTransport(spec_conform) if base_url == NOWHERE else httpx.HTTPTransport()
    transport = RecordingTransport(inner, headers)
    with (
        httpx.Client(transport=transport) as http,
        FlashCalls(
            ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, base_url, http_client=http, **options
        ) as client,
    ):
        yield client, transport


@contextlib.asynccontextmanager
async def async_client(
    base_url: str = NOWHERE, headers: Mapping[str, str] | None = None, **options: Any
) -> AsyncIterator[tuple[AsyncFlashCalls, RecordingTransport]]:
    """The async twin of sync_client."""
    inner = httpx.MockTransport(spec_conform) if base_url == NOWHERE else httpx.AsyncHTTPTransport()
    transport = RecordingTransport(inner, headers)
    async with (
        httpx.AsyncClient(transport=transport) as http,
        AsyncFlashCalls(
            ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, base_url, http_client=http, **options
        ) as client,
    ):
        yield client, transport


def send(
    kind: str,
    call: Callable[[Any], Any],
    base_url: str = NOWHERE,
    headers: Mapping[str, str] | None = None,
) -> tuple[Any, list[Exchange]]:
    """``call(client)`` on a FlashCalls (kind "sync") or an AsyncFlashCalls ("async") that does
    not retry: what it returned or raised, and the exchanges it made."""
    if kind == "sync":
        with sync_client(base_url, headers, max_retries=0) as (client, transport):
            try:
                return call(client), transport.exchanges
            except Exception as error:
                return error, transport.exchanges

    async def run() -> tuple[Any, list[Exchange]]:
        async with async_client(base_url, headers, max_retries=0) as (client, transport):
            try:
                return await call(client), transport.exchanges
            except Exception as error:
                return error, transport.exchanges

    return asyncio.run(run())
