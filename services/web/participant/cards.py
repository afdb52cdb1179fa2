"""A unit's dance cards: those received and sent, sending a new one (with suggestions from the
weakest relations), and accepting, declining or withdrawing one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromQuery
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from domain.cards import CardStatus
from domain.errors import DomainError
from services.access import READ_AT_TABLE, TAKE_PART_AT_TABLE, Policy
from services.schemas.engagement import AnswerCard, DeclineCard, SendCard
from services.usecases import theme_day as day
from services.usecases.bus import Command
from services.web.forms import Form, FormData, FormInvalid, decode, domain_message, refusal, values
from services.web.i18n import current_language
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
    own_ratings,
    see_other,
    send,
    step_line,
    table_at,
)
from services.web.rendering import page

# The card form's checkbox: refer to this table's own rating of the chosen unit.
REFER = "refer_to_rating"


class CardPages(Controller):
    """The dance cards received and sent, and answering them."""

    path = UNIT_PATH

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
            **step_line(table),
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
        table = await table_at(request, tenant_id, engagement_id, unit_id)
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
        own = await own_ratings(request, table)
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
            **step_line(table),
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
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        return await self._new_card_page(request, table, None, {}, to=to)

    @post("/cards/new", opt=ACT_OPT, status_code=303)
    async def send_card(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, data: Form
    ) -> Response[Any]:
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        form = FormData(data)
        fields = values(form)
        command = {k: v for k, v in fields.items() if k not in (REFER, "motivating_rating_id")}
        try:
            card = decode({**command, "from_unit": str(unit_id)}, SendCard)
            if fields.get(REFER):  # resolved here, never taken from the form
                card.motivating_rating_id = await self._motivating_rating(request, table, card.to_unit)
            await send(
                request,
                table,
                day.SendDanceCard.given(card, engagement_id=engagement_id),
                form,
            )
        except (FormInvalid, DomainError) as error:
            return await self._new_card_page(request, table, fields, *refusal(error))
        return see_other(f"{table.base}/cards?done=sent")

    async def _motivating_rating(self, request: Req, table: Table, to_unit: UUID) -> UUID:
        """This table's current rating of the card's recipient: the card's reason, when asked for."""
        given = (await own_ratings(request, table)).get(to_unit)
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
        card = card_of(table, card_id)
        if card.status != already:
            try:
                await send(request, table, command, form)
            except DomainError as error:
                return self._cards_page(table, {"": domain_message(error)}, 409)
        return see_other(f"{table.base}/cards?done={already}")

    @post("/cards/{card_id:uuid}/accept", opt=ACT_OPT, status_code=303)
    async def accept_card(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, card_id: Path, data: Form
    ) -> Response[Any]:
        table = await table_at(request, tenant_id, engagement_id, unit_id)
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
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        card_of(table, card_id)
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
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        answer = decode({"unit_id": str(unit_id)}, AnswerCard)
        return await self._answer(
            request,
            table,
            card_id,
            FormData(data),
            CardStatus.WITHDRAWN.value,
            day.WithdrawDanceCard(engagement_id=engagement_id, card_id=card_id, unit_id=answer.unit_id),
        )


PAGES: list[ControllerRouterHandler] = [CardPages]

_U = UNIT_PATH
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", f"{_U}/cards"): READ_AT_TABLE,
    ("GET", f"{_U}/cards/new"): READ_AT_TABLE,
    ("POST", f"{_U}/cards/new"): TAKE_PART_AT_TABLE,
    ("POST", f"{_U}/cards/{{card_id:uuid}}/accept"): TAKE_PART_AT_TABLE,
    ("POST", f"{_U}/cards/{{card_id:uuid}}/decline"): TAKE_PART_AT_TABLE,
    ("POST", f"{_U}/cards/{{card_id:uuid}}/withdraw"): TAKE_PART_AT_TABLE,
}
