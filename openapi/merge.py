"""Merge Bird's published OpenAPI fragments and our overlay into one spec.

Usage: python openapi/merge.py [--check] [--output PATH]

Every ``*.json`` in ``openapi/fragments/`` is one operation as Bird publishes it. Their paths
and components are unioned (identical components once; a component two fragments define
differently is an error), then ``openapi/overlay.yaml`` is applied. The output is
deterministic: sorted keys, two-space indent, trailing newline.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
FRAGMENTS = HERE / "fragments"
OVERLAY = HERE / "overlay.yaml"
MERGED = HERE / "bird-flashcalls.openapi.json"


class MergeError(Exception):
    pass


def load_fragments(folder: Path = FRAGMENTS) -> list[tuple[str, dict[str, Any]]]:
    files = sorted(folder.glob("*.json"))
    if not files:
        raise MergeError(f"no *.json fragments in {folder}")
    return [(f.name, json.loads(f.read_text(encoding="utf-8"))) for f in files]


def merge_fragments(fragments: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    owner: dict[tuple[str, ...], str] = {}  # where each merged item came from, for errors
    for name, fragment in fragments:
        for key, value in fragment.items():
            if key == "paths":
                _union(merged.setdefault("paths", {}), value, ("paths",), name, owner)
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
                f"{'/'.join(location)} is defined differently in {owner[location]} and {name}; "
                "rename it in one fragment's copy or reconcile the two in openapi/overlay.yaml"
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
        elif "update" in action:
            node = _resolve(result, segments, target)
            if not isinstance(node, dict) or not isinstance(action["update"], dict):
                raise MergeError(
                    f"overlay update on {target!r} must merge an object into an object"
                )
            _deep_update(node, action["update"])
        else:
            raise MergeError(f"overlay action on {target!r} has neither update nor remove")
    return result


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def build(fragments_dir: Path = FRAGMENTS, overlay_path: Path = OVERLAY) -> str:
    overlay = yaml.safe_load(overlay_path.read_text(encoding="utf-8"))
    return render(apply_overlay(merge_fragments(load_fragments(fragments_dir)), overlay))


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
