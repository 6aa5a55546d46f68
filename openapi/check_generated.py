"""Fail, with a readable diff, when openapi/ or generated/ differ from a fresh merge + generation.

Usage: python openapi/check_generated.py
"""

from __future__ import annotations

import difflib
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate
import merge

FIX = "run `make generate` and commit openapi/ and generated/ together"


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def compare(expected: dict[str, bytes], actual: dict[str, bytes], label: str) -> list[str]:
    problems = []
    for name in sorted(expected.keys() - actual.keys()):
        problems.append(f"{label}/{name} is missing")
    for name in sorted(actual.keys() - expected.keys()):
        problems.append(f"{label}/{name} should not exist (edited by hand?)")
    for name in sorted(expected.keys() & actual.keys()):
        if expected[name] != actual[name]:
            diff = difflib.unified_diff(
                expected[name].decode(errors="replace").splitlines(),
                actual[name].decode(errors="replace").splitlines(),
                f"fresh/{name}",
                f"{label}/{name}",
                lineterm="",
                n=2,
            )
            problems.append(f"{label}/{name} differs from a fresh generation:\n" + "\n".join(diff))
    return problems


def main() -> int:
    problems = []
    merged = merge.build()
    committed = merge.MERGED.read_text(encoding="utf-8") if merge.MERGED.exists() else ""
    if merged != committed:
        problems.append(f"{merge.MERGED.name} is not merge(fragments + overlay)")
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch)
        generate.generate(fresh)
        problems += compare(
            files_under(fresh), files_under(generate.ROOT / "generated"), "generated"
        )
    if problems:
        print("\n\n".join(problems), file=sys.stderr)
        print(f"\nopenapi/ and generated/ are out of sync: {FIX}", file=sys.stderr)
        return 1
    print("openapi/ and generated/ are in sync")
    return 0


if __name__ == "__main__":
    sys.exit(main())
