"""The bird-flashcalls command against FakeBird on loopback, called in process as ``main(argv)``.

What needs a process of its own (serve, signals, the entry point's exit status) is in
test_cli_process.py.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from bird_flashcalls.testing import FakeBird, FakeResponse
from cli_helpers import TO, Cli


def only_call(fake: FakeBird) -> dict[str, Any]:
    (call,) = fake.calls.values()
    return call


def create_call(cli: Cli, *arguments: str) -> dict[str, Any]:
    result = cli("create", "--to", TO, *arguments, "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# Success: exit 0, readable output, --json for scripts.


def test_create_prints_the_call_that_bird_recorded(cli: Cli, fake: FakeBird) -> None:
    result = cli("create", "--to", "+31 6 1234 5678")

    assert result.returncode == 0, result.stderr
    call = only_call(fake)
    assert call["to"] == TO
    for shown in (call["id"], call["from"], TO, "accepted", "30 s"):
        assert shown in result.stdout
    assert result.stderr == ""


def test_create_json_is_one_object_with_the_call(cli: Cli, fake: FakeBird) -> None:
    data = create_call(cli, "--from", "+3197010269999", "--ring-timeout", "15")

    call = only_call(fake)
    assert data["id"] == call["id"]
    assert (data["from"], data["to"], data["status"], data["ringTimeout"]) == (
        "+3197010269999",
        TO,
        "accepted",
        15,
    )


def test_options_work_before_or_after_the_command_and_flags_beat_the_environment(
    cli: Cli, fake: FakeBird
) -> None:
    env = {**cli.settings(), "BIRD_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    env["BIRD_CHANNEL_ID"] = str(uuid4())
    before = cli("--json", "--base-url", cli.base_url, "create", "--to", TO, env=env, secrets=())
    # The channel from the environment is unknown to Bird: the flag after the command wins.
    after = cli(
        "create",
        "--to",
        TO,
        "--channel-id",
        fake.channel_id,
        "--base-url",
        cli.base_url,
        "--json",
        env=env,
    )
    assert before.returncode == 1
    assert "NotFound" in before.stderr
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["id"] in fake.calls


def test_end_reports_the_result(cli: Cli, fake: FakeBird) -> None:
    call = create_call(cli)

    result = cli("end", call["id"], "--result", "timeout")
    assert result.returncode == 0, result.stderr
    assert "timeout" in result.stdout
    assert fake.calls[call["id"]]["result"] == "timeout"

    result = cli("end", call["id"], "--result", "wrong_cli", "--received-cli", "+3197010261111")
    assert result.returncode == 0, result.stderr
    assert fake.calls[call["id"]]["receivedCli"] == "+3197010261111"

    result = cli("end", call["id"], "--result", "verified", "--json")
    assert json.loads(result.stdout) == {"result": "verified"}


def test_hangup_ends_the_call_found_by_its_numbers(cli: Cli, fake: FakeBird) -> None:
    call = create_call(cli, "--from", "+3197010269999")

    result = cli("hangup", "--from", "+3197010269999", "--to", TO, "--result", "canceled", "--json")

    assert result.returncode == 0, result.stderr
    # Bird's answer, in whichever published shape it came.
    assert json.loads(result.stdout) in (
        {"from": "+3197010269999", "to": TO, "result": "canceled"},
        {"from": "+3197010269999", "to": TO},
        {"result": "canceled"},
    )
    assert fake.calls[call["id"]]["result"] == "canceled"


@pytest.mark.parametrize("answer", ["numbers", "result", "full"])
def test_hangup_prints_every_shape_of_answer(
    answer: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeBird(hangup_answer=answer)
    with fake.serve() as base_url:
        cli = Cli(fake, base_url, capsys, monkeypatch)
        create_call(cli, "--from", "+3197010269999")
        result = cli("hangup", "--from", "+3197010269999", "--to", TO, "--result", "canceled")

    assert result.returncode == 0, result.stderr
    assert f"ended the flash call from +3197010269999 to {TO}" in result.stdout
    assert "result: canceled" in result.stdout


def test_verify_reports_verified_exit_0_or_wrong_cli_exit_3(cli: Cli, fake: FakeBird) -> None:
    call = create_call(cli)
    seen = fake.handset_cli(call["id"])

    good = cli("verify", call["id"], "--expected-cli", call["from"], "--received-cli", seen)
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("verified")
    assert fake.calls[call["id"]]["result"] == "verified"

    bad = cli(
        "verify",
        call["id"],
        "--expected-cli",
        call["from"],
        "--received-cli",
        "+3197010261234",
        "--json",
    )
    assert bad.returncode == 3, bad.stderr
    assert json.loads(bad.stdout) == {
        "callId": call["id"],
        "verified": False,
        "result": "wrong_cli",
        "expectedCli": call["from"],
        "receivedCli": "+3197010261234",
    }
    assert fake.calls[call["id"]]["result"] == "wrong_cli"


def test_verify_code_compares_the_typed_digits(cli: Cli, fake: FakeBird) -> None:
    call = create_call(cli)
    digits = call["from"][-4:]

    result = cli("verify-code", call["id"], "--expected-cli", call["from"], "--code", digits)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("verified")
    assert fake.calls[call["id"]]["result"] == "verified"

    wrong = "0000" if digits != "0000" else "1111"
    result = cli("verify-code", call["id"], "--expected-cli", call["from"], "--code", wrong)
    assert result.returncode == 3, result.stderr
    assert result.stdout.startswith("NOT verified")
    assert fake.calls[call["id"]]["result"] == "wrong_cli"


def test_the_access_key_can_come_from_a_file(cli: Cli, fake: FakeBird, tmp_path: Path) -> None:
    key_file = tmp_path / "bird-key"
    key_file.write_text(fake.access_key + "\n")
    env = {name: value for name, value in cli.settings().items() if name != "BIRD_ACCESS_KEY"}

    result = cli("create", "--to", TO, "--access-key-file", str(key_file), env=env)

    assert result.returncode == 0, result.stderr
    assert len(fake.calls) == 1


# API and network errors: exit 1, with what Bird said on stderr.


def test_a_bird_error_shows_code_message_and_request_id(cli: Cli, fake: FakeBird) -> None:
    missing = str(uuid4())

    result = cli("end", missing, "--result", "verified")

    assert result.returncode == 1
    assert result.stdout == ""
    request_id = fake.requests[-1].request_id
    assert "404" in result.stderr
    assert "code: NotFound" in result.stderr
    assert "The requested resource does not exist" in result.stderr
    assert f"request id: {request_id}" in result.stderr


def test_a_bird_error_as_json_on_stderr(cli: Cli, fake: FakeBird) -> None:
    result = cli("--json", "end", str(uuid4()), "--result", "verified")

    assert result.returncode == 1
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "NotFoundError"
    assert (error["status"], error["code"]) == (404, "NotFound")
    assert error["requestId"] == fake.requests[-1].request_id
    assert "does not exist" in error["message"]


class _RefusingBird(FakeBird):
    """Answers every request with a 422 carrying details, as Bird does for a refused field."""

    def respond(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> FakeResponse:
        details = {".to": ["number is not reachable"], "ringTimeout": ["too short"]}
        payload = {"code": "InvalidPayload", "message": "Fields are malformed", "details": details}
        return FakeResponse(
            422,
            {"Content-Type": "application/json", "Messagebird-Request-Id": "req-422"},
            json.dumps(payload).encode(),
        )


@pytest.fixture
def refusing_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cli]:
    fake = _RefusingBird()
    with fake.serve() as base_url:
        yield Cli(fake, base_url, capsys, monkeypatch)


def test_a_422_shows_its_details(refusing_cli: Cli) -> None:
    result = refusing_cli("create", "--to", TO)

    assert result.returncode == 1
    assert "code: InvalidPayload" in result.stderr
    assert "Fields are malformed" in result.stderr
    assert "details: .to: number is not reachable" in result.stderr
    assert "details: ringTimeout: too short" in result.stderr
    assert "request id: req-422" in result.stderr

    as_json = refusing_cli("create", "--to", TO, "--json")
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


def test_a_dropped_create_says_the_phone_may_have_rung(cli: Cli, fake: FakeBird) -> None:
    fake.fail_next(drop_connection=True)

    result = cli("create", "--to", TO)

    assert result.returncode == 1
    assert "may have reached Bird: the phone may have rung" in result.stderr
    assert len(fake.calls) == 1


@pytest.mark.parametrize("fault", ["timeout", "dropped"])
def test_a_failed_end_does_not_speak_of_a_ringing_phone(
    cli: Cli, fake: FakeBird, fault: str
) -> None:
    call = create_call(cli)
    if fault == "timeout":
        fake.fail_next(delay=30)  # cut short when the fixture stops the server
    else:
        fake.fail_next(drop_connection=True)

    result = cli("end", call["id"], "--result", "timeout", "--timeout", "0.2", "--max-retries", "0")

    assert result.returncode == 1
    assert "may have reached Bird: the result may be recorded already" in result.stderr
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
        (
            ["verify-code", str(uuid4()), "--expected-cli", TO, "--code", "1", "--digits", "0"],
            "--digits",
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
        (["serve", "--host", "0.0.0.0", "--port", "0"], "loopback"),
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
    ("arguments", "message"),
    [
        (["--code", "123"], "--code has 3 digit(s)"),
        (["--code", ""], "--code must be digits only"),
        (["--code", "12345678901234", "--digits", "14"], "--digits: cannot compare 14 digits"),
    ],
)
def test_messages_name_the_flag_refused(
    cli: Cli, fake: FakeBird, arguments: list[str], message: str
) -> None:
    call = create_call(cli)

    result = cli("verify-code", call["id"], "--expected-cli", call["from"], *arguments)

    assert result.returncode == 2
    assert result.stderr.startswith(f"bird-flashcalls: error: {message}")


def test_a_missing_key_names_the_flag_and_the_variable(cli: Cli) -> None:
    env = {name: value for name, value in cli.settings().items() if name != "BIRD_ACCESS_KEY"}

    result = cli("create", "--to", TO, env=env)

    assert result.returncode == 2
    assert "--access-key-file" in result.stderr
    assert "BIRD_ACCESS_KEY" in result.stderr
    assert "access_key" not in result.stderr


def test_an_empty_key_file_says_so_and_names_the_file(cli: Cli, tmp_path: Path) -> None:
    key_file = tmp_path / "bird-key"
    key_file.write_text("  \n")

    result = cli("create", "--to", TO, "--access-key-file", str(key_file))

    assert result.returncode == 2
    assert f"the access key file {key_file} is empty" in result.stderr


def test_a_key_with_spaces_names_where_it_came_from(cli: Cli, tmp_path: Path) -> None:
    env = {**cli.settings(), "BIRD_ACCESS_KEY": "two words"}
    from_env = cli("create", "--to", TO, env=env, secrets=("two words",))
    key_file = tmp_path / "bird-key"
    key_file.write_text("two words\n")
    from_file = cli(
        "create", "--to", TO, "--access-key-file", str(key_file), secrets=("two words",)
    )

    assert (from_env.returncode, from_file.returncode) == (2, 2)
    assert "BIRD_ACCESS_KEY contains spaces" in from_env.stderr
    assert f"the access key file {key_file} contains spaces" in from_file.stderr


def test_a_bad_base_url_from_the_environment_names_the_variable(cli: Cli) -> None:
    env = {**cli.settings(), "BIRD_BASE_URL": "http://bird.example.com"}

    result = cli("create", "--to", TO, env=env)

    assert result.returncode == 2
    assert result.stderr.startswith("bird-flashcalls: error: BIRD_BASE_URL http://bird.example.com")


def test_missing_settings_are_exit_2_and_name_the_variables(cli: Cli) -> None:
    result = cli("create", "--to", TO, env={})

    assert result.returncode == 2
    for variable in ("BIRD_ACCESS_KEY", "BIRD_WORKSPACE_ID", "BIRD_CHANNEL_ID"):
        assert variable in result.stderr


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


def test_help_and_version(cli: Cli) -> None:
    result = cli("--help")
    assert result.returncode == 0
    for command in ("create", "end", "hangup", "verify", "verify-code", "serve", "demo"):
        assert command in result.stdout
    assert "--access-key-file" in result.stdout
    assert "3 not verified" in " ".join(result.stdout.split())

    version = cli("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("bird-flashcalls ")


def test_serve_help_lists_only_what_serve_uses(cli: Cli) -> None:
    result = cli("serve", "--help")

    assert result.returncode == 0
    help_text = " ".join(result.stdout.split())
    for used in ("--host", "--port", "2473", "--workspace-id", "--channel-id", "--access-key-file"):
        assert used in help_text
    assert "--background" in help_text
    assert "no environment variable is read" in help_text
    for unused in ("BIRD_ACCESS_KEY", "BIRD_WORKSPACE_ID", "--base-url", "--timeout", "--quiet"):
        assert unused not in help_text


def test_demo_help_lists_only_what_the_demo_uses(cli: Cli) -> None:
    result = cli("demo", "--help")

    assert result.returncode == 0
    assert "--timeout" in result.stdout
    for unused in ("--json", "--base-url", "--access-key-file", "--workspace-id"):
        assert unused not in result.stdout


# serve, where it needs no process of its own.


def test_serve_on_a_busy_port_is_exit_1(cli: Cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = cli("serve", "--port", str(busy.getsockname()[1]))
    assert result.returncode == 1
    assert "cannot listen" in result.stderr
    assert result.stdout == ""


def test_serve_with_an_empty_key_file_is_exit_2(cli: Cli, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("")

    result = cli("serve", "--port", "0", "--access-key-file", str(key_file))

    assert result.returncode == 2
    assert f"the access key file {key_file} is empty" in result.stderr
