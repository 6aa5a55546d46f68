"""The built wheel, installed into a fresh virtual environment, is typed for a user's mypy (which
reads the installed packages: without py.typed, every revealed type below would be Any)."""

from __future__ import annotations

import os
import sys
import venv
from pathlib import Path

import pytest

from .support import run

# One worker builds the packages these tests share (make test runs the suite on xdist).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]

USER_CODE = """
from bird_flashcalls import APIStatusError, FlashCall, FlashCalls, HangupResult

def print_caller_number(call: FlashCall) -> None:
    print(call.nonexistent_attr)

with FlashCalls(
    access_key="key",
    workspace_id="5a3e1f5b-3c5b-4b59-9a3e-1c2d3e4f5a6b",
    channel_id="0b6f4d58-7b2f-4c3e-8d65-9a1b2c3d4e5f",
) as flash_calls:
    call = flash_calls.create("+31612345678")
    reveal_type(call)
    reveal_type(call.status)
    reveal_type(call.from_)
    outcome = flash_calls.verify(call, "+3197010260000")
    reveal_type(outcome)
    reveal_type(outcome.result)
    reveal_type(HangupResult.VERIFIED)
    try:
        flash_calls.end(call, result="timeout")
    except APIStatusError as error:
        reveal_type(error.details)
"""
EXPECTED = [
    '"bird_flashcalls._generated.models.flash_call.FlashCall"',
    '"bird_flashcalls._generated.models.flash_call_status.FlashCallStatus"',
    '"str"',
    '"bird_flashcalls._verify.Verification"',
    '"bird_flashcalls._generated.models.hangup_result.HangupResult"',
    "HangupResult.VERIFIED",
    '"dict[str, list[str]]"',
]


def test_user_code_sees_real_types_and_a_wrong_attribute_fails(wheel: Path, tmp_path: Path) -> None:
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    installed = run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel)
    assert installed.returncode == 0, installed.stderr
    script = tmp_path / "user_code.py"
    script.write_text(USER_CODE, encoding="utf-8")
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n", encoding="utf-8")  # not the project's (mypy_path = wrapper)
    result = run(
        *(sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--config-file", config),
        *("--python-executable", python, script),
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": ""},
    )

    assert result.returncode == 1, result.stdout + result.stderr
    revealed = [line for line in result.stdout.splitlines() if "Revealed type" in line]
    assert len(revealed) == len(EXPECTED), result.stdout + result.stderr
    for line, expected in zip(revealed, EXPECTED, strict=True):
        assert expected in line, line
    assert "Any" not in "".join(revealed)
    # reveal_type lines are notes; the one error is the attribute FlashCall does not have.
    errors = [line for line in result.stdout.splitlines() if "error:" in line]
    assert len(errors) == 1, result.stdout
    assert '"FlashCall" has no attribute "nonexistent_attr"' in errors[0]
