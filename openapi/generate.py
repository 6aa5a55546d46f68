"""Merge the spec, report what changed, and regenerate the raw client from it.

Usage: python openapi/generate.py [--into DIR]      (make generate)
       ACCEPT_BREAKING=1 python openapi/generate.py (after naming the change in the CHANGELOG)

Merges openapi/ (merge.py: the result is validated first), prints what changed against the
committed spec (spec_diff.py), and stops before writing anything on an error or an unaccepted
breaking change. Otherwise it generates DIR/bird_channels_api (default: generated/) with
openapi-python-client, pinned in pyproject.toml, using generator-config.yaml and templates/, in
a scratch folder first; generator warnings are errors (a warning usually means an operation or
a model was skipped). Only then are the merged spec and the files that differ written.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import merge
import spec_diff

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "bird-flashcalls.openapi.json"
CONFIG = ROOT / "generator-config.yaml"
TEMPLATES = ROOT / "templates"
PACKAGE = "bird_channels_api"

README = """\
# generated/ — do not edit

`bird_channels_api/` is written by `make generate` from `openapi/bird-flashcalls.openapi.json`
(openapi-python-client, `generator-config.yaml`, `templates/`), with a copy of that spec
(`openapi.json`). Edits made here by hand are
overwritten, and `make test` fails while this folder differs from a fresh generation.

To change this code, change the spec's fragments or overlay in `openapi/`, the generator
configuration or a template, then run `make generate`.
"""


def generate(into: Path, spec: Path | None = None) -> None:
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
                str(spec or SPEC),
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
    # The spec itself, for what reads its schemas at run time (FakeBird's request checks, the
    # documented fields extra_body may not override).
    shutil.copyfile(spec or SPEC, into / PACKAGE / "openapi.json")
    # PEP 561: type checkers read the package's annotations (the generator writes this marker
    # only with its packaging metadata, which --meta none leaves out).
    (into / PACKAGE / "py.typed").write_text("", encoding="utf-8")
    (into / "README.md").write_text(README, encoding="utf-8")


def sync(fresh: Path, into: Path) -> list[str]:
    """Make ``into`` hold exactly the files of ``fresh``, writing only those that differ."""
    changed = []
    new = {p.relative_to(fresh): p for p in fresh.rglob("*") if p.is_file()}
    old = {
        p.relative_to(into): p
        for p in (into.rglob("*") if into.exists() else [])
        if p.is_file() and "__pycache__" not in p.parts
    }
    for name in sorted(old.keys() - new.keys()):
        old[name].unlink()
        changed.append(f"removed {into.name}/{name}")
    for name, source in sorted(new.items()):
        target = into / name
        if not target.exists() or target.read_bytes() != source.read_bytes():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            changed.append(f"wrote {into.name}/{name}")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, default=ROOT / "generated")
    into = parser.parse_args(argv).into
    try:
        text = merge.build()
    except merge.MergeError as error:
        print(f"merge failed, nothing written: {error}", file=sys.stderr)
        return 1
    committed = merge.MERGED.read_text(encoding="utf-8") if merge.MERGED.exists() else "{}"
    changes = spec_diff.diff(json.loads(committed), json.loads(text))
    print(spec_diff.report(changes))
    accept = os.environ.get("ACCEPT_BREAKING") == "1"
    refused = spec_diff.unaccepted(changes, accept, ROOT / "CHANGELOG.md")
    if refused:
        names = ", ".join(f"`{c.name.split('=')[-1]}`" for c in refused)
        why = "not named in the CHANGELOG's [Unreleased]" if accept else "breaking"
        print(
            f"stopped, nothing written: {names} {why}; {spec_diff.CHANGELOG_FIX}", file=sys.stderr
        )
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        spec = Path(scratch) / merge.MERGED.name
        spec.write_text(text, encoding="utf-8")
        try:
            generate(Path(scratch) / "out", spec)
        except SystemExit as error:
            print(f"generation failed, nothing written: {error}", file=sys.stderr)
            return 1
        written = sync(Path(scratch) / "out", into)
    if text != committed:
        merge.MERGED.write_text(text, encoding="utf-8")
        written.insert(0, f"wrote {merge.MERGED.relative_to(ROOT)}")
    print("\n".join(written) if written else "no changes: every file is as it was")
    return 0


if __name__ == "__main__":
    sys.exit(main())
