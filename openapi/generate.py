"""Regenerate the raw client from the merged spec.

Usage: python openapi/generate.py [--into DIR]

Writes DIR/bird_channels_api (default: generated/) with openapi-python-client, pinned in
pyproject.toml, using generator-config.yaml and the templates in templates/. Generator warnings
are errors: a warning usually means an operation or a model was skipped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "bird-flashcalls.openapi.json"
CONFIG = ROOT / "generator-config.yaml"
TEMPLATES = ROOT / "templates"
PACKAGE = "bird_channels_api"

README = """\
# generated/ — do not edit

`bird_channels_api/` is written by `make generate` from `openapi/bird-flashcalls.openapi.json`
(openapi-python-client, `generator-config.yaml`, `templates/`). Edits made here by hand are
overwritten, and `make test` fails while this folder differs from a fresh generation.

To change this code, change the spec's fragments or overlay in `openapi/`, the generator
configuration or a template, then run `make generate`.
"""


def generate(into: Path) -> None:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    # Ruff's cache would land inside the generated package.
    env["RUFF_NO_CACHE"] = "true"
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / PACKAGE
        completed = subprocess.run(
            [
                str(bin_dir / "openapi-python-client"),
                "generate",
                "--path",
                str(SPEC),
                "--config",
                str(CONFIG),
                "--custom-template-path",
                str(TEMPLATES),
                "--meta",
                "none",
                "--output-path",
                str(output),
                "--fail-on-warning",
            ],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
        )
        report = (completed.stdout + completed.stderr).strip()
        if completed.returncode != 0 or "Warning" in report:
            raise SystemExit(f"openapi-python-client failed or warned:\n{report}")
        into.mkdir(parents=True, exist_ok=True)
        target = into / PACKAGE
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(output, target)
    # PEP 561: type checkers read the package's annotations (the generator writes this marker
    # only with its packaging metadata, which --meta none leaves out).
    (into / PACKAGE / "py.typed").write_text("", encoding="utf-8")
    (into / "README.md").write_text(README, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, default=ROOT / "generated")
    generate(parser.parse_args(argv).into)
    return 0


if __name__ == "__main__":
    sys.exit(main())
