"""Merge Bird's published OpenAPI fragments and our overlay into one spec.

Usage: python openapi/merge.py [--check] [--output PATH]

Every ``*.json``, ``*.yaml`` or ``*.yml`` file in ``openapi/fragments/`` is one operation as Bird
publishes it (any other file there is an error). Their paths are unioned per HTTP method and
their components per name (identical components once; one that two fragments define
differently is an error), then ``openapi/overlay.yaml`` is applied. The result must be valid
OpenAPI, every ``$ref`` must resolve, and no enum value a fragment publishes may be lost. The
output is deterministic: sorted keys, two-space indent, trailing newline.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
FRAGMENTS = HERE / "fragments"
OVERLAY = HERE / "overlay.yaml"
MERGED = HERE / "bird-flashcalls.openapi.json"
FRAGMENT_SUFFIXES = (".json", ".yaml", ".yml")
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


class MergeError(Exception):
    pass


def read_document(path: Path) -> Any:
    """A JSON or YAML file, parsed; a syntax error names the file, line and column."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise MergeError(f"{path.name}:{error.lineno}:{error.colno}: {error.msg}") from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "?"
        raise MergeError(f"{path.name}:{where}: {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise MergeError(f"{path.name}: {error}") from None


def load_fragments(folder: Path = FRAGMENTS) -> list[tuple[str, dict[str, Any]]]:
    files = sorted(p for p in folder.iterdir() if p.is_file())
    strangers = [p.name for p in files if p.suffix not in FRAGMENT_SUFFIXES]
    if strangers:
        raise MergeError(
            f"{', '.join(strangers)} in {folder.name}/: a fragment is a .json, .yaml or .yml "
            "file; rename it or move it out"
        )
    if not files:
        raise MergeError(f"no fragments (.json, .yaml, .yml) in {folder}")
    fragments = []
    for path in files:
        document = read_document(path)
        if not isinstance(document, dict):
            raise MergeError(f"{path.name}: a fragment is an OpenAPI object, not {document!r:.40}")
        fragments.append((path.name, document))
    return fragments


def merge_fragments(fragments: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    owner: dict[tuple[str, ...], str] = {}  # where each merged item came from, for errors
    for name, fragment in fragments:
        for key, value in fragment.items():
            if key == "paths":
                paths = merged.setdefault("paths", {})
                for path, item in value.items():
                    # Per method: a new operation on a published path is a new key here.
                    _union(paths.setdefault(path, {}), item, ("paths", path), name, owner)
            elif key == "components":
                components = merged.setdefault("components", {})
                for section, items in value.items():
                    _union(
                        components.setdefault(section, {}),
                        items,
                        ("components", section),
                        name,
                        owner,
                    )
            elif key == "tags":
                tags = merged.setdefault("tags", [])
                tags.extend(t for t in value if t not in tags)
            elif key not in merged:
                merged[key] = copy.deepcopy(value)
                owner[(key,)] = name
            elif merged[key] != value:
                raise MergeError(f"top-level {key!r} differs between {owner[(key,)]} and {name}")
    return merged


def _union(
    target: dict[str, Any],
    items: dict[str, Any],
    where: tuple[str, ...],
    name: str,
    owner: dict[tuple[str, ...], str],
) -> None:
    for key, value in items.items():
        location = (*where, key)
        if key not in target:
            target[key] = copy.deepcopy(value)
            owner[location] = name
        elif target[key] != value:
            raise MergeError(
                f"{'/'.join(location)} is defined differently in {owner[location]} and {name}: "
                "the merge cannot choose, and the overlay applies only after it; fetch both "
                "fragments again from Bird (one is likely stale) and ask Bird if they still differ"
            )


_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\['([^']*)'\]")


def parse_target(target: str) -> list[str]:
    """`$.a.b['c/d']` -> ['a', 'b', 'c/d']; the JSONPath subset the overlay uses."""
    if not target.startswith("$"):
        raise MergeError(f"overlay target {target!r} must start with '$'")
    segments, position = [], 1
    while position < len(target):
        match = _SEGMENT.match(target, position)
        if match is None:
            raise MergeError(f"overlay target {target!r}: cannot parse from {target[position:]!r}")
        segments.append(match.group(1) if match.group(1) is not None else match.group(2))
        position = match.end()
    return segments


def _resolve(spec: dict[str, Any], segments: list[str], target: str) -> Any:
    node: Any = spec
    for segment in segments:
        if not isinstance(node, dict) or segment not in node:
            raise MergeError(f"overlay target {target!r} does not exist in the merged fragments")
        node = node[segment]
    return node


def _deep_update(node: dict[str, Any], update: dict[str, Any]) -> None:
    # Overlay 1.0: objects merge recursively, arrays are appended to, anything else replaces.
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(node.get(key), dict):
            _deep_update(node[key], value)
        elif isinstance(value, list) and isinstance(node.get(key), list):
            node[key].extend(copy.deepcopy(value))
        else:
            node[key] = copy.deepcopy(value)


def apply_overlay(spec: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(spec)
    for action in overlay.get("actions", []):
        target = action["target"]
        if not action.get("description"):
            raise MergeError(
                f"overlay action on {target!r} has no description: say why it is needed"
            )
        segments = parse_target(target)
        if action.get("remove"):
            if not segments:
                raise MergeError("the overlay cannot remove the whole document")
            parent = _resolve(result, segments[:-1], target)
            if segments[-1] not in parent:
                raise MergeError(
                    f"overlay target {target!r} does not exist in the merged fragments"
                )
            del parent[segments[-1]]
        elif "update" in action or "copy" in action:
            node = _resolve(result, segments, target)
            # Overlay 1.1's copy: the value at another path, so the overlay restates nothing
            # it could fall behind on (an enum Bird extends stays complete).
            if "copy" in action:
                source = action["copy"]
                update = copy.deepcopy(_resolve(result, parse_target(source), source))
            else:
                update = action["update"]
            if not isinstance(node, dict) or not isinstance(update, dict):
                raise MergeError(
                    f"overlay update on {target!r} must merge an object into an object"
                )
            _deep_update(node, update)
        else:
            raise MergeError(f"overlay action on {target!r} has neither update, copy nor remove")
    return result


def _walk(node: Any, where: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (location, node) of a JSON document, depth first."""
    yield where, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*where, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*where, str(index)))


def _pointer(spec: Any, ref: str) -> Any:
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node = spec
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _follow(spec: dict[str, Any], node: Any) -> Any:
    seen = set()
    while isinstance(node, dict) and "$ref" in node and node["$ref"] not in seen:
        seen.add(node["$ref"])
        node = _pointer(spec, node["$ref"])
    return node


def check_refs(spec: dict[str, Any], fragments: list[tuple[str, dict[str, Any]]]) -> None:
    """Every $ref resolves; a dangling one is named with the file it came from."""
    for where, node in _walk(spec):
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            try:
                _pointer(spec, ref)
            except (KeyError, IndexError, ValueError, TypeError):
                sources = [
                    name
                    for name, fragment in fragments
                    if any(isinstance(n, dict) and n.get("$ref") == ref for _, n in _walk(fragment))
                ] or [OVERLAY.name]
                raise MergeError(
                    f"$ref {ref!r} at {'/'.join(where)} points at nothing (from "
                    f"{', '.join(sources)}): the fragment needs the schema it refers to"
                ) from None


def check_enums(spec: dict[str, Any], fragments: list[tuple[str, dict[str, Any]]]) -> None:
    """No value of an enum a fragment publishes is missing where the merged spec has it."""
    for name, fragment in fragments:
        for where, node in _walk(fragment):
            if not (isinstance(node, dict) and isinstance(node.get("enum"), list)):
                continue
            merged: Any = spec
            for part in where:
                merged = _follow(spec, merged)
                if not isinstance(merged, dict) or part not in merged:
                    merged = None  # the overlay replaced this place; what replaced it is checked
                    break
                merged = merged[part]
            merged = _follow(spec, merged)
            if not isinstance(merged, dict) or "enum" not in merged:
                continue
            lost = [v for v in node["enum"] if v not in merged["enum"]]
            if lost:
                raise MergeError(
                    f"the overlay drops {', '.join(map(repr, lost))} from the enum at "
                    f"{'/'.join(where)} that {name} publishes: let the overlay copy the enum "
                    "(a `copy` action) instead of restating its values"
                )


def _properties(spec: dict[str, Any], schema: Any) -> set[str]:
    """The property names of a schema, through $refs and anyOf/oneOf/allOf branches."""
    schema = _follow(spec, schema)
    if not isinstance(schema, dict):
        return set()
    names = set(schema.get("properties", {}))
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, []):
            names |= _properties(spec, branch)
    return names


def _request_schemas(spec: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for item in spec.get("paths", {}).values():
        for method, operation in item.items():
            if method in HTTP_METHODS and isinstance(operation, dict):
                body = _follow(spec, operation.get("requestBody", {}))
                content = body.get("content", {}) if isinstance(body, dict) else {}
                schema = content.get("application/json", {}).get("schema")
                yield operation.get("operationId", method), schema


def check_request_fields(spec: dict[str, Any], fragments: list[tuple[str, dict[str, Any]]]) -> None:
    """The overlay's request copies keep every field the fragments publish for the request."""
    merged = dict(_request_schemas(spec))
    for name, fragment in fragments:
        for operation, schema in _request_schemas(fragment):
            lost = sorted(_properties(fragment, schema) - _properties(spec, merged.get(operation)))
            if lost:
                raise MergeError(
                    f"the overlay drops {', '.join(map(repr, lost))} from the request of "
                    f"{operation} that {name} publishes: add it to the overlay's request schema"
                )


def validate(spec: dict[str, Any], fragments: list[tuple[str, dict[str, Any]]]) -> None:
    from openapi_spec_validator import validate as validate_openapi
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    check_refs(spec, fragments)
    check_enums(spec, fragments)
    check_request_fields(spec, fragments)
    try:
        validate_openapi(spec)
    except OpenAPIValidationError as error:
        path = "/".join(str(p) for p in getattr(error, "path", ()) or ())
        sources = sorted(
            {n for n, f in fragments for w, _ in _walk(f) if path and "/".join(w) == path}
        )
        origin = f" (from {', '.join(sources)})" if sources else ""
        raise MergeError(
            f"the merged spec is not valid OpenAPI at {path or 'its root'}{origin}: "
            f"{str(error).splitlines()[0]}"
        ) from None


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def build(fragments_dir: Path = FRAGMENTS, overlay_path: Path = OVERLAY) -> str:
    """The merged spec's text; MergeError if it cannot be built or is not valid."""
    fragments = load_fragments(fragments_dir)
    overlay = read_document(overlay_path)
    spec = apply_overlay(merge_fragments(fragments), overlay)
    validate(spec, fragments)
    return render(spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=MERGED)
    parser.add_argument(
        "--check", action="store_true", help="fail if the output file is out of date"
    )
    args = parser.parse_args(argv)
    try:
        text = build()
    except MergeError as error:
        print(f"merge failed: {error}", file=sys.stderr)
        return 1
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run `make generate`", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
