"""`make generate` on five kinds of change Bird may publish, each applied to a scratch copy of the
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

from .support import ROOT

CREATE, END, HANGUP = "create-flash-call.json", "end-flash-call.json", "end-flash-call-from-to.json"
COPIED = ("openapi", "templates", "generated", "generator-config.yaml")
CHANGELOG = (
    "# Changelog\n\n## [Unreleased]\n\n### Added\n- `durationMs`.\n\n## [0.1.0]\n\n- `reason`\n"
)


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


def edit(root: Path, fragment: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / "openapi" / "fragments" / fragment
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


def breaking(document: dict[str, Any]) -> None:
    flash_call = schemas(document)["FlashCall"]
    flash_call["properties"]["channel"] = flash_call["properties"].pop("channelId")
    flash_call["required"] = ["channel" if r == "channelId" else r for r in flash_call["required"]]
    flash_call["properties"]["reason"] = {"type": "integer"}
    schemas(document)["CreateFlashCall"]["required"].append("from")


def blocked(document: dict[str, Any]) -> None:
    schemas(document)["HangupFlashCall"]["properties"]["result"]["enum"].append("blocked")


def voicemail(document: dict[str, Any]) -> None:
    schemas(document)["Status-4"]["enum"].append("voicemail")


def test_additive_change_is_reported_and_generated(tmp_path: Path) -> None:
    root = scratch(tmp_path)
    edit(root, CREATE, additive)
    code, output = generate(root)
    assert code == 0, output
    assert "spec: 2 change(s): 0 breaking, 2 additive, 0 neutral" in output
    assert (
        "additive  createChannelFlashCall request reference: optional property added "
        "(string, maxLength 64)" in output
    )
    assert "-> wrapper create() (FlashCalls and AsyncFlashCalls); FakeBird follows" in output
    assert "extra_body sends it before the wrapper names it" in output
    assert (
        "additive  createChannelFlashCall response 202 durationMs: optional property added "
        "(integer)" in output
    )
    model = root / "generated" / "bird_channels_api" / "models" / "flash_call.py"
    assert "duration_ms" in model.read_text(encoding="utf-8")
    # Generating again finds the committed spec up to date and touches nothing.
    before = snapshot(root)
    code, output = generate(root)
    assert (code, output.splitlines()) == (
        0,
        ["spec: no changes", "no changes: every file is as it was"],
    )
    assert snapshot(root) == before


def test_new_enum_values_reach_every_enum_the_hangup_result_included(tmp_path: Path) -> None:
    root = scratch(tmp_path)
    edit(root, CREATE, voicemail)
    edit(root, END, blocked)
    edit(root, HANGUP, blocked)
    code, output = generate(root)
    assert code == 0, output
    for line in (
        "additive  createChannelFlashCall response 202 status=voicemail: enum value 'voicemail' added",
        "additive  endChannelFlashCall request result=blocked: enum value 'blocked' added",
        "additive  endChannelFlashCall response 202 result=blocked: enum value 'blocked' added",
        "additive  endChannelFlashCallFromTo request result=blocked: enum value 'blocked' added",
    ):
        assert line in output
    merged = json.loads((root / "openapi" / "bird-flashcalls.openapi.json").read_text())
    assert "blocked" in schemas(merged)["HangupResult"]["enum"]
    enum = root / "generated" / "bird_channels_api" / "models" / "hangup_result.py"
    assert 'BLOCKED = "blocked"' in enum.read_text(encoding="utf-8")


def test_a_field_added_to_the_end_schema_reaches_both_request_copies(tmp_path: Path) -> None:
    root = scratch(tmp_path)
    note = lambda d: schemas(d)["HangupFlashCall"]["properties"].update(note={"type": "string"})  # noqa: E731
    edit(root, END, note)
    edit(root, HANGUP, note)
    code, output = generate(root)
    assert code == 0, output
    for operation in ("endChannelFlashCall", "endChannelFlashCallFromTo"):
        assert f"additive  {operation} request note: optional property added (string)" in output


def test_an_overlay_that_would_drop_an_upstream_enum_value_fails_naming_it(tmp_path: Path) -> None:
    root = scratch(tmp_path)
    edit(root, END, blocked)
    edit(root, HANGUP, blocked)
    overlay = root / "openapi" / "overlay.yaml"
    text = overlay.read_text(encoding="utf-8")
    restated = "        description: The outcome of the verification, reported to Bird when the call is ended.\n"
    overlay.write_text(
        text.replace(
            restated, restated + "        enum: [unknown, verified, canceled, timeout, wrong_cli]\n"
        ).replace(
            "    copy: $.components.schemas.HangupFlashCall.properties.result\n", "    update: {}\n"
        ),
        encoding="utf-8",
    )
    before = snapshot(root)
    code, output = generate(root)
    assert code == 1
    assert (
        "the overlay drops 'blocked' from the enum at components/schemas/HangupFlashCall" in output
    )
    assert snapshot(root) == before


def test_a_new_operation_on_a_published_path_merges_per_method(tmp_path: Path) -> None:
    root = scratch(tmp_path)
    path = "/workspaces/{workspaceId}/channels/{channelId}/flashcalls/{callId}"
    get = {
        "summary": "Get flash call",
        "operationId": "getChannelFlashCall",
        "tags": ["channel_flashcall"],
        "responses": {
            "200": {
                "description": "The flash call",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/FlashCall"}}
                },
            }
        },
    }
    source = json.loads((root / "openapi" / "fragments" / CREATE).read_text(encoding="utf-8"))
    source["paths"] = {path: {"get": get}}
    (root / "openapi" / "fragments" / "get-flash-call.json").write_text(json.dumps(source))
    code, output = generate(root)
    assert code == 0, output
    assert f"additive  getChannelFlashCall GET {path}: operation added" in output
    assert "_operations.OPERATIONS; FakeBird: a route for it" in output
    api = root / "generated" / "bird_channels_api" / "api" / "channel_flashcall"
    assert (api / "get_channel_flash_call.py").is_file()


def test_breaking_changes_stop_until_accepted_and_named_in_the_changelog(tmp_path: Path) -> None:
    root = scratch(tmp_path)
    edit(root, CREATE, breaking)
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
    assert "not named in the CHANGELOG's [Unreleased]" in output
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


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("create-flash-call.json", None, "create-flash-call.json:1:"),
        ("notes.txt", "see Bird's docs", "notes.txt in fragments/: a fragment is a .json, .yaml"),
        ("broken.yaml", "openapi: [3.0.3\n", "broken.yaml:2:1:"),
        ("end-flash-call.json", "dangling", "$ref '#/components/schemas/Gone'"),
        ("end-flash-call.json", "invalid", "not valid OpenAPI at paths//workspaces/"),
    ],
    ids=["trailing-comma", "stranger", "yaml-syntax", "dangling-ref", "invalid-openapi"],
)
def test_malformed_fragments_fail_with_their_place_and_write_nothing(
    tmp_path: Path, name: str, text: str | None, message: str
) -> None:
    root = scratch(tmp_path)
    target = root / "openapi" / "fragments" / name
    if text is None:  # a trailing comma after the last member
        target.write_text(target.read_text(encoding="utf-8")[:-1] + ",}", encoding="utf-8")
    elif text == "dangling":
        edit(root, name, lambda d: next(iter(d["paths"].values()))["post"]["responses"].update(
            {"409": {"$ref": "#/components/schemas/Gone"}}))  # fmt: skip
    elif text == "invalid":  # a response without its description
        edit(root, name, lambda d: next(iter(d["paths"].values()))["post"]["responses"]["202"].pop(
            "description"))  # fmt: skip
    else:
        target.write_text(text, encoding="utf-8")
    before = snapshot(root)
    code, output = generate(root)
    assert code == 1
    assert message in output
    if text in ("dangling", "invalid"):
        assert "(from end-flash-call.json)" in output
    assert snapshot(root) == before


def test_a_yaml_fragment_is_merged_like_its_json(tmp_path: Path) -> None:
    import yaml

    root = scratch(tmp_path)
    fragments = root / "openapi" / "fragments"
    document = json.loads((fragments / END).read_text(encoding="utf-8"))
    (fragments / END).unlink()
    (fragments / "end-flash-call.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    code, output = generate(root)
    assert (code, output.splitlines()[0]) == (0, "spec: no changes"), output


def test_fakebird_follows_the_regenerated_spec_without_an_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import merge
    from bird_flashcalls import _spec
    from bird_flashcalls.testing import FakeBird

    root = scratch(tmp_path)
    edit(root, CREATE, additive)
    edit(root, END, blocked)
    edit(root, HANGUP, blocked)
    fragments, overlay = root / "openapi" / "fragments", root / "openapi" / "overlay.yaml"
    monkeypatch.setattr(_spec, "spec", lambda: json.loads(merge.build(fragments, overlay)))
    _spec.operations.cache_clear()
    fake = FakeBird()
    headers = {"Authorization": f"AccessKey {fake.access_key}", "Content-Type": "application/json"}
    path = f"/workspaces/{fake.workspace_id}/channels/{fake.channel_id}/flashcalls"

    def create(reference: str) -> Any:
        body = json.dumps({"to": "+31612345678", "reference": reference}).encode()
        return fake.respond("POST", path, headers, body)

    try:
        accepted, refused = create("r" * 64), create("r" * 65)
        ended = fake.respond(
            "POST", f"{path}/{accepted.json()['id']}", headers, b'{"result": "blocked"}'
        )
    finally:
        _spec.operations.cache_clear()
    assert accepted.status == 202, accepted.json()
    assert (ended.status, ended.json()) == (202, {"result": "blocked"})
    assert (refused.status, refused.json()["details"]) == (
        422,
        {"reference": ["must be at most 64 characters"]},
    )
