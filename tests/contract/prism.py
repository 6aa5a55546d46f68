"""Stoplight Prism in a process group of its own: started on a free loopback port, waited for
until it answers HTTP, stopped with everything it spawned."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import attrs
import httpx
import pytest

from .support import ROOT

PRISM_BIN = ROOT / "node_modules" / ".bin" / "prism"
# Waits on Prism: generous, the machine may be busy.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@attrs.frozen
class PrismServer:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class PrismStartError(RuntimeError):
    pass


def prism_or_skip() -> Path:
    """The Prism executable; skips when Node.js or Prism is missing, fails under CI."""
    problem = None
    if shutil.which("node") is None:
        problem = "Node.js is not installed"
    elif not PRISM_BIN.exists():
        problem = f"{PRISM_BIN} is missing"
    if problem is None:
        return PRISM_BIN
    message = (
        f"Prism contract tests need Stoplight Prism: {problem}. Install Node.js 20, then run "
        "`make install` (it runs `npm ci`)."
    )
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(message + " CI=true: these tests are required there.", pytrace=False)
    pytest.skip(message)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to Prism's whole process group, SIGKILL to what lingers; reaps the main process."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT)
    # Node children may outlive the main process in the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=STOP_TIMEOUT)


def _start_once(
    prism: Path, spec: Path, extra_args: list[str], log: IO[bytes], deadline: float
) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    process = subprocess.Popen(
        [str(prism), "mock", str(spec), "--host", "127.0.0.1", "--port", str(port), *extra_args],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,  # its own process group, so the node children go with it
    )
    try:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                # Any HTTP answer will do: Prism says 404 for a path the spec does not have.
                httpx.get(f"http://127.0.0.1:{port}/", timeout=5.0)
                return process, port
            try:
                # Waiting on the process both paces the polling and notices an early exit.
                process.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
            raise PrismStartError(f"Prism exited with status {process.returncode}")
        raise PrismStartError("Prism did not answer HTTP in time")
    except BaseException:
        _stop(process)
        raise


@contextlib.contextmanager
def running_prism(spec: Path, extra_args: list[str], log_path: Path) -> Iterator[PrismServer]:
    """Prism serving ``spec`` on a free loopback port; stopped on exit, whatever happened."""
    prism = prism_or_skip()
    deadline = time.monotonic() + START_TIMEOUT
    with log_path.open("wb") as log:
        failures = []
        # The free port may be taken between probing and Prism binding it: try a few.
        for _ in range(3):
            try:
                process, port = _start_once(prism, spec, extra_args, log, deadline)
            except PrismStartError as error:
                failures.append(str(error))
                continue
            try:
                yield PrismServer(process, port, log_path)
            finally:
                _stop(process)
            return
        log.flush()
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
        raise PrismStartError(f"Prism did not start ({'; '.join(failures)}). Its output:\n{tail}")
