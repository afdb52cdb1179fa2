"""Pages: the engagement dashboard, the relation matrix and the longitudinal dashboard.

Each page shows its numbers as charts and as tables, and can travel back in time: `as_of` (a
day) shows everything as it stood at the end of that day in the organisations' time zone,
rebuilt from the events that had happened by then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from domain.errors import NotFound
from projections.documents import EngagementOut, OrganisationOut, OrganisationUnits
from projections.queries import (
    LongitudinalView,
    RelationHistory,
    RelationMatrix,
    engagement_dashboard,
    longitudinal,
    names_at,
    relation_matrix,
)
from services.access import PAGE_TENANT_PREFIX, READ, Policy
from services.requests.reads import engagement_view, engagements_of, organisation_units, organisation_view
from services.web import charts
from services.web.i18n import ZONE, current_language
from services.web.i18n import gettext as _
from services.web.rendering import page

Req = Request[Any, Any, Any]
ENGAGEMENT_PATH = PAGE_TENANT_PREFIX + "/e/{engagement_id:uuid}"
DASHBOARD_PATH = ENGAGEMENT_PATH + "/dashboard"
MATRIX_PATH = ENGAGEMENT_PATH + "/matrix"
HISTORY_PATH = PAGE_TENANT_PREFIX + "/history"


@dataclass(frozen=True)
class TimeTravel:
    """The day a page shows: today, or the end of a past day (`moment`)."""

    today: date
    day: date | None = None
    error: str | None = None  # the day asked for is not a date
    note: str | None = None  # the day asked for had nothing to show
    asked: str = ""

    @property
    def moment(self) -> datetime | None:
        return None if self.day is None else datetime.combine(self.day, time.max, tzinfo=ZONE)

    @property
    def as_of_day(self) -> date:
        return self.day or self.today

    @property
    def status_code(self) -> int:
        return 400 if self.error else 200

    def too_early(self) -> TimeTravel:
        note = _("Nothing had been recorded by that day. Showing today instead.")
        return TimeTravel(self.today, None, None, note, self.asked)


def today_here() -> date:
    return datetime.now(ZONE).date()


def time_travel(as_of: str | None) -> TimeTravel:
    """The day asked for: a past day travels back; today, a day to come or nothing is now."""
    today = today_here()
    asked = (as_of or "").strip()
    if not asked:
        return TimeTravel(today)
    try:
        day = date.fromisoformat(asked)
    except ValueError:
        return TimeTravel(today, None, _("Give a date like 2025-03-11."), None, asked)
    if day > today:
        return TimeTravel(today, None, None, _("That day has not come yet; showing today."), asked)
    return TimeTravel(today, day if day < today else None, None, None, asked)


async def engagement_at(
    request: Req, tenant_id: UUID, engagement_id: UUID, as_of: str | None
) -> tuple[EngagementOut, OrganisationUnits, TimeTravel]:
    """The engagement and its organisation on the day `as_of` asks for, or today with a note
    when the engagement had not been prepared by then."""
    travel = time_travel(as_of)
    if travel.moment is not None:
        try:
            engagement = await engagement_view(request, tenant_id, engagement_id, moment=travel.moment)
            organisation = await organisation_units(request, tenant_id, moment=travel.moment)
        except NotFound:
            travel = travel.too_early()
        else:
            return engagement, organisation, travel
    engagement = await engagement_view(request, tenant_id, engagement_id)
    organisation = await organisation_units(request, tenant_id)
    return engagement, organisation, travel


async def history_at(
    request: Req, tenant_id: UUID, as_of: str | None
) -> tuple[OrganisationOut, list[EngagementOut], TimeTravel]:
    """The organisation and all its engagements on the day `as_of` asks for (or today, with a
    note)."""
    travel = time_travel(as_of)
    if travel.moment is not None:
        try:
            organisation = await organisation_view(request, tenant_id, moment=travel.moment)
            engagements = await engagements_of(request, tenant_id, travel.moment, organisation)
        except NotFound:
            travel = travel.too_early()
        else:
            return organisation, engagements, travel
    organisation = await organisation_view(request, tenant_id)
    return organisation, await engagements_of(request, tenant_id, None, organisation), travel


def dimension_names(engagements: list[EngagementOut]) -> list[tuple[str, str]]:
    """Every dimension of the instruments used, in the user's language, first seen first."""
    danish = current_language() == "da"
    names: dict[str, str] = {}
    for engagement in engagements:
        for dimension in engagement.instrument.dimensions:
            names.setdefault(dimension.key, dimension.name_da if danish else dimension.name_en)
    return list(names.items())


def _page(
    template: str, tenant_id: UUID, travel: TimeTravel, organisation: OrganisationUnits, **context: Any
) -> Template:
    """A dashboard as it stood on the day `travel` shows, with the form to choose another day
    (400 when the day asked for is not a date)."""
    return page(
        template,
        status_code=travel.status_code,
        tenant_id=tenant_id,
        travel=travel,
        organisation=organisation,
        errors={"as_of": travel.error} if travel.error else {},
        **charts.TEMPLATE_HELPERS,
        **context,
    )


