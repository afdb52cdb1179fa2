"""The follow-up meeting's agenda and its report.

The agenda is every agreement that needs management acceptance and every proposal, in the order
they were made, each with where it came from — the dialogue, the dance card that led to it, the
rating that motivated the card — and the ratings between its two units, as the relation matrix
shows them (a relation below the anonymity threshold carries no numbers here either). The
follow-up meeting pages walk through it; the report prints it, as HTML and as PDF.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from litestar import Request

from domain.agreements import AgreementStatus
from domain.proposals import REVISITABLE, ProposalStatus
from projections.documents import (
    AgreementOut,
    CardOut,
    DialogueOut,
    EngagementOut,
    OrganisationOut,
    ProposalOut,
)
from projections.queries import BELOW_THRESHOLD, EARLIEST, MatrixCell, names_at, relation_matrix
from services.requests.reads import engagement_view, known_tenant, organisation_view
from services.web.i18n import current_language
from services.web.i18n import gettext as _
from services.web.rendering import STATIC_DIR

AGREEMENT = "agreement"
PROPOSAL = "proposal"
# The printed report looks as the page does when printed: the site's sheet and the report's.
REPORT_STYLESHEETS = (str(STATIC_DIR / "css" / "balkort.css"), str(STATIC_DIR / "css" / "follow_up.css"))
REPORT_BASE_URL = STATIC_DIR.as_uri()
_DECIDABLE_PROPOSALS = frozenset(s.value for s in REVISITABLE)


@dataclass(frozen=True)
class Score:
    dimension: str
    value: Decimal | None


@dataclass(frozen=True)
class RatingLine:
    """How one unit rates its collaboration with the other, as the matrix shows it."""

    rater: str
    counterpart: str
    shown: bool
    hidden_reason: str
    raters: int | None
    index: Decimal | None
    band: str | None
    band_label: str
    scores: list[Score]
    motivating: bool
    rated_at: datetime | None


@dataclass(frozen=True)
class Origin:
    """Where an agreement or proposal came from: dialogue ← dance card ← motivating rating."""

    dialogue: DialogueOut | None
    card: CardOut | None
    sender: str
    receiver: str
    ratings: list[RatingLine]

    @property
    def motivating(self) -> RatingLine | None:
        return next((r for r in self.ratings if r.motivating), None)


@dataclass(frozen=True)
class AgendaItem:
    kind: str
    item_id: UUID
    text: str
    units: list[str]
    status: str
    undecided: bool  # nobody has decided on it yet
    decidable: bool  # a decision may be taken on it now or again (deferred, investigated)
    agreement: AgreementOut | None
    proposal: ProposalOut | None
    origin: Origin


@dataclass(frozen=True)
class StatusCount:
    kind: str
    status: str
    count: int


@dataclass(frozen=True)
class WrapUpLine:
    """What one unit took home from the theme day, in its own words."""

    unit: str
    summary: str
    inputs: list[str]


@dataclass(frozen=True)
class Agenda:
    engagement: EngagementOut
    organisation_name: str
    items: list[AgendaItem]
    # Agreements the units made themselves (no acceptance needed): reported, not decided.
    in_force: list[AgendaItem]
    # The units' wrap-ups, in the order the engagement lists its units.
    wrap_ups: list[WrapUpLine]

    @property
    def plenary_notes(self) -> str:
        """The closing plenary's notes ("" before it is held or when it noted nothing)."""
        plenary = self.engagement.plenary
        return plenary.notes if plenary is not None else ""

    def find(self, item_id: UUID | None) -> AgendaItem | None:
        return next((i for i in self.items if i.item_id == item_id), None)

    def position(self, item: AgendaItem) -> int:
        return self.items.index(item) + 1

    @property
    def decided(self) -> int:
        return sum(1 for i in self.items if not i.undecided)

    def first(self) -> AgendaItem | None:
        """Where the meeting starts: the first undecided item, else the first item."""
        return next((i for i in self.items if i.undecided), self.items[0] if self.items else None)

    def next_undecided(self, after: UUID) -> AgendaItem | None:
        """The next undecided item after `after`, going round to the start; None when all are decided."""
        ids = [i.item_id for i in self.items]
        start = ids.index(after) + 1 if after in ids else 0
        ordered = self.items[start:] + self.items[:start]
        return next((i for i in ordered if i.undecided and i.item_id != after), None)

    def neighbours(self, item: AgendaItem) -> tuple[AgendaItem | None, AgendaItem | None]:
        at = self.items.index(item)
        before = self.items[at - 1] if at > 0 else None
        after = self.items[at + 1] if at + 1 < len(self.items) else None
        return before, after

    @property
    def summary(self) -> list[StatusCount]:
        """Agreements and proposals counted by status."""
        counted = Counter((i.kind, i.status) for i in (*self.items, *self.in_force))
        return [StatusCount(kind, status, n) for (kind, status), n in sorted(counted.items())]

    @property
    def last_decided_by(self) -> str:
        """Who decided most recently: the meeting's decisions are usually all by the same body."""
        decisions: list[tuple[datetime, str]] = [
            (a.decision.at, a.decision.decided_by) for a in self.engagement.agreements if a.decision
        ]
        decisions += [(d.at, d.decided_by) for p in self.engagement.proposals for d in p.decisions]
        return max(decisions)[1] if decisions else ""


