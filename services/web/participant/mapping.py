"""A unit's table maps its relations: the instrument's dimensions explained, then the units it
works with chosen (`services/http/theme_day_routes.py` records the same command)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from domain.errors import DomainError
from services.access import READ_AT_TABLE, TAKE_PART_AT_TABLE, Policy
from services.schemas.engagement import MapRelations
from services.usecases import theme_day as day
from services.web.forms import Form, FormData, FormInvalid, decode, domain_message
from services.web.i18n import current_language
from services.web.participant import table as table_of
from services.web.participant.table import (
    ACT_OPT,
    READ_OPT,
    UNIT_PATH,
    Path,
    Req,
    Table,
    see_other,
    send,
    step_line,
    table_at,
)
from services.web.rendering import page


class MappingPages(Controller):
    """The dimensions explained, and the relations mapped."""

    path = UNIT_PATH

    @get("/dimensions", opt=READ_OPT)
    async def dimensions(self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path) -> Template:
        """The instrument's dimensions, explained in the reader's language, and the scale."""
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        instrument = table.engagement.instrument
        explained = table_of.explained(instrument.dimensions, current_language())
        return page("participant/dimensions.html", table=table, instrument=instrument, dimensions=explained)

    @get("/relations", opt=READ_OPT)
    async def relations(self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path) -> Template:
        """Mapping (kortlægning): which units this unit's work depends on."""
        table = await table_at(request, tenant_id, engagement_id, unit_id)
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
            **step_line(table),
        )

    @post("/relations", opt=ACT_OPT, status_code=303)
    async def map_relations(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, data: Form
    ) -> Response[Any]:
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        form = FormData(data)
        picked = [str(v) for v in form.getall("counterpart_ids") if str(v).strip()]
        try:
            command = decode({"counterpart_ids": picked}, MapRelations)
        except FormInvalid as invalid:
            return self._relations_page(table, set(), invalid.errors, 400)
        chosen = tuple(command.counterpart_ids)
        if set(chosen) != set(table_of.mapped(table.engagement, unit_id)):
            try:
                await send(
                    request,
                    table,
                    day.MapRelations(engagement_id=engagement_id, unit_id=unit_id, counterpart_ids=chosen),
                    form,
                )
            except DomainError as error:
                return self._relations_page(table, set(chosen), {"": domain_message(error)}, 409)
        return see_other(f"{table.base}/rate")


PAGES: list[ControllerRouterHandler] = [MappingPages]

_U = UNIT_PATH
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", f"{_U}/dimensions"): READ_AT_TABLE,
    ("GET", f"{_U}/relations"): READ_AT_TABLE,
    ("POST", f"{_U}/relations"): TAKE_PART_AT_TABLE,
}
