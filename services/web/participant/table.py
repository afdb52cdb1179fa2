"""One unit's table: what it sees of its engagement (its relations, ratings, dance cards,
dialogue rounds and wrap-up, picked out of the engagement's read model by pure functions),
the `Table` each of its pages opens, the form-row helpers those pages share, and its home page.

Participants usually have no account: they join with their unit's join code and may act only
as that unit (`UnitScope.PATH_UNIT`); facilitators may open any unit's table. Each page does
one thing: the dimensions explained, mapping the relations, rating one relation, the dance
cards, the round schedule, one dialogue, the unit's wrap-up (one module for each step).
Commands are the API's own (`services/http/theme_day_routes.py`), sent once per form.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from litestar import Controller, Request, get
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from domain.cards import CardStatus
from domain.errors import NotFound
from domain.phases import Phase
from domain.ratings import Rating
from projections.documents import (
    AgreementOut,
    CardOut,
    DialogueOut,
    DimensionOut,
    EngagementOut,
    ProposalOut,
    RelationOut,
    WrapUpOut,
)
from projections.queries import names_at
from services.access import PARTICIPANTS, READ_AT_TABLE, TAKE_PART_AT_TABLE, Policy, UnitScope
from services.requests.commands import container_of
from services.requests.reads import engagement_view, organisation_view
from services.usecases import theme_day as day
from services.usecases.bus import Command
from services.web.commands import submit
from services.web.form_rows import OUTCOME_ROW
from services.web.forms import FormData
from services.web.i18n import gettext as _
from services.web.rendering import page, principal_of

# The steps a table takes, and the phases in which each is open.
RELATIONS, RATE, CARDS, SEND, SCHEDULE, DIALOGUES, WRAP_UP = (
    "relations",
    "rate",
    "cards",
    "send",
    "schedule",
    "dialogues",
    "wrap_up",
)
OPEN_STEPS: dict[Phase, tuple[str, ...]] = {
    Phase.MAPPING: (RELATIONS, RATE),
    Phase.DANCE_CARDS: (CARDS, SEND),
    Phase.DIALOGUES: (SCHEDULE, CARDS),
    Phase.WRAP_UP: (WRAP_UP, SCHEDULE),
}
# The table's forms, and the phases in which the method accepts what each records (the
# domain's `require_phase` in `domain/engagement.py`).
FORM_PHASES: dict[str, tuple[Phase, ...]] = {
    "relations": (Phase.MAPPING,),
    "rate": (Phase.MAPPING,),
    "send": (Phase.DANCE_CARDS,),
    "answer": (Phase.DANCE_CARDS,),
    "withdraw": (Phase.DANCE_CARDS, Phase.DIALOGUES),
    "dialogue": (Phase.DIALOGUES, Phase.WRAP_UP),
    "wrap_up": (Phase.WRAP_UP,),
}
# The theme day as a table lives it, for the progress line on every page.
TABLE_PHASES = (Phase.MAPPING, Phase.DANCE_CARDS, Phase.DIALOGUES, Phase.WRAP_UP)
# Cards still in play: a second one to the same unit is rarely what a table wants.
LIVE_CARDS = frozenset({CardStatus.SENT.value, CardStatus.ACCEPTED.value})
SUGGESTIONS = 3
WEAK_BAND = "weak"
MAX_ROUND = 1_000


@dataclass(frozen=True)
class Counterpart:
    unit_id: UUID
    name: str


@dataclass(frozen=True)
class Explained:
    """A dimension in the reader's language."""

    key: str
    name: str
    question: str


@dataclass(frozen=True)
class Suggestion:
    """A weak relation worth a dance card: this unit's own rating of it (the shown means)."""

    unit_id: UUID
    name: str
    index: Decimal
    band: str | None
    carded: bool  # a card to or from that unit is already in play
    band_key: str = ""  # the band's English name in lower case, for its colour ("weak", ...)
    weakest_dimension: str = ""  # the dimension rated lowest, in the reader's language
    weakest_mean: Decimal | None = None

    @property
    def weak(self) -> bool:
        return self.band_key == WEAK_BAND


@dataclass(frozen=True)
class CardLine:
    card: CardOut
    other: Counterpart
    sent_by_us: bool
    held: bool  # its dialogue has been recorded


@dataclass(frozen=True)
class RoundLine:
    round: int
    dialogue: CardLine | None  # at most one per round


@dataclass(frozen=True)
class Outcomes:
    agreements: list[AgreementOut]
    proposals: list[ProposalOut]


@dataclass(frozen=True)
class Window:
    """Whether a form can be used now; if not, the phase it opens in (None: it has closed)."""

    open: bool
    opens_in: Phase | None


