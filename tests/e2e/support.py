"""A deployed service and a FakeBird, each a process of its own on 127.0.0.1, started as a team
would start them and always stopped."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
# Anything that waits on a process: generous, the machine may be busy.
WAIT = 60


def _environment(**settings: str) -> dict[str, str]:
    # Only the settings given: a real BIRD_* variable in the test's environment stays out.
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("BIRD_")}
    return {**inherited, **settings}


def _stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM, as a deployment stops a service; its stderr."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.communicate(timeout=WAIT)[1] or ""
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[1] or ""


@contextlib.contextmanager
def served_fakebird(*flags: str) -> Iterator[dict[str, str]]:
    """``bird-flashcalls serve`` on a free port; yields the settings it prints (BIRD_*)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bird_flashcalls", "serve", "--port", "0", "--json", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once it listens
        assert line, f"serve stopped before listening: {_stop(process)}"
        yield json.loads(line)
    finally:
        _stop(process)


@contextlib.contextmanager
def deployed_app(app: str, settings: Mapping[str, str], store: Path) -> Iterator[str]:
    """``uvicorn APP`` on a free port with Bird's settings and a SQLite store; its URL once up."""
    python_path = os.pathsep.join(filter(None, [str(EXAMPLES), os.environ.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(**settings, VERIFICATION_STORE=f"sqlite:{store}", PYTHONPATH=python_path),
        cwd=store.parent,
    )
    try:
        assert process.stderr is not None
        base_url = None
        for line in process.stderr:  # uvicorn names the port it got once it serves
            found = re.search(r"Uvicorn running on (http://\S+)", line)
            if found:
                base_url = found[1]
                break
        assert base_url, f"uvicorn stopped before serving: {_stop(process)}"
        yield base_url
    finally:
        _stop(process)
