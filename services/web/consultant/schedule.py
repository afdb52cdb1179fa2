"""The dialogue schedule: the number of rounds, generating the schedule, and moving an accepted
dance card's dialogue to a round by hand.

Every command goes through the same application-service call as the API route that records it
(`services/http/engagement_routes.py`, `theme_day_routes.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from domain.cards import CardStatus
from domain.errors import DomainError
from domain.phases import Phase
from projections.documents import CardOut, EngagementOut
from projections.queries import names_at, theme_day_board
from services.access import FACILITATE, PAGE_TENANT_PREFIX, Policy
from services.schemas.engagement import MoveDialogue, SetRounds
from services.usecases import engagements
from services.usecases import theme_day as day
from services.web.commands import submit
from services.web.consultant.console import Req, read_engagement
from services.web.forms import Form, FormData, FormInvalid, decode, refusal, values
from services.web.i18n import gettext as _
from services.web.participant import table as table_of
from services.web.rendering import page

_T = PAGE_TENANT_PREFIX
_E = f"{_T}/e/{{engagement_id:uuid}}"
# The schedule's forms, and the phases in which the method accepts them (`domain/engagement.py`).
SCHEDULE_PHASES = (Phase.DANCE_CARDS, Phase.DIALOGUES)
ROUNDS_PHASES = (Phase.PREPARED, Phase.THEME_DAY_OPEN, Phase.MAPPING, Phase.DANCE_CARDS, Phase.DIALOGUES)


def _schedule_url(tenant_id: UUID, engagement_id: UUID) -> str:
    return f"/t/{tenant_id}/e/{engagement_id}/schedule"


class SchedulePages(Controller):
    path = _E

    @get("/schedule", opt=FACILITATE.opt())
    async def schedule(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        done: FromQuery[str | None] = None,
    ) -> Template:
        """The dialogue schedule: the number of rounds, generating it, and each accepted dance
        card's round, to move by hand."""
        return await _schedule_page(request, tenant_id, engagement_id, done=done)

    @post("/schedule", opt=FACILITATE.opt(), status_code=303)
    async def generate_schedule(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], data: Form
    ) -> Response[Any]:
        """Schedule the accepted dance cards into the rounds; pinned dialogues stay put."""
        try:
            await submit(
                request,
                tenant_id,
                day.ScheduleDialogues(engagement_id=engagement_id),
                FormData(data).key,
            )
        except DomainError as error:
            errors, status_code = refusal(error)
            return await _schedule_page(
                request, tenant_id, engagement_id, errors=errors, status_code=status_code
            )
        return Redirect(_schedule_url(tenant_id, engagement_id) + "?done=generated", status_code=303)

    @post("/schedule/rounds", opt=FACILITATE.opt(), status_code=303)
    async def set_rounds(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], data: Form
    ) -> Response[Any]:
        """The number of dialogue rounds on the theme day."""
        form = FormData(data)
        shown = values(form)
        try:
            rounds = decode(shown, SetRounds)
            await submit(
                request,
                tenant_id,
                engagements.SetRounds(engagement_id=engagement_id, rounds=rounds.rounds),
                form.key,
            )
        except (FormInvalid, DomainError) as error:
            errors, status_code = refusal(error)
            return await _schedule_page(
                request, tenant_id, engagement_id, errors=errors, form=shown, status_code=status_code
            )
        return Redirect(_schedule_url(tenant_id, engagement_id), status_code=303)

    @post("/schedule/cards/{card_id:uuid}/round", opt=FACILITATE.opt(), status_code=303)
    async def move_card(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        card_id: FromPath[UUID],
        data: Form,
    ) -> Response[Any]:
        """Move an accepted dance card's dialogue to a round and pin it there, or off the schedule."""
        form = FormData(data)
        # An empty choice is "not scheduled": the command's `null`.
        chosen = str(form.get("round") or "").strip() or None
        try:
            move = decode({"round": chosen}, MoveDialogue)
            await submit(
                request,
                tenant_id,
                day.MoveDialogue(engagement_id=engagement_id, card_id=card_id, round=move.round),
                form.key,
            )
        except (FormInvalid, DomainError) as error:
            errors, status_code = refusal(error)
            return await _schedule_page(
                request, tenant_id, engagement_id, errors=errors, failed_card=card_id, status_code=status_code
            )
        return Redirect(_schedule_url(tenant_id, engagement_id) + "?done=moved", status_code=303)


@dataclass(frozen=True)
class ScheduleLine:
    """An accepted dance card on the schedule page."""

    card: CardOut
    from_name: str
    to_name: str
    held: bool


async def _schedule_page(
    request: Req,
    tenant_id: UUID,
    engagement_id: UUID,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    failed_card: UUID | None = None,
    status_code: int = 200,
    done: str | None = None,
) -> Template:
    engagement, organisation = await read_engagement(request, tenant_id, engagement_id)
    names = names_at(organisation, None)
    held = {d.card_id for d in engagement.dialogues}
    lines = [
        ScheduleLine(
            c,
            names.get(c.from_unit, str(c.from_unit)),
            names.get(c.to_unit, str(c.to_unit)),
            c.card_id in held,
        )
        for c in engagement.cards
        if c.status == CardStatus.ACCEPTED.value
    ]
    lines.sort(key=lambda line: (line.card.round or engagement.rounds + 1, line.from_name.casefold()))
    return page(
        "consultant/schedule.html",
        status_code=status_code,
        tenant_id=tenant_id,
        organisation=organisation,
        engagement=engagement,
        board=theme_day_board(engagement, organisation),
        lines=lines,
        errors=errors or {},
        form=form or {},
        failed_card=failed_card,
        done=done,
        placed=sum(1 for line in lines if line.card.round is not None),
        unplaced_why=[
            (line, why_unplaced(engagement, line, names)) for line in lines if line.card.round is None
        ],
        scheduling=table_of.window_of(SCHEDULE_PHASES, engagement.phase),
        setting_rounds=table_of.window_of(ROUNDS_PHASES, engagement.phase),
    )


def why_unplaced(engagement: EngagementOut, line: ScheduleLine, names: dict[UUID, str]) -> str:
    """Why a dialogue has no round: which of its units is busy in every round."""
    card = line.card
    busy: dict[UUID, set[int]] = {card.from_unit: set(), card.to_unit: set()}
    for other in engagement.cards:
        if other.status != CardStatus.ACCEPTED.value or other.round is None or other.card_id == card.card_id:
            continue
        for unit_id in (other.from_unit, other.to_unit):
            if unit_id in busy:
                busy[unit_id].add(other.round)
    every = set(range(1, engagement.rounds + 1))
    for unit_id, rounds in busy.items():
        if rounds >= every:
            return _("%(unit)s is in another dialogue in every round.", unit=names.get(unit_id, str(unit_id)))
    if busy[card.from_unit] | busy[card.to_unit] >= every:
        return _(
            "Between them, %(first)s and %(second)s are in another dialogue in every round.",
            first=line.from_name,
            second=line.to_name,
        )
    return _("Not placed yet: generate the schedule or pick a round.")


PAGES: list[ControllerRouterHandler] = [SchedulePages]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", f"{_E}/schedule"): FACILITATE,
    ("POST", f"{_E}/schedule"): FACILITATE,
    ("POST", f"{_E}/schedule/rounds"): FACILITATE,
    ("POST", f"{_E}/schedule/cards/{{card_id:uuid}}/round"): FACILITATE,
}
