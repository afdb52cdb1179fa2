"""Rate limits: Litestar's rate-limit middleware over a store (Redis in production, memory
embedded), keyed by who asks where, and a stricter count of failed joins.

The middleware's own identifier is the client address, which ignores the tenant and lumps
together everyone behind one address (a theme day's venue network). Here a signed-in caller
is counted per principal and tenant; only anonymous requests are counted per address. The
address is the ASGI client's: behind a load balancer, let the server rewrite it from trusted
proxy headers (uvicorn `--proxy-headers --forwarded-allow-ips`); a client-sent
`X-Forwarded-For` is never trusted here, since it would let a guesser pick a new one per try.

Guessing is throttled apart, by `Attempts`: atomic counters (one Redis script that checks and
counts together, or memory embedded) of sign-ins per account and per address, and of join
codes per code prefix (the first group of a code) and per address with a far higher bound.
A right password or code is given back, so only wrong ones use a window up; one table typing
its code wrong locks only codes that start the same way, not every table on the venue's
network. The answer past a limit is 429 whose text and `Retry-After` give the same wait.
Each process also counts in its own memory, which bounds it alone while Redis is slow or away.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from litestar import Request
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.exceptions import RedisError

from services.auth.guards import TENANT_PARAM
from services.auth.principal import Principal
from services.settings import Settings

RATE_LIMIT_STORE = "rate_limit"
WINDOW_SECONDS = 60
# The in-memory counters drop ended windows once they hold this many keys.
MEMORY_KEYS_BOUND = 10_000
logger = logging.getLogger("balkort.http")


def rate_limit_stores(settings: Settings, client: aioredis.Redis | None) -> dict[str, Store]:
    """The store the general limit counts in: Redis when the process has one (shared by every
    API process), else memory. It fails open when Redis does not answer (an outage must not take
    the API down with it). Sign-ins and join codes are counted apart (`Attempts`)."""
    if client is None:
        return {RATE_LIMIT_STORE: MemoryStore()}
    redis_store = RedisStore(client, namespace=settings.rate_limit_namespace, handle_client_shutdown=False)
    return {RATE_LIMIT_STORE: FailOpenStore(redis_store)}


class FailOpenStore(Store):
    """A store that forgets, instead of failing, while its backend does not answer."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        try:
            await self.inner.set(key, value, expires_in)
        except (RedisError, OSError) as error:
            logger.warning("rate-limit store unavailable, not counting: %s", error)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        try:
            return await self.inner.get(key, renew_for)
        except (RedisError, OSError) as error:
            logger.warning("rate-limit store unavailable, not limiting: %s", error)
            return None

    async def delete(self, key: str) -> None:
        try:
            await self.inner.delete(key)
        except (RedisError, OSError) as error:
            logger.warning("rate-limit store unavailable: %s", error)

    async def delete_all(self) -> None:
        await self.inner.delete_all()

    async def exists(self, key: str) -> bool:
        try:
            return await self.inner.exists(key)
        except (RedisError, OSError):
            return False

    async def expires_in(self, key: str) -> int | None:
        try:
            return await self.inner.expires_in(key)
        except (RedisError, OSError):
            return None


def caller_identity(request: Request[Any, Any, Any]) -> str:
    """Who the request counts against: the principal in the path's tenant, else the address."""
    principal = request.scope.get("user")
    if isinstance(principal, Principal):
        tenant = request.scope.get("path_params", {}).get(TENANT_PARAM, "-")
        return f"principal:{principal.user_id}:tenant:{tenant}"
    return f"address:{client_address(request)}"


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


async def counts(request: Request[Any, Any, Any]) -> bool:
    """CORS preflights (`OPTIONS`) do nothing and carry no token: they are not counted."""
    return request.method != "OPTIONS"


def rate_limit_config(settings: Settings) -> RateLimitConfig:
    """The limit every API route shares; liveness, the API documents and preflights are exempt."""
    return RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        identifier_for_request=caller_identity,
        check_throttle_handler=counts,
        # Probes and scrapes too: a load balancer's checks must never be throttled into "down".
        exclude=["^/healthz$", "^/readyz$", "^/metrics$", "^/schema"],
        store=RATE_LIMIT_STORE,
        set_rate_limit_headers=True,
    )


class Throttled(TooManyRequestsException):
    """429: too many attempts; `seconds` until the next is let through (the `Retry-After`)."""

    def __init__(self, detail: str, seconds: int) -> None:
        self.seconds = seconds
        super().__init__(detail, headers={"Retry-After": str(seconds)})


