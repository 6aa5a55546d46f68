"""RedisStore: challenges in Redis, shared by any number of machines.

Each operation on a challenge is one Lua script (run by EVALSHA, from ``lua/*.lua``) on one
key, so it is atomic without WATCH retries; the scripts mirror the state changes of
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

import logging
from collections.abc import Sequence
from typing import Any, TypeVar

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
from .._store_errors import StoreError, store_error
from ._redis_commands import NOT_EVICTING, Commands, RedisCommands, run, run_async

logger = logging.getLogger("bird_flashcalls.verification")
T = TypeVar("T")


class RedisStore(VerificationStore):
    """Challenges in Redis, for workers on many machines (``pip install bird-flashcalls[redis]``).

    ``client`` is a ``redis.Redis`` (for Verifier) or a ``redis.asyncio.Redis`` (for
    AsyncVerifier), or the RedisCluster of either; ``decode_responses`` may be on or off.
    ``prefix`` starts every key, to share a Redis with other data.

    The server must not evict keys: its ``maxmemory-policy`` is read at construction (with
    ``redis.asyncio``, at the first operation) and anything but ``noeviction`` raises
    ``ConfigurationError``, unless ``allow_eviction=True``. Where CONFIG GET is not allowed
    (managed Redis), a warning is logged once. Any failure of Redis raises ``StoreError``.
    """

    blocking = False

    def __init__(
        self, client: Any, *, prefix: str = "bird-flashcalls", allow_eviction: bool = False
    ) -> None:
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
        commands = None
        if isinstance(client, redis.Redis | redis.RedisCluster):
            commands = RedisCommands(client, prefix)
            self._ops = _SyncRedis(commands)
        elif isinstance(client, redis.asyncio.Redis | redis.asyncio.RedisCluster):
            self._ops = _AsyncRedis(RedisCommands(client, prefix), allow_eviction)
        else:
            raise ConfigurationError(
                "RedisStore needs a redis.Redis or redis.asyncio.Redis client, got "
                f"{type(client).__name__}"
            )
        if commands is not None and not allow_eviction:
            check_eviction(self._ops.call("maxmemory_policy", commands.eviction_policy()))

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


def check_eviction(policy: str | None) -> None:
    """Refuse a server that may evict keys; warn where its policy cannot be read."""
    if policy is None:
        logger.warning(
            "RedisStore could not read maxmemory-policy (CONFIG GET is not allowed): make sure "
            "it is noeviction, or challenges and their reports may vanish when memory runs out"
        )
    elif policy != NOT_EVICTING:
        raise ConfigurationError(
            f"RedisStore needs a Redis that never evicts keys, but its maxmemory-policy is "
            f"{policy}: challenges and their reports would vanish unreported when memory runs "
            "out. Set maxmemory-policy noeviction (a full Redis then refuses writes, raised as "
            "StoreError), or pass allow_eviction=True to accept the loss"
        )


def translate(error: Exception, operation: str) -> StoreError:
    """redis-py's exception as a StoreError saying what to check."""
    import redis.exceptions as failures

    text = str(error)
    if isinstance(error, failures.TimeoutError):
        what, check = (
            "Redis did not answer in time",
            "the server's load and the client's socket_timeout",
        )
    elif isinstance(error, failures.ConnectionError | ConnectionError):
        what = f"could not reach Redis ({type(error).__name__}: refused, lost or not authorised)"
        check = "that the server is up and reachable, and the client's address and credentials"
    elif isinstance(error, failures.ReadOnlyError) or text.startswith("READONLY"):
        what, check = (
            "Redis is read-only",
            "that the client points at a primary (a failover may be under way)",
        )
    elif isinstance(error, getattr(failures, "OutOfMemoryError", ())) or text.startswith("OOM"):
        what, check = (
            "Redis is out of memory (maxmemory reached)",
            "the server's maxmemory and memory use",
        )
    elif text.startswith(("CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN")) or not isinstance(
        error, failures.RedisError
    ):
        what = f"the Redis Cluster is not serving ({type(error).__name__})"
        check = "the cluster's state (CLUSTER INFO) and its nodes"
    else:
        what = f"Redis refused a command ({type(error).__name__}: {text.splitlines()[0][:120] if text else ''})"
        check = "the server's log, and that its version is 6.2 or newer"
    return store_error("RedisStore", operation, what, check)


