"""Verification sessions are loaded only when used, and redis only by RedisStore."""

from __future__ import annotations

import subprocess
import sys


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
