"""``bird-flashcalls demo``: the whole verification story through real HTTP, checked against Bird."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import bird_flashcalls.testing
import pytest
from bird_flashcalls._demo import INTRODUCTION
from bird_flashcalls.cli import main
from bird_flashcalls.testing import FakeBird

from .support import PROCESS_TIMEOUT, clean_env


def test_the_demo_runs_every_step_records_every_result_and_exits_0(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    made = [FakeBird(), FakeBird()]  # the flash-call story's, then the verification story's
    monkeypatch.setattr(bird_flashcalls.testing, "FakeBird", iter(made).__next__)

    assert main(["demo"]) == 0

    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == INTRODUCTION
    assert "flash call" in lines[0]
    assert "No real phone rings" in lines[0]
    assert lines[1].startswith("FakeBird on http://127.0.0.1:")
    calls_end = next(i for i, line in enumerate(lines) if line.startswith("demo passed"))
    assert lines[calls_end].startswith("demo passed: 10 steps, 4 flash calls")
    steps = lines[2:calls_end]
    expected = "create handset verify create handset verify create hangup create code"
    assert [line.split()[1] for line in steps] == expected.split()
    for line in steps:
        assert line.split()[2] == "call"
        int(line.split()[3], 16)  # each step names its call by the start of its id
    assert "result verified (Bird recorded verified)" in steps[2]
    assert "result wrong_cli (Bird recorded wrong_cli)" in steps[5]
    assert ": canceled (Bird recorded canceled)" in steps[7]
    assert "(Bird recorded verified)" in steps[9]
    # Then the second story, checked step by step in tests/verification/test_demo.py.
    assert lines[-1].startswith("verification demo passed: 6 steps")
    assert all(len(line) <= 100 for line in lines), max(lines, key=len)
    assert captured.err == ""
    fake = made[0]
    results = [call.get("result") for call in fake.calls.values()]
    assert results == ["verified", "wrong_cli", "canceled", "verified"]
    # Every request went over HTTP to the served fake and was answered 202.
    assert [request.status for request in fake.requests] == [202] * 8
    shown = {line.split()[3] for line in steps}
    assert shown == {str(UUID(call_id))[:8] for call_id in fake.calls}


TRIED_ONCE = "tried 1 time(s)"


class _HandsetSeesAnotherNumber(FakeBird):
    def handset_cli(self, call_id: str | UUID) -> str:
        return "+3197010260999"


def failing_bird(**fault: float) -> Callable[[], FakeBird]:
    """A FakeBird whose first answer is ``fault``."""

    def make() -> FakeBird:
        fake = FakeBird()
        fake.fail_next(**fault)
        return fake

    return make


@pytest.mark.parametrize(
    ("make_fake", "options", "failure", "said"),
    [
        (_HandsetSeesAnotherNumber, [], "3 (verify): ", "wrong_cli"),
        (failing_bird(status=404), [], "1 (create): NotFoundError", "Bird answered 404"),
        (failing_bird(delay=5), ["--timeout", "0.3"], "1 (create): APITimeoutError", TRIED_ONCE),
        (
            failing_bird(status=503),
            ["--max-retries", "0"],
            "1 (create): InternalServerError",
            TRIED_ONCE,
        ),
    ],
    ids=["wrong handset", "bird refuses", "--timeout", "--max-retries"],
)
def test_the_demo_exits_1_naming_the_step_that_failed(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    make_fake: Callable[[], FakeBird],
    options: list[str],
    failure: str,
    said: str,
) -> None:
    # The demo makes its own FakeBird: hand it one that goes wrong.
    monkeypatch.setattr(bird_flashcalls.testing, "FakeBird", make_fake)

    assert main(["demo", *options]) == 1

    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith(f"demo FAILED at step {failure}")
    assert said in last


def test_the_console_script_runs_the_demo() -> None:
    script = Path(sys.executable).with_name("bird-flashcalls")
    if not script.exists():
        pytest.skip("the package is not installed with its console script here")
    result = subprocess.run(
        [str(script), "demo"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=PROCESS_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "demo passed" in result.stdout
    assert result.stderr == ""
