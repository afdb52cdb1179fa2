"""Pages: the live theme-day board for the projector.

Who has rated, the dance cards flying between units, the dialogue schedule by round, and the
agreements and proposals as they are made. The page follows the engagement's event stream
(`data-live-source`); each change makes the browser fetch the live part again
(`/board/live`), so the board updates within a second without a reload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from domain.cards import CardStatus
from domain.ratings import RatingMode
from projections.documents import EngagementOut
from projections.queries import ThemeDayBoard, UnitName, theme_day_board
from services.access import PAGE_TENANT_PREFIX, READ_AT_TABLE, Policy, UnitScope
from services.requests.reads import engagement_view, organisation_units
from services.usecases.personal_codes import people_per_unit
from services.web import charts
from services.web.rendering import page, principal_of

Req = Request[Any, Any, Any]
BOARD_PATH = PAGE_TENANT_PREFIX + "/e/{engagement_id:uuid}/board"
LIVE_PATH = BOARD_PATH + "/live"
BOARD_OPT = READ_AT_TABLE.opt(UnitScope.READ)


@dataclass(frozen=True)
class Counters:
    """The board's running totals."""

    ratings: int
    relations: int
    cards: int
    cards_accepted: int
    dialogues: int
    agreements: int
    proposals: int


def counters(board: ThemeDayBoard, engagement: EngagementOut) -> Counters:
    return Counters(
        ratings=sum(u.relations_rated for u in board.units),
        relations=sum(u.relations_mapped for u in board.units),
        cards=len(engagement.cards),
        cards_accepted=sum(1 for c in engagement.cards if c.status == CardStatus.ACCEPTED.value),
        dialogues=len(engagement.dialogues),
        agreements=board.agreements,
        proposals=board.proposals,
    )


async def _live_context(request: Req, tenant_id: UUID, engagement_id: UUID) -> dict[str, Any]:
    engagement = await engagement_view(request, tenant_id, engagement_id)
    organisation = await organisation_units(request, tenant_id)
    people: dict[UUID, int] = {}
    if engagement.rating_mode is RatingMode.INDIVIDUAL:  # "7 of 12 rated", never who
        people = await people_per_unit(
            request.app.state.container, tenant_id, engagement_id, engagement.unit_ids
        )
    board = theme_day_board(engagement, organisation, None, people)
    cards = [charts.CardLine(c.from_unit, c.to_unit, c.status) for c in engagement.cards]
    nodes = [UnitName(u.unit_id, u.name) for u in board.units]
    return {
        "tenant_id": tenant_id,
        "engagement": engagement,
        "organisation": organisation,
        "board": board,
        "counts": counters(board, engagement),
        "card_chart": charts.card_network(nodes, cards, label_size=22),
        "unit_names": {u.unit_id: u.name for u in nodes},
        "live_url": f"/t/{tenant_id}/e/{engagement_id}/board/live",
        **charts.TEMPLATE_HELPERS,
    }


@get(BOARD_PATH, opt=BOARD_OPT, name="theme-day-board")
async def board_page(request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID]) -> Template:
    """The theme-day board on the projector, following the engagement live."""
    context = await _live_context(request, tenant_id, engagement_id)
    principal = principal_of(request)
    unit_home = (
        f"/t/{tenant_id}/e/{engagement_id}/u/{principal.unit_id}"
        if principal is not None and principal.is_unit_scoped
        else None
    )
    return page(
        "board/board.html",
        events_url=f"/api/v1/tenants/{tenant_id}/engagements/{engagement_id}/events",
        unit_home=unit_home,
        **context,
    )


@get(LIVE_PATH, opt=BOARD_OPT, name="theme-day-board-live")
async def board_live(request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID]) -> Template:
    """The live part of the board alone, fetched again on every change."""
    return page("board/_live.html", **await _live_context(request, tenant_id, engagement_id))


PAGES: list[ControllerRouterHandler] = [board_page, board_live]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", BOARD_PATH): READ_AT_TABLE,
    ("GET", LIVE_PATH): READ_AT_TABLE,
}
