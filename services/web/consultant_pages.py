"""Pages for the consultancy: the portfolio, a client organisation's home, the preparatory
meeting that creates an engagement, and the facilitator console that runs the theme day
(phases, progress per unit, join codes and their printed sheet, the dialogue schedule, the
closing plenary).

Every command goes through the same application-service call as the API route that records it
(`services/http/engagement_routes.py`, `theme_day_routes.py`, `join_code_routes.py`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler
from markupsafe import Markup
from msgspec import Struct

from domain.cards import CardStatus
from domain.default_instrument import DEFAULT_INSTRUMENT_ID
from domain.errors import DomainError, NotFound
from domain.organisation import UnitStatus
from domain.phases import Phase
from projections.documents import CardOut, EngagementOut, OrganisationOut
from projections.queries import names_at, theme_day_board
from services.access import (
    CONSULTANCY_STAFF,
    FACILITATE,
    FACILITATORS,
    PAGE_TENANT_PREFIX,
    PLAN,
    PORTFOLIO_ROLES,
    READ,
    READ_AT_TABLE,
    Caller,
    Policy,
    UnitScope,
    platform,
    policy_for,
)
from services.auth.guards import principal_from
from services.auth.principal import Principal
from services.bootstrap import Container
from services.live import end_streams
from services.requests.provenance import build_provenance
from services.requests.reads import engagement_view, known_tenant, organisation_view, portfolio_of
from services.schemas.engagement import (
    ChangePhase,
    ClosingPlenaryIn,
    MoveDialogue,
    PrepareEngagement,
    SetRounds,
    StepBack,
)
from services.usecases import engagements
from services.usecases import theme_day as day
from services.usecases.bus import Command
from services.usecases.engagements import instrument_for, preparation_of
from services.usecases.join_codes import JoinCodeIssued, issue_join_code, qr_code_svg, revoke_join_code
from services.web import participant_table as table_of
from services.web.commands import submit
from services.web.forms import Form, FormData, FormInvalid, decode, domain_message, refusal, values
from services.web.i18n import ZONE
from services.web.i18n import gettext as _
from services.web.rendering import page

Req = Request[Any, Any, Any]
S = TypeVar("S", bound=Struct)
_T = PAGE_TENANT_PREFIX
_E = f"{_T}/e/{{engagement_id:uuid}}"
# Units still in the organisation (not merged, split or retired).
ACTIVE = UnitStatus.ACTIVE.value
# The pages of an engagement and of a client organisation a home page may link to; each link is
# shown only to those whom the page's declared policy lets in.
ENGAGEMENT_PAGES = (
    "console",
    "schedule",
    "dashboard",
    "matrix",
    "board",
    "follow-up",
    "agreements",
    "report",
)
TENANT_PAGES = ("engagements/new", "history", "audit")
# The console shows join codes and the schedule up to the closing plenary, the theme day's end.
THEME_DAY_PHASES = frozenset(list(Phase)[: list(Phase).index(Phase.CLOSING_PLENARY) + 1])


# Addresses a phone at a table cannot reach.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
# The schedule's forms, and the phases in which the method accepts them (`domain/engagement.py`).
SCHEDULE_PHASES = (Phase.DANCE_CARDS, Phase.DIALOGUES)
ROUNDS_PHASES = (Phase.PREPARED, Phase.THEME_DAY_OPEN, Phase.MAPPING, Phase.DANCE_CARDS, Phase.DIALOGUES)
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


# -- Who may follow which link ------------------------------------------------------------------


def _caller(principal: Principal, tenant_id: UUID) -> Caller | None:
    if principal.is_unit_scoped:
        return Caller.UNIT_TABLE
    role = principal.role_in(tenant_id)
    return None if role is None else Caller(role.value)


def pages_open_to(principal: Principal, tenant_id: UUID, prefix: str, names: tuple[str, ...]) -> set[str]:
    """The pages under `prefix` (a path template) that `principal` may open in `tenant_id`:
    those declared, whose policy lets the principal's role in."""
    caller = _caller(principal, tenant_id)
    if caller is None:
        return set()
    found = ((name, policy_for("GET", f"{prefix}/{name}")) for name in names)
    return {name for name, policy in found if policy is not None and policy.allows(caller)}


