"""Live updates: when a catch-up changes read models, a small message goes out on Litestar
Channels, and browsers following an engagement hear of it over server-sent events.

Channels:

- ``engagement:<tenant>:<engagement>``: the engagement's document changed;
- ``tenant:<tenant>``: a tenant-wide document (the organisation) changed;
- ``signed-out:token:<jti>`` / ``signed-out:join-code:<id>``: a token was signed out, or a
  join code revoked: streams held with it end (``SIGNED_OUT``).

A message is a hint, not the data: ``{"tenant_id", "engagement_id", "keys", "at"}``; the
browser fetches what it shows. Delivery is at most once (pub/sub), so a stream that may
have missed messages (Redis was away) gets a fresh snapshot instead (``RESYNC``).

Backends: memory in the embedded default (one process), Redis pub/sub in production (every
API process publishes and subscribes through the same Redis; the projector worker, which has no
event loop, publishes with `BlockingPublisher`). Whoever projects a change publishes it
(docs/adr/0021): a catch-up that finds nothing left to do says nothing.

Two properties matter more than throughput here:

- Publishing never stops projecting: it is bounded by a short timeout, failures are logged
  once per outage, and after a failure publishing pauses briefly so that a Redis that does
  not answer cannot slow the projector down catch-up after catch-up.
- Subscribing is cancellation-safe. ``ChannelsPlugin.subscribe`` registers the subscriber
  before it awaits the backend, so a cancellation inside that await leaks the subscriber
  (Litestar issue #4871), and a concurrent subscribe/unsubscribe of one channel can leave the
  backend unsubscribed (#4894). Our backends therefore never wait for I/O in ``subscribe`` /
  ``unsubscribe``: they record which channels are wanted and a single listener task brings
  the Redis connection in line. Callers that need to know the subscription is live (before
  reading a snapshot) await ``LiveChannels.ready``. Empty channel entries are dropped on
  unsubscribe (#4867).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncGenerator, Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio
import msgspec
import redis
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.channels import ChannelsPlugin, Subscriber
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry as BlockingRetry

from projections.projector import ENGAGEMENT
from projections.runner import Published
from services.settings import Settings

__all__ = [
    "RESYNC",
    "SIGNED_OUT",
    "BlockingPublisher",
    "Change",
    "LiveChannels",
    "RedisLiveBackend",
    "blocking_publisher",
    "build_channels_plugin",
    "channel_for",
    "end_streams",
    "messages_for",
    "publisher",
    "signed_out_channels",
    "tenant_channel",
]

logger = logging.getLogger("balkort.live")

# Put into a stream in place of a message when messages may have been lost (the listener got
# back to Redis after losing it): the reader should fetch a fresh snapshot.
RESYNC = b'{"resync":true}'
# Told on a signed-out channel: streams held with that token or join code end.
SIGNED_OUT = b'{"signed_out":true}'
REDIS_PREFIX = "balkort:live:"
# Short: live updates are a convenience and must never hold up the projector for long.
REDIS_CONNECT_TIMEOUT_SECONDS = 0.5
REDIS_SOCKET_TIMEOUT_SECONDS = 1.0
PUBLISH_TIMEOUT_SECONDS = 1.0
# After a failed publish, publishing is skipped for this long (the circuit is open).
PUBLISH_PAUSE_SECONDS = 1.0
# The listener: how long one read waits for a message (also how soon a new subscription is
# sent to Redis), and how long it waits before reconnecting after losing Redis.
LISTEN_TICK_SECONDS = 0.05
RECONNECT_SECONDS = 0.5


def channel_for(tenant_id: UUID, engagement_id: UUID) -> str:
    """The channel of one engagement of one tenant."""
    return f"engagement:{tenant_id}:{engagement_id}"


def tenant_channel(tenant_id: UUID) -> str:
    """The channel of a tenant's tenant-wide documents (the organisation and its units)."""
    return f"tenant:{tenant_id}"


def signed_out_channels(token_id: str | None, join_code_id: UUID | None) -> list[str]:
    """The channels that tell a stream its token was signed out or its join code revoked."""
    names = [f"signed-out:token:{token_id}"] if token_id else []
    if join_code_id is not None:
        names.append(f"signed-out:join-code:{join_code_id}")
    return names


