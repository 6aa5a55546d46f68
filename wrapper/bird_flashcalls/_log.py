"""The ``bird_flashcalls`` logger: silent unless configured, as a library's logger should be.

``BIRD_FLASHCALLS_LOG=debug`` (or ``info``, ``warning``) prints its lines on stderr, but only
while the application has not configured logging itself: once the root logger has a handler,
the lines go there alone instead of twice.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from . import _constants as constants

logger = logging.getLogger("bird_flashcalls")
logger.addHandler(logging.NullHandler())


class _StderrUntilConfigured(logging.StreamHandler):  # type: ignore[type-arg]
    """stderr, for as long as no handler of the application's would print the line too."""

    def emit(self, record: logging.LogRecord) -> None:
        if not logging.getLogger().handlers:
            super().emit(record)


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
