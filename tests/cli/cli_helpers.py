"""Running ``python -m bird_flashcalls`` in a subprocess against a FakeBird on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

from bird_flashcalls.testing import FakeBird

TO = "+31612345678"


def clean_env() -> dict[str, str]:
    """The test's environment without any BIRD_* setting that could leak in."""
    return {key: value for key, value in os.environ.items() if not key.startswith("BIRD_")}


class Cli:
    """Runs the command with the fake's settings in the environment; checks every run's
    output for the access key, which must never appear."""

    def __init__(self, fake: FakeBird, base_url: str) -> None:
        self.fake = fake
        self.base_url = base_url

    def settings(self) -> dict[str, str]:
        return {
            "BIRD_ACCESS_KEY": self.fake.access_key,
            "BIRD_WORKSPACE_ID": self.fake.workspace_id,
            "BIRD_CHANNEL_ID": self.fake.channel_id,
            "BIRD_BASE_URL": self.base_url,
        }

    def __call__(
        self, *arguments: str, env: Mapping[str, str] | None = None, secrets: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        environment = clean_env()
        environment.update(self.settings() if env is None else env)
        result = subprocess.run(
            [sys.executable, "-m", "bird_flashcalls", *arguments],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        for secret in (self.fake.access_key, *secrets):
            assert secret not in result.stdout, "the access key was printed on stdout"
            assert secret not in result.stderr, "the access key was printed on stderr"
        return result
