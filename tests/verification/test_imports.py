"""Verification sessions are loaded only when used, and redis only by RedisStore."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    program = textwrap.dedent(code) + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    return set(result.stdout.split())


def test_importing_the_client_loads_neither_verification_nor_redis() -> None:
    loaded = loaded_after("import bird_flashcalls")

    assert "bird_flashcalls" in loaded
    assert not {m for m in loaded if m.startswith("bird_flashcalls.verification")}
    assert not {m for m in loaded if m == "redis" or m.startswith("redis.")}


def test_the_verification_package_loads_sqlite3_and_redis_only_for_their_stores() -> None:
    loaded = loaded_after("from bird_flashcalls.verification import Verifier, MemoryStore")
    assert "bird_flashcalls.verification" in loaded
    assert "redis" not in loaded and "sqlite3" not in loaded

    loaded = loaded_after("from bird_flashcalls.verification import RedisStore, SQLiteStore")
    assert "redis" not in loaded  # until a RedisStore is made
    assert "sqlite3" in loaded
