from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset, model_repr

if TYPE_CHECKING:
    from ..models.validation_error_details import ValidationErrorDetails


T = TypeVar("T", bound="ValidationError")


@_attrs_define
class ValidationError:
    """
    Attributes:
        code (str): A unique code that identifies the error. This code can be used to programmatically identify the
            error.
        message (str): A human-readable message that describes the error. An example is 'The requested resource does not
            exist: channel not found'.
        details (ValidationErrorDetails | Unset): Additional details about the error. This object can contain any
            additional information that may be useful for debugging.
    """

    code: str
    message: str
    details: ValidationErrorDetails | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def __repr__(self) -> str:
        return model_repr(
            self,
            (
                ("code", self.code),
                ("message", self.message),
                ("details", self.details),
                ("additional_properties", self.additional_properties),
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, with the spec's field names; fields not set are left out."""
        code = self.code

        message = self.message

        details: dict[str, Any] | Unset = UNSET
        if not isinstance(self.details, Unset):
            details = self.details.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "message": message,
            }
        )
        if details is not UNSET:
            field_dict["details"] = details

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """Read the JSON object; a missing required field raises KeyError, a wrong type
        TypeError or ValueError."""
        from ..models.validation_error_details import ValidationErrorDetails

        d = dict(src_dict)
        code = d.pop("code")
        if not isinstance(code, str):
            raise TypeError("code must be a string, got " + type(code).__name__)

        message = d.pop("message")
        if not isinstance(message, str):
            raise TypeError("message must be a string, got " + type(message).__name__)

        _details = d.pop("details", UNSET)
        details: ValidationErrorDetails | Unset
        if isinstance(_details, Unset):
            details = UNSET
        else:
            details = ValidationErrorDetails.from_dict(_details)

        validation_error = cls(
            code=code,
            message=message,
            details=details,
        )

        additional_properties = {}
        for prop_name, prop_dict in d.items():
            additional = prop_dict

            additional_properties[prop_name] = additional

        validation_error.additional_properties = additional_properties
        return validation_error

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
