"""Running bird-flashcalls in process (``main(argv)``) or as ``python -m bird_flashcalls``."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from bird_flashcalls.cli import main
from bird_flashcalls.testing import FakeBird

TO = "+31612345678"
# Anything that waits on a subprocess: generous, the machine may be busy.
PROCESS_TIMEOUT = 60


def clean_env() -> dict[str, str]:
    """The test's environment without any BIRD_* setting that could leak in."""
    return {key: value for key, value in os.environ.items() if not key.startswith("BIRD_")}


def run_module(
    *arguments: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m bird_flashcalls ARGUMENTS`` with only the given BIRD_* settings."""
    return subprocess.run(
        [sys.executable, "-m", "bird_flashcalls", *arguments],
        env={**clean_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
    )


def start_serve(*arguments: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """``serve`` in a process of its own; its first lines on stdout are its settings."""
    return subprocess.Popen(
        [sys.executable, "-m", "bird_flashcalls", "serve", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**clean_env(), **(env or {})},
    )


def parse_exports(lines: list[str]) -> dict[str, str]:
    exports = {}
    for line in lines:
        command, assignment = shlex.split(line)
        assert command == "export"
        name, _, value = assignment.partition("=")
        exports[name] = value
    return exports


def read_exports(process: subprocess.Popen[str], count: int = 4) -> dict[str, str]:
    """The export lines ``serve`` prints once it listens: the sign that it is ready."""
    assert process.stdout is not None
    return parse_exports([process.stdout.readline() for _ in range(count)])


def stop(process: subprocess.Popen[str], stop_signal: int = signal.SIGTERM) -> str:
    """Signals ``serve`` and waits for it to end; its stderr."""
    process.send_signal(stop_signal)
    _, stderr = process.communicate(timeout=PROCESS_TIMEOUT)
    return stderr


def wait_until(condition: Callable[[], bool], what: Callable[[], str]) -> None:
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, what()
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Cli:
    """``main(argv)`` with only the fake's BIRD_* settings; the key must never be printed."""

    def __init__(
        self,
        fake: FakeBird,
        base_url: str,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        self.fake = fake
        self.base_url = base_url
        self._capsys = capsys
        self._monkeypatch = monkeypatch

    def settings(self, *, without: str = "") -> dict[str, str]:
        settings = {
            "BIRD_ACCESS_KEY": self.fake.access_key,
            "BIRD_WORKSPACE_ID": self.fake.workspace_id,
            "BIRD_CHANNEL_ID": self.fake.channel_id,
            "BIRD_BASE_URL": self.base_url,
        }
        settings.pop(without, None)
        return settings

    def __call__(
        self, *arguments: str, env: Mapping[str, str] | None = None, secrets: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        for name in os.environ:
            if name.startswith("BIRD_"):
                self._monkeypatch.delenv(name)
        for name, value in (self.settings() if env is None else env).items():
            self._monkeypatch.setenv(name, value)
        self._capsys.readouterr()  # what earlier steps of the test printed
        code = main(list(arguments))
        captured = self._capsys.readouterr()
        for secret in (self.fake.access_key, *secrets):
            assert secret not in captured.out, "the access key was printed on stdout"
            assert secret not in captured.err, "the access key was printed on stderr"
        return subprocess.CompletedProcess(arguments, code, captured.out, captured.err)

    def create(self, *arguments: str) -> dict[str, Any]:
        """``create --to TO ARGUMENTS --json``, which must succeed: the call as printed."""
        result = self("create", "--to", TO, *arguments, "--json")
        assert result.returncode == 0, result.stderr
        data: dict[str, Any] = json.loads(result.stdout)
        return data
