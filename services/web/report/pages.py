"""The follow-up report's pages: the agenda with each item's lineage, the ratings behind it
and the decisions so far, as HTML to print and as PDF (`services.web.report.agenda` gathers it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from litestar import Controller, Response, get
from litestar.params import FromPath
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from services.access import PAGE_TENANT_PREFIX, READ, Policy
from services.auth.guards import principal_from
from services.requests.reads import engagement_view, organisation_view
from services.web.dashboards import exports
from services.web.follow_up.meeting import Req, engagement_base
from services.web.i18n import gettext as _
from services.web.rendering import page
from services.web.report.agenda import (
    REPORT_BASE_URL,
    REPORT_STYLESHEETS,
    Agenda,
    agenda_of,
    load_agenda,
    report_key,
)

_T = PAGE_TENANT_PREFIX
_E = f"{_T}/e/{{engagement_id:uuid}}"
PDF_MEDIA_TYPE = "application/pdf"


class ReportPages(Controller):
    path = _E

    @get("/report", opt=READ.opt())
    async def report(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID]
    ) -> Template:
        """The follow-up report: the agenda with each item's lineage, the ratings behind it and
        the decisions so far. Printable; the same as PDF at `report.pdf`."""
        agenda = await load_agenda(request, tenant_id, engagement_id)
        return page("report/report.html", **_report_context(tenant_id, agenda))

    @get("/report.pdf", opt=READ.opt())
    async def report_pdf(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID]
    ) -> Response[bytes]:
        """The follow-up report as PDF, from the same template as the HTML report. Rendered in a
        worker process and kept per engagement version and language; while every renderer is
        busy the answer is 503 (429 to someone whose own report is still rendering) with
        Retry-After."""
        engagement = await engagement_view(request, tenant_id, engagement_id)
        organisation = await organisation_view(request, tenant_id)

        async def html() -> str:
            agenda = await agenda_of(request, tenant_id, engagement, organisation)
            engine = request.app.template_engine
            assert engine is not None  # noqa: S101 - the app is built with templates
            document: str = engine.get_template("report/document.html").render(
                request=request, **_report_context(tenant_id, agenda)
            )
            return document

        renderer = request.app.state.container.reports
        who = f"{tenant_id}:{principal_from(request).user_id}"
        # Raises ReportsBusy when there is no room: 429 or 503 with Retry-After (problems.py).
        pdf = await renderer.pdf(
            report_key(tenant_id, engagement, organisation), who, html, REPORT_BASE_URL, REPORT_STYLESHEETS
        )
        name = exports.file_name(_("follow-up report"), engagement.title)
        return Response(
            pdf,
            media_type=PDF_MEDIA_TYPE,
            headers={"Content-Disposition": f'inline; filename="{name}.pdf"', "Cache-Control": "no-store"},
        )


def _report_context(tenant_id: UUID, agenda: Agenda) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "base": engagement_base(tenant_id, agenda.engagement.engagement_id),
        "agenda": agenda,
        "engagement": agenda.engagement,
        "printed_at": datetime.now(UTC),
    }


PAGES: list[ControllerRouterHandler] = [ReportPages]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", f"{_E}/report"): READ,
    ("GET", f"{_E}/report.pdf"): READ,
}
