"""RedisStore: challenges in Redis, shared by any number of machines.

Each operation on a challenge is one Lua script (``register_script``) on one key, so it is
atomic without WATCH retries; the scripts mirror the state changes of ``_flow`` line by line
(the shared store test suite holds them to it). Keys of one challenge share a ``{hash tag}`` and
no script touches two slots, so it works on Redis Cluster. Records and rate-limit keys carry an
expiry (PEXPIREAT / PEXPIRE): Redis forgets them by itself.

Keys, under ``prefix`` (``bird-flashcalls`` by default):

- ``{prefix}:challenge:{<id>}``: a hash, one challenge;
- ``{prefix}:due``: a sorted set, challenge id -> when ``expire_due()`` must look at it next;
- ``{prefix}:limit:{<kind>:<hash>}``: a sorted set of start times, one per rate-limit key (a
  keyed hash of the phone number or client key, never the value itself);
- ``{prefix}:salt``: the random key of that hash, shared by every worker.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from ...errors import ConfigurationError
from .. import _flow
from .._models import NOT_FOUND
from .._store import (
    Answer,
    AsyncStore,
    CancelOutcome,
    CheckOutcome,
    Claim,
    Quota,
    Record,
    Refusal,
    Report,
    Store,
    VerificationStore,
)

# Shared by the scripts that end a challenge: set its report, claim it, keep the record until
# it is reported (UNREPORTED_KEPT_FOR past its expiry). Mirrors _flow._end.
# KEYS[1] the challenge; ARGV: ..., now, token, lease_until, unreported_kept_for.
_END = """
local function finish(key, state, result, cli, now, expires, token, lease, kept)
  local purge = math.max(expires, now) + kept
  redis.call('HSET', key, 'state', state, 'report', result, 'report_cli', cli,
    'claim', token, 'lease_until', lease, 'due_at', lease, 'purge_at', tostring(purge))
  redis.call('PEXPIREAT', key, string.format('%.0f', math.ceil(purge * 1000)))
end
"""

# _flow.on_check. ARGV: matched (1/0), received_cli ('' for none), now, token, lease_until, kept.
# Returns {status, attempts_left, result ('' when nothing to report), newly_expired, call_id}.
_CHECK = (
    _END
    + """
local key = KEYS[1]
local r = redis.call('HMGET', key, 'state', 'attempts', 'max_attempts', 'expires_at', 'call_id')
local state = r[1]
if not state then return {'not_found', 0, '', 0, ''} end
if state == 'verified' or state == 'canceled' then return {'not_found', 0, '', 0, ''} end
if state == 'locked' then return {'locked', 0, '', 0, ''} end
if state == 'expired' then return {'expired', 0, '', 0, ''} end
local now = tonumber(ARGV[3])
local expires = tonumber(r[4])
local attempts = tonumber(r[2])
local max = tonumber(r[3])
local kept = tonumber(ARGV[6])
if now >= expires then
  finish(key, 'expired', 'timeout', '', now, expires, ARGV[4], ARGV[5], kept)
  return {'expired', 0, 'timeout', 1, r[5]}
end
if ARGV[1] == '1' then
  finish(key, 'verified', 'verified', ARGV[2], now, expires, ARGV[4], ARGV[5], kept)
  return {'verified', max - attempts, 'verified', 0, r[5]}
end
attempts = attempts + 1
redis.call('HSET', key, 'attempts', attempts)
if attempts < max then return {'wrong', max - attempts, '', 0, ''} end
finish(key, 'locked', 'wrong_cli', ARGV[2], now, expires, ARGV[4], ARGV[5], kept)
return {'locked', 0, 'wrong_cli', 0, r[5]}
"""
)

# _flow.on_cancel. ARGV: now, token, lease_until, kept.
# Returns {canceled (1/0), result ('' for none), newly_expired, call_id}.
_CANCEL = (
    _END
    + """
local key = KEYS[1]
local r = redis.call('HMGET', key, 'state', 'expires_at', 'call_id')
if r[1] ~= 'pending' then return {0, '', 0, ''} end
local now = tonumber(ARGV[1])
local expires = tonumber(r[2])
if now >= expires then
  finish(key, 'expired', 'timeout', '', now, expires, ARGV[2], ARGV[3], tonumber(ARGV[4]))
  return {0, 'timeout', 1, r[3]}
