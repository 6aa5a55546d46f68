"""The bird-flashcalls command against FakeBird on loopback, called in process as ``main(argv)``.

What needs a process of its own (serve, signals, the entry point's exit status) is in
test_cli_process.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
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
    assert fake.calls[call["id"]]["receivedCli"] == "+3197010261111"

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
    wrong = "+3197010261234" if seen != "+3197010261234" else "+3197010261235"
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
    assert fake.calls[call["id"]]["result"] == "wrong_cli"
    report = {"callId": call["id"], "verified": False, "result": "wrong_cli"}
    report["expectedCli"] = call["from"]
    if command == "verify":
        report["receivedCli"] = wrong
    assert report.items() <= json.loads(bad_json.stdout).items()


def test_the_access_key_can_come_from_a_file(cli: Cli, fake: FakeBird, tmp_path: Path) -> None:
    key_file = tmp_path / "bird-key"
    key_file.write_text(fake.access_key + "\n")
    env = cli.settings(without="BIRD_ACCESS_KEY")

    result = cli("create", "--to", TO, "--access-key-file", str(key_file), env=env)

    assert result.returncode == 0, result.stderr
    assert len(fake.calls) == 1


# API and network errors: exit 1, with what Bird said on stderr.


def test_a_bird_error_shows_code_message_and_request_id_as_text_or_json(
    cli: Cli, fake: FakeBird
) -> None:
    text = cli("end", str(uuid4()), "--result", "verified")
    text_request_id = fake.requests[-1].request_id
    as_json = cli("--json", "end", str(uuid4()), "--result", "verified")

    assert (text.returncode, as_json.returncode) == (1, 1)
    assert text.stdout == as_json.stdout == ""
    for shown in ("404", "code: NotFound", "does not exist", f"request id: {text_request_id}"):
        assert shown in text.stderr
    error = json.loads(as_json.stderr)["error"]
    assert error["type"] == "NotFoundError"
    assert (error["status"], error["code"]) == (404, "NotFound")
    assert error["requestId"] == fake.requests[-1].request_id
    assert "does not exist" in error["message"]


class _RefusingBird(FakeBird):
    """Answers every request with a 422 carrying details, as Bird does for a refused field."""

    def respond(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Any:
        details = {".to": ["number is not reachable"], "ringTimeout": ["too short"]}
        payload = {"code": "InvalidPayload", "message": "Fields are malformed", "details": details}
        headers = {"Content-Type": "application/json", "Messagebird-Request-Id": "req-422"}
        return FakeResponse(422, headers, json.dumps(payload).encode())


def test_a_422_shows_its_details(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _RefusingBird()
    with fake.serve() as base_url:
        refusing_cli = Cli(fake, base_url, capsys, monkeypatch)
        result = refusing_cli("create", "--to", TO)
        as_json = refusing_cli("create", "--to", TO, "--json")

    assert result.returncode == 1
    for shown in (
        "code: InvalidPayload",
        "Fields are malformed",
        "details: .to: number is not reachable",
        "details: ringTimeout: too short",
        "request id: req-422",
    ):
        assert shown in result.stderr
    assert json.loads(as_json.stderr)["error"]["details"]["ringTimeout"] == ["too short"]


def test_a_wrong_access_key_is_exit_1_and_neither_key_is_printed(cli: Cli) -> None:
    env = {**cli.settings(), "BIRD_ACCESS_KEY": "wrong-key-0123456789"}

    result = cli("create", "--to", TO, env=env, secrets=("wrong-key-0123456789",))

    assert result.returncode == 1
    assert "401" in result.stderr
    assert "code: Unauthorized" in result.stderr


def test_a_server_error_after_retries_is_exit_1(cli: Cli, fake: FakeBird) -> None:
    fake.fail_next(status=503, times=2)

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


# Usage and invalid input: exit 2, one line naming the flag, nothing sent.


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            ["create", "--to", "0612345678"],
            "--to is not an international phone number (10 characters starting '061')",
        ),
        (["create", "--to", TO, "--ring-timeout", "500"], "argument --ring-timeout: "),
        (["create", "--to", TO, "--ring-timeout", "2"], "from 3 to 120"),
        (["end", "call-1", "--result", "verified"], "CALL_ID must be a UUID"),
        (["end", str(uuid4()), "--result", "verified", "--received-cli", "x"], "--received-cli"),
        (
            ["hangup", "--from", "x", "--to", TO, "--result", "canceled"],
            "--from is not an international phone number (1 character)",
        ),
        (["verify", str(uuid4()), "--expected-cli", "12", "--received-cli", TO], "--expected-cli"),
        (["verify", str(uuid4()), "--expected-cli", TO, "--received-cli", " "], "--received-cli"),
        (
            ["verify-code", str(uuid4()), "--expected-cli", TO, "--code", "12ab"],
            "--code must be digits only",
        ),
        (["verify-code", str(uuid4()), "--expected-cli", TO, "--code", ""], "--code must be"),
        (["verify-code", str(uuid4()), "--expected-cli", TO, "--code", "123"], "--code has 3"),
        (
            ["verify-code", str(uuid4()), "--expected-cli", TO, "--code", "1", "--digits", "0"],
            "--digits",
        ),
        (
            ["verify-code", str(uuid4()), "--expected-cli", TO, "--code", "1", "--digits", "14"],
            "--digits: cannot compare 14 digits",
        ),
        (["create", "--to", TO, "--timeout", "0"], "argument --timeout: must be a number"),
        (["create", "--to", TO, "--timeout", "inf"], "argument --timeout: "),
        (["create", "--to", TO, "--timeout", "nan"], "argument --timeout: "),
        (["create", "--to", TO, "--timeout", "-Infinity"], "argument --timeout: "),
        (["create", "--to", TO, "--timeout", "3601"], "at most 3600"),
        (["--timeout", "1e400", "create", "--to", TO], "argument --timeout: "),
        (["create", "--to", TO, "--timeout", "soon"], "argument --timeout: "),
        (["create", "--to", TO, "--max-retries", "-1"], "argument --max-retries: "),
        (["create", "--to", TO, "--max-retries", "1000"], "from 0 to 10"),
        (["create", "--to", TO, "--max-retries", "11"], "from 0 to 10"),
        (["create", "--to", TO, "--base-url", "http://bird.example.com"], "plain http"),
        (["create", "--to", TO, "--base-url", "bird"], "--base-url must be an absolute"),
        (["create", "--to", TO, "--access-key-file", "/no/such/file"], "cannot read"),
        (["create", "--to", TO, "--workspace-id", "w-1"], "--workspace-id must be a UUID"),
        (["create"], "--to"),
        (["end", str(uuid4()), "--result", "done"], "invalid choice"),
        (["ring", "--to", TO], "invalid choice"),
        (["serve", "--port", "-1"], "argument --port: must be a whole number from 0 to 65535"),
        (["serve", "--port", "99999"], "argument --port: "),
        (["serve", "--port", "http"], "argument --port: "),
        (["serve", "--host", "0.0.0.0", "--port", "0"], "--host: FakeBird only listens on loop"),
        (["serve", "--workspace-id", "w-1", "--port", "0"], "--workspace-id must be a UUID"),
        (["serve", "--base-url", "https://api.bird.com"], "serve does not take --base-url"),
        (["--timeout", "5", "serve"], "serve does not take --timeout"),
        (["demo", "--json"], "demo does not take --json"),
        (["--json", "demo"], "demo does not take --json"),
        (["demo", "--base-url", "http://127.0.0.1:1"], "demo does not take --base-url"),
        (["--channel-id", str(uuid4()), "demo"], "demo does not take --channel-id"),
        (["demo", "--timeout", "nan"], "argument --timeout: "),
        ([], "required"),
    ],
)
def test_usage_and_invalid_input_are_exit_2_with_one_line(
    cli: Cli, fake: FakeBird, arguments: list[str], expected: str
) -> None:
    result = cli(*arguments)

    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert fake.requests == []


@pytest.mark.parametrize(
    ("setting", "value", "flag", "said"),
    [
        ("BIRD_ACCESS_KEY", "two words", None, "BIRD_ACCESS_KEY contains spaces"),
        ("BIRD_ACCESS_KEY", "two words", "--access-key-file", "the access key file {} contains"),
        ("BIRD_WORKSPACE_ID", "w-1", None, "BIRD_WORKSPACE_ID must be a UUID"),
        ("BIRD_WORKSPACE_ID", "w-1", "--workspace-id", "--workspace-id must be a UUID"),
        ("BIRD_BASE_URL", "http://bird.example.com", None, "BIRD_BASE_URL http://bird.example"),
        ("BIRD_BASE_URL", "http://bird.example.com", "--base-url", "--base-url http://bird.exam"),
    ],
)
def test_a_refused_setting_is_named_as_it_was_given(
    cli: Cli, tmp_path: Path, setting: str, value: str, flag: str | None, said: str
) -> None:
    env = {**cli.settings(), setting: value}
    arguments = []
    if flag == "--access-key-file":
        (tmp_path / "key").write_text(value + "\n")
        arguments, said = [flag, str(tmp_path / "key")], said.format(tmp_path / "key")
    elif flag is not None:
        arguments, env[setting] = [flag, value], cli.settings()[setting]

    # Neither a key nor an id is echoed: a swapped setting could hold the key. An origin is.
    hidden = () if setting == "BIRD_BASE_URL" else (value,)
    result = cli("create", "--to", TO, *arguments, env=env, secrets=hidden)
    as_json = cli("create", "--to", TO, *arguments, "--json", env=env, secrets=hidden)

    assert (result.returncode, as_json.returncode) == (2, 2)
    assert result.stderr.startswith(f"bird-flashcalls: error: {said}")
    error = json.loads(as_json.stderr)["error"]
    assert error["type"] == "ConfigurationError"
    assert said.startswith(error["field"])


def test_missing_settings_are_exit_2_and_name_the_flags_and_variables(cli: Cli) -> None:
    result = cli("create", "--to", TO, env={})

    assert result.returncode == 2
    for name in ("BIRD_ACCESS_KEY", "--access-key-file", "BIRD_WORKSPACE_ID", "--workspace-id"):
        assert name in result.stderr
    assert "BIRD_CHANNEL_ID" in result.stderr
    assert "access_key" not in result.stderr


@pytest.mark.parametrize("command", [["create", "--to", TO], ["serve", "--port", "0"]])
def test_an_empty_key_file_says_so_and_names_the_file(
    cli: Cli, tmp_path: Path, command: list[str]
) -> None:
    key_file = tmp_path / "bird-key"
    key_file.write_text("  \n")

    result = cli(*command, "--access-key-file", str(key_file))

    assert result.returncode == 2
    assert f"the access key file {key_file} is empty" in result.stderr


@pytest.mark.parametrize("form", ["separate", "joined"])
def test_an_access_key_flag_is_refused_without_echoing_it(
    cli: Cli, fake: FakeBird, form: str
) -> None:
    secret = "typed-on-the-command-line-42"
    flag = ["--access-key", secret] if form == "separate" else [f"--access-key={secret}"]

    result = cli("create", "--to", TO, *flag, secrets=(secret,))

    assert result.returncode == 2
    assert "BIRD_ACCESS_KEY" in result.stderr
    assert "--access-key-file" in result.stderr
    assert fake.requests == []


SERVE_USES = "--host --port 2473 --workspace-id --channel-id --access-key-file --background"


@pytest.mark.parametrize(
    ("arguments", "shown", "not_shown"),
    [
        (
            ["--help"],
            [
                *["create", "end", "hangup", "verify-code", "serve", "demo", "--access-key-file"],
                "3 not verified",
            ],
            [],
        ),
        (
            ["serve", "--help"],
            [*SERVE_USES.split(), "no environment variable is read"],
            ["BIRD_ACCESS_KEY", "BIRD_WORKSPACE_ID", "--base-url", "--timeout", "--quiet"],
        ),
        (
            ["demo", "--help"],
            ["--timeout"],
            ["--json", "--base-url", "--access-key-file", "--workspace-id"],
        ),
    ],
    ids=["main", "serve", "demo"],
)
def test_help_lists_what_each_command_uses(
    cli: Cli, arguments: list[str], shown: list[str], not_shown: list[str]
) -> None:
    result = cli(*arguments)

    assert result.returncode == 0
    help_text = " ".join(result.stdout.split())
    assert [text for text in shown if text not in help_text] == []
    assert [text for text in not_shown if text in help_text] == []


def test_version(cli: Cli) -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("bird-flashcalls ")
