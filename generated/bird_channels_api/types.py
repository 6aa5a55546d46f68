"""Contains some shared types for properties"""

from collections.abc import Mapping, MutableMapping
from http import HTTPStatus
from typing import IO, Any, BinaryIO, Generic, Literal, TypeVar

from attrs import define


class Unset:
    def __bool__(self) -> Literal[False]:
        return False

    def __reduce__(self) -> str:
        return "UNSET"

    def __copy__(self) -> "Unset":
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> "Unset":
        return self

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Unset = Unset()

# The types that `httpx.Client(files=)` can accept, copied from that library.
FileContent = IO[bytes] | bytes | str
FileTypes = (
    # (filename, file (or bytes), content_type)
    tuple[str | None, FileContent, str | None]
    # (filename, file (or bytes), content_type, headers)
    | tuple[str | None, FileContent, str | None, Mapping[str, str]]
)
RequestFiles = list[tuple[str, FileTypes]]


@define
class File:
    """Contains information for file uploads"""

    payload: BinaryIO
    file_name: str | None = None
    mime_type: str | None = None

    def to_tuple(self) -> FileTypes:
        """Return a tuple representation that httpx will accept for multipart/form-data"""
        return self.file_name, self.payload, self.mime_type


T = TypeVar("T")


@define
class Response(Generic[T]):
    """A response from an endpoint"""

    status_code: HTTPStatus
    content: bytes
    headers: MutableMapping[str, str]
    parsed: T | None


# Phone numbers in Bird's models: shown with their middle digits hidden.
PHONE_NUMBER_FIELDS = frozenset({"from_", "to", "received_cli"})


# How phone numbers are shown in reprs: all but the first few digits hidden. Self-contained:
# templates/types.py.jinja includes this file as it is (through the link templates/masking.py),
# so the generated models mask numbers by this same rule.


def masked_number(value: str) -> str:
    """'+31612345678' -> '+316********': no digit a verification code could be taken from."""
    keep = min(4, len(value) // 3)
    return value[:keep] + "*" * (len(value) - keep)


def model_repr(model: object, fields: tuple[tuple[str, Any], ...]) -> str:
    """The fields that are set; phone numbers masked, and of fields the spec does not name
    only the names (a server may put anything there)."""
    shown = ", ".join(
        f"{name}={_shown(name, value)}"
        for name, value in fields
        if not isinstance(value, Unset) and (value or name != "additional_properties")
    )
    return f"{type(model).__name__}({shown})"


def _shown(name: str, value: Any) -> str:
    if name in PHONE_NUMBER_FIELDS and isinstance(value, str):
        return repr(masked_number(value))
    if name == "additional_properties" and isinstance(value, dict):
        return repr(sorted(value))
    return repr(value)


__all__ = [
    "UNSET",
    "File",
    "FileTypes",
    "RequestFiles",
    "Response",
    "Unset",
    "model_repr",
]
