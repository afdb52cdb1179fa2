"""Aggregates → response Structs. The only place that knows both shapes."""

from __future__ import annotations

import msgspec

from domain.engagement import Engagement
from domain.organisation import Organisation
from services.http.schemas.engagement import (
    AgreementDecisionOut,
    AgreementOut,
    CardOut,
    CheckInOut,
    DialogueOut,
    DimensionOut,
    EngagementOut,
    InstrumentOut,
    PlenaryOut,
    ProposalDecisionOut,
    ProposalOut,
    RelationOut,
    WrapUpOut,
)
from services.http.schemas.organisation import EngagementRef, OrganisationOut, UnitNameOut, UnitOut


def organisation_out(organisation: Organisation) -> OrganisationOut:
    return OrganisationOut(
        name=organisation.name,
        version=organisation.version,
        units=[
            UnitOut(
                unit_id=unit.id,
                name=unit.name,
                status=unit.status.value,
                names=[UnitNameOut(n.name, n.since) for n in unit.names],
                ended_at=unit.ended_at,
                predecessors=list(unit.predecessors),
                successors=list(unit.successors),
            )
            for unit in organisation.units.values()
        ],
        engagements=[EngagementRef(eid, title) for eid, title in organisation.engagements.items()],
    )


def relation_views(engagement: Engagement) -> list[RelationOut]:
    views = []
    for unit_id, counterparts in engagement.relations.items():
        for counterpart_id in counterparts:
            view = engagement.relation(unit_id, counterpart_id)
            views.append(
                RelationOut(
                    unit_id=unit_id,
                    counterpart_id=counterpart_id,
                    raters=view.raters,
                    suppressed=view.suppressed,
                    means={k: str(v) for k, v in view.means.items()},
                    index=None if view.index is None else str(view.index),
                    band=None if view.index is None else engagement.instrument.band_for(view.index).label_en,
                )
            )
    return views


def engagement_out(engagement: Engagement) -> EngagementOut:
    prep = engagement.preparation
    instrument = engagement.instrument
    return EngagementOut(
        engagement_id=engagement.id,
        version=engagement.version,
        phase=engagement.phase,
        title=prep.title,
        focus=prep.focus,
        target_group=prep.target_group,
        work_process=prep.work_process,
        planning_group=list(prep.planning_group),
        theme_day=prep.theme_day,
        follow_up_meeting=prep.follow_up_meeting,
        unit_ids=list(engagement.unit_ids),
        instrument=InstrumentOut(
            instrument.instrument_id,
            instrument.version,
            instrument.name,
            instrument.scale_min,
            instrument.scale_max,
            [msgspec.convert(d, DimensionOut, from_attributes=True) for d in instrument.dimensions],
        ),
        rating_mode=engagement.rating_mode,
        min_group_size=engagement.min_group_size,
        rounds=engagement.rounds,
        relations={str(unit): list(counterparts) for unit, counterparts in engagement.relations.items()},
        relation_views=relation_views(engagement),
        cards=[msgspec.convert(c, CardOut, from_attributes=True) for c in engagement.cards.values()],
        dialogues=[
            msgspec.convert(d, DialogueOut, from_attributes=True) for d in engagement.dialogues.values()
        ],
        agreements=[
            AgreementOut(
                agreement_id=a.agreement_id,
                dialogue_id=a.dialogue_id,
                units=list(a.units),
                text=a.text,
                needs_acceptance=a.needs_acceptance,
                status=a.status.value,
                decision=None
                if a.decision is None
                else msgspec.convert(a.decision, AgreementDecisionOut, from_attributes=True),
                check_ins=[msgspec.convert(c, CheckInOut, from_attributes=True) for c in a.check_ins],
            )
            for a in engagement.agreements.values()
        ],
        proposals=[
            ProposalOut(
                proposal_id=p.proposal_id,
                dialogue_id=p.dialogue_id,
                units=list(p.units),
                text=p.text,
                status=p.status.value,
                decisions=[
                    msgspec.convert(d, ProposalDecisionOut, from_attributes=True) for d in p.decisions
                ],
            )
            for p in engagement.proposals.values()
        ],
        wrap_ups=[msgspec.convert(w, WrapUpOut, from_attributes=True) for w in engagement.wrap_ups.values()],
        plenary=None
        if engagement.plenary is None
        else msgspec.convert(engagement.plenary, PlenaryOut, from_attributes=True),
    )
