"""The facilitator console that runs the theme day: the phases, what is still outstanding
before moving on, progress per unit (live), the join codes issued and the closing plenary.

Every command goes through the same application-service call as the API route that records it
(`services/http/engagement_routes.py`, `theme_day_routes.py`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler
from msgspec import Struct

from domain.cards import CardStatus
from domain.errors import DomainError
from domain.phases import Phase
from domain.ratings import RatingMode
from projections.documents import EngagementOut, OrganisationOut
from projections.queries import ThemeDayBoard, names_at, theme_day_board
from services.access import FACILITATE, FACILITATORS, PAGE_TENANT_PREFIX, READ_AT_TABLE, Policy, UnitScope
from services.auth.guards import principal_from
from services.bootstrap import Container
from services.requests.reads import engagement_view, organisation_view
from services.schemas.engagement import ChangePhase, ClosingPlenaryIn, StepBack
from services.usecases import engagements
from services.usecases import theme_day as day
from services.usecases.bus import Command
from services.usecases.personal_codes import people_per_unit
from services.web.commands import submit
from services.web.consultant.links import ENGAGEMENT_PAGES, pages_open_to
from services.web.forms import Form, FormData, FormInvalid, decode, refusal, values
from services.web.i18n import ZONE
from services.web.i18n import gettext as _
from services.web.rendering import page

Req = Request[Any, Any, Any]
S = TypeVar("S", bound=Struct)
_T = PAGE_TENANT_PREFIX
_E = f"{_T}/e/{{engagement_id:uuid}}"
# The console shows join codes and the schedule up to the closing plenary, the theme day's end.
THEME_DAY_PHASES = frozenset(list(Phase)[: list(Phase).index(Phase.CLOSING_PLENARY) + 1])
CONFIRM = "move_on_anyway"


# -- What is still outstanding before moving on -------------------------------------------------


def outstanding(engagement: EngagementOut, organisation: OrganisationOut) -> list[str]:
    """What the current phase has not finished, said so the facilitator can decide to move on."""
    phase = engagement.phase
    names = names_at(organisation, None)
    progress = {u.unit_id: u for u in theme_day_board(engagement, organisation).units}
    ordered = sorted(engagement.unit_ids, key=lambda u: names.get(u, str(u)).casefold())
    found: list[str] = []
    if phase is Phase.MAPPING:
        for unit_id in ordered:
            name = names.get(unit_id, str(unit_id))
            mapped = len(engagement.relations.get(str(unit_id), []))
            rated = progress[unit_id].relations_rated if unit_id in progress else 0
            if not mapped:
                found.append(_("%(unit)s has not mapped its relations.", unit=name))
            elif rated < mapped:
                found.append(
                    _(
                        "%(unit)s has rated %(rated)s of %(mapped)s relations.",
                        unit=name,
                        rated=rated,
                        mapped=mapped,
                    )
                )
    elif phase is Phase.DANCE_CARDS:
        waiting = sum(1 for c in engagement.cards if c.status == CardStatus.SENT.value)
        if waiting:
            found.append(_("%(count)s dance cards are not answered yet.", count=waiting))
        accepted = [c for c in engagement.cards if c.status == CardStatus.ACCEPTED.value]
        unplaced = sum(1 for c in accepted if c.round is None)
        if unplaced:
            found.append(
                _(
                    "%(count)s of %(total)s accepted dance cards have no round.",
                    count=unplaced,
                    total=len(accepted),
                )
            )
    elif phase is Phase.DIALOGUES:
        held = {d.card_id for d in engagement.dialogues}
        scheduled = [
            c for c in engagement.cards if c.status == CardStatus.ACCEPTED.value and c.round is not None
        ]
        missing = sum(1 for c in scheduled if c.card_id not in held)
        if missing:
            found.append(
                _(
                    "%(missing)s of %(total)s scheduled dialogues not recorded.",
                    missing=missing,
                    total=len(scheduled),
                )
            )
    elif phase is Phase.WRAP_UP:
        wrapped = {w.unit_id for w in engagement.wrap_ups}
        found += [
            _("%(unit)s has no wrap-up yet.", unit=names.get(u, str(u))) for u in ordered if u not in wrapped
        ]
    elif phase is Phase.CLOSING_PLENARY:
        if engagement.plenary is None:
            found.append(_("The closing plenary has not been held."))
        elif not plenary_is_current(engagement):
            found.append(_("Agreements or proposals came after the closing plenary: hold it again."))
    return found


def plenary_is_current(engagement: EngagementOut) -> bool:
    """The closing plenary reported every agreement and listed every proposal made so far."""
    plenary = engagement.plenary
    return (
        plenary is not None
        and set(plenary.reported_agreements) == {a.agreement_id for a in engagement.agreements}
        and set(plenary.listed_proposals) == {p.proposal_id for p in engagement.proposals}
    )


def app_container(request: Req) -> Container:
    container: Container = request.app.state.container
    return container


def console_url(tenant_id: UUID, engagement_id: UUID, anchor: str = "") -> str:
    return f"/t/{tenant_id}/e/{engagement_id}/console" + (f"#{anchor}" if anchor else "")


# -- The facilitator console --------------------------------------------------------------------


@dataclass(frozen=True)
class CodeLine:
    """A join code as the console lists it: never the code itself (only its digest is kept)."""

    code_id: UUID
    expires_at: datetime
    revoked_at: datetime | None
    usable: bool

    @property
    def valid_through(self) -> date:
        return valid_through(self.expires_at)


def valid_through(expires_at: datetime) -> date:
    """The last day a code is valid on: it expires at the start of the next (local) day."""
    return (expires_at.astimezone(ZONE) - timedelta(microseconds=1)).date()


@dataclass(frozen=True)
class UnitCodes:
    unit_id: UUID
    name: str
    codes: list[CodeLine]


async def read_engagement(
    request: Req, tenant_id: UUID, engagement_id: UUID
) -> tuple[EngagementOut, OrganisationOut]:
    engagement = await engagement_view(request, tenant_id, engagement_id)
    organisation = await organisation_view(request, tenant_id)
    return engagement, organisation


async def _unit_codes(
    container: Container, tenant_id: UUID, engagement: EngagementOut, names: dict[UUID, str]
) -> list[UnitCodes]:
    def listed() -> dict[UUID, list[Any]]:
        control = container.control
        return {u: control.join_codes(tenant_id, engagement.engagement_id, u) for u in engagement.unit_ids}

    codes = await container.offloop(listed)
    now = container.clock()
    return sorted(
        (
            UnitCodes(
                unit_id,
                names.get(unit_id, str(unit_id)),
                [CodeLine(c.id, c.expires_at, c.revoked_at, c.usable_at(now)) for c in issued],
            )
            for unit_id, issued in codes.items()
        ),
        key=lambda u: u.name.casefold(),
    )


async def board_with_people(
    request: Req, tenant_id: UUID, engagement: EngagementOut, organisation: OrganisationOut
) -> ThemeDayBoard:
    """The theme-day board, with how many people each unit's personal codes are for where
    individuals rate (beside how many have rated: "7 of 12")."""
    people: dict[UUID, int] = {}
    if engagement.rating_mode is RatingMode.INDIVIDUAL:
        people = await people_per_unit(
            app_container(request), tenant_id, engagement.engagement_id, engagement.unit_ids
        )
    return theme_day_board(engagement, organisation, None, people)


async def console_page(
    request: Req,
    tenant_id: UUID,
    engagement_id: UUID,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    engagement, organisation = await read_engagement(request, tenant_id, engagement_id)
    names = names_at(organisation, None)
    on_theme_day = engagement.phase in THEME_DAY_PHASES
    codes = await _unit_codes(app_container(request), tenant_id, engagement, names) if on_theme_day else []
    return page(
        "consultant/console.html",
        status_code=status_code,
        organisation=organisation,
        engagement=engagement,
        board=await board_with_people(request, tenant_id, engagement, organisation),
        tenant_id=tenant_id,
        phases=list(Phase),
        phase_index=list(Phase).index(engagement.phase),
        on_theme_day=on_theme_day,
        other_pages=pages_open_to(principal_from(request), tenant_id, _E, ENGAGEMENT_PAGES) - {"console"},
        next_phase=engagement.phase.following,
        outstanding=outstanding(engagement, organisation),
        plenary_current=plenary_is_current(engagement),
        wrap_ups=sorted(
            ((names.get(w.unit_id, str(w.unit_id)), w) for w in engagement.wrap_ups),
            key=lambda named: named[0].casefold(),
        ),
        previous_phase=engagement.phase.preceding,
        unit_codes=codes,
        names=names,
        live_source=f"/api/v1/tenants/{tenant_id}/engagements/{engagement_id}/events",
        errors=errors or {},
        form=form or {},
    )


async def _command_failed(
    request: Req,
    tenant_id: UUID,
    engagement_id: UUID,
    shown: dict[str, Any],
    error: FormInvalid | DomainError,
) -> Template:
    """The console again, saying why the command was not recorded."""
    errors, status_code = refusal(error)
    return await console_page(
        request, tenant_id, engagement_id, errors=errors, form=shown, status_code=status_code
    )


async def _console_command(
    request: Req,
    tenant_id: UUID,
    engagement_id: UUID,
    data: Form,
    shape: type[S],
    command_of: Callable[[S], Command[Any]],
    *,
    anchor: str = "",
    ignore: frozenset[str] = frozenset(),
) -> Response[Any]:
    """A command from a console form, its fields decoded as `shape` (but for those to `ignore`):
    back to the console (at `anchor`) once recorded, or the console again saying why it was not."""
    form = FormData(data)
    shown = values(form)
    try:
        given = decode({k: v for k, v in shown.items() if k not in ignore}, shape)
        await submit(request, tenant_id, command_of(given), form.key)
    except (FormInvalid, DomainError) as error:
        return await _command_failed(request, tenant_id, engagement_id, shown, error)
    return Redirect(console_url(tenant_id, engagement_id, anchor), status_code=303)


class ConsolePages(Controller):
    path = _E

    @get("/", opt=READ_AT_TABLE.opt(UnitScope.READ))
    async def engagement_home(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID]
    ) -> Redirect:
        """An engagement's address leads to the page its visitor works on: the console for
        facilitators, the table for a unit's table, the dashboard for everyone else."""
        await engagement_view(request, tenant_id, engagement_id)  # 404 for an unknown engagement
        principal = principal_from(request)
        if principal.is_unit_scoped:
            return Redirect(f"/t/{tenant_id}/e/{engagement_id}/u/{principal.unit_id}", status_code=303)
        if principal.role_in(tenant_id) in FACILITATORS:
            return Redirect(f"/t/{tenant_id}/e/{engagement_id}/console", status_code=303)
        return Redirect(f"/t/{tenant_id}/e/{engagement_id}/dashboard", status_code=303)

    @get("/console", opt=FACILITATE.opt())
    async def console(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID]
    ) -> Template:
        """The facilitator console: the phases, progress per unit (live), join codes, the
        schedule's state and the closing plenary."""
        return await console_page(request, tenant_id, engagement_id)

    @get("/console/progress", opt=FACILITATE.opt())
    async def progress(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID]
    ) -> Template:
        """Progress per unit, the fragment the console fetches again on every change."""
        engagement, organisation = await read_engagement(request, tenant_id, engagement_id)
        board = await board_with_people(request, tenant_id, engagement, organisation)
        return page("consultant/_progress.html", board=board, tenant_id=tenant_id, engagement=engagement)

    @post("/console/advance", opt=FACILITATE.opt(), status_code=303)
    async def advance(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], data: Form
    ) -> Response[Any]:
        """On to the next phase; the form names the phase it was shown in. With something still
        outstanding in the phase, only when the facilitator ticked "Move on anyway"."""
        shown = values(FormData(data))
        engagement, organisation = await read_engagement(request, tenant_id, engagement_id)
        current = shown.get("expected_phase") == engagement.phase.value
        if current and outstanding(engagement, organisation) and not shown.get(CONFIRM):
            refused = FormInvalid(
                {CONFIRM: _("Something is still outstanding: tick “Move on anyway” to move on.")}
            )
            return await _command_failed(request, tenant_id, engagement_id, shown, refused)
        return await _console_command(
            request,
            tenant_id,
            engagement_id,
            data,
            ChangePhase,
            lambda change: engagements.AdvancePhase(
                engagement_id=engagement_id, expected_phase=change.expected_phase
            ),
            ignore=frozenset({CONFIRM}),
        )

    @post("/console/back", opt=FACILITATE.opt(), status_code=303)
    async def step_back(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], data: Form
    ) -> Response[Any]:
        """Back one phase, with the reason recorded."""
        return await _console_command(
            request,
            tenant_id,
            engagement_id,
            data,
            StepBack,
            lambda back: engagements.MovePhaseBack(
                engagement_id=engagement_id, expected_phase=back.expected_phase, reason=back.reason
            ),
        )

    @post("/console/closing-plenary", opt=FACILITATE.opt(), status_code=303)
    async def closing_plenary(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], data: Form
    ) -> Response[Any]:
        """The closing plenary: the agreements made are reported, the proposals listed."""
        return await _console_command(
            request,
            tenant_id,
            engagement_id,
            data,
            ClosingPlenaryIn,
            lambda plenary: day.HoldClosingPlenary(engagement_id=engagement_id, notes=plenary.notes),
            anchor="plenary",
        )


PAGES: list[ControllerRouterHandler] = [ConsolePages]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", _E): READ_AT_TABLE,
    ("GET", f"{_E}/console"): FACILITATE,
    ("GET", f"{_E}/console/progress"): FACILITATE,
    ("POST", f"{_E}/console/advance"): FACILITATE,
    ("POST", f"{_E}/console/back"): FACILITATE,
    ("POST", f"{_E}/console/closing-plenary"): FACILITATE,
}
