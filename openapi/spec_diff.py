"""What changed between two merged specs, and what in this repository it needs.

Usage: python openapi/spec_diff.py [OLD NEW]   (default: the committed spec against a fresh merge)

Each change is ``additive`` (older code keeps working), ``breaking`` (code written against the
old spec may fail: a breaking release) or ``neutral`` (documentation only), with its place
(operation, request or response, field path) and what to look at. The rules cover what Bird's
fragments use: operations, parameters, request and response bodies, properties, ``required``,
types, formats, enums, constraints, patterns and closed objects. Requests and responses differ:
a new required request field is breaking, a new response field is additive.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# Constraints by the direction that makes a request stricter.
LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
# Keys a schema rule below reads; any other key that differs is a neutral change.
SCHEMA_KEYS = {
    "$ref", "type", "format", "enum", "pattern", "required", "properties",
    "additionalProperties", "items", "anyOf", "oneOf", "allOf",
    *LOWER_BOUNDS, *UPPER_BOUNDS,
}  # fmt: skip
REACHED_COMPONENTS = {"schemas", "parameters", "responses", "requestBodies", "headers"}
CHANGELOG_FIX = (
    "name each breaking change in CHANGELOG.md's [Unreleased] section (its name in backticks, "
    "e.g. `reason`), then run ACCEPT_BREAKING=1 make generate"
)


class Change(NamedTuple):
    kind: str  # additive, breaking or neutral
    operation: str
    place: str  # "request", "response 202", "parameter callId"...
    field: str  # the dotted path inside the body ("" for the operation itself)
    what: str
    attention: str
    name: str  # what a CHANGELOG entry names for a breaking change

    def lines(self) -> str:
        where = f"{self.place} {self.field}".strip()
        return f"{self.kind:<9} {self.operation} {where}: {self.what}\n{'':9} -> {self.attention}"


def wrapper_methods(root: Path = ROOT) -> dict[str, str]:
    """operationId -> wrapper method, from the wrapper's table of operations."""
    source = root / "wrapper" / "bird_flashcalls" / "_operations.py"
    text = source.read_text(encoding="utf-8") if source.exists() else ""
    return dict(re.findall(r'Operation\(\s*"(\w+)",\s*"(\w+)"', text))


def class_names(root: Path = ROOT) -> dict[str, str]:
    """A schema title -> the generated class's name (generator-config.yaml's overrides)."""
    config = yaml.safe_load((root / "generator-config.yaml").read_text(encoding="utf-8"))
    return {t: o["class_name"] for t, o in (config.get("class_overrides") or {}).items()}


