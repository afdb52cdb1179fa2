"""Live updates of an engagement over server-sent events (see services/live.py).

The stream subscribes first and reads the snapshot second, so a change made in between is
never missed: it shows in the snapshot or arrives as a `changed` event (or both).

A stream lives no longer than the right to open it: it ends when its token is signed out or
its join code revoked (told at once on the signed-out channels), and at each keep-alive it
checks its token again (a missed message, an expiry, a deactivated user).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, get
from litestar.channels import Subscriber
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from projections.documents import EngagementOut
from services.access import READ_AT_TABLE, UnitScope
from services.auth.jwt import still_signed_in, token_id
from services.auth.principal import Principal
from services.live import RESYNC, SIGNED_OUT, LiveChannels, channel_for, signed_out_channels, tenant_channel
from services.observability.metrics import SSE_SUBSCRIBERS
from services.requests.problems import problem_responses
from services.requests.reads import engagement_view

Req = Request[Any, Any, Any]

# A comment line every so often keeps proxies and load balancers from closing an idle stream.
KEEPALIVE_SECONDS = 15.0
# How long the stream waits for Redis to confirm its subscription before sending the snapshot
# anyway (Redis away: the stream stays open and catches up with a new snapshot later).
READY_TIMEOUT_SECONDS = 1.0
# Tells the browser how soon to reconnect when the stream breaks.
RETRY_MILLISECONDS = 3000
_TICK = b""


class Snapshot(msgspec.Struct, frozen=True):
    engagement_id: UUID
    version: int
    updated_at: datetime | None


def snapshot_event(view: EngagementOut) -> ServerSentEventMessage:
    body = msgspec.json.encode(Snapshot(view.engagement_id, view.version, view.updated_at))
    return ServerSentEventMessage(event="snapshot", data=body.decode(), retry=RETRY_MILLISECONDS)


async def _tick(subscriber: Subscriber) -> None:
    while True:
        await asyncio.sleep(KEEPALIVE_SECONDS)
        subscriber.put_nowait(_TICK)


async def engagement_events(
    request: Req, channels: LiveChannels, tenant_id: UUID, engagement_id: UUID
) -> AsyncIterator[ServerSentEventMessage]:
    """The stream: a snapshot, then a `changed` event per message, keep-alive comments between;
    it ends when its token is signed out or its join code revoked. Unsubscribes when the client
    goes away (the subscription is a context manager, and the backends never wait for I/O while
    subscribing, so a cancellation cannot leak it)."""
    names = [
        channel_for(tenant_id, engagement_id),
        tenant_channel(tenant_id),
        *signed_out_channels(token_id(request.scope.get("auth")), _join_code_id(request)),
    ]
    async with channels.start_subscription(names) as subscriber:
        ticker = asyncio.create_task(_tick(subscriber))
        SSE_SUBSCRIBERS.inc()
        try:
            await channels.ready(names, READY_TIMEOUT_SECONDS)
            yield snapshot_event(await engagement_view(request, tenant_id, engagement_id))
            async for payload in subscriber.iter_events():
                if payload == SIGNED_OUT:
                    return
                if payload == _TICK:
                    if not await still_signed_in(request):
                        return
                    yield ServerSentEventMessage(comment="keep-alive", data=None)
                elif payload == RESYNC:
                    yield snapshot_event(await engagement_view(request, tenant_id, engagement_id))
                else:
                    yield ServerSentEventMessage(event="changed", data=payload.decode())
        finally:
            SSE_SUBSCRIBERS.dec()
            ticker.cancel()


def _join_code_id(request: Req) -> UUID | None:
    principal = request.scope.get("user")
    # A join-code participant's principal is named by its code's id.
    return principal.user_id if isinstance(principal, Principal) and principal.is_unit_scoped else None


@get(
    "/api/v1/tenants/{tenant_id:uuid}/engagements/{engagement_id:uuid}/events",
    opt=READ_AT_TABLE.opt(UnitScope.READ),
    tags=["engagements"],
    media_type="text/event-stream",
    responses=problem_responses(400, 401, 403, 404),
)
async def follow_engagement(
    request: Req,
    channels: NamedDependency[LiveChannels],
    tenant_id: FromPath[UUID],
    engagement_id: FromPath[UUID],
) -> ServerSentEvent:
    """Follow the engagement live (`text/event-stream`): first `event: snapshot` with its
    `version` and `updated_at`, then `event: changed` whenever its read model (or the
    organisation's) changed, with `{"tenant_id", "engagement_id", "keys", "at"}`; fetch the
    engagement again on either. A keep-alive comment comes every 15 seconds. After an outage
    of the message bus another `snapshot` is sent, since changes may have gone unannounced.
    The stream ends when its token is signed out or its join code revoked."""
    await engagement_view(request, tenant_id, engagement_id)  # 404 before the stream starts
    return ServerSentEvent(engagement_events(request, channels, tenant_id, engagement_id))