end
finish(key, 'canceled', 'canceled', '', now, expires, ARGV[2], ARGV[3], tonumber(ARGV[4]))
return {1, 'canceled', 0, r[3]}
"""
)

# _flow.on_due. ARGV: now, token, lease_until, kept.
# Returns {'gone'}, {'later', when} or {'claim', result, received_cli, newly_expired, call_id}.
_DUE = (
    _END
    + """
local key = KEYS[1]
local r = redis.call('HMGET', key, 'state', 'expires_at', 'report', 'report_cli', 'claim',
  'lease_until', 'call_id')
if not r[1] then return {'gone'} end
local now = tonumber(ARGV[1])
if r[1] == 'pending' then
  local expires = tonumber(r[2])
  if now >= expires then
    finish(key, 'expired', 'timeout', '', now, expires, ARGV[2], ARGV[3], tonumber(ARGV[4]))
    return {'claim', 'timeout', '', 1, r[7]}
  end
  redis.call('HSET', key, 'due_at', r[2])
  return {'later', r[2]}
end
if r[3] == '' then
  redis.call('HSET', key, 'due_at', '')
  return {'gone'}
end
if r[5] ~= '' and tonumber(r[6]) > now then
  redis.call('HSET', key, 'due_at', r[6])
  return {'later', r[6]}
end
redis.call('HSET', key, 'claim', ARGV[2], 'lease_until', ARGV[3], 'due_at', ARGV[3])
return {'claim', r[3], r[4], 0, r[7]}
"""
)

# Shared by report_done and a dropped report: _flow.on_report_done. Returns 1 when a report
# was waiting.
_DONE_FUNCTION = """
local function done(key, state, expires, now, ended_kept)
  if state == 'verified' or state == 'canceled' then
    redis.call('DEL', key)
    return 1
  end
  local purge = expires + ended_kept
  if purge <= now then
    redis.call('DEL', key)
    return 1
  end
  redis.call('HSET', key, 'report', '', 'report_cli', '', 'claim', '', 'due_at', '',
    'purge_at', tostring(purge))
  redis.call('PEXPIREAT', key, string.format('%.0f', math.ceil(purge * 1000)))
  return 1
end
"""

# ARGV: now, ended_kept_for.
_REPORT_DONE = (
    _DONE_FUNCTION
    + """
local r = redis.call('HMGET', KEYS[1], 'report', 'state', 'expires_at')
if not r[1] or r[1] == '' then return 0 end
return done(KEYS[1], r[2], tonumber(r[3]), tonumber(ARGV[1]), tonumber(ARGV[2]))
"""
)

# _flow.on_report_failed. ARGV: token, now, give_up (1/0), ended_kept_for.
# Returns 0 (not ours), 1 (released: due now) or 2 (dropped).
_REPORT_FAILED = (
    _DONE_FUNCTION
    + """
local r = redis.call('HMGET', KEYS[1], 'report', 'claim', 'state', 'expires_at')
if not r[1] or r[1] == '' or r[2] ~= ARGV[1] then return 0 end
if ARGV[3] == '1' then
  done(KEYS[1], r[3], tonumber(r[4]), tonumber(ARGV[2]), tonumber(ARGV[4]))
  return 2
end
redis.call('HSET', KEYS[1], 'claim', '', 'lease_until', ARGV[2], 'due_at', ARGV[2])
return 1
"""
)

# One quota: _flow.quota_wait, and count the start when it fits.
# KEYS[1] the quota's sorted set; ARGV: now, window, limit, member.
# Returns nil when it fits, else the seconds to wait (as a string).
_TAKE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.ceil(window * 1000)))
return false
"""

# HSET of every field, and the record's expiry. ARGV: purge_at in ms, then field, value pairs.
_CREATE = """
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
"""

_SCRIPTS = {
    "check": _CHECK,
    "cancel": _CANCEL,
    "due": _DUE,
    "report_done": _REPORT_DONE,
    "report_failed": _REPORT_FAILED,
    "take": _TAKE,
    "create": _CREATE,
}


