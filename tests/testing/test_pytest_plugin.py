"""The ``fake_bird`` fixture in a user's pytest, and the README's examples that use it."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from .support import ROOT, run_pytest

# Listing the fixture and turning it off need no process of their own: pytester runs pytest here.
pytest_plugins = ["pytester"]

USER_TESTS = """
import sys

seen = []


def test_plugin_start_up_stays_light():
    # pytest imported the plugin; the fake's HTTP server and the CLI are not loaded for it.
    assert "bird_flashcalls.testing.pytest_plugin" in sys.modules
    assert "bird_flashcalls.testing._server" not in sys.modules
    assert "bird_flashcalls.cli" not in sys.modules


def test_signup_verifies_the_phone(fake_bird):
    with fake_bird.client() as flash_calls:
        call = flash_calls.create("+31612345678")
        outcome = flash_calls.verify(call, received_cli=fake_bird.handset_cli(call.id))
    assert outcome.verified
    assert fake_bird.calls[call.id]["result"] == "verified"
    seen.append(fake_bird)


def test_each_test_gets_a_fresh_fake(fake_bird):
    assert fake_bird.calls == {}
    assert fake_bird.requests == []
    assert seen and seen[0] is not fake_bird
    assert seen[0].workspace_id != fake_bird.workspace_id
"""


def test_the_fixture_is_fresh_for_each_test_and_the_readme_examples_pass(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Testing code that uses the client", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 2, "the Testing section's examples moved: update this test"
    (tmp_path / "test_from_readme.py").write_text("\n\n".join(blocks))
    (tmp_path / "test_user_code.py").write_text(textwrap.dedent(USER_TESTS))

    result = run_pytest(tmp_path, "-p", "no:randomly")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passed" in result.stdout


def test_the_fixture_is_listed_with_its_description(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--fixtures")
    assert result.ret == 0
    assert "fake_bird" in result.stdout.str()
    assert "A fresh FakeBird for each test" in result.stdout.str()


def test_the_plugin_can_be_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(fake_bird):\n    pass\n")

    result = pytester.runpytest_inprocess("-p", "no:bird_flashcalls")

    assert result.ret == 1
    assert "fixture 'fake_bird' not found" in result.stdout.str()
