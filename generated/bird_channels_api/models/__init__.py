"""Contains all the data models used in inputs/outputs"""

from .flash_call import FlashCall
from .flash_call_attempt_price import FlashCallAttemptPrice
from .flash_call_connection_price import FlashCallConnectionPrice
from .flash_call_create import FlashCallCreate
from .flash_call_hangup import FlashCallHangup
from .flash_call_hangup_from_to import FlashCallHangupFromTo
from .flash_call_status import FlashCallStatus
from .hangup_result import HangupResult
from .request_error import RequestError
from .validation_error import ValidationError
from .validation_error_details import ValidationErrorDetails

__all__ = (
    "FlashCall",
    "FlashCallAttemptPrice",
    "FlashCallConnectionPrice",
    "FlashCallCreate",
    "FlashCallHangup",
    "FlashCallHangupFromTo",
    "FlashCallStatus",
    "HangupResult",
    "RequestError",
    "ValidationError",
    "ValidationErrorDetails",
)
