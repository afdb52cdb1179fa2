"""The authenticated caller, as handlers and guards see it."""

from __future__ import annotations

from uuid import UUID

import msgspec

from domain.roles import Role


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """A signed-in user with the roles they hold: on the platform and in each tenant."""

    user_id: UUID
    email: str
    display_name: str
    platform_role: Role | None
    memberships: dict[UUID, Role] = msgspec.field(default_factory=dict)

    @property
    def is_consultancy_admin(self) -> bool:
        return self.platform_role is Role.CONSULTANCY_ADMIN

    def role_in(self, tenant_id: UUID) -> Role | None:
        """The role this principal acts under in `tenant_id`, or None when it has no access.

        Consultancy admins act as CONSULTANCY_ADMIN in every tenant; everyone else, consultants
        included, only where they hold a membership.
        """
        if self.is_consultancy_admin:
            return Role.CONSULTANCY_ADMIN
        return self.memberships.get(tenant_id)

    def can_access(self, tenant_id: UUID) -> bool:
        return self.role_in(tenant_id) is not None
