"""What a verifier hands back: challenges, check results, states, events, the rate-limit error."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import attrs

from ..errors import BirdError, InvalidRequestError

# What one check decides: CheckResult.status.
CheckStatus = Literal["verified", "wrong", "expired", "locked", "not_found"]
# Where a challenge stands: ChallengeState.status, and the state a store keeps.
ChallengeStatus = Literal["pending", "verified", "locked", "expired", "canceled"]
# What happened: VerificationEvent.kind.
EventKind = Literal[
    "started",
    "rate_limited",
    "refused",
    "checked",
    "canceled",
    "expired",
    "reported",
    "report_failed",
    "report_dropped",
    "orphaned",
    "weak_caller_pool",
]
# The limit that refused a start: VerificationRateLimited.limit.
LimitName = Literal[
    "per_number_limit", "per_client_limit", "new_destination_limit", "resend_cooldown"
]
# The setting that refused a destination: VerificationDestinationRefused.setting.
DestinationSetting = Literal["blocked_prefixes", "allowed_countries"]


@attrs.frozen(repr=False)
class Challenge:
    """A started verification: Bird is ringing ``phone`` from a number that begins with
    ``cli_prefix``; the user proves they got the call with its last ``code_digits`` digits (or
    the app on the phone sends the whole number it saw).

    Every field except ``call_id`` is safe to send to the app: ``to_public_dict()``. The full
    caller number stays on the server.
    """

    id: str  # opaque and unguessable (192 random bits): what the app sends back to check
    phone: str  # the number being verified, E.164
    cli_prefix: str  # the caller number without its last code_digits digits
    code_digits: int
    expires_at: datetime  # aware, UTC
    call_id: UUID  # Bird's flash call: for your logs and Bird support, not for the app

    def to_public_dict(self) -> dict[str, Any]:
        """The fields an app may show or send back, JSON-ready (``expires_at`` in ISO 8601)."""
        return {
            "id": self.id,
            "phone": self.phone,
            "cli_prefix": self.cli_prefix,
            "code_digits": self.code_digits,
            "expires_at": self.expires_at.isoformat(),
        }

    def __repr__(self) -> str:
        # The phone number is personal data: it stays out of reprs and so out of logs.
        return (
            f"Challenge(id={self.id!r}, phone='***', cli_prefix={self.cli_prefix!r}, "
            f"code_digits={self.code_digits}, expires_at={self.expires_at.isoformat()!r}, "
            f"call_id='{self.call_id}')"
        )


@attrs.frozen
class CheckResult:
    """The answer to one check.

    ``status`` is ``verified``, ``wrong`` (attempts are left), ``locked`` (no attempts left:
    the wrong answer that used the last one and every check after it), ``expired`` or
    ``not_found`` (unknown, cancelled, or already verified: a challenge grants once).
    ``phone`` is the E.164 number that was verified (None unless ``verified``): the number to
    store, rather than one a client sends along.
    """

    status: CheckStatus
    verified: bool
    attempts_left: int
    phone: str | None = attrs.field(default=None, repr=False)


@attrs.frozen
class ChallengeState:
    """Where a challenge stands, as ``Verifier.state()`` reads it.

    ``status`` is ``pending``, ``verified``, ``locked``, ``expired`` or ``canceled``;
    ``reported`` says whether Bird has been told the outcome (always False while pending).
    """

    challenge: Challenge
    status: ChallengeStatus
    attempts_left: int
    reported: bool


@attrs.frozen
class VerificationEvent:
    """What ``on_event`` receives, for metrics and audit logs. Never a phone number or code.

    ``kind`` and ``detail``:

    - ``started``: a challenge was created (detail None);
    - ``rate_limited``: a limit refused a start (challenge_id None; detail the limit's name);
    - ``refused``: ``blocked_prefixes`` or ``allowed_countries`` refused a start (detail the
      setting's name);
    - ``checked``: an answer was decided, before Bird is told (detail the CheckResult status);
    - ``canceled``: ``cancel()`` ended a pending challenge;
    - ``expired``: ``expire_due()`` ended a challenge past its ttl;
    - ``reported``: Bird accepted a result (detail the result);
    - ``report_failed``: sending it failed; it is kept for ``flush()`` (detail the result);
    - ``report_dropped``: Bird refused it for good, e.g. the call was unknown (detail the result);
    - ``orphaned``: ``expire_due()`` found a start whose worker died while Bird placed the call:
      ended by its numbers when the start had picked the caller number (detail ``canceled``),
      else it cannot be reported (detail None);
    - ``weak_caller_pool``: ``guess_chance()`` passed ``max_guess_chance`` (detail the chance).

    ``destination`` is the number's country (ISO 3166-1 alpha-2) or ``+`` and its calling code,
    on ``rate_limited`` and ``refused`` events.
    """

    kind: EventKind
    challenge_id: str | None
    detail: str | None
    destination: str | None = None


class VerificationRateLimited(BirdError):
    """``start()`` was refused by a limit before any call was made.

    ``retry_after`` is the number of seconds until a start would be allowed; ``limit`` names the
    setting that refused it: ``per_number_limit``, ``per_client_limit``,
    ``new_destination_limit`` or ``resend_cooldown``.
    """

    def __init__(self, message: str, *, retry_after: float, limit: LimitName) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.limit: LimitName = limit


class VerificationDestinationRefused(InvalidRequestError):
    """``start()`` will never ring this number: ``setting`` (``blocked_prefixes`` or
    ``allowed_countries``) refuses it. Raised before any call is made; ``field`` is ``phone``."""

    def __init__(self, message: str, *, setting: DestinationSetting) -> None:
        super().__init__(message, field="phone")
        self.setting: DestinationSetting = setting
