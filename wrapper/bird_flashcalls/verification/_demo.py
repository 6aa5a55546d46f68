"""The verification-session story of ``make demo``: FakeBird served on loopback, real HTTP.

start -> a wrong code -> the right code -> verified; then a challenge nobody answers, ended by
``expire_due()`` and reported as ``timeout``. Every step is checked against what the fake
recorded. The clock is moved by hand, so the expiry takes no waiting.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TextIO
from uuid import UUID

from .._client import FlashCalls
from ..errors import BirdError
from ._verifier import Verifier
from .stores.memory import MemoryStore

if TYPE_CHECKING:
    from ..testing import FakeBird

TTL = 60.0


class _Failed(Exception):
    pass


class _Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def run_verification_demo(fake: FakeBird, out: TextIO) -> int:
    """Tell the story to ``out``; 0 when every step did what it should, else 1."""
    step = 0

    def say(action: str, text: str) -> None:
        print(f"{step:>2}. {action:<8} {text}", file=out)

    def recorded(call_id: UUID) -> object:
        return fake.calls[call_id].get("result")

    def expect(condition: bool, problem: str) -> None:
        if not condition:
            raise _Failed(problem)

    try:
        with (
            fake.serve() as base_url,
            FlashCalls(
                access_key=fake.access_key,
                workspace_id=fake.workspace_id,
                channel_id=fake.channel_id,
                base_url=base_url,
            ) as flash_calls,
        ):
            clock = _Clock()
            verifier = Verifier(flash_calls, MemoryStore(), ttl=TTL, clock=clock)
            print(f"verification sessions against FakeBird on {base_url}", file=out)

            step += 1
            challenge = verifier.start("+31612345678", client_key="203.0.113.7")
            code = fake.handset_cli(challenge.call_id)[-challenge.code_digits :]
            say(
                "start",
                f"challenge {challenge.id[:8]}...: Bird rings from "
                f"{challenge.cli_prefix}{'.' * challenge.code_digits}; the user types "
                f"the last {challenge.code_digits}",
            )

            step += 1
            typo = "".join(str((int(digit) + 1) % 10) for digit in code)
            result = verifier.check(challenge.id, code=typo)
            expect(result.status == "wrong", f"a wrong code gave {result.status}")
            expect(recorded(challenge.call_id) is None, "a wrong code before the last was reported")
            say(
                "check",
                f"the user types {typo}: {result.status}, {result.attempts_left} attempts left "
                "(nothing reported yet)",
            )

            step += 1
            result = verifier.check(challenge.id, code=code)
            expect(result.verified, f"the right code gave {result.status}")
            expect(recorded(challenge.call_id) == "verified", "Bird was not told verified")
            say("check", f"the user types {code}: {result.status} (Bird recorded verified)")

            step += 1
            again = verifier.check(challenge.id, code=code)
            expect(again.status == "not_found", f"a second check gave {again.status}")
            say("check", f"the same code again: {again.status} (a challenge grants once)")

            step += 1
            idle = verifier.start("+31687654321", client_key="203.0.113.7")
            say("start", f"challenge {idle.id[:8]}...: nobody answers this one")

            step += 1
            clock.now += TTL
            ended = verifier.expire_due()
            expect(ended == 1, f"expire_due() ended {ended} challenges, expected 1")
            expect(recorded(idle.call_id) == "timeout", "Bird was not told timeout")
            say("expire", f"{TTL:g} s later expire_due() ends {ended} (Bird recorded timeout)")
    except (_Failed, BirdError) as failure:
        print(f"verification demo FAILED at step {step}: {failure}", file=out)
        return 1
    print(f"verification demo passed: {step} steps, every result recorded by Bird", file=out)
    return 0
