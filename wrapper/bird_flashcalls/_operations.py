"""The one table that ties each operation of the spec to the wrapper method that calls it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, Generic, TypeVar

import attrs

from . import _constants as constants
from ._generated.api.channel_flashcall import (
    create_channel_flash_call,
    end_channel_flash_call,
    end_channel_flash_call_from_to,
)
from ._generated.models.flash_call import FlashCall
from ._generated.models.flash_call_hangup import FlashCallHangup
from ._generated.models.flash_call_hangup_from_to import FlashCallHangupFromTo

Parsed = TypeVar("Parsed")


@attrs.frozen(repr=False)
class Operation(Generic[Parsed]):
    """An operation of the spec, the wrapper method that calls it, and when it is retried.

    ``retry_when_maybe_delivered``: safe to send again after the request may have reached Bird?
    Not for create: a second request rings the phone a second time.
    """

    operation_id: str
    method_name: str
    generated: ModuleType
    parse: Callable[[Mapping[str, Any]], Parsed]
    retry_when_maybe_delivered: bool
    retry_statuses: frozenset[int]

    def __repr__(self) -> str:
        return f"Operation({self.operation_id!r}, method {self.method_name}())"


CREATE = Operation(
    "createChannelFlashCall",
    "create",
    create_channel_flash_call,
    FlashCall.from_dict,
    False,
    constants.CREATE_RETRYABLE_STATUSES,
)
END = Operation(
    "endChannelFlashCall",
    "end",
    end_channel_flash_call,
    FlashCallHangup.from_dict,
    True,
    constants.RETRYABLE_STATUSES,
)
HANGUP = Operation(
    "endChannelFlashCallFromTo",
    "hangup",
    end_channel_flash_call_from_to,
    FlashCallHangupFromTo.from_dict,
    True,
    constants.RETRYABLE_STATUSES,
)

OPERATIONS: tuple[Operation[Any], ...] = (CREATE, END, HANGUP)
