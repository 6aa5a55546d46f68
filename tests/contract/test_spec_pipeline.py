"""The spec pipeline: fragments + overlay -> merged spec -> generated client, kept in sync."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import check_generated
import generate
import merge
import pytest
from bird_flashcalls import _generated
from bird_flashcalls._generated import models, types
from bird_flashcalls._operations import OPERATIONS
from openapi_spec_validator import validate

from .support import spec_operations


def merged_spec() -> dict[str, Any]:
    return json.loads(merge.MERGED.read_text(encoding="utf-8"))


def test_merge_keeps_each_published_operation_and_each_component_once() -> None:
    spec = merged_spec()
    fragments = merge.load_fragments()
    published = sorted(op for _, fragment in fragments for op in spec_operations(fragment))
    assert sorted(spec_operations(spec)) == published
    assert len(set(published)) == len(published), "an operationId is published twice"
    assert set(spec["paths"]) == {path for _, f in fragments for path in f["paths"]}
    # A component several fragments publish, identically, appears once, as published (the
    # overlay aside).
    shared = {
        name: [
            f["components"]["schemas"][name]
            for _, f in fragments
            if name in f["components"]["schemas"]
        ]
        for _, f in fragments
        for name in f["components"]["schemas"]
    }
    repeated = [name for name, copies in shared.items() if len(copies) > 1]
    assert repeated, "no component is shared by two fragments: this check guards nothing"
    for name in repeated:
        assert all(copy == shared[name][0] for copy in shared[name])
        assert name in spec["components"]["schemas"]


def test_conflicting_component_is_an_error_that_names_it() -> None:
    fragments = merge.load_fragments()
    _, altered = copy.deepcopy(fragments[0])
    altered["components"]["schemas"]["RequestError"]["required"] = ["code"]
    with pytest.raises(merge.MergeError, match=r"components/schemas/RequestError"):
        merge.merge_fragments([*fragments, ("altered.json", altered)])


@pytest.mark.parametrize(
    ("action", "problem"),
    [
        ({"target": "$.info", "update": {"title": "x"}}, "no description"),
        ({"target": "$.paths['/nope']", "description": "d", "update": {"a": 1}}, "does not exist"),
    ],
)
def test_overlay_actions_without_a_reason_or_a_target_are_refused(
    action: dict[str, Any], problem: str
) -> None:
    with pytest.raises(merge.MergeError, match=problem):
        merge.apply_overlay({"info": {}, "paths": {}}, {"actions": [action]})


def test_wrapper_parses_each_success_with_the_generated_response_model() -> None:
    # The generated modules import the client, Response and the models for type checking only.
    names = {name: getattr(models, name) for name in models.__all__}
    names.update(
        AuthenticatedClient=_generated.AuthenticatedClient,
        Client=_generated.Client,
        Response=types.Response,
    )
    for operation in OPERATIONS:
        hints = typing.get_type_hints(operation.generated.sync, localns=names)
        returned = typing.get_args(hints["return"])
        model = operation.parse.__self__  # a bound classmethod: the model class
        assert model in returned, (
            f"{operation.operation_id}: the wrapper parses successes as {model.__name__}, "
            f"the generated operation returns {returned}"
        )


def test_generated_package_loads_what_is_used_and_no_more() -> None:
    code = """
import sys
import bird_flashcalls
loaded = set(sys.modules)
print(sorted(m for m in loaded if m.startswith("bird_flashcalls._generated")))
import bird_flashcalls._generated, bird_flashcalls._generated.models as models
assert bird_flashcalls._generated.Client.__name__ == "Client"
assert models.RequestError.__module__ == "bird_flashcalls._generated.models.request_error"
assert set(models.__all__) <= set(dir(models))
try:
    models.NoSuchModel
except AttributeError as error:
    assert "NoSuchModel" in str(error)
else:
    raise AssertionError("models.NoSuchModel did not raise AttributeError")
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = result.stdout
    # Building requests and parsing successes needs neither the client classes nor the models
    # of error responses; they are loaded when used.
    lazy_modules = ("client", "models.request_error", "models.validation_error")
    for lazy in lazy_modules:
        assert f"'bird_flashcalls._generated.{lazy}'" not in loaded
    assert "bird_flashcalls._generated.models.flash_call'" in loaded


def test_committed_spec_and_client_are_a_deterministic_fresh_merge_and_generation() -> None:
    assert merge.build() == merge.build()
    validate(merged_spec())  # also: each path template variable is a declared parameter
    # The merged spec is merge(fragments + overlay), generated/ a fresh generation from it.
    assert check_generated.main() == 0, "openapi/ or generated/ is stale: run `make generate`"


def test_hand_edit_to_generated_is_detected() -> None:
    expected = check_generated.files_under(generate.ROOT / "generated")
    edited = dict(expected)
    edited["bird_channels_api/client.py"] += b"# edited\n"
    edited["bird_channels_api/extra.py"] = b""
    problems = check_generated.compare(expected, edited, "generated")
    assert any("client.py differs" in p and "+# edited" in p for p in problems)
    assert any("extra.py should not exist" in p for p in problems)


def test_skipped_endpoint_fails_generation_and_names_it(tmp_path: Path, monkeypatch) -> None:
    spec = merged_spec()
    del spec["paths"]["/workspaces/{workspaceId}/channels/{channelId}/flashcalls/{callId}"][
        "parameters"
    ]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(spec))
    monkeypatch.setattr(generate, "SPEC", broken)
    with pytest.raises(SystemExit, match=r"endChannelFlashCall|flashcalls/\{callId\}"):
        generate.generate(tmp_path / "out")


def test_an_overlay_request_copy_that_loses_a_published_field_is_an_error() -> None:
    fragments = merge.load_fragments()
    spec = merged_spec()
    merge.check_request_fields(spec, fragments)
    del spec["components"]["schemas"]["HangupFlashCallRequest"]["properties"]["receivedCli"]
    with pytest.raises(
        merge.MergeError,
        match=r"drops 'receivedCli' from the request of endChannelFlashCall that end-flash-call.json",
    ):
        merge.check_request_fields(spec, fragments)


def test_a_merged_spec_that_lacks_a_published_enum_value_is_an_error() -> None:
    fragments = merge.load_fragments()
    merge.check_enums(merged_spec(), fragments)
    for _, fragment in fragments[1:]:  # both end fragments publish the hangup result
        fragment["components"]["schemas"]["HangupFlashCall"]["properties"]["result"]["enum"].append(
            "blocked"
        )
    with pytest.raises(
        merge.MergeError,
        match=r"drops 'blocked' from the enum at components/schemas/HangupFlashCall/properties/"
        r"result that end-flash-call-from-to.json publishes",
    ):
        merge.check_enums(merged_spec(), fragments)


def test_writing_a_generation_touches_only_the_files_that_differ(tmp_path: Path) -> None:
    fresh, into = tmp_path / "fresh", tmp_path / "into"
    for folder, files in ((fresh, {"same.py": "s", "new.py": "n", "changed.py": "2"}),
                          (into, {"same.py": "s", "gone.py": "g", "changed.py": "1"})):  # fmt: skip
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text)
    same = (into / "same.py").stat().st_mtime_ns
    written = generate.sync(fresh, into)
    assert written == ["removed into/gone.py", "wrote into/changed.py", "wrote into/new.py"]
    assert check_generated.files_under(into) == check_generated.files_under(fresh)
    assert (into / "same.py").stat().st_mtime_ns == same
