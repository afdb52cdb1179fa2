"""The outbox's projection, written once: a batch of one log's events → the messages it decides
and, from the control plane's log, who can be written to. Committed with the log's new
position in one transaction by a store (`OutboxStore`); no I/O here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

import msgspec

from projections.outbox.intents import PLATFORM_ID, MessageIntent, RuleContext
from projections.outbox.registry import Log, intents_for
from projections.projector import EventSource, PositionMoved, Recorded


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """An account as the outbox knows it (from the control plane's events): where to write."""

    user_id: UUID
    email: str
    name: str
    active: bool = True
    language: str = "da"  # the language the account chose for its messages


class LanguageChosen(msgspec.Struct, frozen=True, kw_only=True):
    """An account's messages are written in `language` from now on."""

    user_id: UUID
    language: str


class RoleHeld(msgspec.Struct, frozen=True, kw_only=True):
    """`role` held (or, when `role` is None, given up) by a user in a tenant."""

    user_id: UUID
    tenant_id: UUID
    role: str | None


class OutboxBatch(msgspec.Struct, kw_only=True):
    """What one batch of a log changes: committed with `position`, unless the stored position
    is no longer `after`."""

    log_id: UUID
    after: int
    position: int
    intents: list[MessageIntent]
    people: list[Person] = msgspec.field(default_factory=list)
    deactivated: list[UUID] = msgspec.field(default_factory=list)
    roles: list[RoleHeld] = msgspec.field(default_factory=list)
    languages: list[LanguageChosen] = msgspec.field(default_factory=list)


def outbox_batch(log_id: UUID, log: Log, after: int, records: Sequence[Recorded]) -> OutboxBatch:
    batch = OutboxBatch(log_id=log_id, after=after, position=after, intents=[])
    for record in records:
        batch.position = record.position
        event = record.event
        batch.intents.extend(intents_for(event, RuleContext(tenant_id=log_id, position=record.position), log))
        if log == "platform":
            _people(event, batch)
    return batch


def _people(event: Any, batch: OutboxBatch) -> None:
    match type(event).__qualname__:
        case "User.Registered":
            batch.people.append(
                Person(user_id=event.originator_id, email=event.email, name=event.display_name)
            )
        case "User.MembershipGranted":
            batch.roles.append(
                RoleHeld(user_id=event.originator_id, tenant_id=event.tenant_id, role=str(_value(event.role)))
            )
        case "User.LanguageChosen":
            batch.languages.append(LanguageChosen(user_id=event.originator_id, language=event.language))
        case "User.MembershipRevoked":
            batch.roles.append(RoleHeld(user_id=event.originator_id, tenant_id=event.tenant_id, role=None))
        case "User.Deactivated":
            batch.deactivated.append(event.originator_id)


def _value(role: Any) -> Any:
    return getattr(role, "value", role)


class OutboxStore(Protocol):
    """Where the outbox lives (one for the platform: every tenant's messages and the control
    plane's). `commit` writes a batch and its log's position in one transaction and raises
    `PositionMoved` unless the stored position is `batch.after`."""

    def position(self, log_id: UUID) -> int: ...

    def commit(self, batch: OutboxBatch) -> None: ...


def follow(
    source: EventSource, store: OutboxStore, log_id: UUID, log: Log = "tenant", batch_size: int = 500
) -> int:
    """Bring the outbox up to the end of one log; returns how many events were read. Another
    process committing the same events first is no error: reading goes on from its position."""
    read = 0
    while True:
        after = store.position(log_id)
        records = source.read(after, batch_size)
        if not records:
            return read
        try:
            store.commit(outbox_batch(log_id, log, after, records))
        except PositionMoved:
            continue
        read += len(records)


def follow_platform(source: EventSource, store: OutboxStore, batch_size: int = 500) -> int:
    """The control plane's log: invitations, password resets, and who holds which role."""
    return follow(source, store, PLATFORM_ID, "platform", batch_size)
