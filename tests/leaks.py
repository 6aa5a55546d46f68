"""Fails any test that leaves a thread, a child process or a listening socket behind.

Registered once, as a plugin of the whole run, by the conftest at the top of each test tree
(``register``). What a session- or module-scoped fixture starts (redis-server, Prism) is meant
to outlive the test that first asked for it, and is told apart by watching those fixtures'
setup; multiprocessing's own helper processes (its resource tracker, its fork server) live as
long as the interpreter. What a test leaves is given a grace period to end on its own (a thread
finishing its last line, a process being reaped) before the test fails.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

# Seconds: generous, a busy machine can stretch a clean shutdown (shortened by the test of this
# check, whose leaks never end on their own).
GRACE = float(os.environ.get("LEAK_GRACE", "10"))
_PROC = Path("/proc/self")
_LISTEN = "0A"

Resource = tuple[str, object]

_long_lived: set[Resource] = set()
_before: dict[str, set[Resource]] = {}


def _threads() -> set[Resource]:
    return {("thread", thread) for thread in threading.enumerate() if thread.is_alive()}


def _children() -> set[Resource]:
    """Child processes that are still running (an exited, unreaped child is not)."""
    found: set[Resource] = set()
    for children in _PROC.glob("task/*/children"):
        try:
            pids = children.read_text().split()
        except OSError:  # the thread ended while being listed
            continue
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state not in {"Z", "X"} and not _multiprocessing_helper(pid):
                found.add(("process", int(pid)))
    return found


def _multiprocessing_helper(pid: str) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"from multiprocessing." in command


def _socket_inodes() -> set[str]:
    inodes = set()
    for entry in (_PROC / "fd").iterdir():
        try:
            target = os.readlink(entry)
        except OSError:  # the descriptor of the listing itself, already closed
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _listening(inodes: set[str]) -> set[Resource]:
    if not inodes:
        return set()
    found: set[Resource] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == _LISTEN and fields[9] in inodes:
                found.add(("listening socket", f"{fields[1]} (inode {fields[9]})"))
    return found


def _running(sockets_before: set[str] | None = None) -> set[Resource]:
    resources = _threads() | _children()
    if _PROC.is_dir():
        inodes = _socket_inodes()
        # Only sockets opened since ``sockets_before`` can be new listeners: reading the TCP
        # tables costs milliseconds on a machine with many closed connections.
        resources |= _listening(inodes if sockets_before is None else inodes - sockets_before)
    return resources


def _describe(resource: Resource) -> str:
    kind, what = resource
    if kind == "thread":
        assert isinstance(what, threading.Thread)
        return f"thread {what.name!r}"
    if kind == "process":
        try:
            command = Path(f"/proc/{what}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            command = "?"
        return f"process {what} ({command.strip()[:120]})"
    return f"{kind} {what}"


def register(config: pytest.Config) -> None:
    """Checks every test of the run, whichever conftest registers it first."""
    if not config.pluginmanager.has_plugin(__name__):
        config.pluginmanager.register(sys.modules[__name__], __name__)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any]) -> Generator[None, Any, Any]:
    if fixturedef.scope == "function":
        return (yield)
    before = _running()
    try:
        return (yield)
    finally:
        _long_lived.update(_running() - before)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    _before[item.nodeid] = _running() | {("socket", inode) for inode in _socket_inodes()}
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    result = yield
    before = _before.pop(item.nodeid, set())
    sockets_before = {str(what) for kind, what in before if kind == "socket"}
    deadline = time.monotonic() + GRACE
    while True:
        left = _running(sockets_before) - before - _long_lived
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)  # polling for a thread or process to end on its own
    assert not left, "the test left running: " + ", ".join(sorted(map(_describe, left)))
    return result
