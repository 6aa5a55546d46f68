import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The spec tooling in openapi/ is a set of scripts, not a package; tests/ids.py is shared by all.
sys.path.insert(0, str(ROOT / "openapi"))
sys.path.insert(0, str(ROOT / "tests"))


@pytest.fixture
def anyio_backend() -> str:
    # AsyncFlashCalls is built on asyncio.
    return "asyncio"
