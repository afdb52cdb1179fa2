"""Folded aggregate state → the read-model documents queries return."""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

import msgspec

from domain.cards import CardStatus
from domain.engagement import Engagement
from domain.organisation import Organisation
from domain.ratings import Rating, RatingMode, relation_view
from projections.anonymity import (
    Publication,
    Publications,
    cell_key,
    shown_view,
    still_rating,
)
from projections.documents import (
    AgreementDecisionOut,
    AgreementOut,
    CardOut,
    CheckInOut,
    DialogueOut,
    DimensionOut,
    EngagementOut,
    EngagementRef,
    InstrumentOut,
    OrganisationOut,
    PhaseChange,
    PlenaryOut,
    ProposalDecisionOut,
    ProposalOut,
    RelationOut,
    UnitNameOut,
    UnitOut,
    UnitProgress,
    WrapUpOut,
)
from projections.lineage import decision_key


class EngagementTrail(msgspec.Struct):
    """What the events tell beyond the aggregate's state: when each thing happened."""

    prepared_at: datetime | None = None
    updated_at: datetime | None = None
    phase_history: list[PhaseChange] = []
    card_sent_at: dict[UUID, datetime] = {}
    card_answered_at: dict[UUID, datetime] = {}
    dialogue_held_at: dict[UUID, datetime] = {}
    agreement_made_at: dict[UUID, datetime] = {}
    proposal_made_at: dict[UUID, datetime] = {}
    # The engagement's version at each decision (an agreement's one, a proposal's each in turn).
    agreement_decided_in: dict[UUID, int] = {}
    proposal_decided_in: dict[UUID, list[int]] = {}
    # What each cell rated by individuals has shown so far (the anonymity threshold across versions).
    published: Publications = {}


def _agreement_decision_id(agreement_id: UUID, trail: EngagementTrail) -> str | None:
    version = trail.agreement_decided_in.get(agreement_id)
    return None if version is None else decision_key(agreement_id, version)


def _proposal_decisions(
    proposal_id: UUID, decisions: Iterable[object], trail: EngagementTrail
) -> list[ProposalDecisionOut]:
    """The proposal's decisions in the order they were taken, each with its own id."""
    versions = trail.proposal_decided_in.get(proposal_id, [])
    out = []
    for n, decision in enumerate(decisions):
        shown = msgspec.convert(decision, ProposalDecisionOut, from_attributes=True)
        if n < len(versions):
            shown = msgspec.structs.replace(shown, decision_id=decision_key(proposal_id, versions[n]))
        out.append(shown)
    return out


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


# A cell's inputs: the ratings that count in it and, where individuals rate, what it last showed.
_CellInputs = tuple[tuple[Rating, ...], Publication | None]


class _Cells(NamedTuple):
    """The cells one engagement was last rendered with, and what they depended on overall."""

    context: tuple[object, ...]
    # By (unit id, counterpart id) as integers: hashing a UUID runs Python code, an int's does not.
    cells: dict[tuple[int, int], tuple[_CellInputs, RelationOut]]


class RelationCells:
    """The rendered cells of the engagements rendered last in this process.

    A cell's view is a pure function of its inputs (the ratings that count in it, its last
    publication) and of the engagement's rating mode, whether individuals are still rating, its
    instrument and its group size. While those are equal, a cell whose inputs are equal shows
    what it showed, so a render after a few ratings computes only their cells instead of every
    mapped relation (docs/benchmarks.md, P1 and P6). Only a cache: every answer is what a
    render from nothing gives. Renders swap whole entries under a lock, never change one, so
    threads rendering at once each see a consistent entry."""

    def __init__(self, engagements: int = 16) -> None:
        self.engagements = engagements
        self._entries: OrderedDict[UUID, _Cells] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, engagement_id: UUID, context: tuple[object, ...]
    ) -> dict[tuple[int, int], tuple[_CellInputs, RelationOut]]:
        with self._lock:
            entry = self._entries.get(engagement_id)
        return entry.cells if entry is not None and entry.context == context else {}

    def put(self, engagement_id: UUID, entry: _Cells) -> None:
        with self._lock:
            self._entries[engagement_id] = entry
            self._entries.move_to_end(engagement_id)
            while len(self._entries) > self.engagements:
                self._entries.popitem(last=False)


RELATION_CELLS = RelationCells()


