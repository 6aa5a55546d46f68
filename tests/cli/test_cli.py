"""The bird-flashcalls command, run as a user would: a subprocess against FakeBird on loopback."""

from __future__ import annotations

import json
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from bird_flashcalls.testing import FakeBird, FakeResponse
from cli_helpers import TO, Cli, clean_env


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
    assert json.loads(result.stdout) == {"from": "+3197010269999", "to": TO, "result": "canceled"}
    assert fake.calls[call["id"]]["result"] == "canceled"


def test_verify_reports_verified_or_wrong_cli(cli: Cli, fake: FakeBird) -> None:
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
    assert bad.returncode == 0, bad.stderr
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
def refusing_cli() -> Iterator[Cli]:
    fake = _RefusingBird()
    with fake.serve() as base_url:
        yield Cli(fake, base_url)


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
    assert "may have reached Bird" in result.stderr
    assert len(fake.calls) == 1


# Usage and invalid input: exit 2.


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["create", "--to", "0612345678"], "E.164"),
        (["create", "--to", TO, "--ring-timeout", "500"], "ring_timeout"),
        (["end", "call-1", "--result", "verified"], "must be a UUID"),
        (
            ["verify", str(uuid4()), "--expected-cli", TO, "--received-cli", "x", "--timeout", "0"],
            "timeout",
        ),
        (["create", "--to", TO, "--max-retries", "-1"], "max_retries"),
        (["create", "--to", TO, "--base-url", "http://bird.example.com"], "plain http"),
        (["create", "--to", TO, "--access-key-file", "/no/such/file"], "cannot read"),
        (["create"], "--to"),
        (["end", str(uuid4()), "--result", "done"], "invalid choice"),
        (["ring", "--to", TO], "invalid choice"),
        (["create", "--to", TO, "--timeout", "soon"], "invalid float"),
        ([], "required"),
    ],
)
def test_usage_and_invalid_input_are_exit_2(
    cli: Cli, fake: FakeBird, arguments: list[str], expected: str
) -> None:
    result = cli(*arguments)

    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert fake.requests == []


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
    assert "Exit status" in result.stdout

    version = cli("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("bird-flashcalls ")


def test_importing_the_library_loads_neither_the_cli_nor_the_fake() -> None:
    code = (
        "import sys, bird_flashcalls; "
        "print(sorted(m for m in sys.modules if m.startswith(('bird_flashcalls.cli', "
        "'bird_flashcalls.testing', 'bird_flashcalls.__main__'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(), timeout=60
    )
    assert result.returncode == 0, result.stderr
    loaded = result.stdout.strip()
    assert "bird_flashcalls" not in loaded


# serve: FakeBird for a second shell.


def _start_serve(*arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bird_flashcalls", "serve", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )


def _read_exports(process: subprocess.Popen[str]) -> dict[str, str]:
    assert process.stdout is not None
    exports = {}
    for _ in range(4):
        line = process.stdout.readline()
        command, assignment = shlex.split(line)
        assert command == "export"
        name, _, value = assignment.partition("=")
        exports[name] = value
    return exports


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_serve_prints_exports_that_the_cli_can_use_then_stops_cleanly(
    stop_signal: signal.Signals,
) -> None:
    process = _start_serve("--port", "0")
    try:
        exports = _read_exports(process)
        assert set(exports) == {
            "BIRD_BASE_URL",
            "BIRD_WORKSPACE_ID",
            "BIRD_CHANNEL_ID",
            "BIRD_ACCESS_KEY",
        }
        assert exports["BIRD_BASE_URL"].startswith("http://127.0.0.1:")

        created = subprocess.run(
            [sys.executable, "-m", "bird_flashcalls", "create", "--to", TO, "--json"],
            env={**clean_env(), **exports},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stderr
        assert json.loads(created.stdout)["to"] == TO
        assert exports["BIRD_ACCESS_KEY"] not in created.stdout + created.stderr
    finally:
        process.send_signal(stop_signal)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "FakeBird stopped" in stderr
    assert f"POST /workspaces/{exports['BIRD_WORKSPACE_ID']}/" in stderr  # the traffic it saw
    assert "-> 202" in stderr
    port = int(exports["BIRD_BASE_URL"].rsplit(":", 1)[1])
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


def test_serve_json_and_given_ids() -> None:
    workspace = str(uuid4())
    process = _start_serve("--port", "0", "--json", "--workspace-id", workspace)
    try:
        assert process.stdout is not None
        settings = json.loads(process.stdout.readline())
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert process.returncode == 0
    assert settings["BIRD_WORKSPACE_ID"] == workspace
    assert settings["BIRD_BASE_URL"].startswith("http://127.0.0.1:")


def test_serve_refuses_a_host_that_is_not_loopback() -> None:
    process = _start_serve("--host", "0.0.0.0", "--port", "0")
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "loopback" in stderr
    assert stdout == ""


def test_serve_on_a_busy_port_is_exit_1() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        process = _start_serve("--port", str(busy.getsockname()[1]))
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "cannot listen" in stderr
    assert stdout == ""
