"""Ids, numbers and spec-shaped bodies shared by the reliability tests."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from uuid import UUID

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = json.loads(
    (ROOT / "openapi" / "bird-flashcalls.openapi.json").read_text(encoding="utf-8")
)
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]

WORKSPACE_ID = UUID("6f1d4c1e-2f7a-4f3b-9a53-0c9e2a7f6b10")
CHANNEL_ID = UUID("0b5e3a58-7c44-4d61-8f0e-8e4f5f1d2a93")
CALL_ID = UUID("3fa85f64-5717-4562-b3fc-2c963f66afa6")
TO = "+31612345678"
FROM = "+3197010200000"
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
    return list(SCHEMAS[schema_name]["required"])
