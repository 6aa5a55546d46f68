from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import model_repr

T = TypeVar("T", bound="RequestError")


@_attrs_define
class RequestError:
    """
    Attributes:
        code (str): A unique code that identifies the error. This code can be used to programmatically identify the
            error.
        message (str): A human-readable message that describes the error. An example is 'The requested resource does not
            exist: channel not found'.
    """

    code: str
    message: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def __repr__(self) -> str:
        return model_repr(
            self,
            (
                ("code", self.code),
                ("message", self.message),
                ("additional_properties", self.additional_properties),
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, with the spec's field names; fields not set are left out."""
        code = self.code

        message = self.message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "message": message,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """Read the JSON object; a missing required field raises KeyError, a wrong type
        TypeError or ValueError."""
        d = dict(src_dict)
        code = d.pop("code")
        if not isinstance(code, str):
            raise TypeError("code must be a string, got " + type(code).__name__)

        message = d.pop("message")
        if not isinstance(message, str):
            raise TypeError("message must be a string, got " + type(message).__name__)

        request_error = cls(
            code=code,
            message=message,
        )

        additional_properties = {}
        for prop_name, prop_dict in d.items():
            additional = prop_dict

            additional_properties[prop_name] = additional

        request_error.additional_properties = additional_properties
        return request_error

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
