"""A report whose answer was lost is sent again once its report_lease has run out, no more."""

from __future__ import annotations

import collections

import pytest

from .support import NO_LIMITS, Env, right_code

pytestmark = pytest.mark.anyio

CHALLENGES, LOST = 40, 10


async def test_a_report_whose_answer_was_lost_is_sent_again_once_after_the_lease(env: Env) -> None:
    verifier = env.verifier(report_lease=60, **NO_LIMITS)
    challenges = [
        await verifier.start(f"+3161000{n:04d}", client_key=None) for n in range(CHALLENGES)
    ]
    for number, challenge in enumerate(challenges):
        if number < LOST:
            env.fake.fail_next(drop_connection=True)  # Bird records it, the answer is lost
        assert (await verifier.check(challenge.id, code=right_code(env.fake, challenge))).verified

    for _ in range(3):
        assert await verifier.flush() == 0  # the claims hold: nothing is sent again yet
    env.clock.advance(60)
    assert await verifier.flush() == LOST
    assert await verifier.flush() == 0

    sent = collections.Counter(tuple(env.reports(c.call_id)) for c in challenges)
    assert sent == {("verified",) * 2: LOST, ("verified",): CHALLENGES - LOST}
    duplicates = sum(len(env.reports(c.call_id)) - 1 for c in challenges)
    assert duplicates == LOST  # the README quotes this figure
