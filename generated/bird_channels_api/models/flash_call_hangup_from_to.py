from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.hangup_result import HangupResult
from ..types import UNSET, Unset

T = TypeVar("T", bound="FlashCallHangupFromTo")


@_attrs_define
class FlashCallHangupFromTo:
    """
    Attributes:
        from_ (str): The phone number that initiated the call.
        result (HangupResult): The outcome of the verification, reported to Bird when the call is ended.
        to (str): The phone number that received the call.
        received_cli (str | Unset):
    """

    from_: str
    result: HangupResult
    to: str
    received_cli: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from_ = self.from_

        result = self.result.value

        to = self.to

        received_cli = self.received_cli

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "from": from_,
                "result": result,
                "to": to,
            }
        )
        if received_cli is not UNSET:
            field_dict["receivedCli"] = received_cli

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        from_ = d.pop("from")

        result = HangupResult(d.pop("result"))

        to = d.pop("to")

        received_cli = d.pop("receivedCli", UNSET)

        flash_call_hangup_from_to = cls(
            from_=from_,
            result=result,
            to=to,
            received_cli=received_cli,
        )

        flash_call_hangup_from_to.additional_properties = d
        return flash_call_hangup_from_to

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