# -- The agenda --------------------------------------------------------------------------------


def _hidden_reason(cell: MatrixCell) -> str:
    if cell.shown:
        return ""
    if cell.raters_label == BELOW_THRESHOLD:
        return _("Fewer raters than the anonymity threshold")
    return _("Not rated")


def _rating_line(
    cell: MatrixCell,
    engagement: EngagementOut,
    names: dict[UUID, str],
    motivating: tuple[UUID, UUID, datetime] | None,
) -> RatingLine:
    danish = current_language() == "da"
    dimensions = [(d.key, d.name_da if danish else d.name_en) for d in engagement.instrument.dimensions]
    is_motivating = motivating is not None and motivating[:2] == (cell.unit_id, cell.counterpart_id)
    return RatingLine(
        rater=names.get(cell.unit_id, str(cell.unit_id)),
        counterpart=names.get(cell.counterpart_id, str(cell.counterpart_id)),
        shown=cell.shown,
        hidden_reason=_hidden_reason(cell),
        raters=cell.raters,
        index=Decimal(cell.index) if cell.index else None,
        band=cell.band,
        band_label=(cell.band_da if danish and cell.band_da else cell.band) or "",
        scores=[
            Score(label, Decimal(cell.means[key]) if key in cell.means else None) for key, label in dimensions
        ],
        motivating=is_motivating,
        rated_at=motivating[2] if motivating is not None and is_motivating else None,
    )


def _origin(
    dialogue_id: UUID,
    units: list[UUID],
    engagement: EngagementOut,
    cells: dict[tuple[UUID, UUID], MatrixCell],
    names: dict[UUID, str],
    rated: dict[UUID, tuple[UUID, UUID, datetime]],
) -> Origin:
    dialogue = next((d for d in engagement.dialogues if d.dialogue_id == dialogue_id), None)
    card = next((c for c in engagement.cards if dialogue and c.card_id == dialogue.card_id), None)
    pair = (card.from_unit, card.to_unit) if card else tuple(units[:2])
    motivating = rated.get(card.motivating_rating_id) if card and card.motivating_rating_id else None
    lines = []
    if len(pair) == 2:
        a, b = pair
        lines = [
            _rating_line(cells[direction], engagement, names, motivating)
            for direction in ((a, b), (b, a))
            if direction in cells
        ]
    lines.sort(key=lambda line: not line.motivating)
    return Origin(
        dialogue=dialogue,
        card=card,
        sender=names.get(card.from_unit, "") if card else "",
        receiver=names.get(card.to_unit, "") if card else "",
        ratings=lines,
    )


