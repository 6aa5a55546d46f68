"""The access key, held so that nothing the client hands out can show it."""

from __future__ import annotations

import os
from typing import Any, NoReturn, final

REDACTED = "***"


@final
class AccessKey:
    """Bird's access key. ``repr``, ``str`` and copies never show it, and it refuses to pickle.

    It is kept XOR-masked, so no ``str`` or ``bytes`` reachable from the client holds the key:
    only ``authorization()`` puts it back together, for the header of one request.
    """

    __slots__ = ("_length", "_mask", "_masked")

    def __init__(self, key: str) -> None:
        data = key.encode()
        self._length = len(data)
        self._mask = int.from_bytes(os.urandom(self._length))
        self._masked = int.from_bytes(data) ^ self._mask

    def authorization(self) -> str:
        """The ``Authorization`` header value: the only place the key is unmasked."""
        return "AccessKey " + (self._masked ^ self._mask).to_bytes(self._length).decode()

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the key replaced by ``***``."""
        return text.replace((self._masked ^ self._mask).to_bytes(self._length).decode(), REDACTED)

    def __repr__(self) -> str:
        return f"AccessKey('{REDACTED}')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AccessKey):
            return NotImplemented
        from hmac import compare_digest

        return compare_digest(self.authorization(), other.authorization())

    def __hash__(self) -> int:
        return hash(AccessKey)

    def __copy__(self) -> AccessKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> AccessKey:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            "an access key is never pickled: pass it to the process that needs it through its "
            "environment (BIRD_ACCESS_KEY) instead"
        )
