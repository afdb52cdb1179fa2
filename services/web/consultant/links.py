"""Which of an engagement's and an organisation's pages a home page may link to: those whose
declared policy lets the visitor in."""

from __future__ import annotations

from uuid import UUID

from services.access import FACILITATORS, Caller, policy_for
from services.auth.principal import Principal

# The pages of an engagement and of a client organisation a home page may link to; each link is
# shown only to those whom the page's declared policy lets in.
ENGAGEMENT_PAGES = (
    "console",
    "schedule",
    "dashboard",
    "matrix",
    "board",
    "follow-up",
    "agreements",
    "report",
    "participants/erasure",
)
TENANT_PAGES = ("engagements/new", "history", "audit", "people", "units", "instruments", "notifications")


def _caller(principal: Principal, tenant_id: UUID) -> Caller | None:
    if principal.is_unit_scoped:
        return Caller.UNIT_TABLE
    role = principal.role_in(tenant_id)
    return None if role is None else Caller(role.value)


def pages_open_to(principal: Principal, tenant_id: UUID, prefix: str, names: tuple[str, ...]) -> set[str]:
    """The pages under `prefix` (a path template) that `principal` may open in `tenant_id`:
    those declared, whose policy lets the principal's role in."""
    caller = _caller(principal, tenant_id)
    if caller is None:
        return set()
    found = ((name, policy_for("GET", f"{prefix}/{name}")) for name in names)
    return {name for name, policy in found if policy is not None and policy.allows(caller)}


def is_facilitator(principal: Principal, tenant_id: UUID) -> bool:
    return principal.role_in(tenant_id) in FACILITATORS