def _is_facilitator(principal: Principal, tenant_id: UUID) -> bool:
    return principal.role_in(tenant_id) in FACILITATORS


def _container(request: Req) -> Container:
    container: Container = request.app.state.container
    return container


def _console_url(tenant_id: UUID, engagement_id: UUID, anchor: str = "") -> str:
    return f"/t/{tenant_id}/e/{engagement_id}/console" + (f"#{anchor}" if anchor else "")


def _schedule_url(tenant_id: UUID, engagement_id: UUID) -> str:
    return f"/t/{tenant_id}/e/{engagement_id}/schedule"


# -- The portfolio ------------------------------------------------------------------------------


@get("/portfolio")
async def portfolio_page(request: Req) -> Template:
    """The consultancy's portfolio over the client organisations the signed-in consultant may
    act in: engagements by phase, dates to come, overdue investigations, quiet agreements."""
    principal = principal_from(request)
    if principal.platform_role not in PORTFOLIO_ROLES:
        raise PermissionDeniedException(_("Only consultancy admins and consultants have a portfolio."))
    container = _container(request)
    today = container.clock().astimezone(ZONE).date()
    shown = await portfolio_of(request, principal, today)
    tenants = [t for t in await container.offloop(container.control.tenants) if principal.can_access(t.id)]
    titles = {e.engagement_id: e.title for e in shown.engagements}
    return page("consultant/portfolio.html", portfolio=shown, tenants=tenants, titles=titles)


# -- A client organisation ----------------------------------------------------------------------


async def _organisation_or_none(request: Req, tenant_id: UUID) -> OrganisationOut | None:
    try:
        return await organisation_view(request, tenant_id)
    except NotFound:  # not established yet: nothing to show but the organisation's name
        return None


class OrganisationPages(Controller):
    path = _T

    @get("/", opt=READ.opt())
    async def home(self, request: Req, tenant_id: FromPath[UUID]) -> Template:
        """A client organisation: its engagements with their phase and dates, its units, and the
        pages each role may open."""
        container = await known_tenant(request, tenant_id)
        tenant = await container.offloop(container.control.tenant, tenant_id)
        principal = principal_from(request)
        organisation = await _organisation_or_none(request, tenant_id)
        refs = organisation.engagements if organisation else []
        engagements = [await engagement_view(request, tenant_id, ref.engagement_id) for ref in refs]
        units = [u for u in organisation.units if u.status == ACTIVE] if organisation else []
        return page(
            "consultant/organisation.html",
            tenant=tenant,
            organisation=organisation,
            engagements=sorted(engagements, key=lambda e: e.theme_day, reverse=True),
            units=sorted(units, key=lambda u: u.name.casefold()),
            names=names_at(organisation, None) if organisation else {},
            engagement_pages=pages_open_to(principal, tenant_id, _E, ENGAGEMENT_PAGES),
            tenant_pages=pages_open_to(principal, tenant_id, _T, TENANT_PAGES),
        )

    @get("/engagements/new", opt=PLAN.opt())
    async def new_engagement(self, request: Req, tenant_id: FromPath[UUID]) -> Template:
        """The preparatory meeting's form."""
        return await _preparation_page(request, tenant_id, {}, {})

    @post("/engagements/new", opt=PLAN.opt(), status_code=303)
    async def prepare(self, request: Req, tenant_id: FromPath[UUID], data: Form) -> Response[Any]:
        """The preparatory meeting: records the engagement, then on to its console (or the
        organisation's home for the planning group)."""
        form = FormData(data)
        shown = values(form, lists=frozenset({"unit_ids"}))
        try:
            command = _preparation_command(shown)
        except FormInvalid as invalid:
            return await _preparation_page(request, tenant_id, shown, invalid.errors, status_code=400)
        container = _container(request)
        try:
            instrument = await instrument_for(container, command.instrument_id, command.instrument_version)
        except NotFound:
            errors = {"instrument_id": _("Please choose from the list.")}
            return await _preparation_page(request, tenant_id, shown, errors, status_code=400)
        try:
            engagement_id = await submit(
                request,
                tenant_id,
                engagements.PrepareEngagement(
                    tenant_id=tenant_id,
                    preparation=preparation_of(command),
                    unit_ids=tuple(command.unit_ids),
                    instrument=instrument,
                    rating_mode=command.rating_mode,
                    min_group_size=command.min_group_size,
                    rounds=command.rounds,
                ),
                form.key,
            )
        except DomainError as error:
            errors = {"": domain_message(error)}
            return await _preparation_page(request, tenant_id, shown, errors, status_code=409)
        if engagement_id is not None and _is_facilitator(principal_from(request), tenant_id):
            return Redirect(_console_url(tenant_id, engagement_id), status_code=303)
        return Redirect(f"/t/{tenant_id}", status_code=303)


