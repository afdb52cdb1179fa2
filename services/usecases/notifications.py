"""Who receives which messages in an organisation, and a recipient turning a topic off."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.notifications import NotificationSettings, Receivers, Topic
from domain.provenance import Provenance
from services.application import RETRIES_ON_CONFLICT, TenantApplication
from services.bootstrap import Container
from services.errors import ConcurrentModification
from services.mail.preferences import settings_in
from services.usecases.bus import Command, handles, query

T = TypeVar("T")


class ChooseReceivers(Command[int], frozen=True, kw_only=True):
    """Who of the organisation receives the messages of each topic named; answers how many
    choices changed (each change is an event, a choice already in force records nothing)."""

    conditional: ClassVar[bool] = False

    tenant_id: UUID
    choices: dict[Topic, Receivers]


class TurnOffMessages(Command[bool], frozen=True, kw_only=True):
    """A recipient's own address receives no more messages of a topic (the link in a message);
    answers whether it was on until now."""

    conditional: ClassVar[bool] = False

    tenant_id: UUID
    topic: Topic
    address: str


def _on_settings(
    app: TenantApplication, tenant_id: UUID, act: Callable[[NotificationSettings], T], p: Provenance
) -> T | bool:
    for _attempt in range(RETRIES_ON_CONFLICT):
        settings = settings_in(app, tenant_id)
        if settings is None:
            settings = NotificationSettings.open(tenant_id, p)
        elif settings.version_after(p.command_id) is not None:
            return False  # this very command was recorded already
        answer = act(settings)
        try:
            app.save(settings)
        except IntegrityError:
            continue
        return answer
    raise ConcurrentModification("too_many_concurrent_changes")


@handles(ChooseReceivers)
def choose_receivers(app: TenantApplication, c: ChooseReceivers, p: Provenance, _: int | None) -> int:
    def choose(settings: NotificationSettings) -> int:
        return sum(settings.choose_receivers(t, r, p) for t, r in sorted(c.choices.items()))

    return int(_on_settings(app, c.tenant_id, choose, p))


@handles(TurnOffMessages)
def turn_off(app: TenantApplication, c: TurnOffMessages, p: Provenance, _: int | None) -> bool:
    return _on_settings(app, c.tenant_id, lambda s: s.turn_off(c.address, c.topic, p), p)


async def notification_settings(container: Container, tenant_id: UUID) -> NotificationSettings | None:
    """The organisation's notification settings as they stand (None: the defaults)."""
    return await query(container, tenant_id, lambda app: settings_in(app, tenant_id))
