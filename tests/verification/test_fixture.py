"""The installed package gives every pytest run a ``verifier`` fixture wired to ``fake_bird``."""

from __future__ import annotations

from pathlib import Path

from testing.support import run_pytest

USER_TESTS = """
import sys


def test_plugin_start_up_does_not_load_verification():
    assert "bird_flashcalls.verification" not in sys.modules


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


def test_the_verifier_fixture_is_wired_to_fake_bird(tmp_path: Path) -> None:
    (tmp_path / "test_user_code.py").write_text(USER_TESTS)

    result = run_pytest(tmp_path, "-p", "no:randomly")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_the_fixture_is_listed_with_its_description(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--fixtures")
    assert result.returncode in (0, 5), result.stdout + result.stderr
    assert "A Verifier wired to this test's ``fake_bird``" in result.stdout