def relation_views(
    engagement: Engagement, published: Publications, cells: RelationCells = RELATION_CELLS
) -> list[RelationOut]:
    """Every mapped relation as it may be shown: a unit's own (consensus) rating as it stands;
    ratings by individuals only as the aggregate `published` lets stand (projections/anonymity.py).
    Cells whose inputs are those of the last render of the engagement are taken from `cells`."""
    by_relation: dict[tuple[int, int], list[Rating]] = {}
    for rating in engagement.ratings.values():
        by_relation.setdefault((rating.unit_id.int, rating.counterpart_id.int), []).append(rating)
    individual = engagement.rating_mode is RatingMode.INDIVIDUAL
    context = (
        engagement.rating_mode,
        still_rating(engagement),
        engagement.min_group_size,
        engagement.instrument,
    )
    before = cells.get(engagement.id, context)
    now: dict[tuple[int, int], tuple[_CellInputs, RelationOut]] = {}
    views = []
    for unit_id, counterparts in engagement.relations.items():
        for counterpart_id in counterparts:
            pair = (unit_id.int, counterpart_id.int)
            found = by_relation.get(pair, [])
            history = published.get(cell_key(unit_id, counterpart_id)) if individual else None
            inputs: _CellInputs = (tuple(found), history[-1] if history else None)
            known = before.get(pair)
            out = (
                known[1]
                if known is not None and known[0] == inputs
                else _cell(engagement, published, unit_id, counterpart_id, found)
            )
            now[pair] = (inputs, out)
            views.append(out)
    cells.put(engagement.id, _Cells(context, now))
    return views


def _cell(
    engagement: Engagement, published: Publications, unit_id: UUID, counterpart_id: UUID, found: list[Rating]
) -> RelationOut:
    if engagement.rating_mode is RatingMode.INDIVIDUAL:
        view = shown_view(engagement, published, unit_id, counterpart_id, found)
    else:
        view = relation_view(
            unit_id, counterpart_id, found, engagement.instrument.dimension_keys, engagement.min_group_size
        )
    band = None if view.index is None else engagement.instrument.band_for(view.index)
    return RelationOut(
        unit_id=unit_id,
        counterpart_id=counterpart_id,
        raters=None if view.suppressed else view.raters,
        suppressed=view.suppressed,
        means={k: str(v) for k, v in view.means.items()},
        index=None if view.index is None else str(view.index),
        band=None if band is None else band.label_en,
        band_da=None if band is None else band.label_da,
    )


def unit_progress(engagement: Engagement) -> list[UnitProgress]:
    rated = Counter(u for u, _ in {(r.unit_id, r.counterpart_id) for r in engagement.ratings.values()})
    # How many of a unit's people have rated (individual ratings), never which of them.
    raters = Counter(u for u, _ in {(r.unit_id, r.rater) for r in engagement.ratings.values() if r.rater})
    sent: Counter[UUID] = Counter()
    received: Counter[UUID] = Counter()
    accepted: Counter[UUID] = Counter()
    declined: Counter[UUID] = Counter()
    for card in engagement.cards.values():
        sent[card.from_unit] += 1
        received[card.to_unit] += 1
        if card.status is CardStatus.ACCEPTED:
            accepted.update(card.units)
        elif card.status is CardStatus.DECLINED:
            declined[card.to_unit] += 1
    dialogues = Counter(u for d in engagement.dialogues.values() for u in d.units)
    return [
        UnitProgress(
            unit_id=unit_id,
            relations_mapped=len(engagement.relations.get(unit_id, ())),
            relations_rated=rated[unit_id],
            cards_sent=sent[unit_id],
            cards_received=received[unit_id],
            cards_accepted=accepted[unit_id],
            cards_declined=declined[unit_id],
            dialogues=dialogues[unit_id],
            wrapped_up=unit_id in engagement.wrap_ups,
            raters=raters[unit_id],
        )
        for unit_id in engagement.unit_ids
    ]


def engagement_out(engagement: Engagement, trail: EngagementTrail) -> EngagementOut:
    prep = engagement.preparation
    instrument = engagement.instrument

    def card_out(card: object) -> CardOut:
        out = msgspec.convert(card, CardOut, from_attributes=True)
        out.sent_at = trail.card_sent_at.get(out.card_id)
        out.answered_at = trail.card_answered_at.get(out.card_id)
        return out

    def dialogue_out(dialogue: object) -> DialogueOut:
        out = msgspec.convert(dialogue, DialogueOut, from_attributes=True)
        out.held_at = trail.dialogue_held_at.get(out.dialogue_id)
        return out

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
        relation_views=relation_views(engagement, trail.published),
        cards=[card_out(c) for c in engagement.cards.values()],
        dialogues=[dialogue_out(d) for d in engagement.dialogues.values()],
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
                made_at=trail.agreement_made_at.get(a.agreement_id),
                decision_id=_agreement_decision_id(a.agreement_id, trail) if a.decision is not None else None,
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
                decisions=_proposal_decisions(p.proposal_id, p.decisions, trail),
                made_at=trail.proposal_made_at.get(p.proposal_id),
            )
            for p in engagement.proposals.values()
        ],
        wrap_ups=[msgspec.convert(w, WrapUpOut, from_attributes=True) for w in engagement.wrap_ups.values()],
        plenary=None
        if engagement.plenary is None
        else msgspec.convert(engagement.plenary, PlenaryOut, from_attributes=True),
        phase_history=list(trail.phase_history),
        unit_progress=unit_progress(engagement),
        prepared_at=trail.prepared_at,
        updated_at=trail.updated_at,
    )