def window(form: str, phase: Phase) -> Window:
    return window_of(FORM_PHASES[form], phase)


def window_of(allowed: tuple[Phase, ...], phase: Phase) -> Window:
    """A form accepted in the phases `allowed`, seen in `phase`."""
    if phase in allowed:
        return Window(True, None)
    order = list(Phase)
    ahead = [p for p in allowed if order.index(p) > order.index(phase)]
    return Window(False, ahead[0] if ahead else None)


def open_steps(phase: Phase) -> tuple[str, ...]:
    return OPEN_STEPS.get(phase, ())


def phase_position(phase: Phase) -> int:
    """Where the theme day stands on the table's line: -1 before it, len(TABLE_PHASES) after."""
    if phase in TABLE_PHASES:
        return TABLE_PHASES.index(phase)
    order = list(Phase)
    return -1 if order.index(phase) < order.index(TABLE_PHASES[0]) else len(TABLE_PHASES)


def takes_part(engagement: EngagementOut, unit_id: UUID) -> bool:
    return unit_id in engagement.unit_ids


def counterpart(names: dict[UUID, str], unit_id: UUID) -> Counterpart:
    return Counterpart(unit_id, names.get(unit_id, str(unit_id)))


def others(engagement: EngagementOut, names: dict[UUID, str], unit_id: UUID) -> list[Counterpart]:
    """The engagement's other units, by name."""
    found = [counterpart(names, u) for u in engagement.unit_ids if u != unit_id]
    return sorted(found, key=lambda c: c.name.casefold())


def mapped(engagement: EngagementOut, unit_id: UUID) -> list[UUID]:
    """The units this unit said its work depends on, in the order it named them."""
    return list(engagement.relations.get(str(unit_id), []))


def next_to_rate(mapped_ids: list[UUID], rated: set[UUID], after: UUID | None = None) -> UUID | None:
    """The next relation not yet rated, after `after` in the mapped order, going round."""
    start = mapped_ids.index(after) + 1 if after in mapped_ids else 0
    for candidate in mapped_ids[start:] + mapped_ids[:start]:
        if candidate not in rated and candidate != after:
            return candidate
    return None


def explained(dimensions: list[DimensionOut], language: str) -> list[Explained]:
    if language == "da":
        return [Explained(d.key, d.name_da, d.question_da) for d in dimensions]
    return [Explained(d.key, d.name_en, d.question_en) for d in dimensions]


def band_of(view: RelationOut, language: str) -> str | None:
    return view.band_da if language == "da" else view.band


def weakest(
    engagement: EngagementOut, names: dict[UUID, str], unit_id: UUID, language: str
) -> list[Suggestion]:
    """This unit's shown relations, weakest first: where a dance card may help most."""
    in_play = {
        other
        for card in engagement.cards
        if card.status in LIVE_CARDS and unit_id in (card.from_unit, card.to_unit)
        for other in (card.from_unit, card.to_unit)
        if other != unit_id
    }
    dimensions = {d.key: d for d in explained(engagement.instrument.dimensions, language)}
    found = []
    for view in engagement.relation_views:
        if view.unit_id != unit_id or view.suppressed or view.index is None:
            continue
        lowest = weakest_dimension(view)
        found.append(
            Suggestion(
                view.counterpart_id,
                counterpart(names, view.counterpart_id).name,
                Decimal(view.index),
                band_of(view, language),
                view.counterpart_id in in_play,
                (view.band or "").casefold(),
                dimensions[lowest[0]].name if lowest and lowest[0] in dimensions else "",
                lowest[1] if lowest else None,
            )
        )
    return sorted(found, key=lambda s: (s.index, s.name.casefold()))


def weakest_dimension(view: RelationOut) -> tuple[str, Decimal] | None:
    """The dimension of a relation with the lowest mean, and that mean (the first on a tie)."""
    means = [(key, Decimal(mean)) for key, mean in view.means.items() if mean]
    return min(means, key=lambda found: found[1], default=None)


def suggested(suggestions: list[Suggestion]) -> list[Suggestion]:
    """The few weakest relations without a card in play yet."""
    return [s for s in suggestions if not s.carded][:SUGGESTIONS]


def _held_cards(engagement: EngagementOut) -> set[UUID]:
    return {d.card_id for d in engagement.dialogues}


def _line(card: CardOut, unit_id: UUID, names: dict[UUID, str], held: set[UUID]) -> CardLine:
    sent_by_us = card.from_unit == unit_id
    other = card.to_unit if sent_by_us else card.from_unit
    return CardLine(card, counterpart(names, other), sent_by_us, card.card_id in held)


