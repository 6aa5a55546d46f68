"""Vendored at ``acme_signup/_vendor/bird_flashcalls`` in a throwaway service, by a plain copy or
by pip's vendoring tool, the package uses only its own code, installed beside another or not."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import site
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from .support import run

# One worker builds the packages these tests share (make test runs the suite on xdist).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]

VENDORED = "acme_signup._vendor.bird_flashcalls"

USE_THE_COPY = """
import importlib.util
import sys

# Only the vendored copy: nothing named bird_flashcalls or bird_channels_api of its own.
if "--isolated" in sys.argv:
    assert importlib.util.find_spec("bird_flashcalls") is None, "an installed copy is visible"
assert importlib.util.find_spec("bird_channels_api") is None

# The demo: FakeBird served over HTTP, the client's calls, a verifier on a MemoryStore.
from acme_signup._vendor.bird_flashcalls.cli import main

assert main(["demo"]) == 0

loaded = [name for name in sys.modules if "bird_flashcalls" in name or "bird_channels" in name]
strays = [name for name in loaded if not name.startswith("acme_signup._vendor.bird_flashcalls")]
assert not strays, strays
assert "acme_signup._vendor.bird_flashcalls._generated.models.flash_call" in loaded
print("vendored copy works:", len(loaded), "modules")
"""

SERVICE_TEST = """
def test_signup_verifies_the_phone(fake_bird):
    flash_calls = fake_bird.client()
    call = flash_calls.create("+31612345678")
    outcome = flash_calls.verify(call, received_cli=fake_bird.handset_cli(call.id))
    assert outcome.verified and fake_bird.calls[call.id]["result"] == "verified"


def test_the_verifier_fixture_comes_from_the_copy(verifier):
    assert type(verifier).__module__.startswith("acme_signup._vendor.bird_flashcalls")
"""


def python(
    service: Path, *arguments: str, isolated: bool = True, extra_env: dict[str, str] | None = None
) -> Any:
    """Python in ``service``; ``isolated``: with -S, so the venv gives only the dependencies."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("BIRD_", "PYTEST"))
    }
    environment["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    environment.update(extra_env or {})
    site_packages = next(path for path in site.getsitepackages() if path.endswith("site-packages"))
    environment["PYTHONPATH"] = os.pathsep.join([str(service), *([site_packages] * isolated)])
    return run(sys.executable, *(["-S"] * isolated), *arguments, cwd=service, env=environment)


def vendor_folder(service: Path) -> Path:
    """The service's package and its empty _vendor package."""
    vendor = service / "acme_signup" / "_vendor"
    vendor.mkdir(parents=True)
    (service / "acme_signup" / "__init__.py").write_text("")
    (vendor / "__init__.py").write_text("")
    return vendor


@pytest.fixture(scope="module")
def service(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a vendoring service does by hand: bird_flashcalls/ unpacked under its _vendor/."""
    service = tmp_path_factory.mktemp("acme-signup")
    vendor = vendor_folder(service)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(
            vendor, [m for m in archive.namelist() if m.startswith("bird_flashcalls/")]
        )
    return service


@pytest.mark.parametrize("isolated", [True, False], ids=["alone", "beside-an-installed-copy"])
def test_a_plain_copy_uses_only_its_own_code(service: Path, isolated: bool) -> None:
    flags = ["--isolated"] if isolated else []

    result = python(service, "-c", USE_THE_COPY, *flags, isolated=isolated)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "verification demo passed" in result.stdout
    assert "vendored copy works" in result.stdout


def test_the_vendored_serve_in_the_background_runs_the_copy(service: Path) -> None:
    started = python(service, "-m", VENDORED, "serve", "--background", "--port", "0")

    assert started.returncode == 0, started.stdout + started.stderr
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in started.stdout.splitlines()
        if line.startswith("export ")
    )
    pid = int(exports["FAKEBIRD_PID"])
    try:
        # The server is the copy's own module, not an installed bird_flashcalls.
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert VENDORED.encode() in command_line
        created = python(
            service,
            *("-m", VENDORED, "create", "--to", "+31612345678", "--json"),
            extra_env={key: shlex.split(value)[0] for key, value in exports.items()},
        )
        assert created.returncode == 0, created.stderr
        assert '"status"' in created.stdout
    finally:
        os.kill(pid, signal.SIGTERM)


def test_the_vendored_pytest_plugin_gives_the_fixtures(service: Path) -> None:
    (service / "conftest.py").write_text(f'pytest_plugins = ["{VENDORED}.testing.pytest_plugin"]\n')
    (service / "test_signup.py").write_text(SERVICE_TEST)

    result = python(service, "-m", "pytest", "-q", "-p", "no:cacheprovider")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_pips_vendoring_tool_vendors_it(wheel: Path, tmp_path: Path) -> None:
    """The [tool.vendoring] recipe of the README, run by vendoring itself."""
    vendoring = shutil.which("vendoring", path=str(Path(sys.executable).parent))
    assert vendoring, "the vendoring tool is in the dev extra"
    service = tmp_path / "acme-signup"
    vendor = vendor_folder(service)
    (vendor / "vendor.txt").write_text(f"bird-flashcalls @ {wheel.as_uri()}\n")
    (service / "patches").mkdir()
    (service / "pyproject.toml").write_text(VENDORING_RECIPE)

    synced = run(vendoring, "sync", "-v", cwd=service)

    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert (vendor / "bird_flashcalls" / "LICENSE").is_file()
    result = python(service, "-c", USE_THE_COPY, "--isolated")
    assert result.returncode == 0, result.stderr


# The recipe the README documents, verbatim.
VENDORING_RECIPE = """\
[tool.vendoring]
destination = "acme_signup/_vendor/"
requirements = "acme_signup/_vendor/vendor.txt"
namespace = "acme_signup._vendor"
protected-files = ["__init__.py", "vendor.txt"]
patches-dir = "patches"

[tool.vendoring.transformations]
drop = ["bin/"]
"""
