from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...models.flash_call_hangup_request import FlashCallHangupRequest

if TYPE_CHECKING:
    from ...client import AuthenticatedClient, Client
    from ...models.flash_call_hangup import FlashCallHangup
    from ...models.request_error import RequestError
    from ...models.validation_error import ValidationError
    from ...types import Response


def _get_kwargs(
    workspace_id: UUID,
    channel_id: UUID,
    call_id: UUID,
    *,
    body: FlashCallHangupRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/workspaces/{workspace_id}/channels/{channel_id}/flashcalls/{call_id}".format(
            workspace_id=quote(str(workspace_id), safe=""),
            channel_id=quote(str(channel_id), safe=""),
            call_id=quote(str(call_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> FlashCallHangup | RequestError | ValidationError | None:
    from ...models.flash_call_hangup import FlashCallHangup
    from ...models.request_error import RequestError
    from ...models.validation_error import ValidationError

    if response.status_code == 202:
        response_202 = FlashCallHangup.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = RequestError.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = RequestError.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = RequestError.from_dict(response.json())

        return response_404

    if response.status_code == 422:
        response_422 = ValidationError.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[FlashCallHangup | RequestError | ValidationError]:
    from ...types import Response

    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    workspace_id: UUID,
    channel_id: UUID,
    call_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: FlashCallHangupRequest,
) -> Response[FlashCallHangup | RequestError | ValidationError]:
    """End flash call

     Completes the channel flash call

    Args:
        workspace_id (UUID):
        channel_id (UUID):
        call_id (UUID):
        body (FlashCallHangupRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[FlashCallHangup | RequestError | ValidationError]
    """

    kwargs = _get_kwargs(
        workspace_id=workspace_id,
        channel_id=channel_id,
        call_id=call_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    workspace_id: UUID,
    channel_id: UUID,
    call_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: FlashCallHangupRequest,
) -> FlashCallHangup | RequestError | ValidationError | None:
    """End flash call

     Completes the channel flash call

    Args:
        workspace_id (UUID):
        channel_id (UUID):
        call_id (UUID):
        body (FlashCallHangupRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        FlashCallHangup | RequestError | ValidationError
    """

    return sync_detailed(
        workspace_id=workspace_id,
        channel_id=channel_id,
        call_id=call_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    workspace_id: UUID,
    channel_id: UUID,
    call_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: FlashCallHangupRequest,
) -> Response[FlashCallHangup | RequestError | ValidationError]:
    """End flash call

     Completes the channel flash call

    Args:
        workspace_id (UUID):
        channel_id (UUID):
        call_id (UUID):
        body (FlashCallHangupRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[FlashCallHangup | RequestError | ValidationError]
    """

    kwargs = _get_kwargs(
        workspace_id=workspace_id,
        channel_id=channel_id,
        call_id=call_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    workspace_id: UUID,
    channel_id: UUID,
    call_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    body: FlashCallHangupRequest,
) -> FlashCallHangup | RequestError | ValidationError | None:
    """End flash call

     Completes the channel flash call

    Args:
        workspace_id (UUID):
        channel_id (UUID):
        call_id (UUID):
        body (FlashCallHangupRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        FlashCallHangup | RequestError | ValidationError
    """

    return (
        await asyncio_detailed(
            workspace_id=workspace_id,
            channel_id=channel_id,
            call_id=call_id,
            client=client,
            body=body,
        )
    ).parsed