def _preparation_command(shown: dict[str, Any]) -> PrepareEngagement:
    """The form as the API's command: the planning group one name a line, the units ticked."""
    fields = dict(shown)
    fields["unit_ids"] = shown.get("unit_ids", [])
    members = str(shown.get("planning_group", ""))
    fields["planning_group"] = [name.strip() for name in members.splitlines() if name.strip()]
    try:
        return decode(fields, PrepareEngagement)
    except FormInvalid as invalid:
        if "unit_ids" in invalid.errors:
            raise FormInvalid({"unit_ids": _("Choose at least two units.")}) from None
        raise


async def _preparation_page(
    request: Req, tenant_id: UUID, form: dict[str, Any], errors: dict[str, str], *, status_code: int = 200
) -> Template:
    container = await known_tenant(request, tenant_id)
    tenant = await container.offloop(container.control.tenant, tenant_id)
    organisation = await _organisation_or_none(request, tenant_id)
    units = [u for u in organisation.units if u.status == ACTIVE] if organisation else []
    instruments = await container.offloop(container.control.instruments)
    return page(
        "consultant/new_engagement.html",
        status_code=status_code,
        tenant=tenant,
        units=sorted(units, key=lambda u: u.name.casefold()),
        instruments=[(i.id, i.name) for i in instruments],
        default_instrument=DEFAULT_INSTRUMENT_ID,
        form=form,
        errors=errors,
        chosen_units={str(u) for u in form.get("unit_ids", [])},
    )


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


@dataclass(frozen=True)
class Sheet:
    """One table card of the printed sheet."""

    name: str
    issued: JoinCodeIssued
    join_page: str
    qr: Markup

    @property
    def valid_through(self) -> date:
        return valid_through(self.issued.expires_at)


async def _read(request: Req, tenant_id: UUID, engagement_id: UUID) -> tuple[EngagementOut, OrganisationOut]:
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