class Differ:
    def __init__(self, old: dict[str, Any], new: dict[str, Any], root: Path = ROOT) -> None:
        self.old, self.new = old, new
        self.methods = wrapper_methods(root)
        self.classes = class_names(root)
        self.changes: list[Change] = []

    # Where a change points the reader

    def method(self, operation: str) -> str:
        name = self.methods.get(operation)
        return f"wrapper {name}() (FlashCalls and AsyncFlashCalls)" if name else "the wrapper"

    def model(self, schema: dict[str, Any], ref: str) -> str:
        title = schema.get("title") or ref.rsplit("/", 1)[-1]
        return self.classes.get(title, title) or "the response model"

    def add(self, kind: str, op: str, place: str, field: str, what: str, see: str) -> None:
        name = field.rsplit(".", 1)[-1] or op
        if kind == "breaking" and "CHANGELOG" not in see:
            see += "; CHANGELOG"
        self.changes.append(Change(kind, op, place, field, what, see, name))

    # Operations

    def run(self) -> list[Change]:
        old_ops, new_ops = dict(_operations(self.old)), dict(_operations(self.new))
        for key in sorted(new_ops.keys() - old_ops.keys()):
            op = new_ops[key].get("operationId", key)
            self.add("additive", op, key, "", "operation added",
                     "wrapper: a method on FlashCalls and AsyncFlashCalls and its entry in "
                     "_operations.OPERATIONS; FakeBird: a route for it (bird_flashcalls.testing)")  # fmt: skip
        for key in sorted(old_ops.keys() - new_ops.keys()):
            op = old_ops[key].get("operationId", key)
            self.add("breaking", op, key, "", "operation removed",
                     f"{self.method(op)} goes; FakeBird's route; CHANGELOG")  # fmt: skip
        for key in sorted(old_ops.keys() & new_ops.keys()):
            self.operation(new_ops[key].get("operationId", key), old_ops[key], new_ops[key])
        for section in sorted(set(self.old) | set(self.new)):
            if section not in ("paths", "components") and self.old.get(section) != self.new.get(
                section
            ):
                self.add("neutral", "spec", section, "", "changed", "review the diff")
        # What operations reach is compared through them; the rest (security schemes...) here.
        old_parts, new_parts = self.old.get("components", {}), self.new.get("components", {})
        for section in sorted((set(old_parts) | set(new_parts)) - REACHED_COMPONENTS):
            old_items, new_items = old_parts.get(section, {}), new_parts.get(section, {})
            for name in sorted(set(old_items) | set(new_items)):
                if old_items.get(name) != new_items.get(name):
                    place = f"components/{section}/{name}"
                    self.add("neutral", "spec", place, "", "changed", "review the diff")
        return self.changes

    def operation(self, op: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        for key in sorted(set(old) | set(new)):
            if key in ("parameters", "requestBody", "responses") or old.get(key) == new.get(key):
                continue
            if key == "operationId":  # the generated module's name
                self.add("breaking", op, key, "", f"was {old.get(key)}",
                         "_operations.py imports the generated module by this name")  # fmt: skip
            else:
                self.add("neutral", op, key, "", "changed", "review the diff")
        self.parameters(op, old.get("parameters", []), new.get("parameters", []))
        old_body = _deref(self.old, old.get("requestBody", {}))[0]
        new_body = _deref(self.new, new.get("requestBody", {}))[0]
        if old_body and new_body and old_body.get("required") != new_body.get("required"):
            required = bool(new_body.get("required"))
            self.add("breaking" if required else "additive", op, "request", "",
                     "body became required" if required else "body became optional",
                     self.method(op))  # fmt: skip
        self.schema(op, "request", "", _json_schema(old_body), _json_schema(new_body), True)
        old_responses, new_responses = old.get("responses", {}), new.get("responses", {})
        for status in sorted(set(old_responses) | set(new_responses)):
            place = f"response {status}"
            if status not in old_responses:
                self.add("additive", op, place, "", "response added", "errors.py if it is an error")
            elif status not in new_responses:
                self.add("breaking", op, place, "", "response removed", "CHANGELOG")
            else:
                old_r = _deref(self.old, old_responses[status])[0]
                new_r = _deref(self.new, new_responses[status])[0]
                self.schema(op, place, "", _json_schema(old_r), _json_schema(new_r), False)

    def parameters(self, op: str, old: list[Any], new: list[Any]) -> None:
        def by_name(spec: dict[str, Any], items: list[Any]) -> dict[str, dict[str, Any]]:
            found = (_deref(spec, p)[0] for p in items)
            return {f"{p.get('in')} {p.get('name')}": p for p in found}

        olds, news = by_name(self.old, old), by_name(self.new, new)
        for key in sorted(news.keys() - olds.keys()):
            required = news[key].get("required", False)
            self.add("breaking" if required else "additive", op, f"parameter {key}", "",
                     "required parameter added" if required else "optional parameter added",
                     f"{self.method(op)}: an argument for it")  # fmt: skip
        for key in sorted(olds.keys() - news.keys()):
            self.add("breaking", op, f"parameter {key}", "", "parameter removed",
                     f"{self.method(op)} stops sending it; CHANGELOG")  # fmt: skip
        for key in sorted(olds.keys() & news.keys()):
            old_schema, new_schema = olds[key].get("schema"), news[key].get("schema")
            self.schema(op, f"parameter {key}", "", old_schema, new_schema, True)

    # Schemas

    def schema(
        self, op: str, place: str, field: str, old: Any, new: Any, request: bool, ref: str = ""
    ) -> None:
        if old is None or new is None:
            if old is not new:
                added = old is None
                kind = "additive" if added != request else "breaking"
                what = "body added" if added else "body removed"
                self.add(kind, op, place, field, what, f"{self.method(op)}; CHANGELOG")
            return
        old, old_ref = _deref(self.old, old)
        new, new_ref = _deref(self.new, new)
        ref = new_ref or old_ref or ref
        if request:
            see = f"{self.method(op)}; FakeBird follows the spec"
        else:
            see = f"{self.model(new, ref)}: code that reads it (the wrapper, FakeBird's answers)"
        rule = _RequestRules if request else _ResponseRules

        def change(kind: str, what: str, at: str = field, also: str = "") -> None:
            self.add(kind, op, place, at, what, see + also)

        for key in ("type", "format"):
            if old.get(key) != new.get(key):
                change("breaking", f"{key} {old.get(key)} -> {new.get(key)}")
        old_enum, new_enum = old.get("enum"), new.get("enum")
        if old_enum is not None or new_enum is not None:
            for value in [v for v in new_enum or [] if v not in (old_enum or [])]:
                change(rule.enum_added, f"enum value {value!r} added", f"{field}={value}")
            for value in [v for v in old_enum or [] if v not in (new_enum or [])]:
                change(rule.enum_removed, f"enum value {value!r} removed", f"{field}={value}")
        for key in (*LOWER_BOUNDS, *UPPER_BOUNDS, "pattern"):
            before, after = old.get(key), new.get(key)
            if before != after:
                stricter = after is not None and (
                    before is None
                    or key == "pattern"
                    or (after > before if key in LOWER_BOUNDS else after < before)
                )
                kind = rule.stricter if stricter else rule.looser
                change(kind, f"{key} {before} -> {after}")
        old_open = old.get("additionalProperties", True) is not False
        new_open = new.get("additionalProperties", True) is not False
        if old_open != new_open and "properties" in new:
            change(rule.closed if old_open else rule.opened, "closed" if old_open else "opened")
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        for name in sorted(new_props.keys() - old_props.keys()):
            required = name in new_required
            kind = "breaking" if request and required else "additive"
            extra = "; extra_body sends it before the wrapper names it" if request else ""
            what = (
                f"{'required' if required else 'optional'} property added{_brief(new_props[name])}"
            )
            change(kind, what, _join(field, name), "" if required else extra)
        for name in sorted(old_props.keys() - new_props.keys()):
            change("breaking", "property removed", _join(field, name))
        for name in sorted((new_required - old_required) & old_props.keys() & new_props.keys()):
            change(rule.became_required, "became required", _join(field, name))
        for name in sorted((old_required - new_required) & old_props.keys() & new_props.keys()):
            change(rule.became_optional, "became optional", _join(field, name))
        for name in sorted(old_props.keys() & new_props.keys()):
            self.schema(
                op, place, _join(field, name), old_props[name], new_props[name], request, ref
            )
        if "items" in old or "items" in new:
            self.schema(op, place, f"{field}[]", old.get("items"), new.get("items"), request, ref)
        for key in ("anyOf", "oneOf", "allOf"):
            if old.get(key) != new.get(key):
                olds, news = old.get(key) or [], new.get(key) or []
                if len(olds) != len(news):
                    change("breaking", f"{key} has {len(news)} branches, not {len(olds)}")
                for index, (a, b) in enumerate(zip(olds, news, strict=False)):
                    self.schema(op, place, f"{field}<{key}{index}>", a, b, request, ref)
        for key in sorted((set(old) | set(new)) - SCHEMA_KEYS):
            if old.get(key) != new.get(key):
                change("neutral", f"{key} changed")


class _RequestRules:
    # What the client sends: stricter is breaking, looser additive.
    enum_added, enum_removed = "additive", "breaking"
    stricter, looser = "breaking", "additive"
    closed, opened = "breaking", "additive"
    became_required, became_optional = "breaking", "additive"


class _ResponseRules:
    # What the client reads: fewer guarantees are breaking, more are neutral.
    enum_added, enum_removed = "additive", "neutral"
    stricter, looser = "neutral", "neutral"
    closed, opened = "neutral", "additive"
    became_required, became_optional = "neutral", "breaking"


def _join(field: str, name: str) -> str:
    return f"{field}.{name}" if field else name


def _brief(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    shown = [str(schema.get("type") or schema.get("$ref", "").rsplit("/", 1)[-1])]
    shown += [f"{k} {schema[k]}" for k in (*LOWER_BOUNDS, *UPPER_BOUNDS, "format") if k in schema]
    return f" ({', '.join(s for s in shown if s)})"


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in (spec.get("paths") or {}).items():
        for method, operation in item.items():
            if method in METHODS:
                # A path's parameters belong to each of its operations.
                shared = item.get("parameters", []) + operation.get("parameters", [])
                yield f"{method.upper()} {path}", {**operation, "parameters": shared}


def _deref(spec: dict[str, Any], node: Any) -> tuple[Any, str]:
    ref = ""
    for _ in range(32):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            break
        ref = node["$ref"]
        target: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
        node = target
    return node, ref


def _json_schema(holder: Any) -> Any:
    content = (holder or {}).get("content") or {}
    return (content.get("application/json") or {}).get("schema")


def diff(old: dict[str, Any], new: dict[str, Any], root: Path = ROOT) -> list[Change]:
    """The changes from ``old`` to ``new``, in a stable order, each once."""
    changes = Differ(old, new, root).run()
    return list(dict.fromkeys(changes))


def report(changes: list[Change]) -> str:
    if not changes:
        return "spec: no changes"
    counts = {kind: sum(c.kind == kind for c in changes) for kind in ("breaking", "additive")}
    head = (
        f"spec: {len(changes)} change(s): {counts['breaking']} breaking, "
        f"{counts['additive']} additive, {len(changes) - sum(counts.values())} neutral"
    )
    return "\n".join([head, *(c.lines() for c in changes)])


def unreleased(changelog: Path) -> str:
    """The text of the CHANGELOG's [Unreleased] section."""
    text = changelog.read_text(encoding="utf-8") if changelog.exists() else ""
    match = re.search(r"^## \[Unreleased\][^\n]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    return match.group(1) if match else ""


def unaccepted(changes: list[Change], accept: bool, changelog: Path) -> list[Change]:
    """The breaking changes that stop generation: all unless accepted and named."""
    breaking = [c for c in changes if c.kind == "breaking"]
    if not accept:
        return breaking
    section = unreleased(changelog)
    return [c for c in breaking if f"`{c.name.split('=')[-1]}`" not in section]


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(HERE))
    import merge

    args = sys.argv[1:] if argv is None else argv
    try:
        if args:
            old, new = (json.loads(Path(a).read_text(encoding="utf-8")) for a in args)
        else:
            committed = merge.MERGED.read_text(encoding="utf-8") if merge.MERGED.exists() else ""
            old, new = json.loads(committed or "{}"), json.loads(merge.build())
    except merge.MergeError as error:
        print(f"merge failed: {error}", file=sys.stderr)
        return 1
    print(report(diff(old, new)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
