"""`make generate` on each kind of change Bird may publish, applied to a scratch copy of the
repository's spec tooling: the report's lines, the exit code, and what was (not) written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from .support import ROOT

CREATE, END, HANGUP = "create-flash-call.json", "end-flash-call.json", "end-flash-call-from-to.json"
COPIED = ("openapi", "templates", "generated", "generator-config.yaml")
# Breaking names mentioned but not accepted: channelId without backticks, `reason` released.
CHANGELOG = "# Changelog\n\n## [Unreleased]\n\n- channelId.\n\n## [0.1.0]\n\n- `reason`\n"
CALL_PATH = "/workspaces/{workspaceId}/channels/{channelId}/flashcalls/{callId}"


def scratch(tmp_path: Path) -> Path:
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG, encoding="utf-8")
    operations = tmp_path / "wrapper" / "bird_flashcalls"
    operations.mkdir(parents=True)
    shutil.copy(ROOT / "wrapper" / "bird_flashcalls" / "_operations.py", operations)
    return tmp_path


def fragment(root: Path, name: str) -> Path:
    return root / "openapi" / "fragments" / name


def edit(path: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in ("openapi", "generated")
        for p in sorted((root / folder).rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and "fragments" not in p.parts
    }


def generate(root: Path, **env: str) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, str(root / "openapi" / "generate.py")],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def schemas(document: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"]
    return found


def additive(document: dict[str, Any]) -> None:
    schemas(document)["FlashCall"]["properties"]["durationMs"] = {"type": "integer"}
    schemas(document)["CreateFlashCall"]["properties"]["reference"] = {
        "type": "string",
        "maxLength": 64,
    }
    schemas(document)["Status-4"]["enum"].append("voicemail")


def breaking(document: dict[str, Any]) -> None:
    flash_call = schemas(document)["FlashCall"]
    flash_call["properties"]["channel"] = flash_call["properties"].pop("channelId")
    flash_call["required"] = ["channel" if r == "channelId" else r for r in flash_call["required"]]
    flash_call["properties"]["reason"] = {"type": "integer"}
    schemas(document)["CreateFlashCall"]["required"].append("from")


def blocked(document: dict[str, Any]) -> None:
    schemas(document)["HangupFlashCall"]["properties"]["result"]["enum"].append("blocked")


def end_additive(document: dict[str, Any]) -> None:
    blocked(document)
    schemas(document)["HangupFlashCall"]["properties"]["note"] = {"type": "string"}


def get_operation(document: dict[str, Any]) -> None:
    """The create fragment made a get of one call (a published path), answering a FlashCall."""
    post = next(iter(document["paths"].values()))["post"]
    get = {"operationId": "getChannelFlashCall", "summary": "Get flash call", "tags": post["tags"]}
    document["paths"] = {
        CALL_PATH: {"get": {**get, "responses": {"200": post["responses"]["202"]}}}
    }


# The report's first line, then each change in the report's order, and lines on what needs attention
ADDITIVE_REPORT = "spec: 11 change(s): 0 breaking, 11 additive, 0 neutral"
ADDITIVE_CHANGES = [
    f"getChannelFlashCall GET {CALL_PATH}: operation added",
    "createChannelFlashCall request reference: optional property added (string, maxLength 64)",
    "createChannelFlashCall response 202 durationMs: optional property added (integer)",
    "createChannelFlashCall response 202 status=voicemail: enum value 'voicemail' added",
    "endChannelFlashCallFromTo request note: optional property added (string)",
    "endChannelFlashCallFromTo request result=blocked: enum value 'blocked' added",
    "endChannelFlashCallFromTo response 202 result=blocked: enum value 'blocked' added",
    "endChannelFlashCall request note: optional property added (string)",
    "endChannelFlashCall request result=blocked: enum value 'blocked' added",
    "endChannelFlashCall response 202 note: optional property added (string)",
    "endChannelFlashCall response 202 result=blocked: enum value 'blocked' added",
]
ATTENTION = [
    "-> wrapper: a method on FlashCalls and AsyncFlashCalls and its entry in _operations.OPERATIONS; FakeBird: a route for it",
    "-> wrapper create() (FlashCalls and AsyncFlashCalls); FakeBird follows the spec; extra_body sends it before the wrapper names it",
]


def test_additive_changes_are_reported_generated_and_then_stable(tmp_path: Path) -> None:
    # New fields (on the end schema: both request copies), enum values (every enum the hangup
    # result was copied to), and a new operation on a published path (merged per method).
    root = scratch(tmp_path)
    edit(fragment(root, CREATE), additive)
    edit(fragment(root, END), end_additive)
    edit(fragment(root, HANGUP), end_additive)
    shutil.copy(fragment(root, CREATE), fragment(root, "get-flash-call.json"))
    edit(fragment(root, "get-flash-call.json"), get_operation)
    code, output = generate(root)
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0] == ADDITIVE_REPORT
    assert [line.removeprefix("additive  ") for line in lines if line.startswith("additive  ")] == (
        ADDITIVE_CHANGES
    )
    assert [line for line in ATTENTION if line not in output] == []
    merged = json.loads((root / "openapi" / "bird-flashcalls.openapi.json").read_text())
    assert "blocked" in schemas(merged)["HangupResult"]["enum"]
    package = root / "generated" / "bird_channels_api"
    assert "duration_ms" in (package / "models" / "flash_call.py").read_text(encoding="utf-8")
    enum = (package / "models" / "hangup_result.py").read_text(encoding="utf-8")
    assert 'BLOCKED = "blocked"' in enum
    assert (package / "api" / "channel_flashcall" / "get_channel_flash_call.py").is_file()
    # Generating again, with a fragment now in YAML, finds everything up to date, touches nothing.
    document = json.loads(fragment(root, END).read_text(encoding="utf-8"))
    fragment(root, END).unlink()
    fragment(root, "end-flash-call.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    before = snapshot(root)
    code, output = generate(root)
    assert (code, output.splitlines()) == (
        0,
        ["spec: no changes", "no changes: every file is as it was"],
    )
    assert snapshot(root) == before


def test_breaking_changes_stop_until_accepted_and_named_in_the_changelog(tmp_path: Path) -> None:
    root = scratch(tmp_path)
    edit(fragment(root, CREATE), breaking)
    before = snapshot(root)
    code, output = generate(root)
    assert code == 2
    for line in (
        "breaking  createChannelFlashCall response 202 channelId: property removed",
        "additive  createChannelFlashCall response 202 channel: required property added",
        "breaking  createChannelFlashCall response 202 reason: type string -> integer",
        "breaking  createChannelFlashCall request from: became required",
    ):
        assert line in output
    assert "stopped, nothing written: `from`, `channelId`, `reason` breaking" in output
    code, output = generate(root, ACCEPT_BREAKING="1")
    assert code == 2
    assert (
        "stopped, nothing written: `from`, `channelId`, `reason` not named in the CHANGELOG's "
        "[Unreleased]" in output
    )
    assert snapshot(root) == before
    changelog = root / "CHANGELOG.md"
    changelog.write_text(
        changelog.read_text(encoding="utf-8").replace(
            "## [Unreleased]\n",
            "## [Unreleased]\n\n### Changed\n- Bird renamed `channelId`, made `reason` a number "
            "and `from` required.\n",
        ),
        encoding="utf-8",
    )
    code, output = generate(root, ACCEPT_BREAKING="1")
    assert code == 0, output
    assert "wrote openapi/bird-flashcalls.openapi.json" in output


def first_responses(document: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(iter(document["paths"].values()))["post"]["responses"]
    return found


# (id, fragment, how it is damaged, what the error says)
MALFORMED: list[tuple[str, str, Callable[[Path], Any], list[str]]] = [
    ("trailing-comma", CREATE, lambda p: p.write_text(p.read_text(encoding="utf-8")[:-1] + ",}", encoding="utf-8"), ["create-flash-call.json:1:"]),
    ("stranger", "notes.txt", lambda p: p.write_text("see Bird's docs"), ["notes.txt in fragments/: a fragment is a .json, .yaml"]),
    ("yaml-syntax", "broken.yaml", lambda p: p.write_text("openapi: [3.0.3\n"), ["broken.yaml:2:1:"]),
    ("dangling-ref", END, lambda p: edit(p, lambda d: first_responses(d).update({"409": {"$ref": "#/components/schemas/Gone"}})), ["$ref '#/components/schemas/Gone'", "(from end-flash-call.json)"]),
    ("invalid-openapi", END, lambda p: edit(p, lambda d: first_responses(d)["202"].pop("description")), ["not valid OpenAPI at paths//workspaces/", "(from end-flash-call.json)"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "damage", "messages"), [r[1:] for r in MALFORMED], ids=[r[0] for r in MALFORMED]
)
def test_malformed_fragments_fail_with_their_place_and_write_nothing(
    tmp_path: Path, name: str, damage: Callable[[Path], Any], messages: list[str]
) -> None:
    root = scratch(tmp_path)
    damage(fragment(root, name))
    before = snapshot(root)
    code, output = generate(root)
    assert code == 1
    assert [message for message in messages if message not in output] == []
    assert snapshot(root) == before


def test_fakebird_follows_the_regenerated_spec_without_an_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import merge
    from bird_flashcalls import _spec
    from bird_flashcalls.testing import FakeBird

    root = scratch(tmp_path)
    edit(fragment(root, CREATE), additive)
    edit(fragment(root, END), blocked)
    edit(fragment(root, HANGUP), blocked)
    openapi = root / "openapi"
    merged = json.loads(merge.build(openapi / "fragments", openapi / "overlay.yaml"))
    monkeypatch.setattr(_spec, "spec", lambda: merged)
    # Uncached: the real spec's operations are neither used nor replaced in the cache.
    monkeypatch.setattr(_spec, "operations", _spec.operations.__wrapped__)
    fake = FakeBird()
    headers = {"Authorization": f"AccessKey {fake.access_key}", "Content-Type": "application/json"}
    path = f"/workspaces/{fake.workspace_id}/channels/{fake.channel_id}/flashcalls"

    def create(reference: str) -> Any:
        body = json.dumps({"to": "+31612345678", "reference": reference}).encode()
        return fake.respond("POST", path, headers, body)

    accepted, refused = create("r" * 64), create("r" * 65)
    ended = fake.respond(
        "POST", f"{path}/{accepted.json()['id']}", headers, b'{"result": "blocked"}'
    )
    assert accepted.status == 202, accepted.json()
    assert (ended.status, ended.json()) == (202, {"result": "blocked"})
    assert (refused.status, refused.json()["details"]) == (
        422,
        {"reference": ["must be at most 64 characters"]},
    )
