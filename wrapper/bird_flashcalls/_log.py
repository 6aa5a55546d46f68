"""The ``bird_flashcalls`` logger: silent unless configured, as a library's logger should be.

``BIRD_FLASHCALLS_LOG=debug`` (or ``info``, ``warning``) prints its lines on stderr, each line
once: a line that a handler of the application's would print already (on the ``bird_flashcalls``
loggers or any logger above them, at a level that lets it through) goes there alone.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from . import _constants as constants

logger = logging.getLogger("bird_flashcalls")
logger.addHandler(logging.NullHandler())


class _StderrUntilConfigured(logging.StreamHandler):  # type: ignore[type-arg]
    """stderr, for the lines no handler of the application's would print too."""

    def emit(self, record: logging.LogRecord) -> None:
        if not self._printed_elsewhere(record):
            super().emit(record)

    def _printed_elsewhere(self, record: logging.LogRecord) -> bool:
        # The same walk up the logger tree that logging itself makes for the record.
        current: logging.Logger | None = logging.getLogger(record.name)
        while current is not None:
            for handler in current.handlers:
                if (
                    handler is not self
                    and not isinstance(handler, logging.NullHandler)
                    and record.levelno >= handler.level
                ):
                    return True
            if not current.propagate:
                return False
            current = current.parent
        return False


def configure_from_env(environ: Mapping[str, str] = os.environ) -> None:
    level = environ.get(constants.ENV_LOG, "").strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING"):
        return
    if not any(isinstance(handler, _StderrUntilConfigured) for handler in logger.handlers):
        handler = _StderrUntilConfigured()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)


configure_from_env()
