"""Without redis-server or redis-cli, the RedisStore tests skip saying how to get it (CI: fail)."""

from __future__ import annotations

import pytest

from . import redis_server

FINDERS = [redis_server.redis_server_or_skip, redis_server.redis_cli_or_skip]


@pytest.mark.parametrize("find", FINDERS, ids=["redis-server", "redis-cli"])
def test_a_missing_redis_executable_skips_with_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, find
) -> None:
    monkeypatch.setattr(redis_server.shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception, match="apt-get install redis-server"):
        find()


@pytest.mark.parametrize("find", FINDERS, ids=["redis-server", "redis-cli"])
def test_a_missing_redis_executable_fails_under_ci(monkeypatch: pytest.MonkeyPatch, find) -> None:
    monkeypatch.setattr(redis_server.shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception, match="CI=true: these tests are required"):
        find()
