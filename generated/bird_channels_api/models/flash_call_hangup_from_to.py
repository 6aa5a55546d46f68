from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.hangup_result import HangupResult
from ..types import UNSET, Unset, model_repr

T = TypeVar("T", bound="FlashCallHangupFromTo")


@_attrs_define
class FlashCallHangupFromTo:
    """
    Attributes:
        from_ (str | Unset): The phone number that initiated the call.
        received_cli (str | Unset):
        result (HangupResult | Unset): The outcome of the verification, reported to Bird when the call is ended.
        to (str | Unset): The phone number that received the call.
    """

    from_: str | Unset = UNSET
    received_cli: str | Unset = UNSET
    result: HangupResult | Unset = UNSET
    to: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def __repr__(self) -> str:
        return model_repr(
            self,
            (
                ("from_", self.from_),
                ("received_cli", self.received_cli),
                ("result", self.result),
                ("to", self.to),
                ("additional_properties", self.additional_properties),
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, with the spec's field names; fields not set are left out."""
        from_ = self.from_

        received_cli = self.received_cli

        result: str | Unset = UNSET
        if not isinstance(self.result, Unset):
            result = self.result.value

        to = self.to

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if from_ is not UNSET:
            field_dict["from"] = from_
        if received_cli is not UNSET:
            field_dict["receivedCli"] = received_cli
        if result is not UNSET:
            field_dict["result"] = result
        if to is not UNSET:
            field_dict["to"] = to

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """Read the JSON object; a missing required field raises KeyError, a wrong type
        TypeError or ValueError."""
        d = dict(src_dict)
        from_ = d.pop("from", UNSET)
        if not isinstance(from_, (str, Unset)):
            raise TypeError("from must be a string, got " + type(from_).__name__)

        received_cli = d.pop("receivedCli", UNSET)
        if not isinstance(received_cli, (str, Unset)):
            raise TypeError(
                "receivedCli must be a string, got " + type(received_cli).__name__
            )

        _result = d.pop("result", UNSET)
        result: HangupResult | Unset
        if isinstance(_result, Unset):
            result = UNSET
        else:
            result = HangupResult(_result)

        to = d.pop("to", UNSET)
        if not isinstance(to, (str, Unset)):
            raise TypeError("to must be a string, got " + type(to).__name__)

        flash_call_hangup_from_to = cls(
            from_=from_,
            received_cli=received_cli,
            result=result,
            to=to,
        )

        additional_properties = {}
        for prop_name, prop_dict in d.items():
            additional = prop_dict

            additional_properties[prop_name] = additional

        flash_call_hangup_from_to.additional_properties = additional_properties
        return flash_call_hangup_from_to

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
