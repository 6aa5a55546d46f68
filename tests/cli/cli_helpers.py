"""Running the bird-flashcalls command in process (``main(argv)``) or, where the process
boundary matters, as ``python -m bird_flashcalls`` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import pytest
from bird_flashcalls.cli import main
from bird_flashcalls.testing import FakeBird

TO = "+31612345678"


def clean_env() -> dict[str, str]:
    """The test's environment without any BIRD_* setting that could leak in."""
    return {key: value for key, value in os.environ.items() if not key.startswith("BIRD_")}


def run_module(
    *arguments: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m bird_flashcalls ARGUMENTS`` with only the given BIRD_* settings."""
    return subprocess.run(
        [sys.executable, "-m", "bird_flashcalls", *arguments],
        env={**clean_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


class Cli:
    """Calls ``main(argv)`` with the fake's settings as the only BIRD_* environment; checks the
    output of every run for the access key, which must never appear."""

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

    def settings(self) -> dict[str, str]:
        return {
            "BIRD_ACCESS_KEY": self.fake.access_key,
            "BIRD_WORKSPACE_ID": self.fake.workspace_id,
            "BIRD_CHANNEL_ID": self.fake.channel_id,
            "BIRD_BASE_URL": self.base_url,
        }

    def __call__(
        self, *arguments: str, env: Mapping[str, str] | None = None, secrets: tuple[str, ...] = ()
    ) -> Outcome:
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
        return Outcome(code, captured.out, captured.err)
