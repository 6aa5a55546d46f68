"""The bird-flashcalls command against a served FakeBird, called in process as ``main(argv)``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from uuid import uuid4

import pytest
from bird_flashcalls.testing import FakeBird, FakeResponse

from .support import TO, Cli, free_port

# Success: exit 0, readable output, --json for scripts.


def test_create_prints_the_call_that_bird_recorded_as_text_or_json(
    cli: Cli, fake: FakeBird
) -> None:
    result = cli("create", "--to", "+31 6 1234 5678")
    data = cli.create("--from", "+3197010269999", "--ring-timeout", "15")

    assert result.returncode == 0, result.stderr
    first, second = fake.calls.values()
    for shown in (first["id"], first["from"], TO, "accepted", "30 s"):
        assert shown in result.stdout
    assert result.stderr == ""
    assert data["id"] == second["id"]
    shown_json = (data["from"], data["to"], data["status"], data["ringTimeout"])
    assert shown_json == ("+3197010269999", TO, "accepted", 15)


def test_options_work_before_or_after_the_command_and_flags_beat_the_environment(
    cli: Cli, fake: FakeBird
) -> None:
    env = {**cli.settings(), "BIRD_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    env["BIRD_CHANNEL_ID"] = str(uuid4())
    before = cli("--json", "--base-url", cli.base_url, "create", "--to", TO, env=env)
    # The channel from the environment is unknown to Bird: the flag after the command wins.
    flags = ["--channel-id", fake.channel_id, "--base-url", cli.base_url, "--json"]
    after = cli("create", "--to", TO, *flags, env=env)
    assert before.returncode == 1
    assert "NotFound" in before.stderr
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["id"] in fake.calls


def test_end_reports_the_result(cli: Cli, fake: FakeBird) -> None:
    call = cli.create()

    result = cli("end", call["id"], "--result", "timeout")
    assert result.returncode == 0, result.stderr
    assert "timeout" in result.stdout
    assert fake.calls[call["id"]]["result"] == "timeout"

    result = cli("end", call["id"], "--result", "wrong_cli", "--received-cli", "+3197010261111")
    assert result.returncode == 0, result.stderr
    assert fake.calls[call["id"]]["reports"][-1]["receivedCli"] == "+3197010261111"

    result = cli("end", call["id"], "--result", "verified", "--json")
    assert json.loads(result.stdout) == {"result": "verified"}


@pytest.mark.parametrize("answer", ["numbers", "result", "full"])
def test_hangup_ends_the_call_found_by_its_numbers_whatever_shape_bird_answers(
    answer: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeBird(hangup_answer=answer)
    with fake.serve() as base_url:
        cli = Cli(fake, base_url, capsys, monkeypatch)
        call = cli.create("--from", "+3197010269999")
        hangup = ["hangup", "--from", "+3197010269999", "--to", TO, "--result", "canceled"]
        result = cli(*hangup)
        as_json = cli(*hangup, "--json")

    assert result.returncode == 0, result.stderr
    assert f"ended the flash call from +3197010269999 to {TO}" in result.stdout
    assert "result: canceled" in result.stdout
    assert fake.calls[call["id"]]["result"] == "canceled"
    # Bird's answer as it came.
    numbers, result_only = {"from": "+3197010269999", "to": TO}, {"result": "canceled"}
    shapes = {"numbers": numbers, "result": result_only, "full": {**numbers, **result_only}}
    assert json.loads(as_json.stdout) == shapes[answer]


@pytest.mark.parametrize("command", ["verify", "verify-code"])
def test_verify_reports_verified_exit_0_or_wrong_cli_exit_3(
    cli: Cli, fake: FakeBird, command: str
) -> None:
    call = cli.create()
    seen = fake.handset_cli(call["id"])
    wrong = seen[:-1] + str((int(seen[-1]) + 1) % 10)
    given = "--received-cli" if command == "verify" else "--code"
    if command == "verify-code":
        seen, wrong = seen[-4:], wrong[-4:]
    checking = [command, call["id"], "--expected-cli", call["from"], given]

    good = cli(*checking, seen)
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("verified")
    assert fake.calls[call["id"]]["result"] == "verified"

    bad, bad_json = cli(*checking, wrong), cli(*checking, wrong, "--json")
    assert (bad.returncode, bad_json.returncode) == (3, 3), bad.stderr
    assert bad.stdout.startswith("NOT verified")
    assert fake.calls[call["id"]]["reports"][-1]["result"] == "wrong_cli"
    report = {"callId": call["id"], "verified": False, "result": "wrong_cli"}
    report["expectedCli"] = call["from"]
    if command == "verify":
        report["receivedCli"] = wrong
    assert report.items() <= json.loads(bad_json.stdout).items()


# API and network errors: exit 1, with what Bird said on stderr.


class _RefusingBird(FakeBird):
    """Answers every request with a 422 carrying details, as Bird does for a refused field."""

    def respond(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Any:
        details = {".to": ["number is not reachable"], "ringTimeout": ["too short"]}
        payload = {"code": "InvalidPayload", "message": "Fields are malformed", "details": details}
        headers = {"Content-Type": "application/json", "Messagebird-Request-Id": "req-422"}
        return FakeResponse(422, headers, json.dumps(payload).encode())


def test_a_bird_error_shows_code_message_details_and_request_id_as_text_or_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _RefusingBird()
    with fake.serve() as base_url:
        refusing_cli = Cli(fake, base_url, capsys, monkeypatch)
        result = refusing_cli("create", "--to", TO)
        as_json = refusing_cli("create", "--to", TO, "--json")

    assert (result.returncode, as_json.returncode) == (1, 1)
    assert result.stdout == as_json.stdout == ""
    for shown in (
        "422",
        "code: InvalidPayload",
        "Fields are malformed",
        "details: .to: number is not reachable",
        "details: ringTimeout: too short",
        "request id: req-422",
    ):
        assert shown in result.stderr
    error = json.loads(as_json.stderr)["error"]
    assert error["type"] == "UnprocessableEntityError"
    assert (error["status"], error["code"], error["requestId"]) == (
        422,
        "InvalidPayload",
        "req-422",
    )
    assert "Fields are malformed" in error["message"]
    assert error["details"]["ringTimeout"] == ["too short"]


def test_a_wrong_access_key_is_exit_1_and_neither_key_is_printed(cli: Cli) -> None:
    env = {**cli.settings(), "BIRD_ACCESS_KEY": "wrong-key-0123456789"}

    result = cli("create", "--to", TO, env=env, secrets=("wrong-key-0123456789",))

    assert result.returncode == 1
    assert "401" in result.stderr
    assert "code: Unauthorized" in result.stderr


def test_a_server_error_after_retries_is_exit_1(cli: Cli, fake: FakeBird) -> None:
    fake.fail_next(status=503, times=2, retry_after=0)  # retried at once

    result = cli("create", "--to", TO, "--max-retries", "1")

    assert result.returncode == 1
    assert "code: ServiceUnavailable" in result.stderr
    assert "tried 2 time(s)" in result.stderr
    assert fake.calls == {}


def test_a_network_error_is_exit_1(cli: Cli) -> None:
    closed = f"http://127.0.0.1:{free_port()}"

    result = cli("create", "--to", TO, "--base-url", closed, "--max-retries", "0")

    assert result.returncode == 1
    assert "ConnectError" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("command", "fault", "said"),
    [
        ("create", "dropped", "may have reached Bird: the phone may have rung"),
        ("end", "dropped", "may have reached Bird: the result may be recorded already"),
        ("end", "timeout", "may have reached Bird: the result may be recorded already"),
    ],
)
def test_a_failed_request_says_what_may_have_happened(
    cli: Cli, fake: FakeBird, command: str, fault: str, said: str
) -> None:
    arguments = ["create", "--to", TO]
    if command == "end":
        arguments = ["end", cli.create()["id"], "--result", "timeout"]
    if fault == "timeout":
        fake.fail_next(delay=30)  # cut short when the fixture stops the server
        arguments += ["--timeout", "0.2"]
    else:
        fake.fail_next(drop_connection=True)

    result = cli(*arguments, "--max-retries", "0")

    assert result.returncode == 1
    assert said in result.stderr
    if command == "end":
        assert "rung" not in result.stderr
        assert "create" not in result.stderr