async def end_streams(app: Litestar, token_id: str | None = None, join_code_id: UUID | None = None) -> None:
    """Ends the live streams held with the token `token_id` or the join code `join_code_id`, in
    every process. Never raises: a stream that misses it re-checks its token at its next
    keep-alive anyway."""
    plugin = app.plugins.get(LiveChannels)
    await plugin.announce(SIGNED_OUT, signed_out_channels(token_id, join_code_id))


class Change(msgspec.Struct, frozen=True):
    """What a live message says: which documents of which tenant changed, and when it was told."""

    tenant_id: UUID
    engagement_id: UUID | None
    keys: list[str]
    at: datetime


def messages_for(tenant_id: UUID, changed: Iterable[str], at: datetime) -> list[tuple[str, bytes]]:
    """The (channel, message) pairs that tell subscribers about `changed` document keys: one per
    changed engagement, and one on the tenant channel for everything else."""
    engagements: dict[UUID, list[str]] = {}
    others: list[str] = []
    for key in sorted(changed):
        kind, _, ident = key.partition(":")
        if kind == ENGAGEMENT:
            try:
                engagements.setdefault(UUID(ident), []).append(key)
                continue
            except ValueError:
                pass
        others.append(key)
    out = [
        (
            channel_for(tenant_id, engagement_id),
            msgspec.json.encode(Change(tenant_id, engagement_id, keys, at)),
        )
        for engagement_id, keys in engagements.items()
    ]
    if others:
        out.append((tenant_channel(tenant_id), msgspec.json.encode(Change(tenant_id, None, others, at))))
    return out


