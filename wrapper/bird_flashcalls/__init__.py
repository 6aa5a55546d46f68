"""bird-flashcalls: a Python client for Bird's Flash Calling API.

    from bird_flashcalls import FlashCalls

    with FlashCalls() as flash_calls:          # BIRD_ACCESS_KEY, BIRD_WORKSPACE_ID, BIRD_CHANNEL_ID
        call = flash_calls.create(to="+31612345678")
        outcome = flash_calls.verify(call, received_cli=cli_the_app_read)

The models (``FlashCall``...) are the generated ones, from ``bird_flashcalls._generated``. The
test double lives in ``bird_flashcalls.testing`` and the command line in ``bird_flashcalls.cli``;
neither is imported here.
"""

from ._client import AsyncFlashCalls, FlashCalls
from ._generated.models.flash_call import FlashCall
from ._generated.models.flash_call_hangup import FlashCallHangup
from ._generated.models.flash_call_hangup_from_to import FlashCallHangupFromTo
from ._generated.models.flash_call_status import FlashCallStatus
from ._generated.models.hangup_result import HangupResult
from ._retry import Backoff
from ._verify import Verification, normalise_number
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BirdError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    EventLoopError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncFlashCalls",
    "AuthenticationError",
    "Backoff",
    "BadRequestError",
    "BirdError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "EventLoopError",
    "FlashCall",
    "FlashCallHangup",
    "FlashCallHangupFromTo",
    "FlashCallStatus",
    "FlashCalls",
    "HangupResult",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
    "Verification",
    "__version__",
    "normalise_number",
]
