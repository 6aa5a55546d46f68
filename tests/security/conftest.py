from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from reliability.conftest import fault_server, no_leaks  # noqa: F401

from .support import DEBUG_LOGGERS, DebugLines, unique_key


@pytest.fixture
def key() -> str:
    return unique_key()


@pytest.fixture
def debug_lines(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """Every logger at DEBUG, formatted into a list of lines and onto stderr."""
    handler = DebugLines()
    caplog.set_level(logging.DEBUG)
    for name in DEBUG_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
