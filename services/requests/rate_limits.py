"""Rate limits: Litestar's rate-limit middleware over a store (Redis in production, memory
embedded), keyed by who asks where, and a stricter count of failed joins.

The middleware's own identifier is the client address, which ignores the tenant and lumps
together everyone behind one address (a theme day's venue network). Here a signed-in caller
is counted per principal and tenant; only anonymous requests are counted per address. The
address is the ASGI client's: behind a load balancer, let the server rewrite it from trusted
proxy headers (uvicorn `--proxy-headers --forwarded-allow-ips`); a client-sent
`X-Forwarded-For` is never trusted here, since it would let a guesser pick a new one per try.

Guessing is throttled apart, by `Attempts` (services/stores/attempts.py): atomic counters (one Redis script that checks and
counts together, or memory embedded) of sign-ins per account and per address, and of join
codes per code prefix (the first group of a code) and per address with a far higher bound.
A right password or code is given back, so only wrong ones use a window up; one table typing
its code wrong locks only codes that start the same way, not every table on the venue's
network. The answer past a limit is 429 whose text and `Retry-After` give the same wait.
Each process also counts in its own memory, which bounds it alone while Redis is slow or away.
"""

from __future__ import annotations

import logging
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
from services.stores.attempts import Attempts

RATE_LIMIT_STORE = "rate_limit"
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


async def take_attempt(attempts: Attempts, limits: Mapping[str, int], refusal: str) -> None:
    """Counts an attempt, or refuses it: 429 `Throttled` whose text says the same wait as its
    `Retry-After` (`refusal` with `{seconds}`)."""
    wait = await attempts.take(limits)
    if wait > 0:
        raise Throttled(refusal.format(seconds=wait), wait)


async def give_back(attempts: Attempts, keys: Iterable[str]) -> None:
    """Takes back a right attempt (a right password or code uses no window up)."""
    await attempts.give_back(keys)