def received(engagement: EngagementOut, names: dict[UUID, str], unit_id: UUID) -> list[CardLine]:
    """Cards to this unit, those waiting for an answer first."""
    held = _held_cards(engagement)
    lines = [_line(c, unit_id, names, held) for c in engagement.cards if c.to_unit == unit_id]
    return sorted(lines, key=lambda line: line.card.status != CardStatus.SENT.value)


def sent(engagement: EngagementOut, names: dict[UUID, str], unit_id: UUID) -> list[CardLine]:
    held = _held_cards(engagement)
    return [_line(c, unit_id, names, held) for c in engagement.cards if c.from_unit == unit_id]


def waiting_for_answer(lines: list[CardLine]) -> int:
    return sum(1 for line in lines if line.card.status == CardStatus.SENT.value)


def card_at_table(engagement: EngagementOut, card_id: UUID, unit_id: UUID) -> CardOut | None:
    """The card, if it is one this unit sent or received."""
    for card in engagement.cards:
        if card.card_id == card_id and unit_id in (card.from_unit, card.to_unit):
            return card
    return None


def dialogues_of(engagement: EngagementOut, names: dict[UUID, str], unit_id: UUID) -> list[CardLine]:
    """The accepted cards this unit is part of: its dialogues, held or to come."""
    held = _held_cards(engagement)
    return [
        _line(c, unit_id, names, held)
        for c in engagement.cards
        if c.status == CardStatus.ACCEPTED.value and unit_id in (c.from_unit, c.to_unit)
    ]


def by_round(engagement: EngagementOut, lines: list[CardLine]) -> tuple[list[RoundLine], list[CardLine]]:
    """Every round with this unit's dialogue in it (or none: a pause), and dialogues not yet
    placed in a round."""
    placed = {line.card.round: line for line in lines if line.card.round is not None}
    rounds = [RoundLine(r, placed.get(r)) for r in range(1, engagement.rounds + 1)]
    return rounds, [line for line in lines if line.card.round is None]


def next_dialogue(lines: list[CardLine]) -> CardLine | None:
    """The first dialogue not yet recorded, by round (those without a round last)."""
    waiting = [line for line in lines if not line.held]
    return min(waiting, key=lambda line: line.card.round or MAX_ROUND, default=None)


def dialogue_of(engagement: EngagementOut, card_id: UUID) -> DialogueOut | None:
    return next((d for d in engagement.dialogues if d.card_id == card_id), None)


def outcomes_of(engagement: EngagementOut, dialogue_id: UUID) -> Outcomes:
    return Outcomes(
        [a for a in engagement.agreements if a.dialogue_id == dialogue_id],
        [p for p in engagement.proposals if p.dialogue_id == dialogue_id],
    )


def unit_outcomes(engagement: EngagementOut, unit_id: UUID) -> Outcomes:
    """Every agreement and proposal from this unit's dialogues: what its wrap-up gathers."""
    return Outcomes(
        [a for a in engagement.agreements if unit_id in a.units],
        [p for p in engagement.proposals if unit_id in p.units],
    )


def wrap_up_of(engagement: EngagementOut, unit_id: UUID) -> WrapUpOut | None:
    return next((w for w in engagement.wrap_ups if w.unit_id == unit_id), None)


# -- The pages' shared part ---------------------------------------------------------------------

Req = Request[Any, Any, Any]
T = TypeVar("T")
Path = FromPath[UUID]
UNIT_PATH = "/t/{tenant_id:uuid}/e/{engagement_id:uuid}/u/{unit_id:uuid}"
READ_OPT = READ_AT_TABLE.opt(UnitScope.PATH_UNIT)
ACT_OPT = TAKE_PART_AT_TABLE.opt(UnitScope.PATH_UNIT)
# Empty rows offered for agreements, proposals and wrap-up inputs (more with the page's script).
EMPTY_ROWS = 3


@dataclass(frozen=True)
class Table:
    """One unit's table in one engagement, as the pages show it."""

    tenant_id: UUID
    engagement: EngagementOut
    names: dict[UUID, str]
    unit: Counterpart
    can_act: bool  # may send the table's commands (readers may only look)

    @property
    def base(self) -> str:
        return f"/t/{self.tenant_id}/e/{self.engagement.engagement_id}/u/{self.unit.unit_id}"

    @property
    def unit_id(self) -> UUID:
        return self.unit.unit_id

    @property
    def engagement_id(self) -> UUID:
        return self.engagement.engagement_id

    @property
    def live_source(self) -> str:
        return f"/api/v1/tenants/{self.tenant_id}/engagements/{self.engagement_id}/events"