async def _console(
    request: Req,
    tenant_id: UUID,
    engagement_id: UUID,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    engagement, organisation = await _read(request, tenant_id, engagement_id)
    names = names_at(organisation, None)
    on_theme_day = engagement.phase in THEME_DAY_PHASES
    codes = await _unit_codes(_container(request), tenant_id, engagement, names) if on_theme_day else []
    return page(
        "consultant/console.html",
        status_code=status_code,
        organisation=organisation,
        engagement=engagement,
        board=theme_day_board(engagement, organisation),
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
    return await _console(
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
    return Redirect(_console_url(tenant_id, engagement_id, anchor), status_code=303)


async def _sheet(
    request: Req, tenant_id: UUID, engagement: EngagementOut, names: dict[UUID, str], unit_ids: list[UUID]
) -> Template:
    """Issues a join code for each of `unit_ids` and shows them on the printable sheet.

    The plain code exists only while this answer is made: the store keeps its digest alone, so
    the sheet is the POST's own answer (200, not cached) and never a page to come back to. A
    resubmitted form issues new codes; the earlier ones are listed on the console to revoke."""
    container = _container(request)
    cards = []
    for unit_id in sorted(unit_ids, key=lambda u: names.get(u, str(u)).casefold()):
        provenance = build_provenance(request, request.user, tenant_id, "IssueJoinCode")
        issued = await issue_join_code(
            container, tenant_id, engagement.engagement_id, unit_id, provenance, str(request.base_url)
        )
        name = names.get(unit_id, str(unit_id))
        # segno escapes the title and draws the rest from the join link: markup of our own making.
        qr = Markup(qr_code_svg(issued.join_url, title=_("QR code to join as %(unit)s", unit=name), scale=6))  # noqa: S704
        cards.append(Sheet(name, issued, issued.join_url.split("#", 1)[0], qr))
    host = (request.url.hostname or "").lower()
    unreachable = _container(request).settings.public_url is None and host in LOCAL_HOSTS
    return page(
        "consultant/join_code_sheet.html",
        engagement=engagement,
        tenant_id=tenant_id,
        cards=cards,
        unreachable=unreachable,
    )


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
        return await _console(request, tenant_id, engagement_id)

    @get("/console/progress", opt=FACILITATE.opt())
    async def progress(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID]
    ) -> Template:
        """Progress per unit, the fragment the console fetches again on every change."""
        engagement, organisation = await _read(request, tenant_id, engagement_id)
        board = theme_day_board(engagement, organisation)
        return page("consultant/_progress.html", board=board, tenant_id=tenant_id, engagement=engagement)

    @post("/console/advance", opt=FACILITATE.opt(), status_code=303)
    async def advance(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], data: Form
    ) -> Response[Any]:
        """On to the next phase; the form names the phase it was shown in. With something still
        outstanding in the phase, only when the facilitator ticked "Move on anyway"."""
        shown = values(FormData(data))
        engagement, organisation = await _read(request, tenant_id, engagement_id)
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

    @post("/console/units/{unit_id:uuid}/join-codes", opt=FACILITATE.opt(), status_code=200)
    async def issue_code(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], unit_id: FromPath[UUID]
    ) -> Response[Any]:
        """A new join code for one unit's table, shown on the printable sheet this once."""
        engagement, organisation = await _read(request, tenant_id, engagement_id)
        try:
            return await _sheet(request, tenant_id, engagement, names_at(organisation, None), [unit_id])
        except DomainError as error:
            errors = {"": domain_message(error)}
            return await _console(request, tenant_id, engagement_id, errors=errors, status_code=409)

    @post(
        "/console/units/{unit_id:uuid}/join-codes/{code_id:uuid}/revoke",
        opt=FACILITATE.opt(),
        status_code=303,
    )
    async def revoke_code(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        unit_id: FromPath[UUID],
        code_id: FromPath[UUID],
    ) -> Redirect:
        """Revoke a join code: nobody joins with it any more, and its tokens stop working."""
        container = _container(request)
        code = await container.offloop(container.control.join_code, code_id)
        if (code.tenant_id, code.engagement_id, code.unit_id) != (tenant_id, engagement_id, unit_id):
            raise NotFound("no_join_code", code=str(code_id))
        provenance = build_provenance(request, request.user, tenant_id, "RevokeJoinCode")
        await revoke_join_code(container, code_id, provenance)
        await end_streams(request.app, join_code_id=code_id)
        return Redirect(_console_url(tenant_id, engagement_id, "join-codes"), status_code=303)

    @get("/join-codes/print", opt=FACILITATE.opt())
    async def codes_to_print(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID]
    ) -> Template:
        """Choose the units to print join codes for (new codes are issued: the old ones are not kept)."""
        return await _print_choice(request, tenant_id, engagement_id, {}, None)

    @post("/join-codes/print", opt=FACILITATE.opt(), status_code=200)
    async def print_codes(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], data: Form
    ) -> Response[Any]:
        """Issue a join code for each chosen unit and show the sheet to print."""
        form = FormData(data)
        engagement, organisation = await _read(request, tenant_id, engagement_id)
        chosen = [u for u in engagement.unit_ids if str(u) in {str(v) for v in form.getall("unit_ids")}]
        if not chosen:
            errors = {"unit_ids": _("Choose at least one unit.")}
            return await _print_choice(request, tenant_id, engagement_id, errors, set(), status_code=400)
        container = _container(request)
        try:
            if form.get("revoke_earlier"):
                await _revoke_usable(request, container, tenant_id, engagement_id, chosen)
            return await _sheet(request, tenant_id, engagement, names_at(organisation, None), chosen)
        except DomainError as error:
            errors = {"": domain_message(error)}
            picked = {str(u) for u in chosen}
            return await _print_choice(request, tenant_id, engagement_id, errors, picked, status_code=409)

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


