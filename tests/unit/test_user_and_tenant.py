from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from domain.errors import AlreadyExists, InvariantViolated, NotFound
from domain.provenance import Provenance
from domain.roles import Role
from domain.tenant import TENANT_DIRECTORY_ID, Tenant, TenantDirectory
from domain.user import User
from services.auth.principal import Principal

AT = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
PLATFORM = UUID(int=1)


def provenance(command: str = "Test") -> Provenance:
    return Provenance(
        actor_id=UUID(int=2),
        actor_role=Role.CONSULTANCY_ADMIN,
        tenant_id=PLATFORM,
        occurred_at=AT,
        recorded_at=AT,
        command_id=uuid4(),
        command_name=command,
        correlation_id="test",
    )


def register(role: Role | None = None, email: str = "Mette@Example.dk") -> User:
    return User.register(email, "Mette", "$argon2id$hash", role, provenance())


def test_a_users_id_follows_from_the_email_whatever_its_case() -> None:
    user = register()
    assert user.email == "mette@example.dk"
    assert user.id == User.create_id("METTE@example.DK ")
    assert user.active
    assert user.memberships == {}


def test_registration_checks_email_name_and_platform_role() -> None:
    with pytest.raises(InvariantViolated):
        register(email="no-at-sign")
    with pytest.raises(InvariantViolated):
        User.register("a@b.dk", "  ", "h", None, provenance())
    with pytest.raises(InvariantViolated):
        register(Role.CLIENT_ADMIN)


def test_memberships_are_granted_replaced_and_revoked() -> None:
    user = register(Role.CONSULTANT)
    tenant = uuid4()
    user.grant_membership(tenant, Role.CONSULTANT, provenance())
    user.grant_membership(tenant, Role.CONSULTANT, provenance())  # no second event
    assert [type(e).__name__ for e in user.collect_events()] == ["Registered", "MembershipGranted"]
    user.grant_membership(tenant, Role.AUDITOR, provenance())
    assert user.memberships == {tenant: Role.AUDITOR}
    with pytest.raises(InvariantViolated):
        user.grant_membership(tenant, Role.CONSULTANCY_ADMIN, provenance())
    user.revoke_membership(tenant, provenance())
    assert user.memberships == {}
    with pytest.raises(NotFound):
        user.revoke_membership(tenant, provenance())


def test_a_deactivated_user_cannot_change() -> None:
    user = register()
    user.deactivate(provenance())
    assert not user.active
    with pytest.raises(InvariantViolated):
        user.change_password("new", provenance())
    with pytest.raises(InvariantViolated):
        user.grant_membership(uuid4(), Role.PARTICIPANT, provenance())


def test_every_event_carries_provenance() -> None:
    user = register()
    user.change_password("h2", provenance("ChangePassword"))
    events = user.collect_events()
    assert [e.provenance.command_name for e in events] == ["Test", "ChangePassword"]  # type: ignore[attr-defined]


def test_tenant_slug_and_name_rules() -> None:
    tenant = Tenant.onboard(" Region Nord ", "region-nord", provenance())
    assert tenant.name == "Region Nord"
    assert tenant.id == Tenant.create_id("region-nord")
    tenant.rename("Region Nordjylland", provenance())
    assert tenant.name == "Region Nordjylland"
    for slug in ("Region", "-x", "x-", "", "a b"):
        with pytest.raises(InvariantViolated):
            Tenant.onboard("X", slug, provenance())
    with pytest.raises(InvariantViolated):
        tenant.rename(" ", provenance())


def test_the_directory_keeps_slugs_unique() -> None:
    directory = TenantDirectory(provenance=provenance())
    assert directory.id == TENANT_DIRECTORY_ID
    first, second = uuid4(), uuid4()
    directory.add(first, "acme", "Acme", provenance())
    with pytest.raises(AlreadyExists):
        directory.add(second, "acme", "Acme 2", provenance())
    directory.add(second, "beta", "Beta", provenance())
    directory.rename(second, "Beta A/S", provenance())
    assert directory.tenants() == {first: ("acme", "Acme"), second: ("beta", "Beta A/S")}
    with pytest.raises(NotFound):
        directory.rename(uuid4(), "X", provenance())


def test_principal_roles_per_tenant() -> None:
    mine, other = uuid4(), uuid4()
    consultant = Principal(
        user_id=uuid4(),
        email="c@x.dk",
        display_name="C",
        platform_role=Role.CONSULTANT,
        memberships={mine: Role.CONSULTANT},
    )
    assert consultant.role_in(mine) is Role.CONSULTANT
    assert consultant.can_access(mine)
    assert consultant.role_in(other) is None
    assert not consultant.can_access(other)
    admin = Principal(user_id=uuid4(), email="a@x.dk", display_name="A", platform_role=Role.CONSULTANCY_ADMIN)
    assert admin.role_in(other) is Role.CONSULTANCY_ADMIN