async def table_at(request: Req, tenant_id: UUID, engagement_id: UUID, unit_id: UUID) -> Table:
    engagement = await engagement_view(request, tenant_id, engagement_id)
    if not takes_part(engagement, unit_id):
        raise NotFound("this_unit_not_taking_part")
    names = names_at(await organisation_view(request, tenant_id), None)
    principal = principal_of(request)
    role = principal.role_in(tenant_id) if principal else None
    unit = counterpart(names, unit_id)
    return Table(tenant_id, engagement, names, unit, role in PARTICIPANTS)


async def own_ratings(request: Req, table: Table) -> dict[UUID, Rating]:
    """The ratings this table has given, by counterpart: the unit's own (consensus) ratings,
    or, where participants rate one by one, those of the person asking (by the same
    pseudonym the rating itself was recorded under, which never leaves the server)."""
    principal = principal_of(request)
    if principal is None:  # pragma: no cover - every route here needs a token
        return {}
    return await day.own_ratings(
        container_of(request), table.tenant_id, table.engagement_id, table.unit_id, principal.user_id
    )


async def send(request: Req, table: Table, command: Command[T], form: FormData) -> T | None:
    return await submit(request, table.tenant_id, command, form.key)


def see_other(url: str) -> Redirect:
    return Redirect(url, status_code=303)


def card_of(table: Table, card_id: UUID) -> CardOut:
    """The card, refused unless this unit sent or received it."""
    card = card_at_table(table.engagement, card_id, table.unit_id)
    if card is None:
        raise PermissionDeniedException(_("This dance card is not one of your unit's."))
    return card


def outcome_rows(form: FormData) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Agreement rows (`agreement-N`, ticked `agreement-N-acceptance`) and proposal rows
    (`proposal-N`), in their order on the page, blank rows left out."""
    agreements: list[tuple[int, dict[str, Any]]] = []
    proposals: list[tuple[int, dict[str, Any]]] = []
    for key in form:
        found = OUTCOME_ROW.match(key)
        text = str(form.get(key) or "").strip()
        if not found or not text:
            continue
        kind, number = found.group(1), int(found.group(2))
        if kind == "agreement":
            ticked = bool(form.get(f"{key}-acceptance"))
            agreements.append((number, {"text": text, "needs_acceptance": ticked}))
        else:
            proposals.append((number, {"text": text}))
    return _in_order(agreements), _in_order(proposals)


def _in_order(rows: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [row for _number, row in sorted(rows, key=lambda numbered: numbered[0])]


def padded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as posted, and empty ones to reach at least EMPTY_ROWS, one empty at least."""
    empty = max(EMPTY_ROWS - len(rows), 1)
    return rows + [{"text": "", "needs_acceptance": False} for _ in range(empty)]


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def step_line(table: Table) -> dict[str, Any]:
    """The theme day's line of steps, shown on every page of the table."""
    phase = table.engagement.phase
    return {
        "table_phases": TABLE_PHASES,
        "position": phase_position(phase),
        "window": lambda form: window(form, phase),
    }


class TableHomePages(Controller):
    """The table's home, and its "now" panel."""

    path = UNIT_PATH

    async def _now(self, request: Req, table: Table) -> dict[str, Any]:
        """What the table should do now, with how far it has come."""
        engagement, unit_id = table.engagement, table.unit_id
        mapped_ids = mapped(engagement, unit_id)
        rated = set(await own_ratings(request, table)) if engagement.phase is Phase.MAPPING else set()
        received_lines = received(engagement, table.names, unit_id)
        dialogues = dialogues_of(engagement, table.names, unit_id)
        return {
            **step_line(table),
            "table": table,
            "steps": open_steps(engagement.phase),
            "mapped": len(mapped_ids),
            "rated": len(rated & set(mapped_ids)),
            "waiting": waiting_for_answer(received_lines),
            "sent": len(sent(engagement, table.names, unit_id)),
            "dialogues": dialogues,
            "next_dialogue": next_dialogue(dialogues),
            "wrapped_up": wrap_up_of(engagement, unit_id) is not None,
        }

    @get("/", opt=READ_OPT)
    async def home(self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path) -> Template:
        """The table's home: where the theme day stands and what to do now."""
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        context = await self._now(request, table)
        return page("participant/home.html", **context)

    @get("/now", opt=READ_OPT)
    async def now(self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path) -> Template:
        """The home page's "now" panel alone, fetched again when the engagement changes."""
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        return page("participant/_now.html", **await self._now(request, table))


PAGES: list[ControllerRouterHandler] = [TableHomePages]

_U = UNIT_PATH
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", _U): READ_AT_TABLE,
    ("GET", f"{_U}/now"): READ_AT_TABLE,
}
