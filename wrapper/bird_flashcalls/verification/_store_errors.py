"""StoreError: every failure of a store, as one BirdError that says what to check.

The stores translate their library's exceptions (redis-py's, sqlite3's, the OSErrors below
them) at their boundary; the original stays reachable as ``__cause__``. A message names the
store, the operation and what to check, never a phone number, a code or a server address.
"""

from __future__ import annotations

from ..errors import BirdError


class StoreError(BirdError):
    """A verification store failed: unreachable, too slow, full, read-only, corrupt or locked.

    ``store`` is the store's class name (``SQLiteStore``, ``RedisStore``); ``operation`` the
    store operation that failed (``check``, ``create``...); ``call_placed`` is True when Bird had
    already rung the phone (a ``start`` that failed after creating the call, which was then
    reported ``canceled``, or not if that report failed too: see the message). The original
    exception is ``__cause__``.
    """

    def __init__(
        self, message: str, *, store: str, operation: str, call_placed: bool = False
    ) -> None:
        super().__init__(message)
        self.store = store
        self.operation = operation
        self.call_placed = call_placed


def store_error(store: str, operation: str, what: str, check: str) -> StoreError:
    """``{store}.{operation} failed: {what}. Check {check}.``"""
    return StoreError(
        f"{store} failed during {operation}: {what}. Check {check}.",
        store=store,
        operation=operation,
    )


def after_call_placed(error: StoreError, canceled: bool) -> StoreError:
    """The same failure, raised by a ``start`` whose call Bird had already placed."""
    told = (
        "Bird was told `canceled`"
        if canceled
        else "telling Bird `canceled` failed too, so the call stays unreported"
    )
    placed = StoreError(
        f"{error.message} The verification call was placed (the phone rang) but not recorded; "
        f"{told}. Ask the user to try again.",
        store=error.store,
        operation=error.operation,
        call_placed=True,
    )
    return placed
