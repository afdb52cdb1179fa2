"""Tokens signed out before they expire: a deny-list of token ids (`jti`) until their expiry.

Every token carries a random `jti` (services/auth/jwt.py). Signing out puts it here until the
token would have expired anyway; every authenticated request asks whether its token is here.
Redis holds the list in production (every API process sees every sign-out), memory in the
embedded default (one process).

Reading the list fails open: while Redis does not answer, requests are served (logged), as the
general rate limit is; a token still ends at its expiry. Writing fails closed: signing out
answers 503 rather than pretend the token is dead.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import redis.asyncio as aioredis
from litestar.exceptions import ServiceUnavailableException
from redis.exceptions import RedisError

logger = logging.getLogger("balkort.auth")
RETRY_AFTER_SECONDS = 5


class Revocations:
    """The deny-list of token ids. One per process."""

    def __init__(self, client: aioredis.Redis | None, namespace: str) -> None:
        self._redis = client
        self._namespace = namespace
        self._memory: dict[str, float] = {}

    def _key(self, jti: str) -> str:
        return f"{self._namespace}:revoked-token:{jti}"

    async def revoke(self, jti: str, until: datetime) -> None:
        """Refuse the token `jti` from now until `until` (its expiry); 503 when it cannot be kept."""
        seconds = max(1, int((until - datetime.now(UTC)).total_seconds()) + 1)
        if self._redis is None:
            now = time.time()
            self._memory = {k: v for k, v in self._memory.items() if v > now}
            self._memory[jti] = now + seconds
            return
        try:
            await self._redis.set(self._key(jti), b"1", ex=seconds)
        except (RedisError, OSError) as error:
            logger.warning("cannot record a sign-out: %s", error)
            raise ServiceUnavailableException(
                "Signing out cannot be recorded right now; retry shortly.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from None

    async def revoked(self, jti: str) -> bool:
        """True when the token `jti` was signed out (and has not expired since)."""
        if self._redis is None:
            return self._memory.get(jti, 0.0) > time.time()
        try:
            return bool(await self._redis.exists(self._key(jti)))
        except (RedisError, OSError) as error:
            logger.warning("the sign-out list cannot be read, not checking: %s", error)
            return False
