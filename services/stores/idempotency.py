"""Where `Idempotency-Key` claims and kept responses live: Redis, shared by every API process,
or this process's memory in the embedded default. The composition root builds the store; the
HTTP middleware that claims, keeps and replays is services/http/idempotency.py. See
docs/adr/0004-idempotency-keys.md.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

import msgspec
import redis.asyncio as aioredis

from services.settings import Settings


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """What a key holds: who claimed it and, once done, the response to replay."""

    claim: str
    fingerprint: str
    status: int = 0
    content_type: str | None = None
    body: bytes = b""

    @property
    def done(self) -> bool:
        return self.status != 0


class IdempotencyKeys(Protocol):
    """Where claims and kept responses live.

    Not a Litestar `Store`: that API has get/set/delete but no atomic "set if absent", and
    without one two concurrent requests can both see a free key and both run.
    """

    async def claim(self, key: str, record: Record, ttl_seconds: int) -> Record | None:
        """Atomically claims `key` for `record`; returns None on success, else what the key holds."""
        ...

    async def get(self, key: str) -> Record | None:
        """What `key` holds now, or None."""
        ...

    async def keep(self, key: str, record: Record, ttl_seconds: int) -> None:
        """Stores the finished response under `key` (only if the claim is still `record.claim`'s)."""
        ...

    async def renew(self, key: str, record: Record, ttl_seconds: int) -> None:
        """Extends the lease of the in-flight claim `record` (only while `key` holds exactly it)."""
        ...

    async def release(self, key: str, claim: str) -> None:
        """Frees `key` if `claim` still holds it, so a retry can run."""
        ...

    async def close(self) -> None:
        """Releases connections."""
        ...


class MemoryIdempotencyKeys:
    """Keys in process memory: the embedded default, one process only."""

    def __init__(self) -> None:
        self._records: dict[str, tuple[float, Record]] = {}
        self._lock = asyncio.Lock()

    def _live(self, key: str) -> Record | None:
        entry = self._records.get(key)
        if entry is None:
            return None
        expires, record = entry
        if expires <= time.monotonic():
            del self._records[key]
            return None
        return record

    async def claim(self, key: str, record: Record, ttl_seconds: int) -> Record | None:
        async with self._lock:
            if (held := self._live(key)) is not None:
                return held
            self._records[key] = (time.monotonic() + ttl_seconds, record)
            return None

    async def get(self, key: str) -> Record | None:
        async with self._lock:
            return self._live(key)

    async def keep(self, key: str, record: Record, ttl_seconds: int) -> None:
        async with self._lock:
            held = self._live(key)
            if held is not None and held.claim == record.claim:
                self._records[key] = (time.monotonic() + ttl_seconds, record)

    async def renew(self, key: str, record: Record, ttl_seconds: int) -> None:
        async with self._lock:
            if self._live(key) == record:
                self._records[key] = (time.monotonic() + ttl_seconds, record)

    async def release(self, key: str, claim: str) -> None:
        async with self._lock:
            held = self._live(key)
            if held is not None and held.claim == claim:
                del self._records[key]

    async def close(self) -> None:
        self._records.clear()


# Compare-and-set / compare-and-delete against the claim id, so a late finisher never
# overwrites or frees a key that expired and was claimed again by someone else. A stored
# value is the 32-character claim id followed by the msgpack-encoded record.
_KEEP = """
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, 32) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 0
"""
# Only the very in-flight value is renewed: a kept response is never cut back to a lease.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, 32) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


CLAIM_LENGTH = 32  # uuid4().hex


def _as_bytes(raw: bytes | str) -> bytes:
    return raw.encode("latin-1") if isinstance(raw, str) else raw


def _encode(record: Record) -> bytes:
    return record.claim.encode("ascii") + msgspec.msgpack.encode(record)


class RedisIdempotencyKeys:
    """Keys in Redis, shared by every API process: claim is `SET key value NX PX ttl`."""

    def __init__(self, client: aioredis.Redis, prefix: str = "balkort:idempotency:") -> None:
        self._client = client
        self._prefix = prefix
        self._keep = client.register_script(_KEEP)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    async def claim(self, key: str, record: Record, ttl_seconds: int) -> Record | None:
        won = await self._client.set(self._prefix + key, _encode(record), nx=True, px=ttl_seconds * 1000)
        if won:
            return None
        held = await self.get(key)
        # Expired between SET and GET: claim again rather than report a phantom.
        return held if held is not None else await self.claim(key, record, ttl_seconds)

    async def get(self, key: str) -> Record | None:
        raw = await self._client.get(self._prefix + key)
        return None if raw is None else msgspec.msgpack.decode(_as_bytes(raw)[CLAIM_LENGTH:], type=Record)

    async def keep(self, key: str, record: Record, ttl_seconds: int) -> None:
        await self._keep(keys=[self._prefix + key], args=[record.claim, _encode(record), ttl_seconds * 1000])

    async def renew(self, key: str, record: Record, ttl_seconds: int) -> None:
        await self._renew(keys=[self._prefix + key], args=[_encode(record), ttl_seconds * 1000])

    async def release(self, key: str, claim: str) -> None:
        await self._release(keys=[self._prefix + key], args=[claim])

    async def close(self) -> None:
        """The client belongs to the container, which closes it."""


def idempotency_keys_for(settings: Settings, client: aioredis.Redis | None) -> IdempotencyKeys:
    """Redis-backed keys when a Redis client is configured, memory otherwise."""
    return MemoryIdempotencyKeys() if client is None else RedisIdempotencyKeys(client)