async def _revoke_usable(
    request: Req, container: Container, tenant_id: UUID, engagement_id: UUID, unit_ids: list[UUID]
) -> None:
    """Revoke the codes still usable for `unit_ids` (printing afresh replaces a lost sheet)."""
    provenance = build_provenance(request, request.user, tenant_id, "RevokeJoinCode")

    def revoke() -> None:
        control = container.control
        now = container.clock()
        for unit_id in unit_ids:
            for code in control.join_codes(tenant_id, engagement_id, unit_id):
                if code.usable_at(now):
                    control.revoke_join_code(code.id, provenance)

    await container.offloop(revoke)


async def _print_choice(
    request: Req,
    tenant_id: UUID,
    engagement_id: UUID,
    errors: dict[str, str],
    chosen: set[str] | None,
    *,
    status_code: int = 200,
) -> Template:
    engagement, organisation = await _read(request, tenant_id, engagement_id)
    names = names_at(organisation, None)
    units = sorted(((u, names.get(u, str(u))) for u in engagement.unit_ids), key=lambda u: u[1].casefold())
    return page(
        "consultant/join_codes_print.html",
        status_code=status_code,
        tenant_id=tenant_id,
        organisation=organisation,
        engagement=engagement,
        units=units,
        chosen={str(u) for u, _name in units} if chosen is None else chosen,
        errors=errors,
    )


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
    engagement, organisation = await _read(request, tenant_id, engagement_id)
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


PAGES: list[ControllerRouterHandler] = [portfolio_page, OrganisationPages, ConsolePages]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", "/portfolio"): platform(CONSULTANCY_STAFF),
    ("GET", _T): READ,
    ("GET", f"{_T}/engagements/new"): PLAN,
    ("POST", f"{_T}/engagements/new"): PLAN,
    ("GET", _E): READ_AT_TABLE,
    ("GET", f"{_E}/console"): FACILITATE,
    ("GET", f"{_E}/console/progress"): FACILITATE,
    ("POST", f"{_E}/console/advance"): FACILITATE,
    ("POST", f"{_E}/console/back"): FACILITATE,
    ("POST", f"{_E}/console/closing-plenary"): FACILITATE,
    ("POST", f"{_E}/console/units/{{unit_id:uuid}}/join-codes"): FACILITATE,
    ("POST", f"{_E}/console/units/{{unit_id:uuid}}/join-codes/{{code_id:uuid}}/revoke"): FACILITATE,
    ("GET", f"{_E}/join-codes/print"): FACILITATE,
    ("POST", f"{_E}/join-codes/print"): FACILITATE,
    ("GET", f"{_E}/schedule"): FACILITATE,
    ("POST", f"{_E}/schedule"): FACILITATE,
    ("POST", f"{_E}/schedule/rounds"): FACILITATE,
    ("POST", f"{_E}/schedule/cards/{{card_id:uuid}}/round"): FACILITATE,
}