class _Calls:
    """Runs the commands of an operation, any failure of Redis raised as StoreError."""

    def __init__(self, commands: RedisCommands) -> None:
        import redis.exceptions as failures

        self._commands = commands
        self._failures = (failures.RedisError, failures.RedisClusterException, OSError)

    def call(self, operation: str, commands: Commands[T]) -> T:
        try:
            return run(commands)
        except self._failures as error:
            raise translate(error, operation) from error

    async def call_async(self, operation: str, commands: Commands[T]) -> T:
        try:
            return await run_async(commands)
        except self._failures as error:
            raise translate(error, operation) from error


class _SyncRedis(_Calls, StoreOperations):
    def salt(self) -> bytes:
        return self.call("salt", self._commands.salt())

    def take_quotas(self, quotas: Sequence[Quota], now: float, member: str) -> Refusal | None:
        return self.call("take_quotas", self._commands.take_quotas(quotas, now, member))

    def create(self, record: Record) -> None:
        return self.call("create", self._commands.create(record))

    def complete(self, record: Record) -> bool:
        return self.call("complete", self._commands.complete(record))

    def snapshot(self, challenge_id: str) -> Record | None:
        return self.call("snapshot", self._commands.snapshot(challenge_id))

    def check(
        self, challenge_id: str, answer: UserAnswer, now: float, claim: Claim
    ) -> CheckOutcome:
        return self.call("check", self._commands.check(challenge_id, answer, now, claim))

    def cancel(self, challenge_id: str, now: float, claim: Claim) -> CancelOutcome:
        return self.call("cancel", self._commands.cancel(challenge_id, now, claim))

    def claim_due(self, now: float, claim: Claim, limit: int) -> list[Report]:
        return self.call("claim_due", self._commands.claim_due(now, claim, limit))

    def report_done(self, challenge_id: str, token: str, now: float) -> None:
        return self.call("report_done", self._commands.report_done(challenge_id, token, now))

    def report_failed(self, challenge_id: str, token: str, now: float, give_up: bool) -> None:
        commands = self._commands.report_failed(challenge_id, token, now, give_up)
        return self.call("report_failed", commands)

    def note_caller(self, ending: str, keep: int) -> CallerSample:
        return self.call("note_caller", self._commands.note_caller(ending, keep))

    def caller_sample(self) -> CallerSample:
        return self.call("caller_sample", self._commands.caller_sample())


class _AsyncRedis(_Calls, AsyncStoreOperations):
    def __init__(self, commands: RedisCommands, allow_eviction: bool) -> None:
        super().__init__(commands)
        self._policy_checked = allow_eviction

    async def _run(self, operation: str, commands: Commands[T]) -> T:
        if not self._policy_checked:
            policy = await self.call_async("maxmemory_policy", self._commands.eviction_policy())
            check_eviction(policy)  # raises at every operation until the server is fixed
            self._policy_checked = True
        return await self.call_async(operation, commands)

    async def salt(self) -> bytes:
        return await self._run("salt", self._commands.salt())

    async def take_quotas(self, quotas: Sequence[Quota], now: float, member: str) -> Refusal | None:
        return await self._run("take_quotas", self._commands.take_quotas(quotas, now, member))

    async def create(self, record: Record) -> None:
        return await self._run("create", self._commands.create(record))

    async def complete(self, record: Record) -> bool:
        return await self._run("complete", self._commands.complete(record))

    async def snapshot(self, challenge_id: str) -> Record | None:
        return await self._run("snapshot", self._commands.snapshot(challenge_id))

    async def check(
        self, challenge_id: str, answer: UserAnswer, now: float, claim: Claim
    ) -> CheckOutcome:
        return await self._run("check", self._commands.check(challenge_id, answer, now, claim))

    async def cancel(self, challenge_id: str, now: float, claim: Claim) -> CancelOutcome:
        return await self._run("cancel", self._commands.cancel(challenge_id, now, claim))

    async def claim_due(self, now: float, claim: Claim, limit: int) -> list[Report]:
        return await self._run("claim_due", self._commands.claim_due(now, claim, limit))

    async def report_done(self, challenge_id: str, token: str, now: float) -> None:
        return await self._run("report_done", self._commands.report_done(challenge_id, token, now))

    async def report_failed(self, challenge_id: str, token: str, now: float, give_up: bool) -> None:
        commands = self._commands.report_failed(challenge_id, token, now, give_up)
        return await self._run("report_failed", commands)

    async def note_caller(self, ending: str, keep: int) -> CallerSample:
        return await self._run("note_caller", self._commands.note_caller(ending, keep))

    async def caller_sample(self) -> CallerSample:
        return await self._run("caller_sample", self._commands.caller_sample())
