from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset, model_repr

T = TypeVar("T", bound="FlashCallAttemptPrice")


@_attrs_define
class FlashCallAttemptPrice:
    """
    Attributes:
        amount (int | Unset):
        currency (str | Unset):
        exponent (int | Unset):
    """

    amount: int | Unset = UNSET
    currency: str | Unset = UNSET
    exponent: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def __repr__(self) -> str:
        return model_repr(
            self,
            (
                ("amount", self.amount),
                ("currency", self.currency),
                ("exponent", self.exponent),
                ("additional_properties", self.additional_properties),
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, with the spec's field names; fields not set are left out."""
        amount = self.amount

        currency = self.currency

        exponent = self.exponent

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if amount is not UNSET:
            field_dict["amount"] = amount
        if currency is not UNSET:
            field_dict["currency"] = currency
        if exponent is not UNSET:
            field_dict["exponent"] = exponent

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """Read the JSON object; a missing required field raises KeyError, a wrong type
        TypeError or ValueError."""
        d = dict(src_dict)
        amount = d.pop("amount", UNSET)
        if not isinstance(amount, Unset) and (
            not isinstance(amount, int) or isinstance(amount, bool)
        ):
            raise TypeError("amount must be an integer, got " + type(amount).__name__)

        currency = d.pop("currency", UNSET)
        if not isinstance(currency, (str, Unset)):
            raise TypeError("currency must be a string, got " + type(currency).__name__)

        exponent = d.pop("exponent", UNSET)
        if not isinstance(exponent, Unset) and (
            not isinstance(exponent, int) or isinstance(exponent, bool)
        ):
            raise TypeError(
                "exponent must be an integer, got " + type(exponent).__name__
            )

        flash_call_attempt_price = cls(
            amount=amount,
            currency=currency,
            exponent=exponent,
        )

        additional_properties = {}
        for prop_name, prop_dict in d.items():
            additional = prop_dict

            additional_properties[prop_name] = additional

        flash_call_attempt_price.additional_properties = additional_properties
        return flash_call_attempt_price

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
