"""What a verification flow yields and shares: its typed steps (a store ``StoreOp``, a
``Ring``, a ``SendReport``), claim tokens, challenge ids and events."""

from __future__ import annotations

import itertools
import logging
import os
import secrets
from collections.abc import Generator
from typing import Any, TypeVar

import attrs

from ._models import EventKind, VerificationEvent
from ._operations import StoreOp
from ._settings import VerifierSettings
from ._store import Claim, Report

logger = logging.getLogger("bird_flashcalls.verification")

T = TypeVar("T")
R = TypeVar("R")


@attrs.define
class Ring:
    """Ring ``phone`` (from ``caller``, or a number Bird picks): ``flash_calls.create``; send
    back the FlashCall."""

    phone: str = attrs.field(repr=False)  # personal data: out of reprs and tracebacks
    caller: str | None = attrs.field(default=None, repr=False)  # the code's secret


@attrs.define
class SendReport:
    """Tell Bird a result with End, or by the call's numbers when its id is unknown (``by``:
    the caller and called numbers, for Hangup); send back None, or the BirdError it failed
    with."""

    report: Report
    by: tuple[str, str] | None = attrs.field(default=None, repr=False)


Step = StoreOp[Any] | Ring | SendReport
Flow = Generator[Step, Any, T]


def store(operation: StoreOp[R]) -> Flow[R]:
    result: R = yield operation
    return result


# Claim tokens need only be unique, not secret: a random prefix per process (made again in a
# forked child, which would otherwise share it) and a counter.
_token_numbers = itertools.count()
_token_prefix = secrets.token_hex(8) + "-"


def _new_token_prefix() -> None:
    global _token_prefix
    _token_prefix = secrets.token_hex(8) + "-"


os.register_at_fork(after_in_child=_new_token_prefix)


def new_token() -> str:
    return _token_prefix + str(next(_token_numbers))


def claim_for(settings: VerifierSettings, now: float, token: str | None = None) -> Claim:
    return Claim(token or new_token(), now + settings.report_lease)


def new_challenge_id() -> str:
    """192 random bits, URL-safe: unguessable, so a check cannot hit someone else's challenge."""
    return secrets.token_urlsafe(24)


def emit(
    settings: VerifierSettings,
    kind: EventKind,
    challenge_id: str | None,
    detail: str | None = None,
    destination: str | None = None,
) -> None:
    hook = settings.on_event
    if hook is None:
        return
    try:
        hook(VerificationEvent(kind, challenge_id, detail, destination))
    except Exception:
        # A failing metrics hook must not change what the user is told.
        logger.exception("on_event raised for a %s event; ignored", kind)


def store_quietly(operation: StoreOp[R]) -> Flow[R | None]:
    try:
        result: R = yield operation
        return result
    except Exception as error:
        # After the decision the user's outcome stands: a store failure here only delays the
        # report (its claim runs out and flush() sends it again).
        logger.warning(
            "store operation %s failed after a decision (%s)",
            operation.name,
            type(error).__name__,
        )
        return None
