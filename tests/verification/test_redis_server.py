"""Without redis-server or redis-cli, the RedisStore tests skip saying how to get it (CI: fail)."""

from __future__ import annotations

import pytest

from . import redis_server


@pytest.mark.parametrize("name", ["redis-server", "redis-cli"])
@pytest.mark.parametrize(
    ("ci", "outcome", "says"),
    [
        ("", pytest.skip.Exception, "apt-get install redis-server"),
        ("true", pytest.fail.Exception, "CI=true: these tests are required"),
    ],
    ids=["skips", "fails-under-ci"],
)
def test_a_missing_redis_executable_skips_with_how_to_install_it_or_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, name: str, ci: str, outcome: type, says: str
) -> None:
    monkeypatch.setattr(redis_server.shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", ci)

    with pytest.raises(outcome, match=says):
        redis_server.executable_or_skip(name)
