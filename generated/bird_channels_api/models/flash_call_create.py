from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

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
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def __repr__(self) -> str:
        return model_repr(
            self,
            (
                ("to", self.to),
                ("from_", self.from_),
                ("ring_timeout", self.ring_timeout),
                ("additional_properties", self.additional_properties),
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, with the spec's field names; fields not set are left out."""
        to = self.to

        from_ = self.from_

        ring_timeout = self.ring_timeout

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
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

        flash_call_create.additional_properties = d
        return flash_call_create

    @property
    def additional_keys(self) -> list[str]:
        """The names of the fields the spec does not name, as Bird sent them."""
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