class RedisStore(VerificationStore):
    """Challenges in Redis, for workers on many machines (``pip install bird-flashcalls[redis]``).

    ``client`` is a ``redis.Redis`` (for Verifier) or a ``redis.asyncio.Redis`` (for
    AsyncVerifier), or the RedisCluster of either; ``decode_responses`` may be on or off.
    ``prefix`` starts every key, to share a Redis with other data.
    """

    blocking = False

    def __init__(self, client: Any, *, prefix: str = "bird-flashcalls") -> None:
        try:
            import redis
            import redis.asyncio
        except ImportError:  # pragma: no cover - the client passed in needs redis already
            raise ConfigurationError(
                "RedisStore needs the redis package: pip install 'bird-flashcalls[redis]'"
            ) from None
        if not isinstance(prefix, str) or not prefix or "{" in prefix or "}" in prefix:
            raise ConfigurationError(
                f"prefix must be a non-empty string without braces, got {prefix!r}"
            )
        self._prefix = prefix
        self._client = client
        self._ops: _SyncRedis | _AsyncRedis
        if isinstance(client, redis.Redis | redis.RedisCluster):
            self._ops = _SyncRedis(client, prefix)
        elif isinstance(client, redis.asyncio.Redis | redis.asyncio.RedisCluster):
            self._ops = _AsyncRedis(client, prefix)
        else:
            raise ConfigurationError(
                "RedisStore needs a redis.Redis or redis.asyncio.Redis client, got "
                f"{type(client).__name__}"
            )

    @property
    def client(self) -> Any:
        """The Redis client given; closing it is up to you (``close()`` leaves it open)."""
        return self._client

    def __repr__(self) -> str:
        kind = "redis.asyncio" if isinstance(self._ops, _AsyncRedis) else "redis"
        return f"RedisStore({kind}, prefix={self._prefix!r})"

    def sync_operations(self) -> Store:
        if isinstance(self._ops, _AsyncRedis):
            raise ConfigurationError(
                "this RedisStore has a redis.asyncio client: use it with AsyncVerifier, or give "
                "Verifier a RedisStore(redis.Redis(...))"
            )
        return self._ops

    def async_operations(self) -> AsyncStore | None:
        if isinstance(self._ops, _AsyncRedis):
            return self._ops
        raise ConfigurationError(
            "this RedisStore has a synchronous redis client: give AsyncVerifier a "
            "RedisStore(redis.asyncio.Redis(...))"
        )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _optional(value: Any) -> str | None:
    text = _text(value)
    return text or None


def _float(value: float) -> str:
    return repr(float(value))


