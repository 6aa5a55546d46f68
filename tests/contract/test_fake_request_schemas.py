"""FakeBird's request check reads the spec's schemas: each keyword it knows, one row each, on a
schema of every kind a new field could bring (the published operations use only some)."""

from __future__ import annotations

from typing import Any

import pytest
from bird_flashcalls import _spec
from bird_flashcalls._rules import E164_PATTERN
from bird_flashcalls.testing._wire import Problem, check_request

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id"],
    "properties": {
        "id": {"$ref": "#/components/schemas/Code"},
        "phone": {"type": "string", "pattern": E164_PATTERN},
        "count": {"type": "integer", "minimum": 1, "maximum": 9},
        "ratio": {"type": "number", "minimum": 0},
        "size": {"type": "integer", "maximum": 5},
        "flag": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "kind": {"type": "string", "enum": ["a", "b"]},
        "name": {"type": "string", "minLength": 2, "maxLength": 3},
        "meta": {
            "type": "object",
            "required": ["x"],
            "additionalProperties": False,
            "properties": {"x": {"type": "integer"}},
        },
        "open": {"type": "object"},
    },
}
SPEC = {
    "paths": {"/t": {"post": {"operationId": "t", "requestBody": {"content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/T"}}}}}}},
    "components": {"schemas": {"T": SCHEMA, "Code": {"type": "string", "pattern": "^[a-z]+$"}}},
}  # fmt: skip

ROWS: list[tuple[str, dict[str, Any], dict[str, list[str]]]] = [
    ("valid", {"id": "ab", "phone": "+31612345678", "count": 9, "ratio": 0.5, "flag": False, "tags": ["a"], "kind": "b", "name": "abc", "meta": {"x": 1}, "open": {"y": 1}}, {}),
    ("integer-as-float", {"id": "ab", "count": 3.0}, {}),
    ("missing-required", {}, {"id": ["is required"]}),
    ("unknown-field", {"id": "ab", "z": 1}, {"z": ['property "z" is unsupported']}),
    ("ref-pattern", {"id": "AB"}, {"id": ["must match ^[a-z]+$"]}),
    ("pattern-end-is-the-end", {"id": "ab\n"}, {"id": ["must match ^[a-z]+$"]}),
    ("e164", {"id": "a", "phone": "0612345678"}, {"phone": ["must be a phone number in E.164 format: '+' and 7 to 15 digits, such as +31612345678"]}),
    ("string-type", {"id": 1}, {"id": ["must be a string"]}),
    ("integer-type", {"id": "a", "count": 1.5}, {"count": ["must be an integer"]}),
    ("boolean-is-no-integer", {"id": "a", "count": True}, {"count": ["must be an integer"]}),
    ("bounds", {"id": "a", "count": 10}, {"count": ["must be between 1 and 9"]}),
    ("lower-bound-only", {"id": "a", "ratio": -1}, {"ratio": ["must be at least 0"]}),
    ("upper-bound-only", {"id": "a", "size": 6}, {"size": ["must be at most 5"]}),
    ("number-type", {"id": "a", "ratio": "1"}, {"ratio": ["must be a number"]}),
    ("boolean-type", {"id": "a", "flag": 1}, {"flag": ["must be a boolean"]}),
    ("array-type", {"id": "a", "tags": "a"}, {"tags": ["must be an array"]}),
    ("enum", {"id": "a", "kind": "c"}, {"kind": ["must be one of a, b"]}),
    ("max-length", {"id": "a", "name": "abcd"}, {"name": ["must be at most 3 characters"]}),
    ("min-length", {"id": "a", "name": "a"}, {"name": ["must be at least 2 characters"]}),
    ("object-type", {"id": "a", "meta": []}, {"meta": ["must be an object"]}),
    ("nested", {"id": "a", "meta": {"x": "1", "y": 2}}, {"meta.x": ["must be an integer"], "meta.y": ['property "y" is unsupported']}),
    ("nested-required", {"id": "a", "meta": {}}, {"meta.x": ["is required"]}),
]  # fmt: skip


@pytest.mark.parametrize(("body", "details"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_each_schema_keyword_is_checked(
    monkeypatch: pytest.MonkeyPatch, body: dict[str, Any], details: dict[str, list[str]]
) -> None:
    monkeypatch.setattr(_spec, "spec", lambda: SPEC)
    # Uncached: the real spec's operations are neither used nor replaced in the cache.
    monkeypatch.setattr(_spec, "operations", _spec.operations.__wrapped__)
    if not details:
        check_request("t", body)
        return
    with pytest.raises(Problem) as refused:
        check_request("t", body)
    assert (refused.value.status, refused.value.code, refused.value.details) == (
        422,
        "InvalidPayload",
        details,
    )
