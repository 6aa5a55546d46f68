"""The test matrix: every supported Python, and the lowest and newest dependency versions.

    make test-matrix            (or: .venv/bin/nox)

`make test` runs everything on the default Python with the dev group's versions. Each session
here runs the unit, reliability, security and FakeBird tests, in a fresh virtualenv, against
another interpreter or other versions of the runtime dependencies. An interpreter that cannot
be found fails its session by name: a matrix that skips quietly would prove nothing.
"""

from __future__ import annotations

import nox

nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = False
nox.options.default_venv_backend = "venv"

PYTHONS = ["3.11", "3.12", "3.13"]
# What the tests in TESTS import beyond the package itself: pyproject's group.
TEST_TOOLS = ["--group", "test-core"]
# The slow ones (load, fuzzing) run in `make test`; here they would only repeat it.
TESTS = [
    "tests/unit",
    "tests/reliability",
    "tests/security",
    # FakeBird: its answers must not change with the Python that serves them.
    "tests/testing",
    "--ignore=tests/testing/test_fakebird_schemathesis.py",  # schemathesis: make test's group
    "-m",
    "not slow",
    "-p",
    "no:cacheprovider",
    "-q",
    "-n",
    "auto",
]
# The lowest versions pyproject.toml allows, and what they pull in at their own lowest.
LOWEST = [
    "httpx==0.27.0",
    "httpcore==1.0.0",
    "h11==0.13.0",
    "anyio==3.7.1",
    "attrs==23.1.0",
]
NEWEST = ["httpx", "httpcore", "h11", "anyio", "attrs"]


def _install(session: nox.Session, *extra: str) -> None:
    # pip 25.1 reads dependency groups; a new venv may come with an older one.
    session.install("--upgrade", "pip>=25.1")
    session.install("-e", ".[phonenumbers]", *TEST_TOOLS)
    if extra:
        session.install(*extra)


def _run_tests(session: nox.Session) -> None:
    session.run("python", "-c", "import sys, httpx, attrs; print(sys.version, httpx.__version__)")
    session.run("pytest", *TESTS, *session.posargs)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The tests above on one Python."""
    _install(session)
    _run_tests(session)


@nox.session(python="3.11")
def lowest(session: nox.Session) -> None:
    """The lowest declared versions of the runtime dependencies."""
    _install(session, *LOWEST)
    _run_tests(session)


@nox.session(python="3.13")
def newest(session: nox.Session) -> None:
    """The newest releases of the runtime dependencies, whatever pyproject.toml pins."""
    _install(session, "--upgrade", *NEWEST)
    _run_tests(session)