class _Keys:
    """Key names, script arguments and the parsing of answers: what both clients share."""

    # What a check compares with, fixed at create (and the expiry, for the due index).
    FIXED = ("expected_cli", "code_digits", "expires_at")

    def __init__(self, prefix: str) -> None:
        self.due = f"{prefix}:due"
        self.salt = f"{prefix}:salt"
        self._challenge = f"{prefix}:challenge:"
        self._limit = f"{prefix}:limit:"

    def challenge(self, challenge_id: str) -> str:
        return self._challenge + "{" + challenge_id + "}"

    def limit(self, quota: Quota) -> str:
        return self._limit + "{" + quota.key + "}"

    def take(self, quota: Quota, now: float, member: str) -> dict[str, Any]:
        return {
            "keys": [self.limit(quota)],
            "args": [_float(now), _float(quota.window), quota.limit, member],
        }

    @staticmethod
    def refusal(quotas: Sequence[Quota], waits: list[Any]) -> tuple[Refusal | None, list[Quota]]:
        """The refusal with the longest wait (or None), and the quotas that took the start."""
        refusal = None
        taken = []
        for quota, wait in zip(quotas, waits, strict=True):
            if wait is None:
                taken.append(quota)
                continue
            seconds = float(_text(wait))
            if refusal is None or seconds > refusal.retry_after:
                refusal = Refusal(quota.name, seconds)
        return refusal, taken

    def create(self, record: Record) -> dict[str, Any]:
        return {"keys": [self.challenge(record.id)], "args": self.create_args(record)}

    def check(
        self, challenge_id: str, matched: bool, received_cli: str | None, now: float, claim: Claim
    ) -> dict[str, Any]:
        return {
            "keys": [self.challenge(challenge_id)],
            "args": [int(matched), received_cli or "", *self.end_args(now, claim)],
        }

    def report_done(self, challenge_id: str, now: float) -> dict[str, Any]:
        return {
            "keys": [self.challenge(challenge_id)],
            "args": [_float(now), _float(_flow.ENDED_KEPT_FOR)],
        }

    @staticmethod
    def create_args(record: Record) -> list[str | int | float]:
        fields: list[str | int | float] = [f"{record.purge_at * 1000:.0f}"]
        for name, value in (
            ("id", record.id),
            ("call_id", record.call_id),
            ("phone", record.phone),
            ("expected_cli", record.expected_cli),
            ("code_digits", record.code_digits),
            ("max_attempts", record.max_attempts),
            ("expires_at", _float(record.expires_at)),
            ("attempts", record.attempts),
            ("state", record.state),
            ("report", record.report or ""),
            ("report_cli", record.report_cli or ""),
            ("claim", record.claim or ""),
            ("lease_until", _float(record.lease_until)),
            ("due_at", "" if record.due_at is None else _float(record.due_at)),
            ("purge_at", _float(record.purge_at)),
        ):
            fields += [name, value]
        return fields

    @staticmethod
    def record(data: dict[Any, Any]) -> Record | None:
        if not data:
            return None
        fields = {_text(name): _text(value) for name, value in data.items()}
        return Record(
            id=fields["id"],
            call_id=fields["call_id"],
            phone=fields["phone"],
            expected_cli=fields["expected_cli"],
            code_digits=int(fields["code_digits"]),
            max_attempts=int(fields["max_attempts"]),
            expires_at=float(fields["expires_at"]),
            attempts=int(fields["attempts"]),
            state=fields["state"],
            report=fields["report"] or None,
            report_cli=fields["report_cli"] or None,
            claim=fields["claim"] or None,
            lease_until=float(fields["lease_until"]),
            due_at=float(fields["due_at"]) if fields["due_at"] else None,
            purge_at=float(fields["purge_at"]),
        )

    @staticmethod
    def end_args(now: float, claim: Claim) -> list[str]:
        return [_float(now), claim.token, _float(claim.until), _float(_flow.UNREPORTED_KEPT_FOR)]

    @staticmethod
    def check_outcome(
        challenge_id: str, answer: list[Any], received_cli: str | None, claim: Claim
    ) -> CheckOutcome:
        status, left, result, newly_expired, call_id = answer
        status, result = _text(status), _text(result)
        report = None
        if result:
            cli = None if result == _flow.TIMEOUT else received_cli
            report = Report(
                challenge_id, _text(call_id), result, cli, claim.token, bool(newly_expired)
            )
        return CheckOutcome(status, int(left), report)

    @staticmethod
    def cancel_outcome(challenge_id: str, answer: list[Any], claim: Claim) -> CancelOutcome:
        canceled, result, newly_expired, call_id = answer
        result = _text(result)
        report = None
        if result:
            report = Report(
                challenge_id, _text(call_id), result, None, claim.token, bool(newly_expired)
            )
        return CancelOutcome(bool(canceled), report)

    @staticmethod
    def due_step(challenge_id: str, answer: list[Any], claim: Claim) -> tuple[str, Any]:
        """("claim", Report), ("later", when) or ("gone", None)."""
        kind = _text(answer[0])
        if kind == "claim":
            _, result, cli, newly_expired, call_id = answer
            report = Report(
                challenge_id,
                _text(call_id),
                _text(result),
                _optional(cli),
                claim.token,
                bool(newly_expired),
            )
            return kind, report
        if kind == "later":
            return kind, float(_text(answer[1]))
        return "gone", None


