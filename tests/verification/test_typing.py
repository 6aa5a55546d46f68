"""A misspelt status or limit name is an error under mypy --strict-equality (a StrEnum's is not)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WRAPPER = Path(__file__).resolve().parents[2] / "wrapper"

SNIPPET = """
from bird_flashcalls.verification import CheckResult, VerificationEvent, VerificationRateLimited

def decide(result: CheckResult, error: VerificationRateLimited, event: VerificationEvent) -> bool:
    return (
        result.status == "verfied"
        or error.limit == "per_number"
        or event.kind == "rate_limit"
        or result.status == "verified"
    )
"""


def test_a_misspelt_status_limit_or_event_kind_is_a_type_error(tmp_path: Path) -> None:
    (tmp_path / "snippet.py").write_text(SNIPPET)
    ran = subprocess.run(
        [
            *(sys.executable, "-m", "mypy", "--strict", "--strict-equality", "--no-incremental"),
            *("--config-file", "", "snippet.py"),
        ],
        cwd=tmp_path,
        env={"MYPYPATH": str(WRAPPER), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=300,
    )

    errors = [line for line in ran.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["6", "7", "8"], ran.stdout
    assert all("Non-overlapping equality check" in line for line in errors)
