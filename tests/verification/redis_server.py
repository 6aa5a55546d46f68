"""A throwaway redis-server on 127.0.0.1 for the RedisStore tests: started and stopped by them.

Missing redis-server skips those tests with a message saying how to get it, except under
CI=true, where it is a failure (as with Prism).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

INSTALL_HINT = (
    "RedisStore tests need a redis-server executable: `apt-get install redis-server` (Debian, "
    "Ubuntu), `brew install redis` (macOS), or put one on PATH. .ci/run installs it."
)


def ci_requires_redis() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def redis_server_or_skip() -> str:
    """The redis-server executable; skips when it is missing, fails under CI."""
    found = shutil.which("redis-server")
    if found is not None:
        return found
    if ci_requires_redis():
        pytest.fail(INSTALL_HINT + " CI=true: these tests are required there.", pytrace=False)
    pytest.skip(INSTALL_HINT)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def running_redis(directory: Path, *, start_timeout: float = 20.0) -> Iterator[str]:
    """redis-server on a free loopback port, its files in ``directory``; yields its URL."""
    executable = redis_server_or_skip()
    failures = []
    # The free port may be taken between probing and redis binding it: try a few.
    for _ in range(3):
        port = _free_port()
        log_path = directory / f"redis-{port}.log"
        process = subprocess.Popen(
            [
                executable,
                "--bind", "127.0.0.1",
                "--port", str(port),
                "--dir", str(directory),
                "--save", "",
                "--appendonly", "no",
                "--logfile", str(log_path),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + start_timeout
        try:
            while time.monotonic() < deadline:
                if _answers_ping(port):
                    break
                try:
                    # Waiting on the process paces the polling and notices an early exit.
                    process.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    continue
                break
            if process.poll() is None and _answers_ping(port):
                try:
                    yield f"redis://127.0.0.1:{port}/0"
                finally:
                    _stop(process)
                return
        except BaseException:
            _stop(process)
            raise
        _stop(process)
        failures.append(log_path.read_text(errors="replace")[-2000:] if log_path.exists() else "")
    raise RuntimeError("redis-server did not start:\n" + "\n".join(failures))