class _SyncRedis(Store):
    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._keys = _Keys(prefix)
        self._scripts = {name: client.register_script(source) for name, source in _SCRIPTS.items()}
        self._salt: bytes | None = None

    def salt(self) -> bytes:
        if self._salt is None:
            self._client.set(self._keys.salt, secrets.token_hex(32), nx=True)
            self._salt = bytes.fromhex(_text(self._client.get(self._keys.salt)))
        return self._salt

    def take_quotas(self, quotas: Sequence[Quota], now: float, member: str) -> Refusal | None:
        # Each quota has its own key (and Cluster slot), so they are taken together but not
        # atomically, and given back when one refuses: at worst a start is refused that a single
        # lock would have let through, never the other way round.
        pipe = self._client.pipeline(transaction=False)
        for quota in quotas:
            self._scripts["take"](**self._keys.take(quota, now, member), client=pipe)
        refusal, taken = self._keys.refusal(quotas, pipe.execute())
        if refusal is not None and taken:
            pipe = self._client.pipeline(transaction=False)
            for quota in taken:
                pipe.zrem(self._keys.limit(quota), member)
            pipe.execute()
        return refusal

    def create(self, record: Record) -> None:
        # The due entry first: a record is never without one (an entry without a record is
        # dropped by expire_due()). One round trip, in order, not atomic: two slots.
        pipe = self._client.pipeline(transaction=False)
        pipe.zadd(self._keys.due, {record.id: record.expires_at})
        self._scripts["create"](**self._keys.create(record), client=pipe)
        pipe.execute()

    def snapshot(self, challenge_id: str) -> Record | None:
        return self._keys.record(self._client.hgetall(self._keys.challenge(challenge_id)))

    def check(self, challenge_id: str, answer: Answer, now: float, claim: Claim) -> CheckOutcome:
        # The comparison reads only fields fixed at create; the script decides atomically.
        fixed = self._client.hmget(self._keys.challenge(challenge_id), *_Keys.FIXED)
        if fixed[0] is None:
            return CheckOutcome(NOT_FOUND, 0)
        matched, received_cli = answer.compare(_text(fixed[0]), int(fixed[1]))
        pipe = self._client.pipeline(transaction=False)
        # Due no later than the claim would end, whatever the script decides: a worker that
        # dies after it leaves a report that expire_due() finds.
        pipe.zadd(self._keys.due, {challenge_id: min(float(fixed[2]), claim.until)})
        self._scripts["check"](
            **self._keys.check(challenge_id, matched, received_cli, now, claim), client=pipe
        )
        decided = pipe.execute()[1]
        return self._keys.check_outcome(challenge_id, decided, received_cli, claim)

    def cancel(self, challenge_id: str, now: float, claim: Claim) -> CancelOutcome:
        answer = self._scripts["cancel"](
            keys=[self._keys.challenge(challenge_id)], args=self._keys.end_args(now, claim)
        )
        outcome = self._keys.cancel_outcome(challenge_id, answer, claim)
        if outcome.report is not None:
            self._client.zadd(self._keys.due, {challenge_id: claim.until})
        return outcome

    def claim_due(self, now: float, claim: Claim, limit: int) -> list[Report]:
        reports: list[Report] = []
        seen: set[str] = set()
        args = self._keys.end_args(now, claim)
        while len(reports) < limit:
            page = self._client.zrangebyscore(self._keys.due, "-inf", now, start=0, num=limit)
            ids = [_text(item) for item in page if _text(item) not in seen]
            if not ids:
                break
            for challenge_id in ids:
                seen.add(challenge_id)
                answer = self._scripts["due"](keys=[self._keys.challenge(challenge_id)], args=args)
                kind, value = self._keys.due_step(challenge_id, answer, claim)
                if kind == "claim":
                    reports.append(value)
                    self._client.zadd(self._keys.due, {challenge_id: claim.until})
                elif kind == "later":
                    self._client.zadd(self._keys.due, {challenge_id: value})
                else:
                    self._client.zrem(self._keys.due, challenge_id)
                if len(reports) == limit:
                    break
        return reports

    def report_done(self, challenge_id: str, token: str, now: float) -> None:
        pipe = self._client.pipeline(transaction=False)
        self._scripts["report_done"](**self._keys.report_done(challenge_id, now), client=pipe)
        pipe.zrem(self._keys.due, challenge_id)
        pipe.execute()

    def report_failed(self, challenge_id: str, token: str, now: float, give_up: bool) -> None:
        answer = self._scripts["report_failed"](
            keys=[self._keys.challenge(challenge_id)],
            args=[token, _float(now), int(give_up), _float(_flow.ENDED_KEPT_FOR)],
        )
        if answer == 1:
            self._client.zadd(self._keys.due, {challenge_id: now})
        elif answer == 2:
            self._client.zrem(self._keys.due, challenge_id)


