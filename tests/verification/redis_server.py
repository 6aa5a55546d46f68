"""Throwaway redis-servers on 127.0.0.1 for the RedisStore tests; missing, they skip (CI: fail)."""

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


def executable_or_skip(name: str) -> str:
    """redis-server or redis-cli; when missing, skips saying how to get it (fails under CI)."""
    found = shutil.which(name)
    if found is not None:
        return found
    cli = "a redis-server executable", "redis-cli (it comes with redis-server)"
    hint = INSTALL_HINT if name == "redis-server" else INSTALL_HINT.replace(*cli)
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(hint + " CI=true: these tests are required there.", pytrace=False)
    pytest.skip(hint)


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


def stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def start_server(
    directory: Path, *options: str, port: int | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """redis-server on 127.0.0.1 (``port`` or a free one) answering PING, files in ``directory``."""
    executable = executable_or_skip("redis-server")
    failures = []
    # A free port may be taken between probing and redis binding it: try a few.
    for _ in range(3 if port is None else 1):
        chosen = port or _free_port()
        log_path = directory / f"redis-{chosen}.log"
        process = subprocess.Popen(
            [
                executable,
                "--bind", "127.0.0.1",
                "--port", str(chosen),
                "--dir", str(directory),
                "--save", "",
                "--appendonly", "no",
                "--logfile", str(log_path),
                *options,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 20.0
        try:
            while time.monotonic() < deadline and not _answers_ping(chosen):
                try:
                    # Waiting on the process paces the polling and notices an early exit.
                    process.wait(timeout=0.05)
                    break
                except subprocess.TimeoutExpired:
                    continue
        except BaseException:
            stop(process)
            raise
        if process.poll() is None and _answers_ping(chosen):
            return process, chosen
        stop(process)
        failures.append(log_path.read_text(errors="replace")[-2000:] if log_path.exists() else "")
    raise RuntimeError("redis-server did not start:\n" + "\n".join(failures))


@contextlib.contextmanager
def running_redis(directory: Path) -> Iterator[str]:
    """redis-server on a free loopback port, its files in ``directory``; yields its URL."""
    process, port = start_server(directory)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


@contextlib.contextmanager
def running_cluster(directory: Path) -> Iterator[list[int]]:
    """A Redis Cluster of 3 primaries (no replicas), every slot assigned; yields their ports."""
    cli = executable_or_skip("redis-cli")
    processes: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    try:
        for _ in range(3):
            bus = _free_port()  # the cluster bus port, given explicitly: port + 10000 may be taken
            process, port = start_server(
                directory,
                "--cluster-enabled", "yes",
                "--cluster-port", str(bus),
                "--cluster-config-file", str(directory / f"nodes-{bus}.conf"),
            )  # fmt: skip
            processes.append(process)
            ports.append(port)
        nodes = [f"127.0.0.1:{port}" for port in ports]
        subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 30
        while not all(_cluster_ok(cli, port) for port in ports):
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not reach cluster_state:ok in 30 s")
            with contextlib.suppress(subprocess.TimeoutExpired):
                processes[0].wait(timeout=0.1)  # paces the polling
        yield ports
    finally:
        for process in processes:
            stop(process)


def _cluster_ok(cli: str, port: int) -> bool:
    info = subprocess.run(
        [cli, "-p", str(port), "cluster", "info"], capture_output=True, timeout=10, check=False
    )
    return b"cluster_state:ok" in info.stdout
