"""Pages: a unit's table on the theme day, phone-sized first.

Participants usually have no account: they join with their unit's join code and may act only
as that unit (`UnitScope.PATH_UNIT`); facilitators may open any unit's table. Each page does
one thing: the dimensions explained, mapping the relations, rating one relation, the dance
cards, the round schedule, one dialogue, the unit's wrap-up. Commands are the API's own
(`services/http/theme_day_routes.py`), sent once per form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from domain.cards import CardStatus
from domain.errors import DomainError, NotFound
from domain.phases import Phase
from domain.ratings import Rating, RatingMode
from projections.documents import CardOut, DialogueOut, EngagementOut
from projections.queries import names_at
from services.access import PARTICIPANTS, READ_AT_TABLE, TAKE_PART_AT_TABLE, Policy, UnitScope
from services.requests.commands import container_of
from services.requests.reads import engagement_view, organisation_view
from services.schemas.engagement import (
    AddOutcomes,
    AnswerCard,
    DeclineCard,
    HoldDialogue,
    MapRelations,
    SendCard,
    SubmitRating,
    WrapUpIn,
)
from services.usecases import theme_day as day
from services.usecases.bus import Command
from services.web import participant_table as table_of
from services.web.commands import submit
from services.web.form_rows import OUTCOME_ROW
from services.web.forms import Form, FormData, FormInvalid, decode, domain_message, refusal, values
from services.web.i18n import current_language
from services.web.i18n import gettext as _
from services.web.participant_table import Counterpart
from services.web.rendering import page, principal_of

Req = Request[Any, Any, Any]
T = TypeVar("T")
Path = FromPath[UUID]
UNIT_PATH = "/t/{tenant_id:uuid}/e/{engagement_id:uuid}/u/{unit_id:uuid}"
READ_OPT = READ_AT_TABLE.opt(UnitScope.PATH_UNIT)
ACT_OPT = TAKE_PART_AT_TABLE.opt(UnitScope.PATH_UNIT)
# Empty rows offered for agreements, proposals and wrap-up inputs (more with the page's script).
EMPTY_ROWS = 3
# The card form's checkbox: refer to this table's own rating of the chosen unit.
REFER = "refer_to_rating"


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


async def _table(request: Req, tenant_id: UUID, engagement_id: UUID, unit_id: UUID) -> Table:
    engagement = await engagement_view(request, tenant_id, engagement_id)
    if not table_of.takes_part(engagement, unit_id):
        raise NotFound("this_unit_not_taking_part")
    names = names_at(await organisation_view(request, tenant_id), None)
    principal = principal_of(request)
    role = principal.role_in(tenant_id) if principal else None
    unit = table_of.counterpart(names, unit_id)
    return Table(tenant_id, engagement, names, unit, role in PARTICIPANTS)


async def _own_ratings(request: Req, table: Table) -> dict[UUID, Rating]:
    """The ratings this table has given, by counterpart: the unit's own (consensus) ratings,
    or, where participants rate one by one, those of the person asking (by the same
    pseudonym the rating itself was recorded under, which never leaves the server)."""
    principal = principal_of(request)
    if principal is None:  # pragma: no cover - every route here needs a token
        return {}
    return await day.own_ratings(
        container_of(request), table.tenant_id, table.engagement_id, table.unit_id, principal.user_id
    )


async def _command(request: Req, table: Table, command: Command[T], form: FormData) -> T | None:
    return await submit(request, table.tenant_id, command, form.key)


def _see_other(url: str) -> Redirect:
    return Redirect(url, status_code=303)


def _card(table: Table, card_id: UUID) -> CardOut:
    """The card, refused unless this unit sent or received it."""
    card = table_of.card_at_table(table.engagement, card_id, table.unit_id)
    if card is None:
        raise PermissionDeniedException(_("This dance card is not one of your unit's."))
    return card


def _rows(form: FormData) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
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


def _padded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as posted, and empty ones to reach at least EMPTY_ROWS, one empty at least."""
    empty = max(EMPTY_ROWS - len(rows), 1)
    return rows + [{"text": "", "needs_acceptance": False} for _ in range(empty)]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class UnitTablePages(Controller):
    """A unit's table: home, the dimensions, mapping and rating, dance cards, rounds, dialogues
    and the wrap-up."""

    path = UNIT_PATH

    # -- home ----------------------------------------------------------------------------------

    async def _now(self, request: Req, table: Table) -> dict[str, Any]:
        """What the table should do now, with how far it has come."""
        engagement, unit_id = table.engagement, table.unit_id
        mapped = table_of.mapped(engagement, unit_id)
        rated = set(await _own_ratings(request, table)) if engagement.phase is Phase.MAPPING else set()
        received = table_of.received(engagement, table.names, unit_id)
        dialogues = table_of.dialogues_of(engagement, table.names, unit_id)
        return {
            **_line(table),
            "table": table,
            "steps": table_of.open_steps(engagement.phase),
            "mapped": len(mapped),
            "rated": len(rated & set(mapped)),
            "waiting": table_of.waiting_for_answer(received),
            "sent": len(table_of.sent(engagement, table.names, unit_id)),
            "dialogues": dialogues,
            "next_dialogue": table_of.next_dialogue(dialogues),
            "wrapped_up": table_of.wrap_up_of(engagement, unit_id) is not None,
        }

    @get("/", opt=READ_OPT)
    async def home(self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path) -> Template:
        """The table's home: where the theme day stands and what to do now."""
        table = await _table(request, tenant_id, engagement_id, unit_id)
        context = await self._now(request, table)
        return page("participant/home.html", **context)

    @get("/now", opt=READ_OPT)
    async def now(self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path) -> Template:
        """The home page's "now" panel alone, fetched again when the engagement changes."""
        table = await _table(request, tenant_id, engagement_id, unit_id)
        return page("participant/_now.html", **await self._now(request, table))

    @get("/dimensions", opt=READ_OPT)
    async def dimensions(self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path) -> Template:
        """The instrument's dimensions, explained in the reader's language, and the scale."""
        table = await _table(request, tenant_id, engagement_id, unit_id)
        instrument = table.engagement.instrument
        explained = table_of.explained(instrument.dimensions, current_language())
        return page("participant/dimensions.html", table=table, instrument=instrument, dimensions=explained)

    # -- mapping -------------------------------------------------------------------------------

    @get("/relations", opt=READ_OPT)
    async def relations(self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path) -> Template:
        """Mapping (kortlægning): which units this unit's work depends on."""
        table = await _table(request, tenant_id, engagement_id, unit_id)
        chosen = set(table_of.mapped(table.engagement, unit_id))
        return self._relations_page(table, chosen, {})

    def _relations_page(
        self, table: Table, chosen: set[UUID], errors: dict[str, str], status: int = 200
    ) -> Template:
        return page(
            "participant/relations.html",
            status_code=status,
            table=table,
            others=table_of.others(table.engagement, table.names, table.unit_id),
            chosen={str(c) for c in chosen},
            errors=errors,
            **_line(table),
        )

    @post("/relations", opt=ACT_OPT, status_code=303)
    async def map_relations(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, data: Form
    ) -> Response[Any]:
        table = await _table(request, tenant_id, engagement_id, unit_id)
        form = FormData(data)
        picked = [str(v) for v in form.getall("counterpart_ids") if str(v).strip()]
        try:
            command = decode({"counterpart_ids": picked}, MapRelations)
        except FormInvalid as invalid:
            return self._relations_page(table, set(), invalid.errors, 400)
        chosen = tuple(command.counterpart_ids)
        if set(chosen) != set(table_of.mapped(table.engagement, unit_id)):
            try:
                await _command(
                    request,
                    table,
                    day.MapRelations(engagement_id=engagement_id, unit_id=unit_id, counterpart_ids=chosen),
                    form,
                )
            except DomainError as error:
                return self._relations_page(table, set(chosen), {"": domain_message(error)}, 409)
        return _see_other(f"{table.base}/rate")

    # -- rating --------------------------------------------------------------------------------

    @get("/rate", opt=READ_OPT)
    async def rating_overview(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, done: FromQuery[bool] = False
    ) -> Template:
        """The relations to rate, which are done, and where to carry on."""
        table = await _table(request, tenant_id, engagement_id, unit_id)
        mapped = table_of.mapped(table.engagement, unit_id)
        rated = set(await _own_ratings(request, table))
        return page(
            "participant/rate_overview.html",
            table=table,
            relations=[(table_of.counterpart(table.names, c), c in rated) for c in mapped],
            rated=len(rated & set(mapped)),
            total=len(mapped),
            next_id=table_of.next_to_rate(mapped, rated),
            done=done,
            **_line(table),
        )

    def _rating_page(
        self,
        table: Table,
        counterpart_id: UUID,
        own: dict[UUID, Rating],
        chosen: dict[str, str],
        errors: dict[str, str],
        status: int = 200,
        *,
        saved: bool = False,
    ) -> Template:
        mapped = table_of.mapped(table.engagement, table.unit_id)
        instrument = table.engagement.instrument
        return page(
            "participant/rate.html",
            status_code=status,
            table=table,
            counterpart=table_of.counterpart(table.names, counterpart_id),
            dimensions=table_of.explained(instrument.dimensions, current_language()),
            scale=list(range(instrument.scale_min, instrument.scale_max + 1)),
            instrument=instrument,
            chosen=chosen,
            number=mapped.index(counterpart_id) + 1,
            total=len(mapped),
            rated=len(set(own) & set(mapped)),
            individual=table.engagement.rating_mode is RatingMode.INDIVIDUAL,
            errors=errors,
            saved=saved,
            **_line(table),
        )

    def _mapped_counterpart(self, table: Table, counterpart_id: UUID) -> None:
        if counterpart_id not in table_of.mapped(table.engagement, table.unit_id):
            raise NotFound("relation_not_mapped_by_unit")

    @get("/rate/{counterpart_id:uuid}", opt=READ_OPT)
    async def rating(
        self,
        request: Req,
        tenant_id: Path,
        engagement_id: Path,
        unit_id: Path,
        counterpart_id: Path,
        saved: FromQuery[bool] = False,
    ) -> Template:
        """One relation, one screen: a score on every dimension."""
        table = await _table(request, tenant_id, engagement_id, unit_id)
        self._mapped_counterpart(table, counterpart_id)
        own = await _own_ratings(request, table)
        given = own.get(counterpart_id)
        chosen = {k: str(v) for k, v in given.scores.items()} if given else {}
        return self._rating_page(table, counterpart_id, own, chosen, {}, saved=saved)

    @post("/rate/{counterpart_id:uuid}", opt=ACT_OPT, status_code=303)
    async def rate(
        self,
        request: Req,
        tenant_id: Path,
        engagement_id: Path,
        unit_id: Path,
        counterpart_id: Path,
        data: Form,
    ) -> Response[Any]:
        table = await _table(request, tenant_id, engagement_id, unit_id)
        self._mapped_counterpart(table, counterpart_id)
        own = await _own_ratings(request, table)
        form = FormData(data)
        instrument = table.engagement.instrument
        keys = [d.key for d in instrument.dimensions]
        chosen = {k: str(form.get(k) or "").strip() for k in keys}
        on_scale = {str(n) for n in range(instrument.scale_min, instrument.scale_max + 1)}
        errors = {
            k: _(
                "Please choose a number from %(low)s to %(high)s.",
                low=instrument.scale_min,
                high=instrument.scale_max,
            )
            for k, v in chosen.items()
            if v not in on_scale
        }
        if errors:
            errors[""] = _("Choose a number on every dimension.")
            return self._rating_page(table, counterpart_id, own, chosen, errors, 400)
        body = {"unit_id": unit_id, "counterpart_id": counterpart_id, "scores": chosen}
        try:
            command = decode(body, SubmitRating)
            earlier = own.get(counterpart_id)
            if earlier is None or earlier.scores != command.scores:
                await _command(
                    request,
                    table,
                    day.SubmitRating(
                        engagement_id=engagement_id,
                        unit_id=unit_id,
                        counterpart_id=counterpart_id,
                        scores=command.scores,
                    ),
                    form,
                )
        except (FormInvalid, DomainError) as error:
            return self._rating_page(table, counterpart_id, own, chosen, *refusal(error))
        mapped = table_of.mapped(table.engagement, unit_id)
        following = table_of.next_to_rate(mapped, {*own, counterpart_id}, after=counterpart_id)
        if following is None:
            return _see_other(f"{table.base}/rate?done=true")
        return _see_other(f"{table.base}/rate/{following}?saved=true")

    # -- dance cards ---------------------------------------------------------------------------

    def _cards_page(
        self,
        table: Table,
        errors: dict[str, str],
        status: int = 200,
        *,
        card_in_error: UUID | None = None,
        reason: str = "",
        notice: str | None = None,
    ) -> Template:
        engagement, unit_id = table.engagement, table.unit_id
        return page(
            "participant/cards.html",
            status_code=status,
            table=table,
            received=table_of.received(engagement, table.names, unit_id),
            sent=table_of.sent(engagement, table.names, unit_id),
            errors=errors,
            card_in_error=card_in_error,
            reason=reason,
            notice=notice,
            **_line(table),
        )

    @get("/cards", opt=READ_OPT)
    async def cards(
        self,
        request: Req,
        tenant_id: Path,
        engagement_id: Path,
        unit_id: Path,
        done: FromQuery[str | None] = None,
    ) -> Template:
        """Dance cards received (to answer) and sent (to withdraw, if need be)."""
        table = await _table(request, tenant_id, engagement_id, unit_id)
        return self._cards_page(table, {}, notice=done)

    async def _new_card_page(
        self,
        request: Req,
        table: Table,
        form: dict[str, Any] | None,
        errors: dict[str, str],
        status: int = 200,
        *,
        to: UUID | None = None,
    ) -> Template:
        """The card form; without a posted `form`, the unit `to` (or the weakest relation) is
        chosen, with the table's own rating of it as the reason."""
        engagement, unit_id = table.engagement, table.unit_id
        suggestions = table_of.suggested(
            table_of.weakest(engagement, table.names, unit_id, current_language())
        )
        own = await _own_ratings(request, table)
        if form is None:
            to_unit = to or (suggestions[0].unit_id if suggestions else None)
            form = {"to_unit": str(to_unit or ""), REFER: "yes" if to_unit in own else ""}
        # The weakest relations first in the list of units, the rest by name.
        first = [table_of.counterpart(table.names, s.unit_id) for s in suggestions]
        rest = [o for o in table_of.others(engagement, table.names, unit_id) if o not in first]
        return page(
            "participant/card_new.html",
            status_code=status,
            table=table,
            suggestions=suggestions,
            unit_options=[(str(u.unit_id), u.name) for u in first + rest],
            rated_units=sorted(str(c) for c in own),
            form=form,
            errors=errors,
            **_line(table),
        )

    @get("/cards/new", opt=READ_OPT)
    async def new_card(
        self,
        request: Req,
        tenant_id: Path,
        engagement_id: Path,
        unit_id: Path,
        to: FromQuery[UUID | None] = None,
    ) -> Template:
        """Send a dance card: the weakest relations are suggested first."""
        table = await _table(request, tenant_id, engagement_id, unit_id)
        return await self._new_card_page(request, table, None, {}, to=to)

    @post("/cards/new", opt=ACT_OPT, status_code=303)
    async def send_card(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, data: Form
    ) -> Response[Any]:
        table = await _table(request, tenant_id, engagement_id, unit_id)
        form = FormData(data)
        fields = values(form)
        command = {k: v for k, v in fields.items() if k not in (REFER, "motivating_rating_id")}
        try:
            card = decode({**command, "from_unit": str(unit_id)}, SendCard)
            if fields.get(REFER):  # resolved here, never taken from the form
                card.motivating_rating_id = await self._motivating_rating(request, table, card.to_unit)
            await _command(
                request,
                table,
                day.SendDanceCard(
                    engagement_id=engagement_id,
                    from_unit=unit_id,
                    to_unit=card.to_unit,
                    topic=card.topic,
                    reason=card.reason,
                    hoped_outcome=card.hoped_outcome,
                    motivating_rating_id=card.motivating_rating_id,
                ),
                form,
            )
        except (FormInvalid, DomainError) as error:
            return await self._new_card_page(request, table, fields, *refusal(error))
        return _see_other(f"{table.base}/cards?done=sent")

    async def _motivating_rating(self, request: Req, table: Table, to_unit: UUID) -> UUID:
        """This table's current rating of the card's recipient: the card's reason, when asked for."""
        given = (await _own_ratings(request, table)).get(to_unit)
        if given is None:
            name = table_of.counterpart(table.names, to_unit).name
            raise FormInvalid(
                {REFER: _("Your unit has not rated %(unit)s, so there is no rating to refer to.", unit=name)}
            )
        return given.rating_id

    async def _answer(
        self,
        request: Req,
        table: Table,
        card_id: UUID,
        form: FormData,
        already: str,
        command: Command[Any],
    ) -> Response[Any]:
        """One answer to a card (accept, decline, withdraw): done once, even if sent twice."""
        card = _card(table, card_id)
        if card.status != already:
            try:
                await _command(request, table, command, form)
            except DomainError as error:
                return self._cards_page(table, {"": domain_message(error)}, 409)
        return _see_other(f"{table.base}/cards?done={already}")

    @post("/cards/{card_id:uuid}/accept", opt=ACT_OPT, status_code=303)
    async def accept_card(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, card_id: Path, data: Form
    ) -> Response[Any]:
        table = await _table(request, tenant_id, engagement_id, unit_id)
        answer = decode({"unit_id": str(unit_id)}, AnswerCard)
        return await self._answer(
            request,
            table,
            card_id,
            FormData(data),
            CardStatus.ACCEPTED.value,
            day.AcceptDanceCard(engagement_id=engagement_id, card_id=card_id, unit_id=answer.unit_id),
        )

    @post("/cards/{card_id:uuid}/decline", opt=ACT_OPT, status_code=303)
    async def decline_card(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, card_id: Path, data: Form
    ) -> Response[Any]:
        table = await _table(request, tenant_id, engagement_id, unit_id)
        _card(table, card_id)
        form = FormData(data)
        reason = str(form.get("reason") or "").strip()
        try:
            answer = decode({"unit_id": str(unit_id), **({"reason": reason} if reason else {})}, DeclineCard)
        except FormInvalid as invalid:
            return self._cards_page(table, invalid.errors, 400, card_in_error=card_id, reason=reason)
        return await self._answer(
            request,
            table,
            card_id,
            form,
            CardStatus.DECLINED.value,
            day.DeclineDanceCard(
                engagement_id=engagement_id, card_id=card_id, unit_id=answer.unit_id, reason=answer.reason
            ),
        )

    @post("/cards/{card_id:uuid}/withdraw", opt=ACT_OPT, status_code=303)
    async def withdraw_card(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, card_id: Path, data: Form
    ) -> Response[Any]:
        table = await _table(request, tenant_id, engagement_id, unit_id)
        answer = decode({"unit_id": str(unit_id)}, AnswerCard)
        return await self._answer(
            request,
            table,
            card_id,
            FormData(data),
            CardStatus.WITHDRAWN.value,
            day.WithdrawDanceCard(engagement_id=engagement_id, card_id=card_id, unit_id=answer.unit_id),
        )

    # -- rounds and dialogues ------------------------------------------------------------------

    @get("/schedule", opt=READ_OPT)
    async def schedule(self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path) -> Template:
        """This unit's dialogues, round by round."""
        table = await _table(request, tenant_id, engagement_id, unit_id)
        lines = table_of.dialogues_of(table.engagement, table.names, unit_id)
        rounds, unplaced = table_of.by_round(table.engagement, lines)
        return page(
            "participant/schedule.html", table=table, rounds=rounds, unplaced=unplaced, **_line(table)
        )

    def _dialogue_page(
        self,
        table: Table,
        card: CardOut,
        form: dict[str, Any],
        errors: dict[str, str],
        status: int = 200,
        *,
        done: bool = False,
    ) -> Template:
        engagement = table.engagement
        dialogue: DialogueOut | None = table_of.dialogue_of(engagement, card.card_id)
        outcomes = table_of.outcomes_of(engagement, dialogue.dialogue_id) if dialogue else None
        other = card.to_unit if card.from_unit == table.unit_id else card.from_unit
        return page(
            "participant/dialogue.html",
            status_code=status,
            table=table,
            card=card,
            other=table_of.counterpart(table.names, other),
            sent_by_us=card.from_unit == table.unit_id,
            dialogue=dialogue,
            outcomes=outcomes,
            accepted=card.status == CardStatus.ACCEPTED.value,
            form=form,
            agreements=_padded(form.get("agreements", [])),
            proposals=_padded(form.get("proposals", [])),
            errors=errors,
            done=done,
            **_line(table),
        )

    @get("/dialogues/{card_id:uuid}", opt=READ_OPT)
    async def dialogue(
        self,
        request: Req,
        tenant_id: Path,
        engagement_id: Path,
        unit_id: Path,
        card_id: Path,
        done: FromQuery[bool] = False,
    ) -> Template:
        """One dialogue: record its notes, agreements and proposals, or add to them later."""
        table = await _table(request, tenant_id, engagement_id, unit_id)
        return self._dialogue_page(table, _card(table, card_id), {}, {}, done=done)

    @post("/dialogues/{card_id:uuid}", opt=ACT_OPT, status_code=303)
    async def hold_dialogue(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, card_id: Path, data: Form
    ) -> Response[Any]:
        table = await _table(request, tenant_id, engagement_id, unit_id)
        card = _card(table, card_id)
        form = FormData(data)
        agreements, proposals = _rows(form)
        notes = str(form.get("notes") or "").strip()
        participants = _lines(str(form.get("participants") or ""))
        shown: dict[str, Any] = {"notes": notes, "participants": "\n".join(participants)}
        shown |= {"agreements": agreements, "proposals": proposals}
        body: dict[str, Any] = {
            "card_id": str(card_id),
            "notes": notes,
            "participants": participants,
            "agreements": agreements,
            "proposals": proposals,
        }
        try:
            if not notes and not agreements and not proposals:
                raise FormInvalid({"notes": _("Write down what you talked about.")})
            held = decode(body, HoldDialogue)
            await _command(
                request,
                table,
                day.HoldDialogue(
                    engagement_id=engagement_id,
                    card_id=held.card_id,
                    notes=held.notes,
                    participants=tuple(held.participants),
                    agreements=tuple((a.text, a.needs_acceptance) for a in held.agreements),
                    proposals=tuple(x.text for x in held.proposals),
                ),
                form,
            )
        except (FormInvalid, DomainError) as error:
            return self._dialogue_page(table, card, shown, *refusal(error))
        return _see_other(f"{table.base}/dialogues/{card_id}?done=true")

    @post("/dialogues/{card_id:uuid}/outcomes", opt=ACT_OPT, status_code=303)
    async def add_outcomes(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, card_id: Path, data: Form
    ) -> Response[Any]:
        table = await _table(request, tenant_id, engagement_id, unit_id)
        card = _card(table, card_id)
        held = table_of.dialogue_of(table.engagement, card_id)
        if held is None:
            raise NotFound("dialogue_not_recorded")
        form = FormData(data)
        agreements, proposals = _rows(form)
        shown = {"agreements": agreements, "proposals": proposals}
        try:
            if not agreements and not proposals:
                raise FormInvalid({"": _("Write at least one agreement or proposal.")})
            more = decode({"agreements": agreements, "proposals": proposals}, AddOutcomes)
            dialogue_id = held.dialogue_id
            await _command(
                request,
                table,
                day.AddDialogueOutcomes(
                    engagement_id=engagement_id,
                    dialogue_id=dialogue_id,
                    agreements=tuple((a.text, a.needs_acceptance) for a in more.agreements),
                    proposals=tuple(x.text for x in more.proposals),
                ),
                form,
            )
        except (FormInvalid, DomainError) as error:
            return self._dialogue_page(table, card, shown, *refusal(error))
        return _see_other(f"{table.base}/dialogues/{card_id}?done=true")

    # -- wrap-up -------------------------------------------------------------------------------

    def _wrap_up_page(
        self,
        table: Table,
        form: dict[str, Any],
        errors: dict[str, str],
        status: int = 200,
        *,
        done: bool = False,
    ) -> Template:
        inputs = list(form.get("inputs", []))
        return page(
            "participant/wrap_up.html",
            status_code=status,
            table=table,
            outcomes=table_of.unit_outcomes(table.engagement, table.unit_id),
            summary=form.get("summary", ""),
            inputs=inputs + [""] * max(EMPTY_ROWS - len(inputs), 1),
            errors=errors,
            done=done,
            **_line(table),
        )

    @get("/wrap-up", opt=READ_OPT)
    async def wrap_up(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, done: FromQuery[bool] = False
    ) -> Template:
        """The unit's wrap-up (opsamling): what it takes home from its dialogues."""
        table = await _table(request, tenant_id, engagement_id, unit_id)
        given = table_of.wrap_up_of(table.engagement, unit_id)
        form = {"summary": given.summary, "inputs": given.inputs} if given else {}
        return self._wrap_up_page(table, form, {}, done=done)

    @post("/wrap-up", opt=ACT_OPT, status_code=303)
    async def record_wrap_up(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, data: Form
    ) -> Response[Any]:
        table = await _table(request, tenant_id, engagement_id, unit_id)
        form = FormData(data)
        fields = values(form, lists=frozenset({"inputs"}))
        inputs = [str(i).strip() for i in fields.get("inputs", [])]
        shown = {"summary": fields.get("summary", ""), "inputs": inputs}
        try:
            wrap = decode({**fields, "inputs": inputs}, WrapUpIn)
            given = table_of.wrap_up_of(table.engagement, unit_id)
            if given is None or (given.summary, given.inputs) != (wrap.summary, wrap.inputs):
                await _command(
                    request,
                    table,
                    day.WrapUpUnit(
                        engagement_id=engagement_id,
                        unit_id=unit_id,
                        summary=wrap.summary,
                        inputs=tuple(wrap.inputs),
                    ),
                    form,
                )
        except (FormInvalid, DomainError) as error:
            return self._wrap_up_page(table, shown, *refusal(error))
        return _see_other(f"{table.base}/wrap-up?done=true")


