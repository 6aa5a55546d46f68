"""Helpers shared by the FakeBird tests: the merged spec as validators, paths, headers."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
from bird_flashcalls import Backoff
from bird_flashcalls._rules import E164_PATTERN
from bird_flashcalls.testing import FakeBird
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "bird-flashcalls.openapi.json"
SPEC_URI = "urn:bird-flashcalls:openapi"
# Retries in tests wait a millisecond, not half a second.
FAST = Backoff(initial_delay=0.001, max_delay=0.005, max_retry_after=5.0)


class Spec:
    """The merged spec, and its schemas as jsonschema validators ($refs resolved within it)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)

    def validator(self, pointer: str) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator(
            {"$ref": f"{SPEC_URI}#{pointer}"},
            registry=self._registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )

    def operation(self, template: str) -> dict[str, Any]:
        operation: dict[str, Any] = self.document["paths"][template]["post"]
        return operation

    def response_pointer(self, template: str, status: int) -> str | None:
        """The JSON pointer of the documented schema of a response, None if undocumented."""
        response = self.operation(template)["responses"].get(str(status))
        if response is None:
            return None
        if "$ref" in response:
            response = self._resolve(response["$ref"])
        ref: str = response["content"]["application/json"]["schema"]["$ref"]
        return ref.removeprefix("#")

    def request_pointer(self, template: str) -> str:
        body = self.operation(template)["requestBody"]["content"]["application/json"]
        ref: str = body["schema"]["$ref"]
        return ref.removeprefix("#")

    def _resolve(self, ref: str) -> dict[str, Any]:
        node: Any = self.document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        result: dict[str, Any] = node
        return result

    def check_response(self, template: str, status: int, body: Any) -> None:
        """Validate a response body against what the spec documents for that status.

        Statuses the spec does not document (401, 405, injected 5xx) must still be Bird's
        RequestError shape."""
        pointer = self.response_pointer(template, status) or "/components/schemas/RequestError"
        errors = sorted(self.validator(pointer).iter_errors(body), key=str)
        assert not errors, f"{status} body {body!r} does not fit {pointer}: {errors[0].message}"


def paths(fake: FakeBird) -> dict[str, str]:
    base = f"/workspaces/{fake.workspace_id}/channels/{fake.channel_id}/flashcalls"
    return {"create": base, "hangup": base + "/hangup", "end": base + "/{call_id}"}


def json_headers(fake: FakeBird) -> dict[str, str]:
    """What every request of the client carries: the access key and the JSON media type."""
    return {"Authorization": f"AccessKey {fake.access_key}", "Content-Type": "application/json"}


# Request fields that hold phone numbers. Bird documents them as E.164; the merged spec gains the
# pattern through the overlay, and until it does, the tests add it themselves.
NUMBER_FIELDS = {
    "CreateFlashCall": ("to", "from"),
    "HangupFlashCall": ("receivedCli",),
    "HangupFlashCallFromTo": ("from", "to", "receivedCli"),
}


def with_e164_patterns(document: dict[str, Any]) -> dict[str, Any]:
    """The spec with ``pattern: E164_PATTERN`` on every number field (no change where it is)."""
    document = copy.deepcopy(document)
    schemas = document["components"]["schemas"]
    for schema, fields in NUMBER_FIELDS.items():
        for name in fields:
            schemas[schema]["properties"][name].setdefault("pattern", E164_PATTERN)
    return document


def load_spec() -> Spec:
    """The merged spec, numbers in E.164 (see with_e164_patterns)."""
    return Spec(with_e164_patterns(json.loads(SPEC_PATH.read_text(encoding="utf-8"))))
