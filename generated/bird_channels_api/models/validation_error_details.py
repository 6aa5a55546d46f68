from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import model_repr

T = TypeVar("T", bound="ValidationErrorDetails")


@_attrs_define
class ValidationErrorDetails:
    """Additional details about the error. This object can contain any additional information that may be useful for
    debugging.

    """

    additional_properties: dict[str, list[str]] = _attrs_field(init=False, factory=dict)

    def __repr__(self) -> str:
        return model_repr(
            self, (("additional_properties", self.additional_properties),)
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, with the spec's field names; fields not set are left out."""

        field_dict: dict[str, Any] = {}
        for prop_name, prop in self.additional_properties.items():
            field_dict[prop_name] = prop

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """Read the JSON object; a missing required field raises KeyError, a wrong type
        TypeError or ValueError."""
        d = dict(src_dict)
        validation_error_details = cls()

        additional_properties = {}
        for prop_name, prop_dict in d.items():
            additional_property = []
            _additional_property = prop_dict
            for additional_property_item_data in _additional_property:
                additional_property_item = additional_property_item_data
                if not isinstance(additional_property_item, str):
                    raise TypeError(
                        "AdditionalProperty_item must be a string, got "
                        + type(additional_property_item).__name__
                    )

                additional_property.append(additional_property_item)

            additional_properties[prop_name] = additional_property

        validation_error_details.additional_properties = additional_properties
        return validation_error_details

    @property
    def additional_keys(self) -> list[str]:
        """The names of the fields the spec does not name, as Bird sent them."""
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> list[str]:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: list[str]) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
