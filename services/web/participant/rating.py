"""A unit's table rates each relation it mapped, one page a relation, on the instrument's
dimensions (`services/http/theme_day_routes.py` records the same command)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromQuery
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from domain.errors import DomainError, NotFound
from domain.ratings import Rating, RatingMode
from services.access import READ_AT_TABLE, TAKE_PART_AT_TABLE, Policy
from services.schemas.engagement import SubmitRating
from services.usecases import theme_day as day
from services.web.forms import Form, FormData, FormInvalid, decode, refusal
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
    own_ratings,
    see_other,
    send,
    step_line,
    table_at,
)
from services.web.rendering import page


class RatingPages(Controller):
    """The relations to rate, and rating one."""

    path = UNIT_PATH

    @get("/rate", opt=READ_OPT)
    async def rating_overview(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, done: FromQuery[bool] = False
    ) -> Template:
        """The relations to rate, which are done, and where to carry on."""
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        mapped = table_of.mapped(table.engagement, unit_id)
        rated = set(await own_ratings(request, table))
        return page(
            "participant/rate_overview.html",
            table=table,
            relations=[(table_of.counterpart(table.names, c), c in rated) for c in mapped],
            rated=len(rated & set(mapped)),
            total=len(mapped),
            next_id=table_of.next_to_rate(mapped, rated),
            done=done,
            **step_line(table),
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
            **step_line(table),
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
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        self._mapped_counterpart(table, counterpart_id)
        own = await own_ratings(request, table)
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
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        self._mapped_counterpart(table, counterpart_id)
        own = await own_ratings(request, table)
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
                await send(
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
            return see_other(f"{table.base}/rate?done=true")
        return see_other(f"{table.base}/rate/{following}?saved=true")


PAGES: list[ControllerRouterHandler] = [RatingPages]

_U = UNIT_PATH
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", f"{_U}/rate"): READ_AT_TABLE,
    ("GET", f"{_U}/rate/{{counterpart_id:uuid}}"): READ_AT_TABLE,
    ("POST", f"{_U}/rate/{{counterpart_id:uuid}}"): TAKE_PART_AT_TABLE,
}
