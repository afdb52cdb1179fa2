"""Counters of attempts (sign-ins, join codes) in fixed windows: Redis, shared by every API
process, or memory in the embedded default. The composition root builds them; the HTTP routes
take and give back attempts and answer 429 past a limit (services/requests/rate_limits.py, which
says why they are counted so).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.settings import Settings

WINDOW_SECONDS = 60
# The in-memory counters drop ended windows once they hold this many keys.
MEMORY_KEYS_BOUND = 10_000
# The same logger as the rate limits': one place to look for counters that do not answer.
logger = logging.getLogger("balkort.http")


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
