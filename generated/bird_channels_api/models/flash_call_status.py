import logging
from enum import StrEnum

# Through the wrapper's logger, silent unless the application configures logging.
_logger = logging.getLogger("bird_flashcalls.models")
_logger.addHandler(logging.NullHandler())
_reported_unknown_values: set[str] = set()
# Bounds what a server sending ever new values can make this module keep and log.
_MAX_REPORTED = 100
_MAX_SHOWN = 80


class FlashCallStatus(StrEnum):
    """The values the spec lists. A value Bird adds later is kept as a plain string."""

    ACCEPTED = "accepted"
    BUSY = "busy"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    ONGOING = "ongoing"
    RINGING = "ringing"
    SCHEDULED = "scheduled"
    STARTING = "starting"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> "FlashCallStatus | None":
        # Bird may add values at any time: keep an unknown one as is rather than fail the whole
        # response. It is a pseudo-member (not in the class's member list) equal to its string.
        if not isinstance(value, str):
            return None
        pseudo_member = str.__new__(cls, value)
        pseudo_member._name_ = "UNRECOGNISED"
        pseudo_member._value_ = value
        if (
            value not in _reported_unknown_values
            and len(_reported_unknown_values) < _MAX_REPORTED
        ):
            _reported_unknown_values.add(value)
            _logger.warning(
                "%s: unknown value %r kept as a plain string; a newer client version may know it",
                cls.__name__,
                value[:_MAX_SHOWN],
            )
        return pseudo_member
