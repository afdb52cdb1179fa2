"""Every aggregate of the frozen store replayed from its events alone (no snapshot), through the
release's own mapper (decryption, decompression, transcoding — and upcasting, once there is
any), and what each one then knows: its type and version, and for engagements and the
organisation the facts of the method (phase, statuses of cards, agreements and proposals; units
with their names and status), so that an event whose meaning changed shows here as well as in
the read models."""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from domain.engagement import Engagement
from domain.organisation import Organisation
from domain.tenant import Tenant
from domain.user import User
from services.bootstrap import Container

PAGE = 500


def _originators(app: Application[UUID]) -> list[UUID]:
    seen: dict[UUID, None] = {}
    start = 1
    while True:
        page = app.recorder.select_notifications(start=start, limit=PAGE)
        for notification in page:
            seen.setdefault(UUID(str(notification.originator_id)), None)
        if len(page) < PAGE:
            return list(seen)
        start = page[-1].id + 1


def _fold(app: Application[UUID], originator_id: UUID) -> Any:
    aggregate = None
    for event in app.events.get(originator_id=originator_id):
        aggregate = event.mutate(aggregate)  # type: ignore[attr-defined]
    return aggregate


def _statuses(items: dict[Any, Any]) -> dict[str, int]:
    return dict(
        sorted(Counter(str(getattr(item.status, "value", item.status)) for item in items.values()).items())
    )


def _facts(aggregate: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {"type": type(aggregate).__name__, "version": aggregate.version}
    if isinstance(aggregate, Engagement):
        facts |= {
            "phase": aggregate.phase.value,
            "rating_mode": aggregate.rating_mode.value,
            "units": len(aggregate.unit_ids),
            "ratings": len(aggregate.ratings),
            "cards": _statuses(aggregate.cards),
            "dialogues": len(aggregate.dialogues),
            "agreements": _statuses(aggregate.agreements),
            "proposals": _statuses(aggregate.proposals),
            "wrap_ups": len(aggregate.wrap_ups),
            "plenary_held": aggregate.plenary is not None,
        }
    if isinstance(aggregate, User):
        facts |= {
            "email": aggregate.email,
            "active": aggregate.active,
            "platform_role": None if aggregate.platform_role is None else aggregate.platform_role.value,
            "memberships": {
                str(tenant): role.value for tenant, role in sorted(aggregate.memberships.items())
            },
        }
    if isinstance(aggregate, Tenant):
        facts |= {"name": aggregate.name, "slug": aggregate.slug, "erased": aggregate.erased}
    if isinstance(aggregate, Organisation):
        facts |= {
            "name": aggregate.name,
            "units": sorted([unit.name, unit.status.value] for unit in aggregate.units.values()),
            "engagements": sorted(aggregate.engagements.values()),
        }
    return facts


def _replayed(app: Application[UUID]) -> dict[str, Any]:
    return {
        str(originator): _facts(_fold(app, originator)) for originator in sorted(_originators(app), key=str)
    }


def _loaded(app: Application[UUID]) -> dict[str, Any]:
    """As the application loads them for a command: from the latest snapshot the release took
    (engagements and organisations every 100 events), then the events after it."""
    return {
        str(originator): _facts(app.repository.get(originator))
        for originator in sorted(_originators(app), key=str)
    }


def replay_everything(container: Container, tenant_id: UUID) -> dict[str, Any]:
    """The control plane's aggregates and the tenant's, each folded from its events alone, and
    the tenant's as loaded through its snapshots."""
    return {
        "control_plane": _replayed(container.control),
        "tenant": container.tenants.call(tenant_id, _replayed),
        "tenant_loaded": container.tenants.call(tenant_id, _loaded),
    }


def topics_in(container: Container, tenant_id: UUID) -> set[str]:
    """Every event topic stored in the control plane and the tenant's store."""

    def of(app: Application[UUID]) -> set[str]:
        found: set[str] = set()
        start = 1
        while True:
            page = app.recorder.select_notifications(start=start, limit=PAGE)
            found.update(n.topic for n in page)
            if len(page) < PAGE:
                return found
            start = page[-1].id + 1

    return of(container.control) | container.tenants.call(tenant_id, of)
