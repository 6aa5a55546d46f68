"""Where a verifier may ring, and who asks: blocked ranges, allowed countries, the destination a
start counts under, and the client key of an IP address. Pure functions, no I/O."""

from __future__ import annotations

import ipaddress

from .. import _numbers
from ._countries import CALLING_CODES, SPLITS
from ._models import DestinationSetting

# How long one verified challenge proves its country: starts there skip new_destination_limit.
PROVEN_FOR = 30 * 86400.0

# The ITU's international and non-geographic country codes: none of them is a subscriber in a
# country, several are charged at premium rates, and toll fraud pumps calls to them. Source:
# ITU-T E.164 assigned country codes (Annex to ITU Operational Bulletin, "List of ITU-T
# Recommendation E.164 assigned country codes"): +800 international freephone, +808 shared cost,
# +870 Inmarsat, +878 universal personal telecommunications, +881 global mobile satellite
# (Iridium +8816/+8817, Globalstar +8818/+8819), +882 and +883 international networks, +888
# OCHA disaster relief, +979 international premium rate, +991 ITPCS trial.
DEFAULT_BLOCKED_PREFIXES: tuple[str, ...] = (
    "+800",
    "+808",
    "+870",
    "+878",
    "+881",
    "+882",
    "+883",
    "+888",
    "+979",
    "+991",
)


def calling_code(phone: str) -> str:
    """``+`` and the country calling code of an E.164 number: what events and errors name."""
    return "+" + _numbers.country_code(phone)


def built_in_country(phone: str) -> str | None:
    """The region (ISO 3166-1 alpha-2) of an E.164 number by the built-in tables, or None when
    its calling code is unknown or shared with no split to tell the regions apart."""
    code = _numbers.country_code(phone)
    regions = CALLING_CODES.get(code)
    if regions is None:
        return None
    if len(regions) == 1:
        return regions[0]
    split = SPLITS.get(code)
    if split is None:
        return None
    national = phone[1 + len(code) :]
    for digits, region in split:
        if national.startswith(digits):
            return region
    return regions[0]


def country_of(phone: str) -> str | None:
    """The region of an E.164 number: by libphonenumber when ``phonenumbers`` is installed (None
    for a number valid nowhere), else by the built-in tables."""
    if not _numbers.libphonenumber_available():
        return built_in_country(phone)
    import phonenumbers

    try:
        parsed = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    return region if region and region != phonenumbers.UNKNOWN_REGION else None


def destination_refusal(
    phone: str, blocked_prefixes: tuple[str, ...], allowed_countries: frozenset[str] | None
) -> tuple[DestinationSetting, str] | None:
    """Why a verifier must not ring ``phone``: the setting and a message naming it; or None."""
    if phone.startswith(blocked_prefixes):
        return "blocked_prefixes", (
            f"calls to {calling_code(phone)} numbers are refused (blocked_prefixes)"
        )
    if allowed_countries is None:
        return None
    country = country_of(phone)
    if country is None:
        regions = CALLING_CODES.get(_numbers.country_code(phone), ())
        if regions and allowed_countries.issuperset(regions):
            return None  # every region of the code is allowed: no need to tell which
        how = (
            "it is valid in no country"
            if _numbers.libphonenumber_available()
            else "its country cannot be told without the phonenumbers extra "
            "(pip install bird-flashcalls[phonenumbers])"
        )
        return "allowed_countries", (
            f"a {calling_code(phone)} number is refused (allowed_countries): {how}"
        )
    if country not in allowed_countries:
        return "allowed_countries", (
            f"calls to {country} ({calling_code(phone)}) are refused (allowed_countries)"
        )
    return None


def destination_key(phone: str) -> str:
    """What the budget for new destinations counts a start under: the number's region where the
    built-in tables tell it (so +1 876 is not the US), else its calling code."""
    return built_in_country(phone) or calling_code(phone)


def client_key_for_ip(address: str) -> str:
    """The ``client_key`` of a client's IP address for ``start``: an IPv4 address as it is, an
    IPv4-mapped IPv6 address as its IPv4 address, any other IPv6 address as its /64 (one
    subscriber's allocation: a new address per request counts as the same client).

    Raises ValueError for a string that is not an IP address."""
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        raise ValueError(
            "client_key_for_ip needs an IPv4 or IPv6 address (e.g. request.client.host)"
        ) from None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class ProvenDestinations:
    """The countries (``destination_key``) where this verifier saw a challenge verified lately.

    Kept per verifier, in memory: a worker that has not seen one yet counts its starts there
    under ``new_destination_limit``, which the store shares, so restarts and new workers only
    spend that budget until their first verified check."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}  # at most one entry per country

    def holds(self, destination: str, now: float, allowed: frozenset[str] | None) -> bool:
        """Whether a challenge to ``destination`` was verified within PROVEN_FOR of ``now``, or
        the app allowed it by name (``allowed_countries``)."""
        if allowed is not None and destination in allowed:
            return True
        return self._until.get(destination, 0.0) > now

    def add(self, destination: str, now: float) -> None:
        """A challenge to ``destination`` was verified at ``now``."""
        self._until[destination] = now + PROVEN_FOR