@get(DASHBOARD_PATH, opt=READ.opt(), name="engagement-dashboard")
async def dashboard_page(
    request: Req,
    tenant_id: FromPath[UUID],
    engagement_id: FromPath[UUID],
    as_of: FromQuery[str | None] = None,
) -> Template:
    """After the theme day: the weakest ties, cards per tie, agreements and proposals."""
    engagement, organisation, travel = await engagement_at(request, tenant_id, engagement_id, as_of)
    dashboard = engagement_dashboard(engagement, organisation, travel.as_of_day, travel.moment)
    weakest = (
        charts.weakest_ties_chart(
            dashboard.weakest_ties, engagement.instrument.scale_max, scale_min=engagement.instrument.scale_min
        )
        if dashboard.weakest_ties
        else None
    )
    return _page(
        "dashboards/dashboard.html",
        tenant_id,
        travel,
        organisation,
        engagement=engagement,
        dashboard=dashboard,
        weakest_chart=weakest,
        proposals=sorted(engagement.proposals, key=lambda p: p.made_at or datetime.min.replace(tzinfo=ZONE)),
        cards_total=charts.cards_total(dashboard.cards_per_tie),
        unit_names=names_at(organisation, travel.moment),
    )


def alphabetical(matrix: RelationMatrix) -> RelationMatrix:
    """The matrix with its units, rows, columns and network nodes in the order of their names."""
    return msgspec.structs.replace(
        matrix,
        units=sorted(matrix.units, key=lambda u: u.name.casefold()),
        rows=sorted(matrix.rows, key=lambda r: r.name.casefold()),
        columns=sorted(matrix.columns, key=lambda c: c.name.casefold()),
        nodes=sorted(matrix.nodes, key=lambda n: n.name.casefold()),
    )


@get(MATRIX_PATH, opt=READ.opt(), name="relation-matrix")
async def matrix_page(
    request: Req,
    tenant_id: FromPath[UUID],
    engagement_id: FromPath[UUID],
    as_of: FromQuery[str | None] = None,
) -> Template:
    """The relation matrix as a heat map, a network and tables, with its exports."""
    engagement, organisation, travel = await engagement_at(request, tenant_id, engagement_id, as_of)
    matrix = alphabetical(relation_matrix(engagement, organisation, travel.moment))
    return _page(
        "dashboards/matrix.html",
        tenant_id,
        travel,
        organisation,
        engagement=engagement,
        matrix=matrix,
        heat_map=charts.heat_map(matrix),
        network=charts.relation_network(matrix),
        cells={(c.unit_id, c.counterpart_id): c for c in matrix.cells},
        dimensions=dimension_names([engagement]),
        names={u.unit_id: u.name for u in matrix.units},
    )


@dataclass(frozen=True)
class Reorganisation:
    """A change to the organisation's units, in words for the history page."""

    on: datetime | None
    words: str


def reorganisations(organisation: OrganisationOut) -> list[Reorganisation]:
    """Mergers, splits and renames, oldest first."""
    names = {u.unit_id: u.name for u in organisation.units}
    changes = []
    for unit in organisation.units:
        if unit.successors:
            changes.append(
                Reorganisation(
                    unit.ended_at,
                    _(
                        "%(unit)s continued as %(successors)s",
                        unit=unit.name,
                        successors=", ".join(names.get(s, str(s)) for s in unit.successors),
                    ),
                )
            )
        for before, after in zip(unit.names, unit.names[1:], strict=False):
            changes.append(
                Reorganisation(after.since, _("%(old)s was renamed %(new)s", old=before.name, new=after.name))
            )
    return sorted(changes, key=lambda c: c.on or datetime.min.replace(tzinfo=ZONE))


def relation_key(relation: RelationHistory) -> str:
    return f"{relation.unit_id}:{relation.counterpart_id}"


def chosen_relation(view: LongitudinalView, asked: str | None) -> RelationHistory | None:
    """The relation asked for; else the first one with an agreement and several ratings."""
    for relation in view.relations:
        if relation_key(relation) == asked:
            return relation
    followed = [r for r in view.relations if r.agreements and len({p.engagement_id for p in r.points}) > 1]
    candidates = followed or view.relations
    return candidates[0] if candidates else None


@get(HISTORY_PATH, opt=READ.opt(), name="longitudinal-dashboard")
async def history_page(
    request: Req,
    tenant_id: FromPath[UUID],
    as_of: FromQuery[str | None] = None,
    relation: FromQuery[str | None] = None,
) -> Template:
    """Relations and agreements across the years: one relation's index and dimensions by
    engagement with its agreements, how agreements were followed through, and relations with
    and without agreements compared."""
    organisation, engagements, travel = await history_at(request, tenant_id, as_of)
    view = longitudinal(organisation, engagements, travel.as_of_day)
    chosen = chosen_relation(view, relation)
    dimensions = dimension_names(engagements)
    line_chart = (
        charts.relation_line_chart(chosen, dimensions, today=travel.as_of_day) if chosen is not None else None
    )
    return _page(
        "dashboards/history.html",
        tenant_id,
        travel,
        organisation,
        view=view,
        chosen=chosen,
        chosen_key=relation_key(chosen) if chosen else "",
        relation_options=[
            (
                relation_key(r),
                _(
                    "%(unit)s about %(counterpart)s · agreements: %(count)s",
                    unit=r.unit_name,
                    counterpart=r.counterpart_name,
                    count=len(r.agreements),
                ),
            )
            for r in view.relations
        ],
        dimensions=dimensions,
        line_chart=line_chart,
        follow_through_chart=charts.follow_through_chart(view.follow_through),
        follow_through_keys=list(charts.FOLLOW_THROUGH_FILLS),
        reorganisations=reorganisations(organisation),
        names={u.unit_id: u.name for u in organisation.units},
    )


PAGES: list[ControllerRouterHandler] = [dashboard_page, matrix_page, history_page]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", DASHBOARD_PATH): READ,
    ("GET", MATRIX_PATH): READ,
    ("GET", HISTORY_PATH): READ,
}
