"""Client settings: arguments first, then the environment, then the defaults; checked once."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from uuid import UUID

import attrs
import httpx

from . import _constants as constants
from ._rules import canonical_uuid, is_loopback_host
from ._secret import AccessKey
from .errors import ConfigurationError, InvalidRequestError


def parse_uuid(value: object, *, field: str, settings: bool = False) -> UUID:
    """A UUID (or its canonical string) -> UUID; anything else is refused, so ids never bend a path.

    ``settings``: the value comes from the configuration, where a swapped argument could hold
    the access key, so the message does not repeat it (ConfigurationError, not InvalidRequestError).
    """
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        parsed = canonical_uuid(value)
        if parsed is not None:
            return parsed
    example = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    if settings:
        shown = (
            f"a {len(value)}-character string" if isinstance(value, str) else type(value).__name__
        )
        raise ConfigurationError(
            f"{field} must be a UUID such as {example}, got {shown}", field=field
        )
    shown = repr(value) if isinstance(value, str) and len(value) <= 60 else type(value).__name__
    raise InvalidRequestError(f"{field} must be a UUID such as {example}, got {shown}", field=field)


def check_base_url(value: str) -> str:
    """https anywhere, plain http on loopback only: the access key never travels in clear text.

    Messages show at most scheme://host:port: a swapped argument could hold the access key, and
    a URL's userinfo is a credential.
    """
    url: httpx.URL | None
    try:
        url = httpx.URL(value)
        # .host decodes an IDNA name, which may fail only now ("xn--a.com").
        if not _is_host_name(url.raw_host.decode("ascii")) or not url.host:
            url = None
    except (httpx.InvalidURL, TypeError, ValueError):
        url = None
    if url is None or url.scheme not in ("https", "http"):
        raise ConfigurationError(
            f"base_url must be an absolute https:// URL such as {constants.DEFAULT_BASE_URL}, "
            f"got a string of {len(value)} characters that is not one",
            field="base_url",
        )
    origin = f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")
    if url.scheme == "http" and not is_loopback_host(url.host):
        raise ConfigurationError(
            f"base_url {origin} uses plain http to a host that is not loopback: the access key "
            "would travel unencrypted. Use https:// (plain http is allowed for 127.0.0.1, ::1 "
            "and localhost only, as for a local fake)",
            field="base_url",
        )
    if url.query or url.fragment or url.userinfo:
        raise ConfigurationError(
            f"base_url for {origin} must not carry a query, a fragment or credentials",
            field="base_url",
        )
    return str(url).rstrip("/")


def _is_host_name(host: str) -> bool:
    """A DNS name of letters, digits and dashes (IDNA already encoded), or an IP address."""
    if ":" in host:  # httpx has already checked an IPv6 literal
        return True
    labels = host.rstrip(".").split(".")
    return all(
        0 < len(label) <= 63
        and label.replace("-", "").replace("_", "").isalnum()
        and label.isascii()
        for label in labels
    )


def _access_key(value: object) -> AccessKey:
    if isinstance(value, AccessKey):
        return value
    if not isinstance(value, str):
        raise ConfigurationError(
            f"access_key must be a string, got {type(value).__name__}", field="access_key"
        )
    if not value.strip():
        raise ConfigurationError(
            "access_key is empty: set BIRD_ACCESS_KEY or pass access_key=", field="access_key"
        )
    # A header-breaking character would fail inside httpx with the key in the message.
    if any(ch.isspace() or not ch.isprintable() for ch in value) or not value.isascii():
        raise ConfigurationError(
            "access_key contains spaces, control or non-ASCII characters: copy the key from "
            "the Bird dashboard again (without the 'AccessKey ' prefix)",
            field="access_key",
        )
    return AccessKey(value)


@attrs.frozen(kw_only=True, repr=False)
class Settings:
    """Checked settings. The key is an ``AccessKey``: nothing here shows it."""

    access_key: AccessKey
    workspace_id: UUID
    channel_id: UUID
    base_url: str

    def __repr__(self) -> str:
        return (
            f"Settings(base_url={self.base_url!r}, workspace_id='{self.workspace_id}', "
            f"channel_id='{self.channel_id}', access_key='***')"
        )


def _pick(argument: object, env: Mapping[str, str] | None, variable: str) -> object:
    # The environment is looked up here only, so no caller's frame holds os.environ (and the
    # key in it) as a local variable that a traceback with locals would print.
    if argument is not None:
        return argument
    return (os.environ if env is None else env).get(variable) or None


def resolve_settings(
    *,
    access_key: str | AccessKey | None,
    workspace_id: str | UUID | None,
    channel_id: str | UUID | None,
    base_url: str | None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    missing = {
        argument: f"{argument}= (or the {variable} environment variable)"
        for argument, value, variable in (
            ("access_key", access_key, constants.ENV_ACCESS_KEY),
            ("workspace_id", workspace_id, constants.ENV_WORKSPACE_ID),
            ("channel_id", channel_id, constants.ENV_CHANNEL_ID),
        )
        if _pick(value, env, variable) is None
    }
    if missing:
        raise ConfigurationError(
            "missing " + ", ".join(missing.values()) + ": the access key comes from the Bird "
            "dashboard, the workspace and channel ids from the flash-call channel's settings",
            field=next(iter(missing)) if len(missing) == 1 else None,
        )
    url = _pick(base_url, env, constants.ENV_BASE_URL) or constants.DEFAULT_BASE_URL
    if not isinstance(url, str):
        raise ConfigurationError(
            f"base_url must be a string, got {type(url).__name__}", field="base_url"
        )
    with _naming_the_variable(access_key, constants.ENV_ACCESS_KEY):
        checked_key = _access_key(_pick(access_key, env, constants.ENV_ACCESS_KEY))
    ids: list[UUID] = []
    for argument, variable, field in (
        (workspace_id, constants.ENV_WORKSPACE_ID, "workspace_id"),
        (channel_id, constants.ENV_CHANNEL_ID, "channel_id"),
    ):
        with _naming_the_variable(argument, variable):
            ids.append(parse_uuid(_pick(argument, env, variable), field=field, settings=True))
    with _naming_the_variable(base_url, constants.ENV_BASE_URL):
        checked_url = check_base_url(url)
    return Settings(
        access_key=checked_key, workspace_id=ids[0], channel_id=ids[1], base_url=checked_url
    )


@contextlib.contextmanager
def _naming_the_variable(argument: object, variable: str) -> Iterator[None]:
    """A refused value that came from the environment: say which variable to fix."""
    try:
        yield
    except ConfigurationError as error:
        if argument is not None:
            raise
        raise ConfigurationError(
            f"{error} (read from the {variable} environment variable)", field=error.field
        ) from None


def _shown_number(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"a {type(value).__name__} of {len(text)} digits"


def http_timeout(timeout: float | httpx.Timeout) -> tuple[httpx.Timeout, float | None]:
    """The httpx timeout of one attempt, and the deadline of the whole attempt in seconds."""
    if isinstance(timeout, httpx.Timeout):
        return timeout, None
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 0 < timeout <= constants.MAX_TIMEOUT
    ):
        raise ConfigurationError(
            f"timeout must be a number of seconds above 0 and at most {constants.MAX_TIMEOUT:g}, "
            f"got {_shown_number(timeout)}",
            field="timeout",
        )
    seconds = float(timeout)
    return httpx.Timeout(seconds, connect=min(seconds, constants.DEFAULT_CONNECT_TIMEOUT)), seconds
