"""One test body for a sync object and its async twin (FlashCalls and AsyncFlashCalls, Verifier
and AsyncVerifier): every method is called through a coroutine that awaits the result when
the wrapped object's method returned an awaitable."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


class Driver:
    """``await driver.method(...)`` calls ``method`` of the wrapped object, sync or async.

    ``check`` sees every exception on its way out (e.g. that it does not show a secret).
    Attributes that are not callable are returned as they are.
    """

    def __init__(self, wrapped: Any, check: Callable[[BaseException], None] | None = None) -> None:
        self.wrapped = wrapped
        self._check = check

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.wrapped, name)
        if not callable(attribute):
            return attribute

        async def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = attribute(*args, **kwargs)
                return (await result) if inspect.isawaitable(result) else result
            except BaseException as error:
                if self._check is not None:
                    self._check(error)
                raise

        return call
