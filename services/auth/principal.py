"""The authenticated caller, as handlers and guards see it."""

from __future__ import annotations

from uuid import UUID

import msgspec

from domain.roles import Role


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """A signed-in user with the roles they hold: on the platform and in each tenant.

    A participant who joined with a join code has no account: `user_id` is the code's id, the
    one membership is PARTICIPANT in the code's tenant, and `engagement_id` / `unit_id` scope
    everything it may do to one unit of one engagement (`services.auth.guards.join_scope_guard`).
    """

    user_id: UUID
    email: str
    display_name: str
    platform_role: Role | None
    memberships: dict[UUID, Role] = msgspec.field(default_factory=dict)
    engagement_id: UUID | None = None
    unit_id: UUID | None = None

    @property
    def is_unit_scoped(self) -> bool:
        """True for a participant acting by join code: one unit of one engagement, nothing else."""
        return self.unit_id is not None

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
