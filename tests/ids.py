"""The ids, key and numbers every test suite uses, so a value means the same thing everywhere.

The access key is distinctive: a leak anywhere (messages, logs, reprs, pickles) is found by a
plain substring search.
"""

from __future__ import annotations

ACCESS_KEY = "Zq8vN3xW-test-access-key-7TqLm"
WORKSPACE_ID = "5a3e1f5b-3c5b-4b59-9a3e-1c2d3e4f5a6b"
CHANNEL_ID = "0b6f4d58-7b2f-4c3e-8d65-9a1b2c3d4e5f"
CALL_ID = "9c8d7e6f-5a4b-4c3d-8e2f-1a0b9c8d7e6f"
BASE_URL = "https://api.bird.test"
FLASHCALLS_PATH = f"/workspaces/{WORKSPACE_ID}/channels/{CHANNEL_ID}/flashcalls"
CALLER = "+31201234567"  # the number Bird rings from: what the handset sees
CALLEE = "+31612345678"
