"""The access key goes in the Authorization header to base_url only, never over plain http to a
host that is not loopback; refused settings (a malformed key, or the key where an id or a URL
belongs) do not quote it and send nothing. Redirects: tests/unit/test_errors.py."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from bird_flashcalls import ConfigurationError, FlashCalls
from hypothesis import event, given
from hypothesis import strategies as st
from reliability import support as data
from reliability.support import FUZZ, Recorder

from .support import holding, shown

KEY = data.ACCESS_KEY


BAD_KEYS = {
    "trailing-space": f"{KEY} ",
    "leading-space": f" {KEY}",
    "newline": f"{KEY}\n",
    "tab": f"{KEY}\tx",
    "non-ascii": f"{KEY}\u00e9",
    "with-scheme": f"AccessKey {KEY}",
}
# Swapped arguments or environment variables put the key where an id or URL belongs.
KEY_IN_THE_WRONG_PLACE = {
    "as-workspace-id": {"workspace_id": KEY},
    "as-channel-id": {"channel_id": KEY},
    "as-base-url": {"base_url": KEY},
    "as-base-url-path": {"base_url": f"{KEY}/v1"},
}
REFUSED_SETTINGS = {
    **{name: {"access_key": bad} for name, bad in BAD_KEYS.items()},
    **{
        name: {"access_key": "another-key-1", **wrong}
        for name, wrong in KEY_IN_THE_WRONG_PLACE.items()
    },
}


@pytest.mark.parametrize("changes", REFUSED_SETTINGS.values(), ids=REFUSED_SETTINGS)
def test_refused_settings_do_not_quote_the_key(
    changes: dict[str, Any], debug_lines: list[str]
) -> None:
    recorder = Recorder()
    with pytest.raises(ConfigurationError) as refused:
        FlashCalls(
            **{**data.options(data.shared.BASE_URL), **changes}, http_client=recorder.client()
        )
    assert holding(KEY, [*shown(refused.value), *debug_lines]) == []
    assert recorder.requests == []


ACCEPTED = ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:9000", "https://x.test"]
REMOTE_PLAIN_HTTP = [
    *("http://api.bird.com", "HTTP://API.BIRD.COM", "http://10.0.0.7:8080", "http://127.1"),
    *("http://192.168.1.10", "http://[2001:db8::1]", "http://[::ffff:10.0.0.7]"),
    *("http://127.0.0.1.nip.io", "http://localhost.attacker.example"),
    *("http://2130706433", "http://0x7f000001"),
]


@pytest.mark.parametrize("base_url", ACCEPTED + REMOTE_PLAIN_HTTP)
@pytest.mark.parametrize("given_as", ["argument", "environment"])
def test_plain_http_is_refused_before_sending_unless_to_loopback(
    base_url: str, given_as: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    if given_as == "environment":
        monkeypatch.setenv("BIRD_BASE_URL", base_url)
    argument = base_url if given_as == "argument" else None
    ids = (KEY, data.WORKSPACE_ID, data.CHANNEL_ID)
    if base_url in REMOTE_PLAIN_HTTP:
        with pytest.raises(ConfigurationError) as refused:
            FlashCalls(*ids, argument, http_client=recorder.client())
        assert KEY not in str(refused.value)
        assert recorder.requests == []
        return
    with FlashCalls(*ids, argument, http_client=recorder.client()) as client:
        client.create(data.TO)
    (request,) = recorder.requests
    assert request.headers["Authorization"] == f"AccessKey {KEY}"
    assert str(request.url).startswith(base_url.lower().rstrip("/"))


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


hosts = st.sampled_from(
    [
        *("127.0.0.1", "127.255.0.9", "localhost", "LocalHost", "[::1]", "api.bird.com"),
        *("10.1.2.3", "127.0.0.1.nip.io", "localhost.evil.test", "127.1", "0x7f.0.0.1"),
        *("2130706433", "[::ffff:127.0.0.1]", "[::ffff:10.0.0.1]", "0.0.0.0", "[::]"),
        "xn--bird-9ya.test",
    ]
)
base_urls = st.builds(
    lambda scheme, userinfo, host, port, path: f"{scheme}://{userinfo}{host}{port}{path}",
    st.sampled_from(["http", "https", "HTTP", "Https", "ftp", "ws", "file", ""]),
    st.sampled_from(["", "user@", "user:pw@", "127.0.0.1@", "api.bird.com@"]),
    hosts,
    st.sampled_from(["", ":443", ":80", ":8080", ":0", ":99999", ":x"]),
    st.sampled_from(["", "/", "/v1", "/v1/", "/..", "?q=1", "#frag", "/%2F"]),
)


@pytest.mark.timeout(900)  # the "fuzz" profile runs it for minutes
@FUZZ
@given(base_url=st.one_of(base_urls, st.text(max_size=40)))
def test_fuzz_base_urls_never_carry_the_key_in_clear(base_url: str) -> None:
    recorder = Recorder()
    try:
        client = FlashCalls(
            KEY, data.WORKSPACE_ID, data.CHANNEL_ID, base_url, http_client=recorder.client()
        )
    except ConfigurationError as refused:
        event("refused")
        assert KEY not in str(refused)
        assert recorder.requests == []
        return
    event("accepted")
    with client:
        client.create(data.TO)
    (request,) = recorder.requests
    assert request.url.scheme == "https" or _is_loopback(request.url.host)
    # It went to the configured host (an empty base_url means Bird's), and only there.
    assert request.url.host == httpx.URL(base_url or "https://api.bird.com").host
    assert not request.url.userinfo
    assert urlsplit(str(request.url)).path.endswith(data.BASE_PATH)