def _line(table: Table) -> dict[str, Any]:
    """The theme day's line of steps, shown on every page of the table."""
    phase = table.engagement.phase
    return {
        "table_phases": table_of.TABLE_PHASES,
        "position": table_of.phase_position(phase),
        "window": lambda form: table_of.window(form, phase),
    }


PAGES: list[ControllerRouterHandler] = [UnitTablePages]

_U = UNIT_PATH
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", _U): READ_AT_TABLE,
    ("GET", f"{_U}/now"): READ_AT_TABLE,
    ("GET", f"{_U}/dimensions"): READ_AT_TABLE,
    ("GET", f"{_U}/relations"): READ_AT_TABLE,
    ("POST", f"{_U}/relations"): TAKE_PART_AT_TABLE,
    ("GET", f"{_U}/rate"): READ_AT_TABLE,
    ("GET", f"{_U}/rate/{{counterpart_id:uuid}}"): READ_AT_TABLE,
    ("POST", f"{_U}/rate/{{counterpart_id:uuid}}"): TAKE_PART_AT_TABLE,
    ("GET", f"{_U}/cards"): READ_AT_TABLE,
    ("GET", f"{_U}/cards/new"): READ_AT_TABLE,
    ("POST", f"{_U}/cards/new"): TAKE_PART_AT_TABLE,
    ("POST", f"{_U}/cards/{{card_id:uuid}}/accept"): TAKE_PART_AT_TABLE,
    ("POST", f"{_U}/cards/{{card_id:uuid}}/decline"): TAKE_PART_AT_TABLE,
    ("POST", f"{_U}/cards/{{card_id:uuid}}/withdraw"): TAKE_PART_AT_TABLE,
    ("GET", f"{_U}/schedule"): READ_AT_TABLE,
    ("GET", f"{_U}/dialogues/{{card_id:uuid}}"): READ_AT_TABLE,
    ("POST", f"{_U}/dialogues/{{card_id:uuid}}"): TAKE_PART_AT_TABLE,
    ("POST", f"{_U}/dialogues/{{card_id:uuid}}/outcomes"): TAKE_PART_AT_TABLE,
    ("GET", f"{_U}/wrap-up"): READ_AT_TABLE,
    ("POST", f"{_U}/wrap-up"): TAKE_PART_AT_TABLE,
}
