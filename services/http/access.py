"""Who may do what, by role within a tenant. Routes name one of these in `opt={"roles": ...}`."""

from __future__ import annotations

from domain.roles import Role

READERS = frozenset(Role)
FACILITATORS = frozenset({Role.CONSULTANCY_ADMIN, Role.CONSULTANT})
PLANNERS = FACILITATORS | {Role.CLIENT_ADMIN}
PARTICIPANTS = FACILITATORS | {Role.PARTICIPANT}
# The audit trail and lineage: who did what is for the consultancy, management and auditors,
# not for every participant of a theme day.
AUDIT_READERS = PLANNERS | {Role.AUDITOR}
