"""The merged spec the client was generated from, read at run time where its schemas decide.

``make generate`` ships a copy beside the generated code. Read on first use and kept: neither
creating a client nor a call without ``extra_body`` reads it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@functools.cache
def spec() -> Mapping[str, Any]:
    """The merged spec, as ``make generate`` copied it."""
    # Relative to this package, so that a vendored copy reads its own; importlib.resources is
    # imported here, not by `import bird_flashcalls` (about 1 ms).
    from importlib import resources

    from . import _generated

    text = resources.files(_generated).joinpath("openapi.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """``node`` with its local ``$ref``s followed."""
    seen: set[str] = set()
    while isinstance(node.get("$ref"), str) and node["$ref"] not in seen:
        seen.add(node["$ref"])
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


@functools.cache
def operations() -> Mapping[str, tuple[str, str, Mapping[str, Any]]]:
    """operationId -> (METHOD, path template, operation)."""
    return {
        operation["operationId"]: (method.upper(), path, operation)
        for path, item in spec()["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def request_schema(operation_id: str) -> Mapping[str, Any]:
    """The JSON request body's schema of an operation, resolved; empty if it takes none."""
    body = resolve(operations()[operation_id][2].get("requestBody", {}))
    schema = body.get("content", {}).get("application/json", {}).get("schema", {})
    return resolve(schema)


@functools.cache
def request_fields(operation_id: str) -> frozenset[str]:
    """The body fields an operation documents."""
    return frozenset(request_schema(operation_id).get("properties", {}))
