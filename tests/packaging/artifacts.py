"""Building the artifacts from a source tree, for the packaging tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build(kind: str, into: Path, source: Path = ROOT) -> Path:
    """``python -m build --<kind>`` with the build backend of this venv; the artifact's path."""
    subprocess.run(
        [sys.executable, "-m", "build", f"--{kind}", "--no-isolation", "--outdir", str(into)],
        cwd=source,
        check=True,
        capture_output=True,
    )
    pattern = "bird_flashcalls-*.whl" if kind == "wheel" else "bird_flashcalls-*.tar.gz"
    (artifact,) = into.glob(pattern)
    return artifact
