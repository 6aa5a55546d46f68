"""Ids, numbers and spec-shaped bodies shared by the reliability tests."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from uuid import UUID

import ids

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = json.loads(
    (ROOT / "openapi" / "bird-flashcalls.openapi.json").read_text(encoding="utf-8")
)
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]

WORKSPACE_ID = UUID(ids.WORKSPACE_ID)
CHANNEL_ID = UUID(ids.CHANNEL_ID)
CALL_ID = UUID(ids.CALL_ID)
ACCESS_KEY = ids.ACCESS_KEY
TO = ids.CALLEE
FROM = ids.CALLER
BASE_PATH = f"/workspaces/{WORKSPACE_ID}/channels/{CHANNEL_ID}/flashcalls"

_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Every path the client may send: create, end by id, end by numbers. Nothing else, ever.
ALLOWED_PATH = re.compile(rf"/workspaces/{_UUID}/channels/{_UUID}/flashcalls(/{_UUID}|/hangup)?")
E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def flash_call(to: str = TO, from_: str = FROM, call_id: UUID = CALL_ID) -> dict[str, Any]:
    """A 202 body of createChannelFlashCall with every required field of the spec."""
    return {
        "id": str(call_id),
        "channelId": str(CHANNEL_ID),
        "from": from_,
        "to": to,
        "status": "accepted",
        "ringTimeout": 30,
        "createdAt": "2024-05-01T10:00:00Z",
        "updatedAt": "2024-05-01T10:00:00Z",
    }


def hangup(result: str = "verified") -> dict[str, Any]:
    return {"result": result}


def hangup_from_to(result: str = "canceled", from_: str = FROM, to: str = TO) -> dict[str, Any]:
    return {"from": from_, "to": to, "result": result}


def required(schema_name: str) -> list[str]:
    return list(SCHEMAS[schema_name].get("required", []))
