"""Contains all the data models used in inputs/outputs"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .flash_call import FlashCall
    from .flash_call_attempt_price import FlashCallAttemptPrice
    from .flash_call_connection_price import FlashCallConnectionPrice
    from .flash_call_create import FlashCallCreate
    from .flash_call_hangup import FlashCallHangup
    from .flash_call_hangup_from_to import FlashCallHangupFromTo
    from .flash_call_hangup_from_to_request import FlashCallHangupFromToRequest
    from .flash_call_hangup_request import FlashCallHangupRequest
    from .flash_call_status import FlashCallStatus
    from .hangup_result import HangupResult
    from .request_error import RequestError
    from .validation_error import ValidationError
    from .validation_error_details import ValidationErrorDetails

# Model name -> its module: importing one model must not build every attrs class of the API.
_MODULES = {
    "FlashCall": ".flash_call",
    "FlashCallAttemptPrice": ".flash_call_attempt_price",
    "FlashCallConnectionPrice": ".flash_call_connection_price",
    "FlashCallCreate": ".flash_call_create",
    "FlashCallHangup": ".flash_call_hangup",
    "FlashCallHangupFromTo": ".flash_call_hangup_from_to",
    "FlashCallHangupFromToRequest": ".flash_call_hangup_from_to_request",
    "FlashCallHangupRequest": ".flash_call_hangup_request",
    "FlashCallStatus": ".flash_call_status",
    "HangupResult": ".hangup_result",
    "RequestError": ".request_error",
    "ValidationError": ".validation_error",
    "ValidationErrorDetails": ".validation_error_details",
}

__all__ = (
    "FlashCall",
    "FlashCallAttemptPrice",
    "FlashCallConnectionPrice",
    "FlashCallCreate",
    "FlashCallHangup",
    "FlashCallHangupFromTo",
    "FlashCallHangupFromToRequest",
    "FlashCallHangupRequest",
    "FlashCallStatus",
    "HangupResult",
    "RequestError",
    "ValidationError",
    "ValidationErrorDetails",
)


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    model = getattr(import_module(module, __name__), name)
    globals()[name] = model  # found directly from now on
    return model


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
