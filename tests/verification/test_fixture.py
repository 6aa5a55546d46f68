"""The installed package gives every pytest run a ``verifier`` fixture wired to ``fake_bird``."""

from __future__ import annotations

import pytest

# pytester runs the user's pytest in this process: no interpreter of its own to start.
pytest_plugins = ["pytester"]

USER_TESTS = """
def test_signup_verifies_the_phone(verifier, fake_bird):
    from bird_flashcalls.verification import MemoryStore, Verifier

    assert isinstance(verifier, Verifier) and isinstance(verifier.store, MemoryStore)
    challenge = verifier.start("+31612345678", client_key=None)
    code = fake_bird.handset_cli(challenge.call_id)[-4:]
    assert verifier.check(challenge.id, code=code).verified
    assert fake_bird.calls[challenge.call_id]["result"] == "verified"


def test_each_test_gets_a_fresh_store(verifier):
    # The same number again: no rate limit left over from the previous test.
    verifier.start("+31612345678", client_key=None)
"""


def test_the_verifier_fixture_is_wired_to_fake_bird_and_listed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USER_TESTS)

    pytester.runpytest_inprocess("-p", "no:randomly").assert_outcomes(passed=2)
    listed = pytester.runpytest_inprocess("--fixtures").stdout.str()

    assert "A Verifier wired to this test's ``fake_bird``" in listed
