"""The contract tests' shared parts: the spec's operations, clients that record their exchanges,
and a transport that answers as the spec says."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import httpx
import shared
from bird_flashcalls import AsyncFlashCalls, FlashCalls

ROOT = Path(__file__).resolve().parents[2]
MERGED_SPEC = ROOT / "openapi" / "bird-flashcalls.openapi.json"
FRAGMENTS = ROOT / "openapi" / "fragments"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
WORKSPACE_ID, CHANNEL_ID, CALL_ID = shared.WORKSPACE_ID, shared.CHANNEL_ID, shared.CALL_ID
ACCESS_KEY = shared.ACCESS_KEY
CALLER = "+31201234567"
CALLED = "+31612345678"
NOWHERE = "http://127.0.0.1:9"  # never dialled: a MockTransport answers


@attrs.frozen
class SpecOperation:
    operation_id: str
    method: str  # upper case, as httpx reports it
    path: str  # the template, e.g. /workspaces/{workspaceId}/...
    operation: Mapping[str, Any]

    @property
    def sent_path(self) -> str:
        """The path a request for the ids of this module goes to."""
        return self.path.format(workspaceId=WORKSPACE_ID, channelId=CHANNEL_ID, callId=CALL_ID)

    def request_schema(self) -> Mapping[str, Any]:
        body = resolve(SPEC, self.operation["requestBody"])
        return resolve(SPEC, body["content"]["application/json"]["schema"])


def spec_operations(spec: Mapping[str, Any]) -> dict[str, SpecOperation]:
    return {
        operation["operationId"]: SpecOperation(
            operation["operationId"], method.upper(), path, operation
        )
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def resolve(spec: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        ref: str = node["$ref"]
        assert ref.startswith("#/"), f"only local $refs are expected, got {ref}"
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


SPEC: dict[str, Any] = json.loads(MERGED_SPEC.read_text(encoding="utf-8"))
SPEC_OPERATIONS = spec_operations(SPEC)


def sent_json(response: httpx.Response) -> Any:
    """The JSON body of the request ``response`` answered."""
    return json.loads(response.request.content) if response.request.content else None


def violations(response: httpx.Response) -> list[dict[str, Any]]:
    """Prism's errors about a request and its response (header ``sl-violations``)."""
    header = response.headers.get("sl-violations")
    if header is None:
        return []
    # Prism cuts a header longer than ~8 kB to "Too many violations! <prefix>".
    if not header.startswith("["):
        return [{"severity": "Error", "message": header}]
    return [v for v in json.loads(header) if v.get("severity") == "Error"]


class Recorder(list[httpx.Response]):
    """Response hooks for httpx clients: each response, read in full, in order."""

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        self.append(response)

    async def after(self, response: httpx.Response) -> None:
        await response.aread()
        self.append(response)


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
        if (request.method, request.url.path) == (operation.method, operation.sent_path):
            # Both end operations answer with the object they were sent.
            created = operation.operation_id == "createChannelFlashCall"
            return httpx.Response(202, json=flash_call_body(body) if created else body)
    return httpx.Response(404, json={"code": "not_found", "message": "no such route"})


@contextlib.asynccontextmanager
async def async_client(
    base_url: str, headers: Mapping[str, str] | None = None
) -> AsyncIterator[tuple[AsyncFlashCalls, Recorder]]:
    """A recorded AsyncFlashCalls for ``base_url`` that sends ``headers`` and never retries."""
    exchanges = Recorder()
    hooks = {"response": [exchanges.after]}
    async with (
        httpx.AsyncClient(headers=headers, event_hooks=hooks) as http,
        AsyncFlashCalls(
            ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, base_url, http_client=http, max_retries=0
        ) as client,
    ):
        yield client, exchanges


def send(
    call: Callable[[FlashCalls], Any],
    base_url: str = NOWHERE,
    headers: Mapping[str, str] | None = None,
) -> tuple[Any, list[httpx.Response]]:
    """What ``call(client)`` returned or raised, and its exchanges; spec_conform answers if no URL."""
    exchanges = Recorder()
    transport = httpx.MockTransport(spec_conform) if base_url == NOWHERE else None
    hooks = {"response": [exchanges]}
    with (
        httpx.Client(transport=transport, headers=headers, event_hooks=hooks) as http,
        FlashCalls(
            ACCESS_KEY, WORKSPACE_ID, CHANNEL_ID, base_url, http_client=http, max_retries=0
        ) as client,
    ):
        try:
            return call(client), exchanges
        except Exception as error:
            return error, exchanges
