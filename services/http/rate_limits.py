"""Rate limits: Litestar's rate-limit middleware over a store (Redis in production, memory
embedded), keyed by who asks where, and a stricter count of failed joins.

The middleware's own identifier is the client address, which ignores the tenant and lumps
together everyone behind one address (a theme day's venue network). Here a signed-in caller
is counted per principal and tenant; only anonymous requests are counted per address. The
address is the ASGI client's: behind a load balancer, let the server rewrite it from trusted
proxy headers (uvicorn `--proxy-headers --forwarded-allow-ips`); a client-sent
`X-Forwarded-For` is never trusted here, since it would let a guesser pick a new one per try.

Joining with a code counts failures only, per address and per code prefix (the first group
of a code): a whole unit table joining from one network never trips it; guessing does.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from litestar import Request
from litestar.exceptions import ServiceUnavailableException, TooManyRequestsException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.exceptions import RedisError

from services.auth.guards import TENANT_PARAM
from services.auth.principal import Principal
from services.settings import Settings

RATE_LIMIT_STORE = "rate_limit"
JOIN_ATTEMPTS_STORE = "join_attempts"
WINDOW_SECONDS = 60
RETRY_AFTER_SECONDS = 5
logger = logging.getLogger("balkort.http")


def rate_limit_stores(settings: Settings, client: aioredis.Redis | None) -> dict[str, Store]:
    """The stores the limits count in: Redis when the process has one (shared by every API
    process), else memory. The general limit fails open when Redis does not answer (an outage
    must not take the API down with it); counting wrong join codes fails closed (503)."""
    if client is None:
        return {RATE_LIMIT_STORE: MemoryStore(), JOIN_ATTEMPTS_STORE: MemoryStore()}
    redis_store = RedisStore(client, namespace=settings.rate_limit_namespace, handle_client_shutdown=False)
    return {RATE_LIMIT_STORE: FailOpenStore(redis_store), JOIN_ATTEMPTS_STORE: redis_store}


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
        exclude=["^/healthz$", "^/schema"],
        store=RATE_LIMIT_STORE,
        set_rate_limit_headers=True,
    )


class FailedAttempts:
    """Counts failures per key in fixed windows; refuses (429) once a key reached the limit."""

    def __init__(self, store: Store, limit: int, window_seconds: int = WINDOW_SECONDS) -> None:
        self.store = store
        self.limit = limit
        self.window_seconds = window_seconds

    async def check(self, *keys: str) -> None:
        """429 with `Retry-After` when any key has used up its failures for this window; 503
        when the counts cannot be read (guessing is not let through unslowed)."""
        try:
            for key in keys:
                raw = await self.store.get(key)
                if raw is not None and int(raw) >= self.limit:
                    wait = await self.store.expires_in(key) or self.window_seconds
                    raise TooManyRequestsException(
                        "Too many wrong join codes; wait before trying again.",
                        headers={"Retry-After": str(max(1, wait))},
                    )
        except (RedisError, OSError) as error:
            raise _unavailable(error) from None

    async def fail(self, *keys: str) -> None:
        try:
            for key in keys:
                raw = await self.store.get(key)
                left = await self.store.expires_in(key) if raw is not None else None
                count = (int(raw) if raw is not None else 0) + 1
                await self.store.set(key, str(count), expires_in=left or self.window_seconds)
        except (RedisError, OSError) as error:
            raise _unavailable(error) from None


def _unavailable(error: Exception) -> ServiceUnavailableException:
    logger.warning("join attempts cannot be counted: %s", error)
    return ServiceUnavailableException(
        "Join codes cannot be checked right now; retry shortly.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
