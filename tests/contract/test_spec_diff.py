"""The change report's rules, one row each: a change to a small spec, and how it is classified."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import spec_diff

from .support import ROOT


def body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def thing() -> dict[str, Any]:
    return {
        "type": "object",
        "title": "ChannelFlashCall",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "maxLength": 10, "pattern": "^a"},
            "size": {"type": "integer", "minimum": 1},
            "kind": {"type": "string", "enum": ["a", "b"]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    }


BASE: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/things/{id}": {
            "post": {
                "operationId": "createChannelFlashCall",
                "summary": "Make a thing",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": body({"$ref": "#/components/schemas/In"}),
                "responses": {"202": body({"$ref": "#/components/schemas/Out"})},
            }
        }
    },
    "components": {"schemas": {"In": thing(), "Out": thing()}},
}

Edit = Callable[[dict[str, Any]], None]


def schema_edit(side: str, change: Callable[[dict[str, Any]], None]) -> Edit:
    return lambda spec: change(spec["components"]["schemas"][side])


def prop_edit(side: str, name: str, key: str, value: Any) -> Edit:
    return schema_edit(side, lambda s: s["properties"].setdefault(name, {}).__setitem__(key, value))


def operation(spec: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = spec["paths"]["/things/{id}"]["post"]
    return found


# (id, edit, kind, place, field, what): every rule on the request ("In") and the response ("Out")
RULES: list[tuple[str, Edit, str, str, str, str]] = [
    ("request-optional-added", prop_edit("In", "ref", "type", "string"), "additive", "request", "ref", "optional property added (string)"),
    ("request-required-added", schema_edit("In", lambda s: (s["properties"].update(ref={"type": "string"}), s["required"].append("ref"))), "breaking", "request", "ref", "required property added (string)"),
    ("request-removed", schema_edit("In", lambda s: s["properties"].pop("size")), "breaking", "request", "size", "property removed"),
    ("request-became-required", schema_edit("In", lambda s: s["required"].append("size")), "breaking", "request", "size", "became required"),
    ("request-became-optional", schema_edit("In", lambda s: s["required"].clear()), "additive", "request", "name", "became optional"),
    ("request-type", prop_edit("In", "size", "type", "string"), "breaking", "request", "size", "type integer -> string"),
    ("request-format", prop_edit("In", "name", "format", "uuid"), "breaking", "request", "name", "format None -> uuid"),
    ("request-enum-added", prop_edit("In", "kind", "enum", ["a", "b", "c"]), "additive", "request", "kind=c", "enum value 'c' added"),
    ("request-enum-removed", prop_edit("In", "kind", "enum", ["a"]), "breaking", "request", "kind=b", "enum value 'b' removed"),
    ("request-max-lowered", prop_edit("In", "name", "maxLength", 5), "breaking", "request", "name", "maxLength 10 -> 5"),
    ("request-max-raised", prop_edit("In", "name", "maxLength", 20), "additive", "request", "name", "maxLength 10 -> 20"),
    ("request-min-raised", prop_edit("In", "size", "minimum", 2), "breaking", "request", "size", "minimum 1 -> 2"),
    ("request-min-added", prop_edit("In", "kind", "minLength", 1), "breaking", "request", "kind", "minLength None -> 1"),
    ("request-pattern-changed", prop_edit("In", "name", "pattern", "^b"), "breaking", "request", "name", "pattern ^a -> ^b"),
    ("request-pattern-removed", schema_edit("In", lambda s: s["properties"]["name"].pop("pattern")), "additive", "request", "name", "pattern ^a -> None"),
    ("request-opened", schema_edit("In", lambda s: s.pop("additionalProperties")), "additive", "request", "", "opened"),
    ("request-items-type", schema_edit("In", lambda s: s["properties"]["tags"]["items"].update(type="integer")), "breaking", "request", "tags[]", "type string -> integer"),
    ("response-added", prop_edit("Out", "ref", "type", "string"), "additive", "response 202", "ref", "optional property added (string)"),
    ("response-removed", schema_edit("Out", lambda s: s["properties"].pop("size")), "breaking", "response 202", "size", "property removed"),
    ("response-became-optional", schema_edit("Out", lambda s: s["required"].clear()), "breaking", "response 202", "name", "became optional"),
    ("response-became-required", schema_edit("Out", lambda s: s["required"].append("size")), "neutral", "response 202", "size", "became required"),
    ("response-type", prop_edit("Out", "size", "type", "string"), "breaking", "response 202", "size", "type integer -> string"),
    ("response-enum-added", prop_edit("Out", "kind", "enum", ["a", "b", "c"]), "additive", "response 202", "kind=c", "enum value 'c' added"),
    ("response-enum-removed", prop_edit("Out", "kind", "enum", ["a"]), "neutral", "response 202", "kind=b", "enum value 'b' removed"),
    ("response-constraint", prop_edit("Out", "name", "maxLength", 5), "neutral", "response 202", "name", "maxLength 10 -> 5"),
    ("response-description", prop_edit("Out", "name", "description", "d"), "neutral", "response 202", "name", "description changed"),
    ("response-status-added", lambda s: operation(s)["responses"].update({"409": {"description": "c"}}), "additive", "response 409", "", "response added"),
    ("response-status-removed", lambda s: operation(s)["responses"].pop("202"), "breaking", "response 202", "", "response removed"),
    ("parameter-added-optional", lambda s: operation(s)["parameters"].append({"name": "q", "in": "query", "schema": {"type": "string"}}), "additive", "parameter query q", "", "optional parameter added"),
    ("parameter-added-required", lambda s: operation(s)["parameters"].append({"name": "q", "in": "query", "required": True}), "breaking", "parameter query q", "", "required parameter added"),
    ("parameter-removed", lambda s: operation(s)["parameters"].clear(), "breaking", "parameter path id", "", "parameter removed"),
    ("parameter-format", lambda s: operation(s)["parameters"][0]["schema"].update(format="uuid"), "breaking", "parameter path id", "", "format None -> uuid"),
    ("body-required", lambda s: operation(s)["requestBody"].update(required=True), "breaking", "request", "", "body became required"),
    ("body-optional", lambda s: operation(s)["requestBody"].update(required=False), "additive", "request", "", "body became optional"),
    ("operation-id", lambda s: operation(s).update(operationId="makeThing"), "breaking", "operationId", "", "was createChannelFlashCall"),
    ("operation-summary", lambda s: operation(s).update(summary="Make"), "neutral", "summary", "", "changed"),
    ("operation-removed", lambda s: s["paths"].clear(), "breaking", "POST /things/{id}", "", "operation removed"),
    ("operation-added", lambda s: s["paths"]["/things/{id}"].update(get={"operationId": "getThing", "responses": {}}), "additive", "GET /things/{id}", "", "operation added"),
    ("info", lambda s: s["info"].update(version="2"), "neutral", "info", "", "changed"),
    ("security-scheme", lambda s: s["components"].update(securitySchemes={"k": {"type": "apiKey"}}), "neutral", "components/securitySchemes/k", "", "changed"),
    ("path-parameter", lambda s: s["paths"]["/things/{id}"].update(parameters=[{"name": "w", "in": "path", "required": True}]), "breaking", "parameter path w", "", "required parameter added"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "kind", "place", "field", "what"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_each_rule_classifies_its_change(
    edit: Edit, kind: str, place: str, field: str, what: str
) -> None:
    new = copy.deepcopy(BASE)
    edit(new)
    found = [(c.kind, c.place, c.field, c.what) for c in spec_diff.diff(BASE, new, ROOT)]
    assert found == [(kind, place, field, what)]


def test_changes_name_the_wrapper_method_and_the_generated_model() -> None:
    new = copy.deepcopy(BASE)
    prop_edit("In", "ref", "type", "string")(new)
    prop_edit("Out", "ref", "type", "string")(new)
    request, response = spec_diff.diff(BASE, new, ROOT)
    assert request.attention.startswith("wrapper create() (FlashCalls and AsyncFlashCalls)")
    assert "extra_body sends it" in request.attention
    assert response.attention.startswith("FlashCall: ")  # the class generator-config names
    assert spec_diff.report([]) == "spec: no changes"
    assert spec_diff.report([request, response]).splitlines()[0] == (
        "spec: 2 change(s): 0 breaking, 2 additive, 0 neutral"
    )
