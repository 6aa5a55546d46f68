from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.flash_call_status import FlashCallStatus
from ..types import UNSET, Unset, model_repr

if TYPE_CHECKING:
    from ..models.flash_call_attempt_price import FlashCallAttemptPrice
    from ..models.flash_call_connection_price import FlashCallConnectionPrice


T = TypeVar("T", bound="FlashCall")


@_attrs_define
class FlashCall:
    """
    Attributes:
        channel_id (UUID):
        created_at (datetime.datetime):
        from_ (str):
        id (UUID):
        status (FlashCallStatus):
        to (str):
        updated_at (datetime.datetime):
        answered_at (datetime.datetime | Unset):
        attempt_price (FlashCallAttemptPrice | Unset):
        connection_price (FlashCallConnectionPrice | Unset):
        duration (int | Unset):
        ended_at (datetime.datetime | Unset):
        reason (str | Unset):
        ring_timeout (int | Unset):
        ringing_at (datetime.datetime | Unset):
    """

    channel_id: UUID
    created_at: datetime.datetime
    from_: str
    id: UUID
    status: FlashCallStatus
    to: str
    updated_at: datetime.datetime
    answered_at: datetime.datetime | Unset = UNSET
    attempt_price: FlashCallAttemptPrice | Unset = UNSET
    connection_price: FlashCallConnectionPrice | Unset = UNSET
    duration: int | Unset = UNSET
    ended_at: datetime.datetime | Unset = UNSET
    reason: str | Unset = UNSET
    ring_timeout: int | Unset = UNSET
    ringing_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def __repr__(self) -> str:
        return model_repr(
            self,
            (
                ("channel_id", self.channel_id),
                ("created_at", self.created_at),
                ("from_", self.from_),
                ("id", self.id),
                ("status", self.status),
                ("to", self.to),
                ("updated_at", self.updated_at),
                ("answered_at", self.answered_at),
                ("attempt_price", self.attempt_price),
                ("connection_price", self.connection_price),
                ("duration", self.duration),
                ("ended_at", self.ended_at),
                ("reason", self.reason),
                ("ring_timeout", self.ring_timeout),
                ("ringing_at", self.ringing_at),
                ("additional_properties", self.additional_properties),
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, with the spec's field names; fields not set are left out."""
        channel_id = str(self.channel_id)

        created_at = self.created_at.isoformat()

        from_ = self.from_

        id = str(self.id)

        status = self.status.value

        to = self.to

        updated_at = self.updated_at.isoformat()

        answered_at: str | Unset = UNSET
        if not isinstance(self.answered_at, Unset):
            answered_at = self.answered_at.isoformat()

        attempt_price: dict[str, Any] | Unset = UNSET
        if not isinstance(self.attempt_price, Unset):
            attempt_price = self.attempt_price.to_dict()

        connection_price: dict[str, Any] | Unset = UNSET
        if not isinstance(self.connection_price, Unset):
            connection_price = self.connection_price.to_dict()

        duration = self.duration

        ended_at: str | Unset = UNSET
        if not isinstance(self.ended_at, Unset):
            ended_at = self.ended_at.isoformat()

        reason = self.reason

        ring_timeout = self.ring_timeout

        ringing_at: str | Unset = UNSET
        if not isinstance(self.ringing_at, Unset):
            ringing_at = self.ringing_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "channelId": channel_id,
                "createdAt": created_at,
                "from": from_,
                "id": id,
                "status": status,
                "to": to,
                "updatedAt": updated_at,
            }
        )
        if answered_at is not UNSET:
            field_dict["answeredAt"] = answered_at
        if attempt_price is not UNSET:
            field_dict["attemptPrice"] = attempt_price
        if connection_price is not UNSET:
            field_dict["connectionPrice"] = connection_price
        if duration is not UNSET:
            field_dict["duration"] = duration
        if ended_at is not UNSET:
            field_dict["endedAt"] = ended_at
        if reason is not UNSET:
            field_dict["reason"] = reason
        if ring_timeout is not UNSET:
            field_dict["ringTimeout"] = ring_timeout
        if ringing_at is not UNSET:
            field_dict["ringingAt"] = ringing_at

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        """Read the JSON object; a missing required field raises KeyError, a wrong type
        TypeError or ValueError."""
        from ..models.flash_call_attempt_price import FlashCallAttemptPrice
        from ..models.flash_call_connection_price import FlashCallConnectionPrice

        d = dict(src_dict)
        channel_id = UUID(d.pop("channelId"))

        created_at = datetime.datetime.fromisoformat(d.pop("createdAt"))

        from_ = d.pop("from")
        if not isinstance(from_, str):
            raise TypeError("from must be a string, got " + type(from_).__name__)

        id = UUID(d.pop("id"))

        status = FlashCallStatus(d.pop("status"))

        to = d.pop("to")
        if not isinstance(to, str):
            raise TypeError("to must be a string, got " + type(to).__name__)

        updated_at = datetime.datetime.fromisoformat(d.pop("updatedAt"))

        _answered_at = d.pop("answeredAt", UNSET)
        answered_at: datetime.datetime | Unset
        if isinstance(_answered_at, Unset):
            answered_at = UNSET
        else:
            answered_at = datetime.datetime.fromisoformat(_answered_at)

        _attempt_price = d.pop("attemptPrice", UNSET)
        attempt_price: FlashCallAttemptPrice | Unset
        if isinstance(_attempt_price, Unset):
            attempt_price = UNSET
        else:
            attempt_price = FlashCallAttemptPrice.from_dict(_attempt_price)

        _connection_price = d.pop("connectionPrice", UNSET)
        connection_price: FlashCallConnectionPrice | Unset
        if isinstance(_connection_price, Unset):
            connection_price = UNSET
        else:
            connection_price = FlashCallConnectionPrice.from_dict(_connection_price)

        duration = d.pop("duration", UNSET)
        if not isinstance(duration, Unset) and (
            not isinstance(duration, int) or isinstance(duration, bool)
        ):
            raise TypeError(
                "duration must be an integer, got " + type(duration).__name__
            )

        _ended_at = d.pop("endedAt", UNSET)
        ended_at: datetime.datetime | Unset
        if isinstance(_ended_at, Unset):
            ended_at = UNSET
        else:
            ended_at = datetime.datetime.fromisoformat(_ended_at)

        reason = d.pop("reason", UNSET)
        if not isinstance(reason, (str, Unset)):
            raise TypeError("reason must be a string, got " + type(reason).__name__)

        ring_timeout = d.pop("ringTimeout", UNSET)
        if not isinstance(ring_timeout, Unset) and (
            not isinstance(ring_timeout, int) or isinstance(ring_timeout, bool)
        ):
            raise TypeError(
                "ringTimeout must be an integer, got " + type(ring_timeout).__name__
            )

        _ringing_at = d.pop("ringingAt", UNSET)
        ringing_at: datetime.datetime | Unset
        if isinstance(_ringing_at, Unset):
            ringing_at = UNSET
        else:
            ringing_at = datetime.datetime.fromisoformat(_ringing_at)

        flash_call = cls(
            channel_id=channel_id,
            created_at=created_at,
            from_=from_,
            id=id,
            status=status,
            to=to,
            updated_at=updated_at,
            answered_at=answered_at,
            attempt_price=attempt_price,
            connection_price=connection_price,
            duration=duration,
            ended_at=ended_at,
            reason=reason,
            ring_timeout=ring_timeout,
            ringing_at=ringing_at,
        )

        flash_call.additional_properties = d
        return flash_call

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
