"""Personal codes: a join code per person of one unit, where participants rate one by one.

A unit's people each get a slip with a code of their own (numbered 1, 2, ... so a lost slip can
be revoked by its number); each code is a join code (domain/join_code.py) and rates as its own
pseudonymous rater. What is kept here is how many slips there are and which were revoked, never
a code, never who rated: the count of people is what progress is measured against.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyExists, InvariantViolated, NotFound
from domain.provenance import Provenance
from domain.ratings import RatingMode

PERSONAL_CODES_NAMESPACE = UUID("5c0e7a2d-3b91-5f46-8d2a-9e1b4c6f0a73")
# A batch (the first or an extension) is for this many people at most: a unit's table, not a city.
MOST_PEOPLE_PER_BATCH = 200


def check_personal_codes_allowed(rating_mode: RatingMode) -> None:
    """Personal codes are for engagements whose participants rate one by one; where a unit rates
    together (consensus) every code of the unit would be the unit itself."""
    if rating_mode is not RatingMode.INDIVIDUAL:
        raise InvariantViolated("personal_codes_need_individual_rating", state=rating_mode.value)


def check_people(count: int) -> None:
    if not 1 <= count <= MOST_PEOPLE_PER_BATCH:
        raise InvariantViolated("personal_codes_people", most=MOST_PEOPLE_PER_BATCH, people=count)


class PersonalCodes(Aggregate):
    """The personal codes of one unit in one engagement: the slips issued (code ids in slip
    order), those revoked, and how many people that made at each change."""

    tenant_id: UUID
    engagement_id: UUID
    unit_id: UUID
    slips: tuple[UUID, ...]
    revoked: frozenset[int]
    expires_at: datetime
    headcounts: tuple[tuple[datetime, int], ...]
    commands: frozenset[UUID]

    @staticmethod
    def create_id(tenant_id: UUID, engagement_id: UUID, unit_id: UUID) -> UUID:
        return uuid5(PERSONAL_CODES_NAMESPACE, f"{tenant_id}/{engagement_id}/{unit_id}")

    @classmethod
    def issue(
        cls,
        tenant_id: UUID,
        engagement_id: UUID,
        unit_id: UUID,
        rating_mode: RatingMode,
        code_ids: tuple[UUID, ...],
        expires_at: datetime,
        provenance: Provenance,
    ) -> PersonalCodes:
        check_personal_codes_allowed(rating_mode)
        check_people(len(code_ids))
        return cls(
            tenant_id=tenant_id,
            engagement_id=engagement_id,
            unit_id=unit_id,
            code_ids=code_ids,
            expires_at=expires_at,
            provenance=provenance,
        )

    @event("Issued")
    def __init__(
        self,
        tenant_id: UUID,
        engagement_id: UUID,
        unit_id: UUID,
        code_ids: tuple[UUID, ...],
        expires_at: datetime,
        provenance: Provenance,
    ) -> None:
        self.tenant_id = tenant_id
        self.engagement_id = engagement_id
        self.unit_id = unit_id
        self.slips = tuple(code_ids)
        self.revoked = frozenset()
        self.expires_at = expires_at
        self.headcounts = ((provenance.occurred_at, len(code_ids)),)
        self.commands = frozenset({provenance.command_id})

    @property
    def people(self) -> int:
        """How many people the unit's codes are for now: the slips not revoked."""
        return len(self.slips) - len(self.revoked)

    def people_at(self, moment: datetime | None) -> int:
        """How many people the codes were for at `moment` (now, when None; none before the first)."""
        if moment is None:
            return self.people
        return next((n for at, n in reversed(self.headcounts) if at <= moment), 0)

    def check_new_command(self, provenance: Provenance) -> None:
        """A command that already issued slips here (a retried request) issues none again: the
        codes it drew were shown once and are not kept."""
        if provenance.command_id in self.commands:
            raise AlreadyExists("personal_codes_issued_by_this_request")

    def extend(
        self,
        rating_mode: RatingMode,
        code_ids: tuple[UUID, ...],
        expires_at: datetime,
        provenance: Provenance,
    ) -> None:
        """More slips for people who came later; numbered on from the last."""
        check_personal_codes_allowed(rating_mode)
        check_people(len(code_ids))
        self.check_new_command(provenance)
        self._extended(code_ids=tuple(code_ids), expires_at=expires_at, provenance=provenance)

    @event("Extended")
    def _extended(self, code_ids: tuple[UUID, ...], expires_at: datetime, provenance: Provenance) -> None:
        self.slips = (*self.slips, *code_ids)
        self.expires_at = max(self.expires_at, expires_at)
        self._count(provenance)

    def code_of(self, slip: int) -> UUID:
        if not 1 <= slip <= len(self.slips):
            raise NotFound("no_personal_code", slip=slip)
        return self.slips[slip - 1]

    def revoke_slip(self, slip: int, provenance: Provenance) -> UUID | None:
        """Revoke one slip's code (a lost slip); the code's id, or None when it was revoked already."""
        code_id = self.code_of(slip)
        if slip in self.revoked:
            return None
        self._slip_revoked(slip=slip, provenance=provenance)
        return code_id

    @event("SlipRevoked")
    def _slip_revoked(self, slip: int, provenance: Provenance) -> None:
        self.revoked = self.revoked | {slip}
        self._count(provenance)

    def revoke_all(self, provenance: Provenance) -> tuple[UUID, ...]:
        """Revoke every slip not revoked yet; their codes' ids."""
        left = tuple(n for n in range(1, len(self.slips) + 1) if n not in self.revoked)
        if left:
            self._all_revoked(provenance=provenance)
        return tuple(self.slips[n - 1] for n in left)

    @event("Revoked")
    def _all_revoked(self, provenance: Provenance) -> None:
        self.revoked = frozenset(range(1, len(self.slips) + 1))
        self._count(provenance)

    def _count(self, provenance: Provenance) -> None:
        self.headcounts = (*self.headcounts, (provenance.occurred_at, self.people))
        self.commands = self.commands | {provenance.command_id}

    def usable_slips(self) -> tuple[int, ...]:
        return tuple(n for n in range(1, len(self.slips) + 1) if n not in self.revoked)
