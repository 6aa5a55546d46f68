"""The one table that ties each operation of the spec to the wrapper method that calls it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, Generic, NamedTuple, TypeVar

from bird_channels_api.api.channel_flashcall import (
    create_channel_flash_call,
    end_channel_flash_call,
    end_channel_flash_call_from_to,
)
from bird_channels_api.models.flash_call import FlashCall
from bird_channels_api.models.flash_call_hangup import FlashCallHangup
from bird_channels_api.models.flash_call_hangup_from_to import FlashCallHangupFromTo

Parsed = TypeVar("Parsed")


class Operation(NamedTuple, Generic[Parsed]):
    operation_id: str
    method_name: str
    generated: ModuleType
    parse: Callable[[Mapping[str, Any]], Parsed]
    # Safe to send again after the request may have reached Bird? Not for create: a second
    # request rings the phone a second time.
    retry_when_maybe_delivered: bool


CREATE = Operation(
    "createChannelFlashCall", "create", create_channel_flash_call, FlashCall.from_dict, False
)
END = Operation(
    "endChannelFlashCall", "end", end_channel_flash_call, FlashCallHangup.from_dict, True
)
HANGUP = Operation(
    "endChannelFlashCallFromTo",
    "hangup",
    end_channel_flash_call_from_to,
    FlashCallHangupFromTo.from_dict,
    True,
)

OPERATIONS: tuple[Operation[Any], ...] = (CREATE, END, HANGUP)
