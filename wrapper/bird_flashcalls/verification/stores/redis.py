"""RedisStore: challenges in Redis, shared by any number of machines.

Each operation on a challenge is one Lua script (``register_script``, from ``lua/*.lua``) on
one key, so it is atomic without WATCH retries; the scripts mirror the state changes of
``_transitions`` line by line (the shared store test suite holds them to it). Keys of one
challenge share a ``{hash tag}`` and no script touches two slots, so it works on Redis Cluster. Records and rate-limit keys carry an
expiry (PEXPIREAT / PEXPIRE): Redis forgets them by itself.

Keys, under ``prefix`` (``bird-flashcalls`` by default):

- ``{prefix}:challenge:{<id>}``: a hash, one challenge;
- ``{prefix}:due``: a sorted set, challenge id -> when ``expire_due()`` must look at it next;
- ``{prefix}:limit:{<kind>:<hash>}``: a sorted set of start times, one per rate-limit key (a
  keyed hash of the phone number or client key, never the value itself);
- ``{prefix}:salt``: the random key of that hash, shared by every worker;
- ``{prefix}:callers:{callers}`` and ``...:counts``: the last caller endings seen (keyed hashes)
  and how often each is among them, for ``guess_chance()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import ConfigurationError
from .._store import (
    AsyncStoreOperations,
    CallerSample,
    CancelOutcome,
    CheckOutcome,
    Claim,
    Quota,
    Record,
    Refusal,
    Report,
    StoreOperations,
    UserAnswer,
    VerificationStore,
)
from ._redis_commands import RedisCommands, run, run_async


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
            self._ops = _SyncRedis(RedisCommands(client, prefix))
        elif isinstance(client, redis.asyncio.Redis | redis.asyncio.RedisCluster):
            self._ops = _AsyncRedis(RedisCommands(client, prefix))
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

    def sync_operations(self) -> StoreOperations:
        if isinstance(self._ops, _AsyncRedis):
            raise ConfigurationError(
                "this RedisStore has a redis.asyncio client: use it with AsyncVerifier, or give "
                "Verifier a RedisStore(redis.Redis(...))"
            )
        return self._ops

    def async_operations(self) -> AsyncStoreOperations | None:
        if isinstance(self._ops, _AsyncRedis):
            return self._ops
        raise ConfigurationError(
            "this RedisStore has a synchronous redis client: give AsyncVerifier a "
            "RedisStore(redis.asyncio.Redis(...))"
        )


class _SyncRedis(StoreOperations):
    def __init__(self, commands: RedisCommands) -> None:
        self._commands = commands

    def salt(self) -> bytes:
        return run(self._commands.salt())

    def take_quotas(self, quotas: Sequence[Quota], now: float, member: str) -> Refusal | None:
        return run(self._commands.take_quotas(quotas, now, member))

    def create(self, record: Record) -> None:
        return run(self._commands.create(record))

    def snapshot(self, challenge_id: str) -> Record | None:
        return run(self._commands.snapshot(challenge_id))

    def check(
        self, challenge_id: str, answer: UserAnswer, now: float, claim: Claim
    ) -> CheckOutcome:
        return run(self._commands.check(challenge_id, answer, now, claim))

    def cancel(self, challenge_id: str, now: float, claim: Claim) -> CancelOutcome:
        return run(self._commands.cancel(challenge_id, now, claim))

    def claim_due(self, now: float, claim: Claim, limit: int) -> list[Report]:
        return run(self._commands.claim_due(now, claim, limit))

    def report_done(self, challenge_id: str, token: str, now: float) -> None:
        return run(self._commands.report_done(challenge_id, token, now))

    def report_failed(self, challenge_id: str, token: str, now: float, give_up: bool) -> None:
        return run(self._commands.report_failed(challenge_id, token, now, give_up))

    def note_caller(self, ending: str, keep: int) -> CallerSample:
        return run(self._commands.note_caller(ending, keep))

    def caller_sample(self) -> CallerSample:
        return run(self._commands.caller_sample())


class _AsyncRedis(AsyncStoreOperations):
    def __init__(self, commands: RedisCommands) -> None:
        self._commands = commands

    async def salt(self) -> bytes:
        return await run_async(self._commands.salt())

    async def take_quotas(self, quotas: Sequence[Quota], now: float, member: str) -> Refusal | None:
        return await run_async(self._commands.take_quotas(quotas, now, member))

    async def create(self, record: Record) -> None:
        return await run_async(self._commands.create(record))

    async def snapshot(self, challenge_id: str) -> Record | None:
        return await run_async(self._commands.snapshot(challenge_id))

    async def check(
        self, challenge_id: str, answer: UserAnswer, now: float, claim: Claim
    ) -> CheckOutcome:
        return await run_async(self._commands.check(challenge_id, answer, now, claim))

    async def cancel(self, challenge_id: str, now: float, claim: Claim) -> CancelOutcome:
        return await run_async(self._commands.cancel(challenge_id, now, claim))

    async def claim_due(self, now: float, claim: Claim, limit: int) -> list[Report]:
        return await run_async(self._commands.claim_due(now, claim, limit))

    async def report_done(self, challenge_id: str, token: str, now: float) -> None:
        return await run_async(self._commands.report_done(challenge_id, token, now))

    async def report_failed(self, challenge_id: str, token: str, now: float, give_up: bool) -> None:
        return await run_async(self._commands.report_failed(challenge_id, token, now, give_up))

    async def note_caller(self, ending: str, keep: int) -> CallerSample:
        return await run_async(self._commands.note_caller(ending, keep))

    async def caller_sample(self) -> CallerSample:
        return await run_async(self._commands.caller_sample())
