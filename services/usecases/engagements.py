"""Preparing an engagement and moving it through its phases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import ClassVar, Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.default_instrument import DEFAULT_INSTRUMENT_ID
from domain.engagement import Engagement
from domain.instrument import InstrumentVersion
from domain.phases import Phase
from domain.preparation import Preparation
from domain.provenance import Provenance
from domain.ratings import RatingMode
from services.application import RETRIES_ON_CONFLICT, TenantApplication, derived_id
from services.bootstrap import Container
from services.errors import ConcurrentModification
from services.observability.metrics import CONFLICT_RETRIES
from services.usecases.bus import Command, handles


class PreparationFields(Protocol):
    """What the preparatory meeting settled, as an adapter received it (an API body, a form)."""

    @property
    def title(self) -> str: ...
    @property
    def focus(self) -> str: ...
    @property
    def target_group(self) -> str: ...
    @property
    def work_process(self) -> str: ...
    @property
    def planning_group(self) -> Sequence[str]: ...
    @property
    def theme_day(self) -> date: ...
    @property
    def follow_up_meeting(self) -> date | None: ...


def preparation_of(data: PreparationFields) -> Preparation:
    """The preparation as the domain records it: text trimmed, the planning group a tuple."""
    return Preparation(
        title=data.title.strip(),
        focus=data.focus.strip(),
        target_group=data.target_group.strip(),
        work_process=data.work_process.strip(),
        planning_group=tuple(member.strip() for member in data.planning_group),
        theme_day=data.theme_day,
        follow_up_meeting=data.follow_up_meeting,
    )


class PrepareEngagement(Command[UUID], frozen=True, kw_only=True):
    """The preparatory meeting; `instrument` is the version pinned (read from the control
    plane by the caller, see `instrument_for`)."""

    conditional: ClassVar[bool] = False

    tenant_id: UUID
    preparation: Preparation
    unit_ids: tuple[UUID, ...]
    instrument: InstrumentVersion
    rating_mode: RatingMode
    min_group_size: int
    rounds: int


class RevisePreparation(Command[int], frozen=True, kw_only=True):
    engagement_id: UUID
    preparation: Preparation


class AdvancePhase(Command[int], frozen=True, kw_only=True):
    engagement_id: UUID
    expected_phase: Phase


class MovePhaseBack(Command[int], frozen=True, kw_only=True):
    engagement_id: UUID
    expected_phase: Phase
    reason: str


class SetRounds(Command[int], frozen=True, kw_only=True):
    engagement_id: UUID
    rounds: int


@handles(PrepareEngagement)
def prepare(app: TenantApplication, c: PrepareEngagement, p: Provenance, _: int | None) -> UUID:
    """The preparatory meeting: the engagement is recorded together with its place in the
    organisation's history, in one atomic save."""
    engagement_id = derived_id(p, "engagement")
    for _attempt in range(RETRIES_ON_CONFLICT):
        organisation = app.organisation(c.tenant_id)
        if engagement_id in organisation.engagements:
            return engagement_id
        engagement = Engagement.prepare(
            engagement_id,
            c.preparation,
            c.unit_ids,
            c.instrument,
            c.rating_mode,
            c.min_group_size,
            c.rounds,
            p,
        )
        organisation.register_engagement(engagement_id, c.preparation.title, c.unit_ids, p)
        try:
            app.save(organisation, engagement)
        except IntegrityError:
            CONFLICT_RETRIES.labels("command").inc()
            continue
        return engagement_id
    raise ConcurrentModification("too_many_concurrent_changes")


@handles(RevisePreparation)
def revise(app: TenantApplication, c: RevisePreparation, p: Provenance, v: int | None) -> int:
    return app.on_engagement(c.engagement_id, lambda e: e.revise_preparation(c.preparation, p), v, p)


@handles(AdvancePhase)
def advance(app: TenantApplication, c: AdvancePhase, p: Provenance, v: int | None) -> int:
    return app.on_engagement(c.engagement_id, lambda e: e.advance(c.expected_phase, p), v, p)


@handles(MovePhaseBack)
def step_back(app: TenantApplication, c: MovePhaseBack, p: Provenance, v: int | None) -> int:
    return app.on_engagement(c.engagement_id, lambda e: e.move_back(c.expected_phase, c.reason, p), v, p)


@handles(SetRounds)
def set_rounds(app: TenantApplication, c: SetRounds, p: Provenance, v: int | None) -> int:
    return app.on_engagement(c.engagement_id, lambda e: e.set_rounds(c.rounds, p), v, p)


async def instrument_for(
    container: Container, instrument_id: UUID | None, version: int | None
) -> InstrumentVersion:
    """The instrument version an engagement pins: the given one (the latest when no version is
    named), else the built-in instrument. NotFound for an instrument that does not exist."""
    return await container.offloop(
        container.control.instrument_version, instrument_id or DEFAULT_INSTRUMENT_ID, version
    )
