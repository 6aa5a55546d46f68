"""Test helpers for code that uses bird-flashcalls: FakeBird, an in-memory Bird.

    from bird_flashcalls.testing import FakeBird

    fake = FakeBird()
    flash_calls = fake.client()                  # FlashCalls wired to the fake, no socket
    call = flash_calls.create("+31612345678")
    flash_calls.verify(call, received_cli=fake.handset_cli(call.id))
    assert fake.calls[call.id]["result"] == "verified"

With pytest, the ``fake_bird`` fixture gives a fresh FakeBird to each test.
"""

from ._core import CALLER_NUMBERS
from ._fake import IN_PROCESS_BASE_URL, CallRecords, FakeBird
from ._wire import FakeRequest, FakeResponse

__all__ = [
    "CALLER_NUMBERS",
    "IN_PROCESS_BASE_URL",
    "CallRecords",
    "FakeBird",
    "FakeRequest",
    "FakeResponse",
]