# Checks every counter of an attempt and, only when none is at its limit, counts the attempt
# in all of them: one atomic step, so concurrent attempts can never overshoot a limit.
# KEYS: the counters; ARGV[1]: the window in seconds; ARGV[1 + i]: the limit of KEYS[i].
# Returns the seconds until the fullest counter frees up, or 0 when the attempt was counted.
_TAKE = """
local window = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('TTL', key)
    if ttl < 0 then redis.call('EXPIRE', key, window); ttl = window end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, window) end
end
return 0
"""
# Takes one attempt back from each counter that still runs (a right code, a right password).
_GIVE_BACK = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 0
"""


class Attempts:
    """Counters of attempts (sign-ins, join codes) in fixed windows, shared by every API process
    through Redis, or in memory in the embedded default. An attempt is counted before it is
    checked, and only while every counter it names is under its limit, in one atomic step."""

    def __init__(
        self, client: aioredis.Redis | None, namespace: str, window_seconds: int = WINDOW_SECONDS
    ) -> None:
        self._redis = client
        self._namespace = namespace
        self.window_seconds = window_seconds
        # key -> (count, when the window ends, monotonic)
        self._memory: dict[str, tuple[int, float]] = {}

    def _key(self, key: str) -> str:
        return f"{self._namespace}:attempts:{key}"

    async def take(self, limits: Mapping[str, int]) -> int:
        """Counts one attempt against every key in `limits` (key -> limit per window) and
        returns 0; or, when a key is at its limit, counts nothing and returns the seconds until
        it frees up.

        This process always counts in its own memory too, so it never lets more than a limit
        through by itself, also while Redis answers slowly or not at all (then guessing stays
        slowed per process, and signing in keeps working); Redis bounds every process together.
        """
        wait = self._take_in_memory(limits)
        if wait or self._redis is None:
            return wait
        keys = [self._key(k) for k in limits]
        try:
            wait = int(await self._redis.eval(_TAKE, len(keys), *keys, self.window_seconds, *limits.values()))
        except (RedisError, OSError) as error:
            logger.warning("attempt counters unavailable, counting in this process only: %s", error)
            return 0
        if wait:
            self._give_back_in_memory(limits)
        return wait

    async def give_back(self, keys: Iterable[str]) -> None:
        """Takes back one attempt from each key (the attempt turned out right)."""
        keys = list(keys)
        self._give_back_in_memory(keys)
        if self._redis is None:
            return
        names = [self._key(k) for k in keys]
        try:
            await self._redis.eval(_GIVE_BACK, len(names), *names)
        except (RedisError, OSError) as error:
            # Only a right attempt goes uncredited; its window ends anyway.
            logger.warning("attempt counters unavailable: %s", error)

    def _give_back_in_memory(self, keys: Iterable[str]) -> None:
        for key in keys:
            count, ends = self._memory.get(key, (0, 0.0))
            if count > 0:
                self._memory[key] = (count - 1, ends)

    def _take_in_memory(self, limits: Mapping[str, int]) -> int:
        # No await in here: on one event loop this is as atomic as the script.
        now = time.monotonic()
        current = {}
        for key in limits:
            count, ends = self._memory.get(key, (0, 0.0))
            current[key] = (count, ends) if ends > now else (0, now + self.window_seconds)
        wait = max(
            (ends - now for key, (count, ends) in current.items() if count >= limits[key]), default=0.0
        )
        if wait > 0:
            return max(1, math.ceil(wait))
        if len(self._memory) > MEMORY_KEYS_BOUND:
            self._memory = {k: v for k, v in self._memory.items() if v[1] > now}
        for key, (count, ends) in current.items():
            self._memory[key] = (count + 1, ends)
        return 0


def attempts_for(settings: Settings, client: aioredis.Redis | None) -> Attempts:
    """The attempt counters: in Redis when the process has one, else in memory."""
    return Attempts(client, settings.rate_limit_namespace)


async def take_attempt(attempts: Attempts, limits: Mapping[str, int], refusal: str) -> None:
    """Counts an attempt, or refuses it: 429 `Throttled` whose text says the same wait as its
    `Retry-After` (`refusal` with `{seconds}`)."""
    wait = await attempts.take(limits)
    if wait > 0:
        raise Throttled(refusal.format(seconds=wait), wait)


async def give_back(attempts: Attempts, keys: Iterable[str]) -> None:
    """Takes back a right attempt (a right password or code uses no window up)."""
    await attempts.give_back(keys)
