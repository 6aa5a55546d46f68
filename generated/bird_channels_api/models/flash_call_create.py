from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset, model_repr

T = TypeVar("T", bound="FlashCallCreate")


@_attrs_define
class FlashCallCreate:
    """
    Attributes:
        to (str):
        from_ (str | Unset):
        ring_timeout (int | Unset):  Default: 30.
    """

    to: str
    from_: str | Unset = UNSET
    ring_timeout: int | Unset = 30

    def __repr__(self) -> str:
        return model_repr(
            self,
            (
                ("to", self.to),
                ("from_", self.from_),
                ("ring_timeout", self.ring_timeout),
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, with the spec's field names; fields not set are left out."""
        to = self.to

        from_ = self.from_

        ring_timeout = self.ring_timeout

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "to": to,
            }
        )
        if from_ is not UNSET:
            field_dict["from"] = from_
        if ring_timeout is not UNSET:
            field_dict["ringTimeout"] = ring_timeout

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """Read the JSON object; a missing required field raises KeyError, a wrong type
        TypeError or ValueError."""
        d = dict(src_dict)
        to = d.pop("to")
        if not isinstance(to, str):
            raise TypeError("to must be a string, got " + type(to).__name__)

        from_ = d.pop("from", UNSET)
        if not isinstance(from_, (str, Unset)):
            raise TypeError("from must be a string, got " + type(from_).__name__)

        ring_timeout = d.pop("ringTimeout", UNSET)
        if not isinstance(ring_timeout, Unset) and (
            not isinstance(ring_timeout, int) or isinstance(ring_timeout, bool)
        ):
            raise TypeError(
                "ringTimeout must be an integer, got " + type(ring_timeout).__name__
            )

        flash_call_create = cls(
            to=to,
            from_=from_,
            ring_timeout=ring_timeout,
        )

        return flash_call_create
