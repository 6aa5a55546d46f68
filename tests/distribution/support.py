"""Building the artifacts from a source tree, and running programs on them with bounded waits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# Builds, installs and tools on a busy machine: generous.
WAIT = 300


def run(*command: str | Path, **options: Any) -> subprocess.CompletedProcess[str]:
    """``command``, its output captured as text, its exit status left to the caller."""
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
        **options,
    )


def build(kind: str, into: Path, source: Path = ROOT) -> Path:
    """``python -m build --<kind>`` with the build backend of this venv; the artifact's path."""
    built = run(
        sys.executable, "-m", "build", f"--{kind}", "--no-isolation", "--outdir", into, cwd=source
    )
    assert built.returncode == 0, built.stdout + built.stderr
    pattern = "bird_flashcalls-*.whl" if kind == "wheel" else "bird_flashcalls-*.tar.gz"
    (artifact,) = into.glob(pattern)
    return artifact
