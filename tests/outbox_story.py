"""What the outbox tests start from: a client organisation whose planning group (a client
admin with an address) hears of a follow-up meeting set on the preparatory meeting."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import NamedTuple
from uuid import UUID, uuid4

from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.preparation import Preparation
from domain.provenance import Provenance
from domain.ratings import RatingMode
from domain.roles import Role
from services.application import TenantApplication
from services.bootstrap import Container
from services.controlplane import system_provenance
from services.usecases.tenants import onboard_tenant
from tests.commanding import add_unit, establish_organisation, prepare_engagement

PASSWORD = "en lang nok adgangskode"


class Organisation(NamedTuple):
    tenant_id: UUID
    planner_email: str
    unit_ids: tuple[UUID, ...]


def provenance(tenant_id: UUID) -> Provenance:
    now = datetime.now(UTC)
    return Provenance(uuid4(), Role.CONSULTANT, tenant_id, now, now, uuid4(), "Test", "test")


def organisation_with_planner(container: Container) -> Organisation:
    """Blocking: a new tenant, its client admin (a member with an address) and two units."""
    tenant_id = onboard_tenant(container, "Søby", f"mail-{uuid4().hex[:10]}", system_provenance("Test"))
    email = f"planner-{uuid4().hex[:8]}@soeby.example"
    control = container.control
    user_id = control.register_user(email, "Lene Leder", PASSWORD, None, system_provenance("Test"))
    control.grant_membership(user_id, tenant_id, Role.CLIENT_ADMIN, system_provenance("Test"))

    def build(app: TenantApplication) -> tuple[UUID, ...]:
        establish_organisation(app, tenant_id, "Søby Kommune", provenance(tenant_id))
        return tuple(
            add_unit(app, tenant_id, name, provenance(tenant_id)) for name in ("Hjemmeplejen", "Akutteamet")
        )

    unit_ids: tuple[UUID, ...] = container.tenants.call(tenant_id, build)
    return Organisation(tenant_id, email, unit_ids)


def set_follow_up_meeting(
    container: Container, organisation: Organisation, title: str = "Udskrivning 2026"
) -> UUID:
    """Blocking: an engagement prepared with a follow-up meeting (the rule's cause)."""
    tenant_id, units = organisation.tenant_id, organisation.unit_ids

    def prepare(app: TenantApplication) -> UUID:
        preparation = Preparation(title, "", "", "", (), date(2026, 9, 1), date(2026, 10, 6))
        return prepare_engagement(
            app,
            tenant_id,
            preparation,
            units,
            DEFAULT_INSTRUMENT,
            RatingMode.UNIT,
            3,
            3,
            provenance(tenant_id),
        )

    engagement_id: UUID = container.tenants.call(tenant_id, prepare)
    return engagement_id