class _Signal:
    """An asyncio.Event made on first use, so it belongs to the loop that runs the app."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    @property
    def event(self) -> asyncio.Event:
        if self._event is None:
            self._event = asyncio.Event()
        return self._event

    def fire(self) -> None:
        """Wake everyone waiting now; later waiters wait for the next fire."""
        event, self._event = self._event, None
        if event is not None:
            event.set()


class RedisLiveBackend(ChannelsBackend):
    """Redis pub/sub for Litestar Channels that recovers from Redis going away.

    Litestar's `RedisChannelsPubSubBackend` lets the plugin's listener task die on the first
    connection error (nothing restarts it: subscribers hear nothing until the process
    restarts), and it subscribes over the network inside `subscribe`. Here `subscribe` and
    `unsubscribe` only record the wanted channels; `stream_events` owns the pub/sub
    connection: it reconciles subscriptions, reads messages, and on any Redis error drops
    the connection, waits `RECONNECT_SECONDS` and starts again, re-subscribing every wanted
    channel. A channel confirmed again after a reconnection (ours or redis-py's own) yields
    `RESYNC`, since messages published meanwhile are lost.
    """

    def __init__(self, redis: aioredis.Redis, *, prefix: str = REDIS_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix
        self._wanted: set[str] = set()
        self._requested: set[str] = set()  # sent to the current connection
        self._confirmed: set[str] = set()  # confirmed by Redis on the current connection
        self._seen: set[str] = set()  # confirmed at least once while wanted
        self._pubsub: PubSub | None = None
        self._wanted_changed = _Signal()
        self._confirmed_changed = _Signal()
        self._down_since: float | None = None

    def _key(self, channel: str) -> str:
        return f"{self._prefix}{channel}"

    def _channel(self, raw: bytes | str) -> str:
        name = raw.decode() if isinstance(raw, bytes) else raw
        return name.removeprefix(self._prefix)

    async def on_startup(self) -> None:
        """Nothing to do: the listener connects when the first channel is wanted."""

    async def on_shutdown(self) -> None:
        await self._drop_connection()
        await self._redis.aclose()

    async def subscribe(self, channels: Iterable[str]) -> None:
        """Want `channels`. Never waits for I/O (see the module docstring)."""
        self._wanted.update(channels)
        self._wanted_changed.fire()

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        """No longer want `channels`. Never waits for I/O."""
        gone = set(channels)
        self._wanted -= gone
        self._seen -= gone
        self._wanted_changed.fire()

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel in set(channels):
                pipe.publish(self._key(channel), data)
            await pipe.execute()

    async def get_history(self, channel: str, limit: int | None = None) -> list[bytes]:
        raise NotImplementedError("pub/sub keeps no history")

    def confirmed(self, channels: Iterable[str]) -> bool:
        return set(channels) <= self._confirmed

    async def ready(self, channels: Iterable[str], within: float) -> bool:
        """Wait (at most `within` seconds) until Redis confirmed the subscription to `channels`."""
        wanted = set(channels)
        with anyio.move_on_after(within):
            while not wanted <= self._confirmed:
                await self._confirmed_changed.event.wait()
            return True
        return False

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        """Messages of wanted channels, for as long as the app runs. Never raises a Redis error."""
        while True:
            try:
                async for item in self._listen():
                    yield item
            except Exception as error:
                if self._down_since is None:
                    self._down_since = time.monotonic()
                    logger.warning("live updates: lost Redis (%s); reconnecting", error)
            await self._drop_connection()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen(self) -> AsyncGenerator[tuple[str, bytes], None]:
        pubsub = self._pubsub = self._redis.pubsub()
        while True:
            if pubsub.connection is None and not self._wanted:
                # Nothing wanted yet: do not connect, wait until something is.
                with anyio.move_on_after(1.0):
                    await self._wanted_changed.event.wait()
                continue
            await self._reconcile(pubsub)
            message = await pubsub.get_message(timeout=LISTEN_TICK_SECONDS)
            if message is None:
                continue
            if self._down_since is not None:
                logger.info("live updates: Redis is back after %.1f s", time.monotonic() - self._down_since)
                self._down_since = None
            kind = message["type"]
            channel = self._channel(message["channel"])
            if kind == "message":
                if channel in self._wanted:
                    yield channel, message["data"]
            elif kind == "subscribe":
                self._confirmed.add(channel)
                self._confirmed_changed.fire()
                if channel in self._wanted:
                    if channel in self._seen:
                        yield channel, RESYNC
                    self._seen.add(channel)
            elif kind == "unsubscribe":
                self._confirmed.discard(channel)
                self._confirmed_changed.fire()

    async def _reconcile(self, pubsub: PubSub) -> None:
        add = self._wanted - self._requested
        drop = self._requested - self._wanted
        if add:
            await pubsub.subscribe(*(self._key(c) for c in sorted(add)))
            self._requested |= add
        if drop:
            await pubsub.unsubscribe(*(self._key(c) for c in sorted(drop)))
            self._requested -= drop

    async def _drop_connection(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        self._requested.clear()
        self._confirmed.clear()
        self._confirmed_changed.fire()
        if pubsub is not None:
            with anyio.move_on_after(REDIS_SOCKET_TIMEOUT_SECONDS, shield=True):
                try:
                    await pubsub.aclose()
                except (RedisError, OSError):
                    logger.debug("live updates: closing the pub/sub connection failed", exc_info=True)


class LiveChannels(ChannelsPlugin):
    """`ChannelsPlugin` with a readiness check and without the empty-channel leak (#4867)."""

    def __init__(self, backend: ChannelsBackend) -> None:
        super().__init__(backend=backend, arbitrary_channels_allowed=True)
        self.backend = backend
        self._publish_paused_until = 0.0
        self._publish_failing = False

    async def unsubscribe(self, subscriber: Subscriber, channels: str | Iterable[str] | None = None) -> None:
        names = [channels] if isinstance(channels, str) else None if channels is None else list(channels)
        await super().unsubscribe(subscriber, names)
        for name in list(self._channels) if names is None else names:
            if not self._channels.get(name, True):
                del self._channels[name]

    def subscriber_count(self) -> int:
        """How many subscribers this process holds (for tests and metrics)."""
        return len({id(s) for subscribers in self._channels.values() for s in subscribers})

    async def ready(self, channels: Iterable[str], within: float = 1.0) -> bool:
        """Wait until messages published to `channels` from now on reach this process's subscribers
        (at most `within` seconds; False if Redis did not confirm in time)."""
        if isinstance(self.backend, RedisLiveBackend):
            return await self.backend.ready(channels, within)
        return True

    async def announce(self, message: bytes, channels: Iterable[str]) -> None:
        """Publish `message` on each of `channels`. Never raises; bounded in time."""
        await self._publish([(channel, message) for channel in channels])

    async def publish_changes(self, tenant_id: UUID, changed: set[str]) -> None:
        """Tell subscribers which documents changed. Never raises; bounded in time."""
        await self._publish(messages_for(tenant_id, changed, datetime.now(UTC)))

    async def _publish(self, messages: list[tuple[str, bytes]]) -> None:
        now = time.monotonic()
        if now < self._publish_paused_until:
            return
        try:
            with anyio.fail_after(PUBLISH_TIMEOUT_SECONDS):
                for channel, message in messages:
                    await self.wait_published(message, channel)
        except Exception as error:
            self._publish_paused_until = time.monotonic() + PUBLISH_PAUSE_SECONDS
            logger.debug("live updates: publishing failed", exc_info=True)
            if not self._publish_failing:
                self._publish_failing = True
                logger.warning("live updates: publishing failed (%r); going on without them", error)
            return
        if self._publish_failing:
            self._publish_failing = False
            logger.info("live updates: publishing works again")


def redis_channels_client(redis_url: str) -> aioredis.Redis:
    """A client of its own for live updates: short timeouts, and one immediate retry on a fresh
    connection (a pooled connection may have died with a Redis restart)."""
    return aioredis.Redis.from_url(
        redis_url,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
        socket_timeout=REDIS_SOCKET_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 1),
    )


def build_channels_plugin(settings: Settings) -> LiveChannels:
    """Memory channels in the embedded default, Redis pub/sub when `redis_url` is set."""
    if settings.redis_url:
        return LiveChannels(RedisLiveBackend(redis_channels_client(settings.redis_url)))
    return LiveChannels(MemoryChannelsBackend())


def publisher(plugin: LiveChannels) -> Published:
    """The projection runner's `on_caught_up`: publish what changed, never raising."""

    async def on_caught_up(tenant_id: UUID, changed: set[str]) -> None:
        await plugin.publish_changes(tenant_id, changed)

    return on_caught_up


class BlockingPublisher:
    """Publishes changes from a process without an event loop (the projector worker) on the
    Redis channels every API process's `RedisLiveBackend` listens to, in the same format as
    `LiveChannels.publish_changes`.

    Called from the worker's projecting threads (the client's pool is thread-safe). Like the
    API's publishing it never raises and never holds projecting up for long: short socket
    timeouts, failures logged once per outage, and a pause after a failure.
    """

    def __init__(self, client: redis.Redis, *, prefix: str = REDIS_PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self._failing = False

    def publish_changes(self, tenant_id: UUID, changed: set[str]) -> None:
        """Tell subscribers which documents of the tenant changed. Never raises."""
        if not changed or time.monotonic() < self._paused_until:
            return
        try:
            with self._client.pipeline(transaction=False) as pipe:
                for channel, message in messages_for(tenant_id, changed, datetime.now(UTC)):
                    pipe.publish(f"{self._prefix}{channel}", message)
                pipe.execute()
        except (RedisError, OSError) as error:
            with self._lock:
                self._paused_until = time.monotonic() + PUBLISH_PAUSE_SECONDS
                first, self._failing = not self._failing, True
            logger.debug("live updates: publishing failed", exc_info=True)
            if first:
                logger.warning("live updates: publishing failed (%r); projecting goes on without them", error)
            return
        if self._failing:
            with self._lock:
                back, self._failing = self._failing, False
            if back:
                logger.info("live updates: publishing works again")

    def close(self) -> None:
        self._client.close()


def blocking_publisher(settings: Settings) -> BlockingPublisher | None:
    """The worker's publisher when `redis_url` is set; None in the embedded default, whose memory
    channels live inside the one API process (it projects and publishes itself)."""
    if not settings.redis_url:
        return None
    client = redis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
        socket_timeout=REDIS_SOCKET_TIMEOUT_SECONDS,
        retry=BlockingRetry(NoBackoff(), 1),
    )
    return BlockingPublisher(client)
