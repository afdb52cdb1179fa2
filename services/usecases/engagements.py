"""Preparing an engagement and moving it through its phases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol
from uuid import UUID

from domain.default_instrument import DEFAULT_INSTRUMENT_ID
from domain.engagement import Preparation
from domain.instrument import InstrumentVersion
from domain.phases import Phase
from domain.provenance import Provenance
from domain.ratings import RatingMode
from services.application import TenantApplication
from services.bootstrap import Container
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
    return app.prepare_engagement(
        c.tenant_id, c.preparation, c.unit_ids, c.instrument, c.rating_mode, c.min_group_size, c.rounds, p
    )


@handles(RevisePreparation)
def revise(app: TenantApplication, c: RevisePreparation, p: Provenance, v: int | None) -> int:
    return app.revise_preparation(c.engagement_id, c.preparation, p, expected_version=v)


@handles(AdvancePhase)
def advance(app: TenantApplication, c: AdvancePhase, p: Provenance, v: int | None) -> int:
    return app.advance_phase(c.engagement_id, c.expected_phase, p, expected_version=v)


@handles(MovePhaseBack)
def step_back(app: TenantApplication, c: MovePhaseBack, p: Provenance, v: int | None) -> int:
    return app.move_phase_back(c.engagement_id, c.expected_phase, c.reason, p, expected_version=v)


@handles(SetRounds)
def set_rounds(app: TenantApplication, c: SetRounds, p: Provenance, v: int | None) -> int:
    return app.set_rounds(c.engagement_id, c.rounds, p, expected_version=v)


async def instrument_for(
    container: Container, instrument_id: UUID | None, version: int | None
) -> InstrumentVersion:
    """The instrument version an engagement pins: the given one (the latest when no version is
    named), else the built-in instrument. NotFound for an instrument that does not exist."""
    return await container.offloop(
        container.control.instrument_version, instrument_id or DEFAULT_INSTRUMENT_ID, version
    )
