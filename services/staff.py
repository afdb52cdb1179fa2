"""The accounts the platform knows, for the consultancy admin's pages: who the consultants are
and which client organisations each is assigned to.

The control plane keeps no list of its users (each is an aggregate of its own, found by the id
its e-mail address derives), so the accounts are found in the platform store's log by the event
that registers each one, then loaded. The log is read a page at a time and only for that event's
topic; the platform holds the consultancy's staff and the clients' people, not the participants
of theme days (they join by code), so it stays small.

Blocking: call it off the event loop.
"""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.roles import Role
from domain.user import User
from services.controlplane import ControlPlane

REGISTERED = f"{get_topic(User)}.Registered"
PAGE = 500


def accounts(control: ControlPlane) -> list[User]:
    """Every registered account, by display name."""
    ids: list[UUID] = []
    start: int | None = None
    while True:
        found = control.recorder.select_notifications(
            start=start, limit=PAGE, topics=(REGISTERED,), inclusive_of_start=start is None
        )
        ids.extend(UUID(str(n.originator_id)) for n in found)
        if len(found) < PAGE:
            break
        start = found[-1].id
    users = (control.find_user(user_id) for user_id in dict.fromkeys(ids))
    return sorted((u for u in users if u is not None), key=lambda u: (u.display_name.casefold(), u.email))


def consultants(control: ControlPlane) -> list[User]:
    """The consultancy's active consultants, whom a client organisation may be assigned."""
    return [u for u in accounts(control) if u.active and u.platform_role is Role.CONSULTANT]


def assigned_consultants(control: ControlPlane) -> dict[UUID, list[User]]:
    """By client organisation, the consultants who hold the consultant's role there."""
    by_tenant: dict[UUID, list[User]] = defaultdict(list)
    for user in consultants(control):
        for tenant_id, role in user.memberships.items():
            if role is Role.CONSULTANT:
                by_tenant[tenant_id].append(user)
    return dict(by_tenant)
