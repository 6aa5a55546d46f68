"""Test helpers for code that uses bird-flashcalls: FakeBird, an in-memory Bird.

    from bird_flashcalls.testing import FakeBird

    fake = FakeBird()
    flash_calls = fake.client()                  # FlashCalls wired to the fake, no socket
    call = flash_calls.create("+31612345678")
    flash_calls.verify(call, received_cli=fake.handset_cli(call.id))
    assert fake.calls[call.id]["result"] == "verified"

With pytest, the ``fake_bird`` fixture gives a fresh FakeBird to each test. A deployed service's
tests reach a served FakeBird (``bird-flashcalls serve``) through its control API::

    control = FakeBirdControl.from_env()          # BIRD_BASE_URL, BIRD_ACCESS_KEY
    code = control.handset_cli("+31612345678")[-4:]
"""

from ._callers import CALLER_NUMBERS, DEFAULT_CALLER_POOL_SIZE, caller_pool
from ._control_client import (
    FakeBirdControl,
    FakeBirdControlError,
    FakeCall,
    FakeReport,
    RecordedRequest,
)
from ._core import CallRecords
from ._fake import IN_PROCESS_BASE_URL, FakeBird
from ._wire import FakeRequest, FakeResponse

__all__ = [
    "CALLER_NUMBERS",
    "DEFAULT_CALLER_POOL_SIZE",
    "IN_PROCESS_BASE_URL",
    "CallRecords",
    "FakeBird",
    "FakeBirdControl",
    "FakeBirdControlError",
    "FakeCall",
    "FakeReport",
    "FakeRequest",
    "FakeResponse",
    "RecordedRequest",
    "caller_pool",
]
