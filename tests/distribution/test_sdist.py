"""The sdist is a complete source: a packager regenerates, tests and builds from it alone."""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from .support import build, run

# One worker builds the packages these tests share (make test runs the suite on xdist).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]

VENV = Path(sys.executable).parent.parent


@pytest.fixture(scope="module")
def unpacked(sdist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    into = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(sdist) as archive:
        archive.extractall(into, filter="data")
    (top,) = into.iterdir()
    return top


def test_the_sdist_carries_what_a_packager_needs(unpacked: Path) -> None:
    needed = ["Makefile", "package.json", "package-lock.json", "LICENSE", "CHANGELOG.md"]
    needed += ["README.md", "pyproject.toml", "noxfile.py", "generator-config.yaml"]
    needed += ["openapi/overlay.yaml", "templates/model.py.jinja", "tests/conftest.py"]
    needed += ["generated/bird_channels_api/py.typed", "tests/distribution/support.py"]
    assert [name for name in needed if not (unpacked / name).is_file()] == []
    assert not list(unpacked.rglob("__pycache__"))


def test_generation_reproduces_from_the_sdist_alone(unpacked: Path) -> None:
    # This venv's pinned generator; -o: never reinstall into it from the unpacked copy.
    installed = f"{VENV}/.installed"
    result = run("make", "-o", installed, "check-generated", f"VENV={VENV}", cwd=unpacked)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "in sync" in result.stdout


def test_a_wheel_builds_from_the_sdist(unpacked: Path, tmp_path: Path) -> None:
    wheel = build("wheel", tmp_path, source=unpacked)

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "bird_flashcalls/_generated/models/flash_call.py" in names
    assert "bird_flashcalls/_generated/py.typed" in names
    assert "bird_flashcalls-0.1.0.dist-info/licenses/LICENSE" in names
    assert not any(name.startswith(("bird_channels_api/", "tests/")) for name in names)


def test_twine_accepts_both_artifacts(wheel: Path, sdist: Path) -> None:
    result = run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2


def test_make_mutation_leaves_no_link_into_the_tree(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Hatchling follows links: one from build/ back into the tree leaves out of the sdist every
    # file it reached that way first.
    monkeypatch.syspath_prepend(Path(__file__).resolve().parents[1] / "mutation")
    import run_mutation

    monkeypatch.setattr(run_mutation, "WORK", tmp_path)

    with pytest.raises(KeyboardInterrupt), run_mutation.source_links():
        assert {link.name for link in tmp_path.iterdir() if link.is_symlink()} == {"src", "tests"}
        raise KeyboardInterrupt

    assert list(tmp_path.iterdir()) == []
