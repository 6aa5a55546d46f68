"""The FakeBird tests' shared parts: the spec as validators, paths, requests, a user's pytest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from bird_flashcalls import Backoff
from bird_flashcalls._rules import E164_PATTERN
from bird_flashcalls.testing import FakeBird, FakeResponse
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "openapi" / "bird-flashcalls.openapi.json"
SPEC_URI = "urn:bird-flashcalls:openapi"
TO = "+31612345678"
OTHER = "+3197010269999"
# Retries in tests wait a millisecond, not half a second.
FAST = Backoff(initial_delay=0.001, max_delay=0.005, max_retry_after=5.0)
# Anything that waits on a subprocess or a thread: generous, the machine may be busy.
WAIT = 60


class Spec:
    """The merged spec, its schemas read as jsonschema validators ($refs resolved within it)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)

    def check_response(self, template: str, status: int, body: Any) -> None:
        """``body`` fits the schema for ``status``; an undocumented status's is a RequestError."""
        pointer = "/components/schemas/RequestError"
        response = self.document["paths"][template]["post"]["responses"].get(str(status))
        if response is not None:
            if "$ref" in response:  # a shared response, "#/components/responses/<name>"
                _, section, kind, name = response["$ref"].split("/")
                response = self.document[section][kind][name]
            pointer = response["content"]["application/json"]["schema"]["$ref"].removeprefix("#")
        validator = jsonschema.Draft202012Validator(
            {"$ref": f"{SPEC_URI}#{pointer}"},
            registry=self._registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
        errors = sorted(validator.iter_errors(body), key=str)
        assert not errors, f"{status} body {body!r} does not fit {pointer}: {errors[0].message}"


# Request fields that hold phone numbers. Bird documents them as E.164; the merged spec gains the
# pattern through the overlay, and until it does, the tests add it themselves.
NUMBER_FIELDS = {
    "CreateFlashCall": ("to", "from"),
    "HangupFlashCall": ("receivedCli",),
    "HangupFlashCallFromTo": ("from", "to", "receivedCli"),
}


def spec_document() -> dict[str, Any]:
    """The merged spec with ``pattern: E164_PATTERN`` on every number field."""
    document: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    for schema, fields in NUMBER_FIELDS.items():
        for name in fields:
            schemas[schema]["properties"][name].setdefault("pattern", E164_PATTERN)
    return document


def paths(fake: FakeBird) -> dict[str, str]:
    base = f"/workspaces/{fake.workspace_id}/channels/{fake.channel_id}/flashcalls"
    return {"create": base, "hangup": base + "/hangup", "end": base + "/{call_id}"}


def json_headers(fake: FakeBird) -> dict[str, str]:
    """What every request of the client carries: the access key and the JSON media type."""
    return {"Authorization": f"AccessKey {fake.access_key}", "Content-Type": "application/json"}


def respond(
    fake: FakeBird,
    operation: str,
    body: Any,
    call_id: object = "",
    headers: dict[str, str] | None = None,
) -> FakeResponse:
    """The core's answer to a POST of ``body`` (bytes as they are, else JSON) to ``operation``."""
    path = paths(fake)[operation].format(call_id=call_id)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return fake.respond("POST", path, json_headers(fake) if headers is None else headers, content)


def create(fake: FakeBird, http: httpx.Client) -> httpx.Response:
    """A create over HTTP, through the server."""
    return http.post(paths(fake)["create"], json={"to": TO}, headers=json_headers(fake))


def run_pytest(directory: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """pytest in ``directory``, as in a user's project: no BIRD_* settings, no addopts."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BIRD_")}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *arguments],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
