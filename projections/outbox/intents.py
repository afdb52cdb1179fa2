"""What a rule decides must be sent: plain data, the same on every rebuild of the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

# The control plane's events are not a tenant's: their messages are filed under this id.
PLATFORM_ID = UUID(int=0)


class ToAddress(msgspec.Struct, frozen=True, tag="address"):
    """One e-mail address, known when the event was recorded (an invitee, say)."""

    email: str
    name: str = ""
    language: str = "da"


class ToUser(msgspec.Struct, frozen=True, tag="user"):
    """An account: its address and language are looked up when the message is sent."""

    user_id: UUID


class ToRole(msgspec.Struct, frozen=True, tag="role"):
    """Everyone holding `role` in the message's tenant when it is sent (e.g. "client_admin",
    the planning group)."""

    role: str


Audience = ToAddress | ToUser | ToRole


class CalendarEntry(msgspec.Struct, frozen=True, kw_only=True):
    """An iCalendar event sent as an .ics attachment. The same `uid` with a higher `sequence`
    updates the entry in the recipient's calendar; `cancelled` removes it."""

    uid: str
    sequence: int
    start: datetime
    end: datetime
    summary: str
    location: str = ""
    description: str = ""
    # A whole day: only the dates of `start` and `end` (exclusive) count.
    all_day: bool = False
    cancelled: bool = False


class MessageIntent(msgspec.Struct, frozen=True, kw_only=True):
    """A message to send, as a rule yields it.

    `key` is deterministic (the same event gives the same key on every rebuild): the outbox
    holds one row per key, and the Message-ID is made from it, so a message is never queued
    twice. `tenant_id` is the organisation the message belongs to (the admin's page files it
    there; an erasure removes it), PLATFORM_ID for none. `due_at` is the moment it may go out
    (not before, by the product's clock). `kind` names the templates
    (services/mail/templates/<kind>.txt, .html); `params` are what they are filled with (plain
    JSON data; the templates' `link` filter makes a path absolute on the public URL; an
    `unsubscribe_path` is linked at the foot of the HTML and becomes the List-Unsubscribe header). `cancels` lists keys of earlier intents this one makes void (a
    meeting moved: the old reminder is not sent)."""

    key: str
    tenant_id: UUID
    due_at: datetime
    audience: Audience
    kind: str
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    calendar: CalendarEntry | None = None
    cancels: tuple[str, ...] = ()


class RuleContext(msgspec.Struct, frozen=True, kw_only=True):
    """What a rule knows besides the event: whose log it came from (a tenant id, or PLATFORM_ID
    for the control plane) and the event's position in that log."""

    tenant_id: UUID
    position: int


def intent_key(tenant_id: UUID, event: Any, purpose: str) -> str:
    """A key for the message `purpose` caused by `event`: stable across rebuilds, since an
    event's originator and version never change."""
    return f"{tenant_id}:{event.originator_id}:{event.originator_version}:{purpose}"


encode_intent = msgspec.json.Encoder().encode
decode_intent = msgspec.json.Decoder(MessageIntent).decode
