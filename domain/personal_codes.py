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

from domain.errors import InvariantViolated, NotFound
from domain.provenance import Provenance
from domain.ratings import RatingMode

PERSONAL_CODES_NAMESPACE = UUID("5c0e7a2d-3b91-5f46-8d2a-9e1b4c6f0a73")
# A batch (the first or an extension) is for this many people at most: a unit's table, not a city.
MOST_PEOPLE_PER_BATCH = 200
# A slip's code is derived from its batch and number; one equal to a code issued before (a chance
# of one in 2**50 per pair) is derived again with the next draw, this many at most.
DRAWS_PER_SLIP = 3


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
    # Each batch (the first or an extension) by the command that issued it: (command id, first
    # slip, how many slips). A retried command is answered with its batch's slips again.
    batches: tuple[tuple[UUID, int, int], ...]

    @staticmethod
    def create_id(tenant_id: UUID, engagement_id: UUID, unit_id: UUID) -> UUID:
        return uuid5(PERSONAL_CODES_NAMESPACE, f"{tenant_id}/{engagement_id}/{unit_id}")

    @staticmethod
    def batch_id(codes_id: UUID, command_id: UUID) -> UUID:
        """The id of the batch a command issues to the unit's codes `codes_id`: the same for a
        retry of the command (its command id is the same), another for every other command."""
        return uuid5(PERSONAL_CODES_NAMESPACE, f"{codes_id}/batch/{command_id}")

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
        self.batches = ((provenance.command_id, 1, len(code_ids)),)

    @property
    def people(self) -> int:
        """How many people the unit's codes are for now: the slips not revoked."""
        return len(self.slips) - len(self.revoked)

    def people_at(self, moment: datetime | None) -> int:
        """How many people the codes were for at `moment` (now, when None; none before the first)."""
        if moment is None:
            return self.people
        return next((n for at, n in reversed(self.headcounts) if at <= moment), 0)

    def slips_issued_by(self, command_id: UUID, people: int) -> tuple[int, ...] | None:
        """The slips a command issued (a retried request is answered with them again), or None
        when it issued none here. The same command for another number of people is refused."""
        for issuer, first, count in self.batches:
            if issuer == command_id:
                if count != people:
                    raise InvariantViolated("personal_codes_request_changed", issued=count, people=people)
                return tuple(range(first, first + count))
        return None

    def batch_of(self, slip: int) -> UUID:
        """The id of the batch that issued `slip`."""
        self.code_of(slip)
        issuer = next(c for c, first, count in self.batches if first <= slip < first + count)
        return self.batch_id(self.id, issuer)

    def extend(
        self,
        rating_mode: RatingMode,
        code_ids: tuple[UUID, ...],
        expires_at: datetime,
        provenance: Provenance,
    ) -> None:
        """More slips for people who came later; numbered on from the last. A command that
        issued slips here already (a retried request) records nothing new."""
        if self.slips_issued_by(provenance.command_id, len(code_ids)) is not None:
            return
        check_personal_codes_allowed(rating_mode)
        check_people(len(code_ids))
        self._extended(code_ids=tuple(code_ids), expires_at=expires_at, provenance=provenance)

    @event("Extended")
    def _extended(self, code_ids: tuple[UUID, ...], expires_at: datetime, provenance: Provenance) -> None:
        self.batches = (*self.batches, (provenance.command_id, len(self.slips) + 1, len(code_ids)))
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
