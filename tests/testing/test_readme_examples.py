"""The README's examples for testing with FakeBird run, as written, in a user's pytest."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _testing_section_code() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Testing code that uses the client", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 2, "the Testing section's examples moved: update this test"
    return "\n\n".join(blocks)


def test_the_testing_examples_pass(tmp_path: Path) -> None:
    (tmp_path / "test_from_readme.py").write_text(_testing_section_code())
    env = {key: value for key, value in os.environ.items() if not key.startswith("BIRD_")}
    env.pop("PYTEST_ADDOPTS", None)

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-p", "no:randomly"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