class _AsyncRedis(AsyncStore):
    """_SyncRedis on a redis.asyncio client: the same calls, awaited."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._keys = _Keys(prefix)
        self._scripts = {name: client.register_script(source) for name, source in _SCRIPTS.items()}
        self._salt: bytes | None = None

    async def salt(self) -> bytes:
        if self._salt is None:
            await self._client.set(self._keys.salt, secrets.token_hex(32), nx=True)
            self._salt = bytes.fromhex(_text(await self._client.get(self._keys.salt)))
        return self._salt

    async def take_quotas(self, quotas: Sequence[Quota], now: float, member: str) -> Refusal | None:
        pipe = self._client.pipeline(transaction=False)
        for quota in quotas:
            await self._scripts["take"](**self._keys.take(quota, now, member), client=pipe)
        refusal, taken = self._keys.refusal(quotas, await pipe.execute())
        if refusal is not None and taken:
            pipe = self._client.pipeline(transaction=False)
            for quota in taken:
                pipe.zrem(self._keys.limit(quota), member)
            await pipe.execute()
        return refusal

    async def create(self, record: Record) -> None:
        pipe = self._client.pipeline(transaction=False)
        pipe.zadd(self._keys.due, {record.id: record.expires_at})
        await self._scripts["create"](**self._keys.create(record), client=pipe)
        await pipe.execute()

    async def snapshot(self, challenge_id: str) -> Record | None:
        return self._keys.record(await self._client.hgetall(self._keys.challenge(challenge_id)))

    async def check(
        self, challenge_id: str, answer: Answer, now: float, claim: Claim
    ) -> CheckOutcome:
        fixed = await self._client.hmget(self._keys.challenge(challenge_id), *_Keys.FIXED)
        if fixed[0] is None:
            return CheckOutcome(NOT_FOUND, 0)
        matched, received_cli = answer.compare(_text(fixed[0]), int(fixed[1]))
        pipe = self._client.pipeline(transaction=False)
        pipe.zadd(self._keys.due, {challenge_id: min(float(fixed[2]), claim.until)})
        await self._scripts["check"](
            **self._keys.check(challenge_id, matched, received_cli, now, claim), client=pipe
        )
        decided = (await pipe.execute())[1]
        return self._keys.check_outcome(challenge_id, decided, received_cli, claim)

    async def cancel(self, challenge_id: str, now: float, claim: Claim) -> CancelOutcome:
        answer = await self._scripts["cancel"](
            keys=[self._keys.challenge(challenge_id)], args=self._keys.end_args(now, claim)
        )
        outcome = self._keys.cancel_outcome(challenge_id, answer, claim)
        if outcome.report is not None:
            await self._client.zadd(self._keys.due, {challenge_id: claim.until})
        return outcome

    async def claim_due(self, now: float, claim: Claim, limit: int) -> list[Report]:
        reports: list[Report] = []
        seen: set[str] = set()
        args = self._keys.end_args(now, claim)
        while len(reports) < limit:
            page = await self._client.zrangebyscore(self._keys.due, "-inf", now, start=0, num=limit)
            ids = [_text(item) for item in page if _text(item) not in seen]
            if not ids:
                break
            for challenge_id in ids:
                seen.add(challenge_id)
                answer = await self._scripts["due"](
                    keys=[self._keys.challenge(challenge_id)], args=args
                )
                kind, value = self._keys.due_step(challenge_id, answer, claim)
                if kind == "claim":
                    reports.append(value)
                    await self._client.zadd(self._keys.due, {challenge_id: claim.until})
                elif kind == "later":
                    await self._client.zadd(self._keys.due, {challenge_id: value})
                else:
                    await self._client.zrem(self._keys.due, challenge_id)
                if len(reports) == limit:
                    break
        return reports

    async def report_done(self, challenge_id: str, token: str, now: float) -> None:
        pipe = self._client.pipeline(transaction=False)
        await self._scripts["report_done"](**self._keys.report_done(challenge_id, now), client=pipe)
        pipe.zrem(self._keys.due, challenge_id)
        await pipe.execute()

    async def report_failed(self, challenge_id: str, token: str, now: float, give_up: bool) -> None:
        answer = await self._scripts["report_failed"](
            keys=[self._keys.challenge(challenge_id)],
            args=[token, _float(now), int(give_up), _float(_flow.ENDED_KEPT_FOR)],
        )
        if answer == 1:
            await self._client.zadd(self._keys.due, {challenge_id: now})
        elif answer == 2:
            await self._client.zrem(self._keys.due, challenge_id)
