"""``fake calls|requests|reset|fail|clear-faults``, and the caller-pool flags of ``serve``."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from bird_flashcalls import FlashCalls
from bird_flashcalls.testing import FakeBird, caller_pool

from .support import TO, Cli, parse_exports, run_module


def test_fake_commands_read_and_steer_the_served_fakebird(cli: Cli, fake: FakeBird) -> None:
    call = cli.create()
    assert cli("end", call["id"], "--result", "verified").returncode == 0
    assert cli("end", call["id"], "--result", "timeout").returncode == 0

    listed = cli("fake", "calls")
    assert listed.stdout.splitlines() == [
        f"{call['id']}  to {TO}  from {call['from']}  verified  reports: verified, timeout"
    ]
    (seen,) = json.loads(cli("fake", "calls", "--json").stdout)["calls"]
    assert (seen["id"], seen["from"], seen["result"]) == (call["id"], call["from"], "verified")
    assert [report["result"] for report in seen["reports"]] == ["verified", "timeout"]

    failing = cli("fake", "fail", "--operation", "create", "--count", "1", "--status", "429")
    assert failing.stdout == "FakeBird answers 429 to 100% of create requests, 1 time(s) at most\n"
    refused, created = cli("create", "--to", TO, "--max-retries", "0"), cli("create", "--to", TO)
    assert (refused.returncode, created.returncode) == (1, 0)
    assert "429" in refused.stderr
    cli("fake", "fail", "--rate", "1")
    assert cli("fake", "clear-faults").stdout == "FakeBird injects no more faults\n"
    assert cli("create", "--to", TO).returncode == 0
    requests = json.loads(cli("fake", "requests", "--json").stdout)["requests"]
    assert [request["status"] for request in requests] == [202, 202, 202, 429, 202, 202]
    assert requests[0]["request_id"] == fake.requests[0].request_id

    assert cli("fake", "reset").returncode == 0
    assert (cli("fake", "calls").stdout, fake.requests) == ("no calls\n", [])


@pytest.mark.parametrize(
    ("arguments", "without", "status", "message"),
    [
        (["calls"], "BIRD_BASE_URL", 2, "set BIRD_BASE_URL and BIRD_ACCESS_KEY"),
        (["calls"], "BIRD_ACCESS_KEY", 2, "set BIRD_BASE_URL and BIRD_ACCESS_KEY"),
        (["reset", "--base-url", "https://api.bird.com"], "", 2, "--base-url must be a served"),
        (["fail", "--rate", "2"], "", 2, "--rate: must be a number from 0 to 1"),
        (["fail", "--operation", "ring"], "", 2, "invalid choice: 'ring'"),
        (["fail", "--status", "200"], "", 2, "--status: must be a whole number from 400"),
        (["calls", "--channel-id", "x"], "", 2, "unrecognized arguments"),
        (["clear-faults", "--max-retries", "3"], "", 2, "unrecognized arguments"),
    ],
)
def test_fake_commands_refuse_what_they_cannot_use(
    cli: Cli, arguments: list[str], without: str, status: int, message: str
) -> None:
    result = cli("fake", *arguments, env=cli.settings(without=without))
    assert (result.returncode, result.stdout) == (status, "")
    assert message in result.stderr


def test_fake_commands_say_when_the_key_or_the_server_is_wrong(cli: Cli, fake: FakeBird) -> None:
    wrong_key = cli("fake", "reset", env={**cli.settings(), "BIRD_ACCESS_KEY": "other"})
    refused_before = cli("--workspace-id", fake.workspace_id, "fake", "calls")
    assert (wrong_key.returncode, refused_before.returncode) == (1, 2)
    assert "401" in wrong_key.stderr and "not this FakeBird's" in wrong_key.stderr
    assert "fake does not take --workspace-id" in refused_before.stderr


def test_serve_rings_from_the_numbers_of_a_file_or_a_seeded_pool(tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("# our test numbers\n+3197010261234\n\n+3197010265678  # spare\n")
    runs = {
        "file": ["--caller-numbers", str(numbers)],
        "pool": ["--caller-pool-size", "3", "--seed", "5"],
    }
    picked = {}
    for name, flags in runs.items():
        started = run_module("serve", "--background", "--port", "0", *flags)
        assert started.returncode == 0, started.stderr
        exports = parse_exports(started.stdout.splitlines())
        settings = [
            exports[f"BIRD_{name}"] for name in ("ACCESS_KEY", "WORKSPACE_ID", "CHANNEL_ID")
        ]
        try:
            with FlashCalls(*settings, exports["BIRD_BASE_URL"]) as flash_calls:
                picked[name] = {flash_calls.create(TO).from_ for _ in range(6)}
        finally:
            os.kill(int(exports["FAKEBIRD_PID"]), signal.SIGTERM)
    assert picked["file"] <= {"+3197010261234", "+3197010265678"}
    assert picked["pool"] <= set(caller_pool(3, 5))


@pytest.mark.parametrize(
    ("content", "flags", "message"),
    [
        ("+3197010261234\n0612345678\n", [], "line 2 of"),
        ("# none\n", [], "has no caller numbers"),
        ("+3197010261234\n", ["--caller-pool-size", "3"], "not allowed with argument"),
        (None, ["--caller-pool-size", "10001"], "from 1 to 10000"),
    ],
)
def test_serve_refuses_a_caller_pool_it_cannot_use(
    cli: Cli, tmp_path: Path, content: str | None, flags: list[str], message: str
) -> None:
    numbers = tmp_path / "numbers.txt"
    if content is not None:
        numbers.write_text(content)
        flags = ["--caller-numbers", str(numbers), *flags]
    result = cli("serve", "--port", "0", *flags)
    assert (result.returncode, result.stdout) == (2, "")
    assert message in result.stderr
    assert "0612345678" not in result.stderr
