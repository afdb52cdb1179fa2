"""An outbox row: a message decided by a rule, and how far its sending has come."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

import msgspec

from projections.outbox.intents import MessageIntent


class State(str, Enum):
    """waiting (not sent yet), failing (tried and failed, will be tried again), sent, failed
    (gave up after the attempts allowed; "send again" puts it back), void (cancelled by a later
    event, its tenant erased, or nobody to send it to)."""

    WAITING = "waiting"
    FAILING = "failing"
    SENT = "sent"
    FAILED = "failed"
    VOID = "void"


class Outgoing(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    tenant_id: UUID
    kind: str
    intent: MessageIntent
    due_at: datetime
    state: State
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    sent_at: datetime | None
    message_id: str
    # Where the embedded default wrote the message (.eml), relative to the outbox's directory.
    stored_as: str
    recipients: str


class SendAgain(msgspec.Struct, frozen=True, kw_only=True):
    """Who asked a failed message to be sent again, on whose authority, when (a recorded action)."""

    key: str
    actor_id: UUID
    actor_role: str
    at: datetime
    correlation_id: str
