"""The suite-wide check that no test leaves a thread, a process or a server running: each case
runs a small test file in a pytest of its own, with the check loaded as the suite loads it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]

CONFTEST = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
import leaks

def pytest_configure(config):
    leaks.register(config)
"""

LEFT_BEHIND = {
    "thread": """
        import threading
        stop = threading.Event()

        def test_leaves_a_thread():
            threading.Thread(target=stop.wait, name="left-behind", daemon=True).start()
    """,
    "process": """
        import subprocess, sys

        def test_leaves_a_process():
            process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            open("left-behind.pid", "w").write(str(process.pid))
    """,
    "listening socket": """
        import socket
        kept = []

        def test_leaves_a_server():
            kept.append(socket.create_server(("127.0.0.1", 0)))
    """,
}

CLEAN = """
    import socket, subprocess, sys, threading
    import pytest

    @pytest.fixture(scope="session")
    def service():
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        yield process
        process.kill()
        process.wait()

    @pytest.fixture
    def uses_service_lazily(request):
        return request.getfixturevalue("service")

    def test_uses_a_session_service(uses_service_lazily):
        assert uses_service_lazily.poll() is None

    def test_stops_what_it_starts():
        thread = threading.Thread(target=lambda: None)
        thread.start()
        with socket.create_server(("127.0.0.1", 0)):
            pass
        subprocess.run([sys.executable, "-c", "pass"], check=True)
"""


def _run(tmp_path: Path, test_file: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_case.py").write_text(textwrap.dedent(test_file))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "LEAK_GRACE": "0.5"},
    )


@pytest.mark.parametrize("kind", LEFT_BEHIND)
def test_a_test_that_leaves_something_running_fails(tmp_path: Path, kind: str) -> None:
    result = _run(tmp_path, LEFT_BEHIND[kind])
    pid_file = tmp_path / "left-behind.pid"
    if pid_file.exists():
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the test left running: " + kind in result.stdout, result.stdout


def test_session_services_and_tests_that_clean_up_pass(tmp_path: Path) -> None:
    result = _run(tmp_path, CLEAN)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
