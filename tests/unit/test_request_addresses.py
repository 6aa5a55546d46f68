"""Each request's address is the one the generated operation builds, for any ids and base URL:
the client writes the spec's paths itself, and must not drift from the generated ones."""

from __future__ import annotations

import uuid
from uuid import UUID

import httpx
import pytest
from bird_flashcalls._config import resolve_settings
from bird_flashcalls._generated.api.channel_flashcall import (
    create_channel_flash_call,
    end_channel_flash_call,
    end_channel_flash_call_from_to,
)
from bird_flashcalls._generated.models.flash_call_create import FlashCallCreate
from bird_flashcalls._generated.models.flash_call_hangup_from_to_request import (
    FlashCallHangupFromToRequest,
)
from bird_flashcalls._generated.models.flash_call_hangup_request import FlashCallHangupRequest
from bird_flashcalls._generated.models.hangup_result import HangupResult
from bird_flashcalls._requests import RequestBuilder

from .support import ACCESS_KEY, BASE_URL, CALLEE, CALLER, CHANNEL_ID, WORKSPACE_ID

ZERO = str(UUID(int=0))
ALL_ONES = str(UUID(int=2**128 - 1))

SETTINGS = [
    pytest.param(WORKSPACE_ID, CHANNEL_ID, BASE_URL, id="usual"),
    # Ids equal to each other and to the call id, and a base path holding one of them.
    pytest.param(ZERO, ZERO, f"{BASE_URL}/{ZERO}", id="zero-ids-everywhere"),
    pytest.param(ALL_ONES, ZERO, "http://127.0.0.1:8080/bird/v1", id="loopback-with-a-path"),
]


def builder_for(workspace_id: str, channel_id: str, base_url: str) -> RequestBuilder:
    return RequestBuilder(
        resolve_settings(
            access_key=ACCESS_KEY,
            workspace_id=workspace_id,
            channel_id=channel_id,
            base_url=base_url,
        )
    )


@pytest.mark.parametrize(("workspace_id", "channel_id", "base_url"), SETTINGS)
def test_end_goes_where_the_generated_operation_sends_it(
    workspace_id: str, channel_id: str, base_url: str
) -> None:
    builder = builder_for(workspace_id, channel_id, base_url)
    calls = [uuid.uuid4() for _ in range(20)] + [UUID(ZERO), UUID(ALL_ONES)]

    for call in calls:
        for written in (call, str(call), str(call).upper()):
            prepared = builder.end(written, "verified", None)

            path = end_channel_flash_call._get_kwargs(
                UUID(workspace_id),
                UUID(channel_id),
                call,
                body=FlashCallHangupRequest(result=HangupResult.VERIFIED),
            )["url"]
            assert prepared.url == httpx.URL(base_url + path)
            assert prepared.body == {"result": "verified"}


@pytest.mark.parametrize(("workspace_id", "channel_id", "base_url"), SETTINGS)
def test_create_and_hangup_go_where_the_generated_operations_send_them(
    workspace_id: str, channel_id: str, base_url: str
) -> None:
    builder = builder_for(workspace_id, channel_id, base_url)
    ids = (UUID(workspace_id), UUID(channel_id))

    for _ in range(2):  # built, then reused
        created = builder.create(CALLEE, None, None)
        hung_up = builder.hangup(CALLER, CALLEE, "canceled", None)

        create_path = create_channel_flash_call._get_kwargs(*ids, body=FlashCallCreate(to=CALLEE))[
            "url"
        ]
        hangup_path = end_channel_flash_call_from_to._get_kwargs(
            *ids,
            body=FlashCallHangupFromToRequest(
                from_=CALLER, to=CALLEE, result=HangupResult.CANCELED
            ),
        )["url"]
        assert created.url == httpx.URL(base_url + create_path)
        assert hung_up.url == httpx.URL(base_url + hangup_path)
