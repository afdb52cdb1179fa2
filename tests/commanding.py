"""The tenant application's commands as the tests and benches give them: one function per
command with the positional arguments of the command's fields, handed to the front door's
table (`services.usecases.handle`) on an application the caller holds."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from uuid import UUID

from domain.agreements import CheckInStatus
from domain.instrument import InstrumentVersion
from domain.phases import Phase
from domain.preparation import Preparation
from domain.proposals import ProposalStatus
from domain.provenance import Provenance
from domain.ratings import RatingMode
from services.application import TenantApplication
from services.usecases import engagements, follow_up, handle, organisation, theme_day

App = TenantApplication


def establish_organisation(app: App, tenant_id: UUID, name: str, p: Provenance) -> UUID:
    return handle(app, organisation.EstablishOrganisation(tenant_id=tenant_id, name=name), p)


def add_unit(
    app: App, tenant_id: UUID, name: str, p: Provenance, expected_version: int | None = None
) -> UUID:
    return handle(app, organisation.AddUnit(tenant_id=tenant_id, name=name), p, expected_version)


def rename_unit(
    app: App, tenant_id: UUID, unit_id: UUID, name: str, p: Provenance, expected_version: int | None = None
) -> int:
    return handle(
        app, organisation.RenameUnit(tenant_id=tenant_id, unit_id=unit_id, name=name), p, expected_version
    )


def merge_units(
    app: App,
    tenant_id: UUID,
    unit_ids: tuple[UUID, ...],
    name: str,
    p: Provenance,
    expected_version: int | None = None,
) -> UUID:
    return handle(
        app, organisation.MergeUnits(tenant_id=tenant_id, unit_ids=unit_ids, name=name), p, expected_version
    )


def prepare_engagement(
    app: App,
    tenant_id: UUID,
    preparation: Preparation,
    unit_ids: tuple[UUID, ...],
    instrument: InstrumentVersion,
    rating_mode: RatingMode,
    min_group_size: int,
    rounds: int,
    p: Provenance,
) -> UUID:
    command = engagements.PrepareEngagement(
        tenant_id=tenant_id,
        preparation=preparation,
        unit_ids=unit_ids,
        instrument=instrument,
        rating_mode=rating_mode,
        min_group_size=min_group_size,
        rounds=rounds,
    )
    return handle(app, command, p)


def advance_phase(
    app: App, engagement_id: UUID, expected_phase: Phase, p: Provenance, expected_version: int | None = None
) -> int:
    return handle(
        app,
        engagements.AdvancePhase(engagement_id=engagement_id, expected_phase=expected_phase),
        p,
        expected_version,
    )


def map_relations(
    app: App,
    engagement_id: UUID,
    unit_id: UUID,
    counterpart_ids: tuple[UUID, ...],
    p: Provenance,
    expected_version: int | None = None,
) -> int:
    command = theme_day.MapRelations(
        engagement_id=engagement_id, unit_id=unit_id, counterpart_ids=counterpart_ids
    )
    return handle(app, command, p, expected_version)


def submit_rating(
    app: App,
    engagement_id: UUID,
    unit_id: UUID,
    counterpart_id: UUID,
    scores: Mapping[str, int],
    p: Provenance,
    expected_version: int | None = None,
) -> UUID:
    command = theme_day.SubmitRating(
        engagement_id=engagement_id, unit_id=unit_id, counterpart_id=counterpart_id, scores=scores
    )
    return handle(app, command, p, expected_version)


def send_card(
    app: App,
    engagement_id: UUID,
    from_unit: UUID,
    to_unit: UUID,
    topic: str,
    reason: str,
    hoped_outcome: str,
    motivating_rating_id: UUID | None,
    p: Provenance,
    expected_version: int | None = None,
) -> UUID:
    command = theme_day.SendDanceCard(
        engagement_id=engagement_id,
        from_unit=from_unit,
        to_unit=to_unit,
        topic=topic,
        reason=reason,
        hoped_outcome=hoped_outcome,
        motivating_rating_id=motivating_rating_id,
    )
    return handle(app, command, p, expected_version)


def accept_card(
    app: App,
    engagement_id: UUID,
    card_id: UUID,
    by_unit: UUID,
    p: Provenance,
    expected_version: int | None = None,
) -> int:
    command = theme_day.AcceptDanceCard(engagement_id=engagement_id, card_id=card_id, unit_id=by_unit)
    return handle(app, command, p, expected_version)


def schedule_dialogues(
    app: App, engagement_id: UUID, p: Provenance, expected_version: int | None = None
) -> int:
    return handle(app, theme_day.ScheduleDialogues(engagement_id=engagement_id), p, expected_version)


def hold_dialogue(
    app: App,
    engagement_id: UUID,
    card_id: UUID,
    notes: str,
    participants: tuple[str, ...],
    agreements: tuple[tuple[str, bool], ...],
    proposals: tuple[str, ...],
    p: Provenance,
    expected_version: int | None = None,
) -> tuple[UUID, tuple[UUID, ...], tuple[UUID, ...]]:
    command = theme_day.HoldDialogue(
        engagement_id=engagement_id,
        card_id=card_id,
        notes=notes,
        participants=participants,
        agreements=agreements,
        proposals=proposals,
    )
    return handle(app, command, p, expected_version)


def decide_proposal(
    app: App,
    engagement_id: UUID,
    proposal_id: UUID,
    outcome: ProposalStatus,
    rationale: str,
    decided_by: str,
    p: Provenance,
    deferred_until: date | None = None,
    owner: str | None = None,
    due: date | None = None,
    expected_version: int | None = None,
) -> int:
    command = follow_up.DecideProposal(
        engagement_id=engagement_id,
        proposal_id=proposal_id,
        outcome=outcome,
        rationale=rationale,
        decided_by=decided_by,
        deferred_until=deferred_until,
        owner=owner,
        due=due,
    )
    return handle(app, command, p, expected_version)


def check_in(
    app: App,
    engagement_id: UUID,
    agreement_id: UUID,
    status: CheckInStatus,
    note: str,
    p: Provenance,
    expected_version: int | None = None,
    evidence: str = "",
) -> UUID:
    command = follow_up.CheckInOnAgreement(
        engagement_id=engagement_id, agreement_id=agreement_id, status=status, note=note, evidence=evidence
    )
    return handle(app, command, p, expected_version)
