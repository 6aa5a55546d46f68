"""The verification story for ``make demo``: told against a FakeBird, checked step by step."""

from __future__ import annotations

import io

from bird_flashcalls.testing import FakeBird
from bird_flashcalls.verification._demo import run_verification_demo


def test_the_story_runs_every_step_and_returns_0() -> None:
    fake = FakeBird()
    out = io.StringIO()

    assert run_verification_demo(fake, out) == 0, out.getvalue()

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("verification sessions against FakeBird on http://127.0.0.1:")
    assert [line.split()[1] for line in lines[1:-1]] == [
        "start",
        "check",
        "check",
        "check",
        "start",
        "expire",
    ]
    assert "wrong, 2 attempts left" in lines[2]
    assert "verified (Bird recorded verified)" in lines[3]
    assert "not_found" in lines[4]
    assert "expire_due() ends 1 (Bird recorded timeout)" in lines[6]
    assert lines[-1] == "verification demo passed: 6 steps, every result recorded by Bird"
    assert [call.get("result") for call in fake.calls.values()] == ["verified", "timeout"]
    # Every step went over HTTP: two creates, the verified report, the timeout report.
    assert [(r.method, r.status) for r in fake.requests] == [("POST", 202)] * 4
    assert "+31612345678" not in out.getvalue()


def test_a_step_that_goes_wrong_returns_1_and_says_where() -> None:
    fake = FakeBird()
    fake.fail_randomly(rate=1.0, status=401)
    out = io.StringIO()

    assert run_verification_demo(fake, out) == 1

    assert out.getvalue().splitlines()[-1].startswith("verification demo FAILED at step 1: ")
    assert fake.calls == {}