def agenda(
    engagement: EngagementOut,
    organisation: OrganisationOut,
    rated: dict[UUID, tuple[UUID, UUID, datetime]],
) -> Agenda:
    """The follow-up meeting's agenda. `rated`: for each motivating rating, which unit rated which
    and when (from the decision lineage)."""
    names = names_at(organisation, None)
    cells = {(c.unit_id, c.counterpart_id): c for c in relation_matrix(engagement, organisation).cells}

    def origin(item: AgreementOut | ProposalOut) -> Origin:
        return _origin(item.dialogue_id, item.units, engagement, cells, names, rated)

    def unit_names(units: list[UUID]) -> list[str]:
        return [names.get(u, str(u)) for u in units]

    def agreement_item(a: AgreementOut) -> AgendaItem:
        awaiting = a.status == AgreementStatus.AWAITING_ACCEPTANCE.value
        return AgendaItem(
            AGREEMENT,
            a.agreement_id,
            a.text,
            unit_names(a.units),
            a.status,
            awaiting,
            awaiting,
            a,
            None,
            origin(a),
        )

    def proposal_item(p: ProposalOut) -> AgendaItem:
        return AgendaItem(
            PROPOSAL,
            p.proposal_id,
            p.text,
            unit_names(p.units),
            p.status,
            p.status == ProposalStatus.OPEN.value,
            p.status in _DECIDABLE_PROPOSALS,
            None,
            p,
            origin(p),
        )

    agreements = sorted(engagement.agreements, key=lambda a: a.made_at or EARLIEST)
    proposals = sorted(engagement.proposals, key=lambda p: p.made_at or EARLIEST)
    order = {unit: at for at, unit in enumerate(engagement.unit_ids)}
    wrap_ups = [
        WrapUpLine(names.get(w.unit_id, str(w.unit_id)), w.summary, list(w.inputs))
        for w in sorted(engagement.wrap_ups, key=lambda w: order.get(w.unit_id, len(order)))
        if w.summary or w.inputs
    ]
    return Agenda(
        engagement=engagement,
        organisation_name=organisation.name,
        items=[agreement_item(a) for a in agreements if a.needs_acceptance]
        + [proposal_item(p) for p in proposals],
        in_force=[agreement_item(a) for a in agreements if not a.needs_acceptance],
        wrap_ups=wrap_ups,
    )


def _rating_pair(label: str) -> tuple[UUID, UUID] | None:
    """A rating's lineage label is `<rater unit id>-><counterpart id>`."""
    rater, _arrow, counterpart = label.partition("->")
    try:
        return UUID(rater), UUID(counterpart)
    except ValueError:
        return None


async def load_agenda(request: Request[Any, Any, Any], tenant_id: UUID, engagement_id: UUID) -> Agenda:
    """The agenda as it stands now, read from the read models and the decision lineage."""
    engagement = await engagement_view(request, tenant_id, engagement_id)
    organisation = await organisation_view(request, tenant_id)
    return await agenda_of(request, tenant_id, engagement, organisation)


async def agenda_of(
    request: Request[Any, Any, Any], tenant_id: UUID, engagement: EngagementOut, organisation: OrganisationOut
) -> Agenda:
    """The agenda of an engagement read already, with the decision lineage behind its cards."""
    wanted = [f"rating:{c.motivating_rating_id}" for c in engagement.cards if c.motivating_rating_id]
    rated: dict[UUID, tuple[UUID, UUID, datetime]] = {}
    if wanted:
        container = await known_tenant(request, tenant_id)
        for node in await container.views.lineage(tenant_id, wanted):
            pair = _rating_pair(node.label)
            if pair is not None:
                rated[UUID(node.node_id.partition(":")[2])] = (*pair, node.occurred_at)
    return agenda(engagement, organisation, rated)


# -- PDF ---------------------------------------------------------------------------------------


def report_key(tenant_id: UUID, engagement: EngagementOut, organisation: OrganisationOut) -> str:
    """What a printed report depends on: the tenant, the engagement at its version, the unit
    names at the organisation's version, and the language it is printed in."""
    return (
        f"{tenant_id}:{engagement.engagement_id}:v{engagement.version}"
        f":o{organisation.version}:{current_language()}"
    )
