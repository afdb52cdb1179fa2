"""A unit's rounds and dialogues: its schedule round by round, one dialogue held, and the
agreements and proposals it led to."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, post
from litestar.params import FromQuery
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from domain.cards import CardStatus
from domain.errors import DomainError, NotFound
from projections.documents import CardOut, DialogueOut
from services.access import READ_AT_TABLE, TAKE_PART_AT_TABLE, Policy
from services.schemas.engagement import AddOutcomes, HoldDialogue
from services.usecases import theme_day as day
from services.web.forms import Form, FormData, FormInvalid, decode, refusal
from services.web.i18n import gettext as _
from services.web.participant import table as table_of
from services.web.participant.table import (
    ACT_OPT,
    READ_OPT,
    UNIT_PATH,
    Path,
    Req,
    Table,
    card_of,
    lines_of,
    outcome_rows,
    padded,
    see_other,
    send,
    step_line,
    table_at,
)
from services.web.rendering import page


class DialoguePages(Controller):
    """The table's schedule, and its dialogues with their outcomes."""

    path = UNIT_PATH

    @get("/schedule", opt=READ_OPT)
    async def schedule(self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path) -> Template:
        """This unit's dialogues, round by round."""
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        lines = table_of.dialogues_of(table.engagement, table.names, unit_id)
        rounds, unplaced = table_of.by_round(table.engagement, lines)
        return page(
            "participant/schedule.html", table=table, rounds=rounds, unplaced=unplaced, **step_line(table)
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
            agreements=padded(form.get("agreements", [])),
            proposals=padded(form.get("proposals", [])),
            errors=errors,
            done=done,
            **step_line(table),
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
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        return self._dialogue_page(table, card_of(table, card_id), {}, {}, done=done)

    @post("/dialogues/{card_id:uuid}", opt=ACT_OPT, status_code=303)
    async def hold_dialogue(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, card_id: Path, data: Form
    ) -> Response[Any]:
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        card = card_of(table, card_id)
        form = FormData(data)
        agreements, proposals = outcome_rows(form)
        notes = str(form.get("notes") or "").strip()
        participants = lines_of(str(form.get("participants") or ""))
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
            await send(
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
        return see_other(f"{table.base}/dialogues/{card_id}?done=true")

    @post("/dialogues/{card_id:uuid}/outcomes", opt=ACT_OPT, status_code=303)
    async def add_outcomes(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, card_id: Path, data: Form
    ) -> Response[Any]:
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        card = card_of(table, card_id)
        held = table_of.dialogue_of(table.engagement, card_id)
        if held is None:
            raise NotFound("dialogue_not_recorded")
        form = FormData(data)
        agreements, proposals = outcome_rows(form)
        shown = {"agreements": agreements, "proposals": proposals}
        try:
            if not agreements and not proposals:
                raise FormInvalid({"": _("Write at least one agreement or proposal.")})
            more = decode({"agreements": agreements, "proposals": proposals}, AddOutcomes)
            dialogue_id = held.dialogue_id
            await send(
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
        return see_other(f"{table.base}/dialogues/{card_id}?done=true")


PAGES: list[ControllerRouterHandler] = [DialoguePages]

_U = UNIT_PATH
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", f"{_U}/schedule"): READ_AT_TABLE,
    ("GET", f"{_U}/dialogues/{{card_id:uuid}}"): READ_AT_TABLE,
    ("POST", f"{_U}/dialogues/{{card_id:uuid}}"): TAKE_PART_AT_TABLE,
    ("POST", f"{_U}/dialogues/{{card_id:uuid}}/outcomes"): TAKE_PART_AT_TABLE,
}
