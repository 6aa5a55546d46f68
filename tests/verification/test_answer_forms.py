"""Each form of an answer (+, national, 00, no number) is decided alike on every store."""

from __future__ import annotations

import pytest
from bird_flashcalls.verification._answers import MAX_ANSWER_LENGTH, given_answer

from .support import Env, end_requests, wrong

pytestmark = pytest.mark.anyio


def forms(cli: str) -> dict[str, str]:
    assert cli.startswith("+31"), cli  # FakeBird's caller numbers are Dutch
    return {
        "e164": f"{cli[:3]} {cli[3:6]} {cli[6:]}".ljust(MAX_ANSWER_LENGTH),  # the longest read
        "national": "0" + cli[3:],
        "international_prefix": "00" + cli[1:],
    }


async def test_each_form_of_the_caller_number_is_read_the_same_on_every_store(env: Env) -> None:
    verifier = env.verifier(max_attempts=5, resend_cooldown=0)
    for form in ("e164", "national", "international_prefix"):
        challenge = await verifier.start("+31612345678", client_key=None)
        cli = env.fake.handset_cli(challenge.call_id)
        wrong_answer = await verifier.check(challenge.id, received_cli=forms(wrong(cli))[form])
        assert (wrong_answer.status, wrong_answer.attempts_left) == ("wrong", 4), form
        right = await verifier.check(challenge.id, received_cli=forms(cli)[form])
        assert (right.status, right.attempts_left, right.phone) == ("verified", 4, "+31612345678")
        assert end_requests(env.fake, challenge.call_id) == [
            {"result": "verified", "receivedCli": cli}
        ], form


async def test_text_that_is_no_number_is_wrong_and_reported_without_a_number(env: Env) -> None:
    verifier = env.verifier(max_attempts=2)
    challenge = await verifier.start("+31612345678", client_key=None)
    assert (await verifier.check(challenge.id, received_cli="+12")).status == "wrong"
    assert (await verifier.check(challenge.id, received_cli="0-x")).status == "locked"
    assert end_requests(env.fake, challenge.call_id) == [{"result": "wrong_cli"}]


@pytest.mark.parametrize(
    ("received_cli", "code", "alone"),
    [
        (None, "12 34", ("code", "1234")),
        ("+31 970 (0)1234-5678", None, ("cli", "+3197012345678")),
        ("+12", None, ("cli", "")),
        ("0970 1234 5678", None, None),
        ("0031970 1234 5678", None, None),
    ],
)
def test_a_store_compares_alone_only_what_reads_the_same_in_every_country(
    received_cli: str | None, code: str | None, alone: tuple[str, str] | None
) -> None:
    assert given_answer(received_cli, code).readable_alone() == alone
