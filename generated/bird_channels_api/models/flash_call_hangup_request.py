from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.hangup_result import HangupResult
from ..types import UNSET, Unset, model_repr

T = TypeVar("T", bound="FlashCallHangupRequest")


@_attrs_define
class FlashCallHangupRequest:
    """
    Attributes:
        result (HangupResult): The outcome of the verification, reported to Bird when the call is ended.
        received_cli (str | Unset):
    """

    result: HangupResult
    received_cli: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def __repr__(self) -> str:
        return model_repr(
            self,
            (
                ("result", self.result),
                ("received_cli", self.received_cli),
                ("additional_properties", self.additional_properties),
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, with the spec's field names; fields not set are left out."""
        result = self.result.value

        received_cli = self.received_cli

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "result": result,
            }
        )
        if received_cli is not UNSET:
            field_dict["receivedCli"] = received_cli

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """Read the JSON object; a missing required field raises KeyError, a wrong type
        TypeError or ValueError."""
        d = dict(src_dict)
        result = HangupResult(d.pop("result"))

        received_cli = d.pop("receivedCli", UNSET)
        if not isinstance(received_cli, (str, Unset)):
            raise TypeError(
                "receivedCli must be a string, got " + type(received_cli).__name__
            )

        flash_call_hangup_request = cls(
            result=result,
            received_cli=received_cli,
        )

        flash_call_hangup_request.additional_properties = d
        return flash_call_hangup_request

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
