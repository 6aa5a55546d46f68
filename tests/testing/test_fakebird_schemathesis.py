"""FakeBird, run by ``bird-flashcalls serve``, passes every schemathesis check and phase."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from .support import WAIT, spec_document

SEED = 1
# The coverage phase does not depend on it; 25 still reaches every operation's 202 and both links.
MAX_EXAMPLES = 25
CREATE = "/workspaces/{workspaceId}/channels/{channelId}/flashcalls"


def spec_for_schemathesis() -> dict[str, Any]:
    """The merged spec plus the links the stateful phase follows (no-ops once it has them)."""
    document = spec_document()
    accepted = document["paths"][CREATE]["post"]["responses"]["202"]
    links = accepted.setdefault("links", {})
    links.setdefault(
        "EndById",
        {
            "operationId": "endChannelFlashCall",
            "parameters": {
                "workspaceId": "$request.path.workspaceId",
                "channelId": "$request.path.channelId",
                "callId": "$response.body#/id",
            },
        },
    )
    links.setdefault(
        "EndByNumbers",
        {
            "operationId": "endChannelFlashCallFromTo",
            "requestBody": {
                "from": "$response.body#/from",
                "to": "$response.body#/to",
                "result": "verified",
            },
        },
    )
    return document


def _config(access_key: str, workspace_id: str, channel_id: str) -> str:
    return f"""\
seed = {SEED}
headers = {{ Authorization = "AccessKey {access_key}" }}

[cache]
enabled = false

[generation]
max-examples = {MAX_EXAMPLES}
database = "none"

[parameters]
"path.workspaceId" = "{workspace_id}"
"path.channelId" = "{channel_id}"

[checks]
enabled = true

# A hangup names its call by body fields, which schemathesis may generate instead of linking:
# its 404 is then right, not a vanished resource. The check stays on for end by id.
[[operations]]
include-operation-id = "endChannelFlashCallFromTo"
checks.ensure_resource_availability.enabled = false
"""


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_schemathesis_finds_nothing_wrong_with_fakebird(tmp_path: Path) -> None:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("BIRD_")
    }
    access_key = "schemathesis-" + secrets.token_hex(12)
    workspace_id, channel_id = str(uuid4()), str(uuid4())
    key_file = tmp_path / "access-key"
    key_file.write_text(access_key)
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec_for_schemathesis()))
    config_file = tmp_path / "schemathesis.toml"
    config_file.write_text(_config(access_key, workspace_id, channel_id))
    report_file = tmp_path / "report.json"
    # A file, not a pipe: request lines would fill a pipe nobody reads meanwhile.
    log_file = tmp_path / "serve.log"

    with log_file.open("w") as log:
        serve = subprocess.Popen(
            [
                *(sys.executable, "-m", "bird_flashcalls", "serve", "--port", "0", "--json"),
                *("--workspace-id", workspace_id, "--channel-id", channel_id),
                *("--access-key-file", str(key_file)),
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=environment,
        )
    try:
        assert serve.stdout is not None
        base_url = json.loads(serve.stdout.readline())["BIRD_BASE_URL"]
        run = subprocess.run(
            [
                *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(config_file)),
                *("run", str(spec_file), "--url", base_url, "--no-color"),
                *("--report", "json", "--report-json-path", str(report_file)),
            ],
            cwd=tmp_path,  # its working files stay out of the repository
            env=environment,
            capture_output=True,
            text=True,
            timeout=200,
        )
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.communicate(timeout=WAIT)
    served_log = log_file.read_text()

    output = run.stdout + run.stderr
    report = json.loads(report_file.read_text())
    assert run.returncode == 0, output
    assert (report["failures"], report["errors"]) == ([], []), output
    assert report["operations"]["tested"] == 3
    for phase in ("coverage", "fuzzing", "stateful"):
        assert report["phases"][phase]["status"] == "success", (phase, output)
    assert report["test_cases"]["generated"] >= 300
    links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected / (\d+) total", output)
    assert links is not None and links.groups() == ("2", "2", "2"), output

    # FakeBird itself: every operation answered 202 at least once, and nothing went wrong.
    assert serve.returncode == 0, served_log
    assert "Traceback" not in served_log
    prefix = f"POST /workspaces/{workspace_id}/channels/{channel_id}/flashcalls"
    accepted = {line.split(" -> ")[0] for line in served_log.splitlines() if line.endswith("202")}
    assert f"{prefix}" in {path.split("?")[0] for path in accepted}
    assert f"{prefix}/hangup" in {path.split("?")[0] for path in accepted}
    call_path = re.compile(re.escape(prefix) + r"/[0-9a-f-]{36}(\?.*)?$")
    assert any(call_path.match(path) for path in accepted), "no end by id was accepted"
