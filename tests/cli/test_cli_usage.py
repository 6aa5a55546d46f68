"""What the command refuses (exit 2, one line, nothing sent), and its help and version."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import uuid4

import pytest
from bird_flashcalls.testing import FakeBird

from .support import TO, Cli

CALL = str(uuid4())
CREATE = ["create", "--to", TO]
VERIFY_CODE = ["verify-code", CALL, "--expected-cli", TO, "--code"]
SERVE = ["serve", "--port"]
NOT_E164 = "is not an international phone number"
USAGE_ERRORS = [
    (["create", "--to", "0612345678"], f"--to {NOT_E164} (10 characters starting '061')"),
    ([*CREATE, "--ring-timeout", "500"], "argument --ring-timeout: "),
    ([*CREATE, "--ring-timeout", "2"], "from 3 to 120"),
    (["end", "call-1", "--result", "verified"], "CALL_ID must be a UUID"),
    (["end", CALL, "--result", "verified", "--received-cli", "x"], "--received-cli"),
    (
        ["hangup", "--from", "x", "--to", TO, "--result", "canceled"],
        f"--from {NOT_E164} (1 character)",
    ),
    (["verify", CALL, "--expected-cli", "12", "--received-cli", TO], "--expected-cli"),
    (["verify", CALL, "--expected-cli", TO, "--received-cli", " "], "--received-cli"),
    ([*VERIFY_CODE, "12ab"], "--code must be digits only"),
    ([*VERIFY_CODE, ""], "--code must be"),
    ([*VERIFY_CODE, "123"], "--code has 3"),
    ([*VERIFY_CODE, "1", "--digits", "0"], "--digits"),
    ([*VERIFY_CODE, "1", "--digits", "14"], "--digits: cannot compare 14 digits"),
    ([*CREATE, "--timeout", "0"], "argument --timeout: must be a number"),
    ([*CREATE, "--timeout", "inf"], "argument --timeout: "),
    ([*CREATE, "--timeout", "nan"], "argument --timeout: "),
    ([*CREATE, "--timeout", "-Infinity"], "argument --timeout: "),
    ([*CREATE, "--timeout", "3601"], "at most 3600"),
    (["--timeout", "1e400", *CREATE], "argument --timeout: "),
    ([*CREATE, "--timeout", "soon"], "argument --timeout: "),
    ([*CREATE, "--max-retries", "-1"], "argument --max-retries: "),
    ([*CREATE, "--max-retries", "1000"], "from 0 to 10"),
    ([*CREATE, "--max-retries", "11"], "from 0 to 10"),
    ([*CREATE, "--base-url", "http://bird.example.com"], "plain http"),
    ([*CREATE, "--base-url", "bird"], "--base-url must be an absolute"),
    ([*CREATE, "--access-key-file", "/no/such/file"], "cannot read"),
    ([*CREATE, "--workspace-id", "w-1"], "--workspace-id must be a UUID"),
    (["create"], "--to"),
    (["end", CALL, "--result", "done"], "invalid choice"),
    (["ring", "--to", TO], "invalid choice"),
    ([*SERVE, "-1"], "argument --port: must be a whole number from 0 to 65535"),
    ([*SERVE, "99999"], "argument --port: "),
    ([*SERVE, "http"], "argument --port: "),
    (["serve", "--host", "0.0.0.0", "--port", "0"], "--host: FakeBird only listens on loop"),
    (["serve", "--workspace-id", "w-1", "--port", "0"], "--workspace-id must be a UUID"),
    (["serve", "--base-url", "https://api.bird.com"], "serve does not take --base-url"),
    (["--timeout", "5", "serve"], "serve does not take --timeout"),
    (["demo", "--json"], "demo does not take --json"),
    (["--json", "demo"], "demo does not take --json"),
    (["demo", "--base-url", "http://127.0.0.1:1"], "demo does not take --base-url"),
    (["--channel-id", CALL, "demo"], "demo does not take --channel-id"),
    (["demo", "--timeout", "nan"], "argument --timeout: "),
    ([], "required"),
]


@pytest.mark.parametrize(("arguments", "expected"), USAGE_ERRORS)
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
