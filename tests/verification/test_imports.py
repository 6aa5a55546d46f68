"""In a fresh interpreter: verification, sqlite3 and redis are loaded only when used, and mypy
refuses a misspelt status, limit or event kind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WRAPPER = Path(__file__).resolve().parents[2] / "wrapper"

# Under --strict-equality a misspelt Literal is an error (a StrEnum's would not be).
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


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    program = code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    return set(result.stdout.split())


def test_verification_sqlite3_and_redis_are_loaded_only_for_what_uses_them() -> None:
    # The pytest plugin too: pytest imports it at start-up in every project that installs us.
    client = loaded_after("import bird_flashcalls, bird_flashcalls.testing.pytest_plugin")
    memory = loaded_after("from bird_flashcalls.verification import Verifier, MemoryStore")
    stores = loaded_after("from bird_flashcalls.verification import RedisStore, SQLiteStore")

    assert "bird_flashcalls" in client
    assert not {m for m in client if m.startswith("bird_flashcalls.verification")}
    assert not {m for m in client if m == "redis" or m.startswith("redis.")}
    assert "bird_flashcalls.verification" in memory
    assert "redis" not in memory and "sqlite3" not in memory
    assert "redis" not in stores  # until a RedisStore is made
    assert "sqlite3" in stores


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
