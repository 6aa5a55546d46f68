"""How hard the fuzz tests push: seconds in `make test`, minutes in `make fuzz`.

Applied per test rather than as a loaded profile, so other hypothesis tests keep their own.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# 500 examples for each of the five fuzz tests: 2,500 in all in `make test`.
_EXAMPLES = {"default": 500, "fuzz": 10_000}

FUZZ = settings(
    max_examples=_EXAMPLES.get(os.environ.get("HYPOTHESIS_PROFILE", "default"), 500),
    # No deadline: two slow CI cores make per-example timings meaningless.
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
