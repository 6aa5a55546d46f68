"""The built wheel, installed into a fresh virtual environment, is typed for a user's mypy.

The project's own mypy run reads the sources (mypy_path); a user's reads the installed
packages, which must carry py.typed for mypy to use their annotations at all: without it, every
revealed type below would be Any.
"""

from __future__ import annotations

import os
import sys
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .support import run

# One worker builds the packages these tests share (make test runs the suite on xdist).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]

USER_CODE = """
from bird_flashcalls import APIStatusError, FlashCalls, HangupResult

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
WRONG_ATTRIBUTE = """
from bird_flashcalls import FlashCall

def caller_number(call: FlashCall) -> str:
    return call.nonexistent_attr
"""


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the wheel built from this checkout installed; its python."""
    environment = tmp_path_factory.mktemp("typed-wheel") / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    installed = run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel)
    assert installed.returncode == 0, installed.stderr
    yield python


def mypy_strict(python: Path, code: str, folder: Path) -> Any:
    """The project's mypy, type-checking ``code`` against what ``python`` has installed."""
    script = folder / "user_code.py"
    script.write_text(code, encoding="utf-8")
    config = folder / "mypy.ini"
    config.write_text("[mypy]\n", encoding="utf-8")  # not the project's (mypy_path = wrapper)
    return run(
        *(sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--config-file", config),
        *("--python-executable", python, script),
        cwd=folder,
        env={**os.environ, "MYPYPATH": ""},
    )


def test_user_code_sees_real_types(installed: Path, tmp_path: Path) -> None:
    result = mypy_strict(installed, USER_CODE, tmp_path)

    revealed = [line for line in result.stdout.splitlines() if "Revealed type" in line]
    assert len(revealed) == len(EXPECTED), result.stdout + result.stderr
    for line, expected in zip(revealed, EXPECTED, strict=True):
        assert expected in line, line
    assert "Any" not in "".join(revealed)
    # reveal_type lines are notes; nothing else is reported.
    assert "error:" not in result.stdout, result.stdout


def test_a_wrong_attribute_fails_to_type_check(installed: Path, tmp_path: Path) -> None:
    result = mypy_strict(installed, WRONG_ATTRIBUTE, tmp_path)

    assert result.returncode == 1, result.stdout
    assert '"FlashCall" has no attribute "nonexistent_attr"' in result.stdout
