"""The command in a process of its own: the entry point's exit status, ``serve`` and signals."""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from bird_flashcalls.testing import FakeBird

from .support import (
    PROCESS_TIMEOUT,
    TO,
    clean_env,
    parse_exports,
    read_exports,
    run_module,
    start_serve,
    stop,
    wait_until,
)

SETTINGS = {"BIRD_BASE_URL", "BIRD_WORKSPACE_ID", "BIRD_CHANNEL_ID", "BIRD_ACCESS_KEY"}


def test_the_entry_point_exits_with_the_commands_status_and_no_traceback() -> None:
    fake = FakeBird(caller_numbers=["+3197010261234"])  # "0000" is then a wrong code
    with fake.serve() as base_url, fake.client() as flash_calls:
        call = flash_calls.create(TO)
        env = {
            "BIRD_ACCESS_KEY": fake.access_key,
            "BIRD_WORKSPACE_ID": fake.workspace_id,
            "BIRD_CHANNEL_ID": fake.channel_id,
            "BIRD_BASE_URL": base_url,
        }
        checking = ["verify-code", str(call.id), "--expected-cli", call.from_, "--code", "0000"]
        not_verified = run_module(*checking, env=env)
    refused = run_module("create", "--to", TO, "--timeout", "inf")

    assert not_verified.returncode == 3, not_verified.stderr
    assert not_verified.stdout.startswith("NOT verified")
    assert refused.returncode == 2
    assert refused.stdout == ""
    (line,) = refused.stderr.splitlines()
    assert line.startswith("bird-flashcalls create: error: argument --timeout: ")


def test_importing_the_library_loads_neither_the_cli_nor_the_fake() -> None:
    code = (
        "import sys, bird_flashcalls; "
        "print(sorted(m for m in sys.modules if m.startswith(('bird_flashcalls.cli', "
        "'bird_flashcalls._demo', 'bird_flashcalls.testing', 'bird_flashcalls.__main__'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=PROCESS_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# serve: FakeBird for a second shell.


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_serve_prints_exports_that_the_cli_can_use_then_stops_cleanly(
    stop_signal: signal.Signals,
) -> None:
    process = start_serve("--port", "0")
    try:
        exports = read_exports(process)
        assert set(exports) == SETTINGS
        assert exports["BIRD_BASE_URL"].startswith("http://127.0.0.1:")

        created = run_module("create", "--to", TO, "--json", env=exports)
        assert created.returncode == 0, created.stderr
        assert json.loads(created.stdout)["to"] == TO
        assert exports["BIRD_ACCESS_KEY"] not in created.stdout + created.stderr
    finally:
        stderr = stop(process, stop_signal)
    assert process.returncode == 0, stderr
    assert "FakeBird stopped" in stderr
    assert f"POST /workspaces/{exports['BIRD_WORKSPACE_ID']}/" in stderr  # the traffic it saw
    assert "-> 202" in stderr
    port = int(exports["BIRD_BASE_URL"].rsplit(":", 1)[1])
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


def test_serve_takes_its_settings_from_flags_never_the_environment(tmp_path: Path) -> None:
    workspace, key = str(uuid4()), "fake-key-" + uuid4().hex
    (tmp_path / "key").write_text(key + "\n")
    real_settings = {
        "BIRD_WORKSPACE_ID": str(uuid4()),
        "BIRD_CHANNEL_ID": str(uuid4()),
        "BIRD_ACCESS_KEY": "a-real-key-from-the-environment",
        "BIRD_BASE_URL": "https://api.bird.com",
    }
    key_file = ["--access-key-file", str(tmp_path / "key")]
    flags = ["--port", "0", "--json", "--workspace-id", workspace, *key_file]
    process = start_serve(*flags, env=real_settings)
    try:
        assert process.stdout is not None
        settings = json.loads(process.stdout.readline())
        created = run_module("create", "--to", TO, *key_file, "--json", env=settings)
        refused = run_module("create", "--to", TO, env={**settings, "BIRD_ACCESS_KEY": "other"})
    finally:
        stderr = stop(process)
    assert process.returncode == 0, stderr
    assert "BIRD_ACCESS_KEY" not in settings
    assert settings["BIRD_WORKSPACE_ID"] == workspace
    assert settings["BIRD_CHANNEL_ID"] != real_settings["BIRD_CHANNEL_ID"]
    assert settings["BIRD_BASE_URL"].startswith("http://127.0.0.1:")
    assert created.returncode == 0, created.stderr
    assert (refused.returncode, "401" in refused.stderr) == (1, True)
    assert key not in stderr
    assert f"its access key is the one in {tmp_path / 'key'}" in stderr


def test_serve_logs_a_reset_connection_as_one_line_without_a_traceback() -> None:
    process = start_serve("--port", "0")
    try:
        exports = read_exports(process)
        url = httpx.URL(exports["BIRD_BASE_URL"])
        connection = socket.create_connection((url.host, url.port or 80), timeout=PROCESS_TIMEOUT)
        connection.sendall(b"POST /workspaces HTTP/1.1\r\nHost: x\r\n")
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()  # linger 0: a reset, not a clean close
        # Connections are accepted in order, and stopping joins each connection's thread.
        created = run_module("create", "--to", TO, env=exports)
        assert created.returncode == 0, created.stderr
    finally:
        stderr = stop(process)
    assert process.returncode == 0
    assert "Traceback" not in stderr
    resets = [line for line in stderr.splitlines() if "ended early" in line]
    assert len(resets) == 1
    assert resets[0].endswith("ended early: ConnectionResetError")


def test_serve_in_the_background_prints_exports_with_its_pid_and_keeps_serving() -> None:
    started = run_module("serve", "--background", "--port", "0")

    assert started.returncode == 0, started.stderr
    exports = parse_exports(started.stdout.splitlines())
    pid = int(exports.pop("FAKEBIRD_PID"))
    try:
        assert set(exports) == SETTINGS
        assert "kill $FAKEBIRD_PID" in started.stderr
        # The command returned; FakeBird goes on answering.
        created = run_module("create", "--to", TO, "--json", env=exports)
        assert created.returncode == 0, created.stderr
    finally:
        os.kill(pid, signal.SIGTERM)
    url = httpx.URL(exports["BIRD_BASE_URL"])

    def port_closed() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex((url.host, url.port or 80)) != 0

    # The server is not our child: its port closing is the sign that it stopped.
    wait_until(port_closed, lambda: f"FakeBird did not stop on SIGTERM: {_state(pid)}")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().splitlines()[2]
    except OSError as error:
        return str(error)


@pytest.mark.parametrize("background", [[], ["--background"]], ids=["foreground", "background"])
def test_serve_on_a_busy_port_is_exit_1_and_says_why(background: list[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = run_module("serve", *background, "--port", str(busy.getsockname()[1]))
    assert result.returncode == 1
    assert "cannot listen" in result.stderr
    assert result.stdout == ""
