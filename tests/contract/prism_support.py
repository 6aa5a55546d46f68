"""Helpers for the contract tests: the spec's operations, recording transports and Prism itself."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import attrs
import httpx
import ids
import pytest

ROOT = Path(__file__).resolve().parents[2]
MERGED_SPEC = ROOT / "openapi" / "bird-flashcalls.openapi.json"
FRAGMENTS = ROOT / "openapi" / "fragments"
PRISM_BIN = ROOT / "node_modules" / ".bin" / "prism"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

WORKSPACE_ID = ids.WORKSPACE_ID
CHANNEL_ID = ids.CHANNEL_ID
CALL_ID = ids.CALL_ID
ACCESS_KEY = ids.ACCESS_KEY


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
    """/a/{id}/b -> a pattern where each {param} is one path segment."""
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile(
        "".join(r"[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    )


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


def _exchange(request: httpx.Request, status: int, headers: httpx.Headers, body: bytes) -> Exchange:
    content = request.content
    return Exchange(
        method=request.method,
        path=request.url.path,
        headers=request.headers,
        body=json.loads(content) if content else None,
        status_code=status,
        response_headers=headers,
        response_body=body,
    )


class RecordingTransport(httpx.BaseTransport):
    """Sends through ``inner``, records each exchange, and can add request headers on the way."""

    def __init__(
        self, inner: httpx.BaseTransport, extra_headers: Mapping[str, str] | None = None
    ) -> None:
        self.inner = inner
        self.extra_headers = dict(extra_headers or {})
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers.update(self.extra_headers)
        request.read()
        response = self.inner.handle_request(request)
        try:
            body = response.read()
        finally:
            response.close()
        self.exchanges.append(_exchange(request, response.status_code, response.headers, body))
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    def close(self) -> None:
        self.inner.close()


class AsyncRecordingTransport(httpx.AsyncBaseTransport):
    def __init__(
        self, inner: httpx.AsyncBaseTransport, extra_headers: Mapping[str, str] | None = None
    ) -> None:
        self.inner = inner
        self.extra_headers = dict(extra_headers or {})
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers.update(self.extra_headers)
        await request.aread()
        response = await self.inner.handle_async_request(request)
        try:
            body = await response.aread()
        finally:
            await response.aclose()
        self.exchanges.append(_exchange(request, response.status_code, response.headers, body))
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    async def aclose(self) -> None:
        await self.inner.aclose()


def flash_call_body(request_body: Mapping[str, Any]) -> dict[str, Any]:
    """A FlashCall as the spec's 202 describes it, for the number the request rang."""
    return {
        "id": CALL_ID,
        "channelId": CHANNEL_ID,
        "from": request_body.get("from", "+31201234567"),
        "to": request_body["to"],
        "status": "accepted",
        "createdAt": "2025-01-02T03:04:05Z",
        "updatedAt": "2025-01-02T03:04:05Z",
    }


def spec_conform_handler(spec: Mapping[str, Any]) -> Any:
    """An httpx.MockTransport handler answering each operation with a 202 its spec allows."""
    operations = list(spec_operations(spec).values())

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        for operation in operations:
            if operation.matches(request.method, request.url.path):
                # Both end operations answer with the object they were sent.
                answer = (
                    flash_call_body(body)
                    if operation.operation_id == "createChannelFlashCall"
                    else body
                )
                return httpx.Response(202, json=answer)
        return httpx.Response(404, json={"code": "not_found", "message": "no such route"})

    return handle


# Prism


def ci_requires_prism() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def prism_or_skip() -> Path:
    """The Prism executable; skips when Node.js or Prism is missing, fails under CI."""
    problem = None
    if shutil.which("node") is None:
        problem = "Node.js is not installed"
    elif not PRISM_BIN.exists():
        problem = f"{PRISM_BIN} is missing"
    if problem is None:
        return PRISM_BIN
    message = (
        f"Prism contract tests need Stoplight Prism: {problem}. Install Node.js 20, then run "
        "`make install` (it runs `npm ci`)."
    )
    if ci_requires_prism():
        pytest.fail(message + " CI=true: these tests are required there.", pytrace=False)
    pytest.skip(message)


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@attrs.define
class PrismServer:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class PrismStartError(RuntimeError):
    pass


def _answers_http(port: int) -> bool:
    try:
        # Any HTTP answer will do: Prism says 404 for a path the spec does not have.
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1.0)
    except httpx.TransportError:
        return False
    return True


def _stop(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM to Prism's whole process group, SIGKILL if it lingers; reaps the main process."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)
    # Node children may outlive the main process in the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _start_once(
    prism: Path, spec: Path, extra_args: list[str], log: IO[bytes], deadline: float
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_loopback_port()
    process = subprocess.Popen(
        [str(prism), "mock", str(spec), "--host", "127.0.0.1", "--port", str(port), *extra_args],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,  # its own process group, so the node children go with it
    )
    try:
        while time.monotonic() < deadline:
            if _answers_http(port):
                return process, port
            try:
                # Waiting on the process both paces the polling and notices an early exit.
                process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                continue
            raise PrismStartError(f"Prism exited with status {process.returncode}")
        raise PrismStartError("Prism did not answer HTTP in time")
    except BaseException:
        _stop(process)
        raise


@contextlib.contextmanager
def running_prism(
    spec: Path, extra_args: list[str], log_path: Path, *, start_timeout: float = 30.0
) -> Iterator[PrismServer]:
    """Prism serving ``spec`` on a free loopback port; stopped on exit, whatever happened."""
    prism = prism_or_skip()
    deadline = time.monotonic() + start_timeout
    with log_path.open("wb") as log:
        failures = []
        # The free port may be taken between probing and Prism binding it: try a few.
        for _ in range(3):
            try:
                process, port = _start_once(prism, spec, extra_args, log, deadline)
            except PrismStartError as error:
                failures.append(str(error))
                continue
            try:
                yield PrismServer(process, port, log_path)
            finally:
                _stop(process)
            return
        log.flush()
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
        raise PrismStartError(f"Prism did not start ({'; '.join(failures)}). Its output:\n{tail}")
