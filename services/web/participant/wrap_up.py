"""A unit's wrap-up at the end of the theme day: what it takes home."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, post
from litestar.params import FromQuery
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from domain.errors import DomainError
from services.access import READ_AT_TABLE, TAKE_PART_AT_TABLE, Policy
from services.schemas.engagement import WrapUpIn
from services.usecases import theme_day as day
from services.web.forms import Form, FormData, FormInvalid, decode, refusal, values
from services.web.participant import table as table_of
from services.web.participant.table import (
    ACT_OPT,
    EMPTY_ROWS,
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


class WrapUpPages(Controller):
    """The unit's wrap-up."""

    path = UNIT_PATH

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
            **step_line(table),
        )

    @get("/wrap-up", opt=READ_OPT)
    async def wrap_up(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, done: FromQuery[bool] = False
    ) -> Template:
        """The unit's wrap-up (opsamling): what it takes home from its dialogues."""
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        given = table_of.wrap_up_of(table.engagement, unit_id)
        form = {"summary": given.summary, "inputs": given.inputs} if given else {}
        return self._wrap_up_page(table, form, {}, done=done)

    @post("/wrap-up", opt=ACT_OPT, status_code=303)
    async def record_wrap_up(
        self, request: Req, tenant_id: Path, engagement_id: Path, unit_id: Path, data: Form
    ) -> Response[Any]:
        table = await table_at(request, tenant_id, engagement_id, unit_id)
        form = FormData(data)
        fields = values(form, lists=frozenset({"inputs"}))
        inputs = [str(i).strip() for i in fields.get("inputs", [])]
        shown = {"summary": fields.get("summary", ""), "inputs": inputs}
        try:
            wrap = decode({**fields, "inputs": inputs}, WrapUpIn)
            given = table_of.wrap_up_of(table.engagement, unit_id)
            if given is None or (given.summary, given.inputs) != (wrap.summary, wrap.inputs):
                await send(
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
        return see_other(f"{table.base}/wrap-up?done=true")


PAGES: list[ControllerRouterHandler] = [WrapUpPages]

_U = UNIT_PATH
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", f"{_U}/wrap-up"): READ_AT_TABLE,
    ("POST", f"{_U}/wrap-up"): TAKE_PART_AT_TABLE,
}
