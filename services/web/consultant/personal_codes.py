"""Personal codes on the facilitator console: a code per person of a unit where participants
rate one by one, issued for as many people as the facilitator says (more when people come
later), shown on a sheet of slips to cut apart (again on request, the same codes, revoked slips
marked), and revoked by slip number or all at once.

The API does the same through the same use case (`services/http/personal_code_routes.py`).
What the console shows of them is a count: how many people, how many have rated, never who."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler
from markupsafe import Markup

from domain.errors import DomainError
from domain.personal_codes import MOST_PEOPLE_PER_BATCH
from projections.documents import EngagementOut, OrganisationOut
from projections.queries import names_at
from services.access import FACILITATE, PAGE_TENANT_PREFIX, Policy
from services.live import end_streams
from services.requests.provenance import build_provenance
from services.usecases.join_codes import qr_code_svg
from services.usecases.personal_codes import (
    IssuePersonalCodes,
    PersonalCodesIssued,
    PersonalSlip,
    issue_personal_codes,
    personal_code_sheet,
    revoke_personal_codes,
)
from services.web.consultant.console import (
    Req,
    app_container,
    console_page,
    console_url,
    read_engagement,
    valid_through,
)
from services.web.consultant.join_codes import LOCAL_HOSTS
from services.web.forms import Form, FormData, FormInvalid, refusal, values
from services.web.i18n import gettext as _
from services.web.rendering import page

_T = PAGE_TENANT_PREFIX
_E = f"{_T}/e/{{engagement_id:uuid}}"
_UNIT = f"{_E}/console/units/{{unit_id:uuid}}/personal-codes"


@dataclass(frozen=True)
class Slip:
    """One person's slip on the printed sheet."""

    unit: str
    issued: PersonalSlip
    join_page: str
    qr: Markup
    revoked = False

    @property
    def number(self) -> int:
        return self.issued.slip


@dataclass(frozen=True)
class RevokedSlip:
    """A slip revoked, on a sheet printed again: its number, marked, without its code."""

    unit: str
    number: int
    revoked = True


def _qr(url: str, unit: str) -> Markup:
    # segno escapes the title and draws the rest from the join link: markup of our own making.
    title = _("QR code to join as %(unit)s", unit=unit)
    return Markup(qr_code_svg(url, title=title, scale=5))  # noqa: S704


def _whole_number(form: FormData, field: str, most: int) -> int:
    raw = str(form.get(field) or "").strip()
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= most:
        raise FormInvalid({field: _("Give a number of people from 1 to %(most)s.", most=most)})
    return int(raw)


async def _console_refusing(
    request: Req,
    tenant_id: UUID,
    engagement_id: UUID,
    unit_id: UUID,
    form: FormData,
    error: FormInvalid | DomainError,
) -> Template:
    """The console again, saying why above the forms and at the unit's field it concerns."""
    errors, status_code = refusal(error)
    message = " ".join(errors.values())
    shown = {"": message, **{f"{field}-{unit_id}": text for field, text in errors.items() if field}}
    return await console_page(
        request, tenant_id, engagement_id, errors=shown, form=values(form), status_code=status_code
    )


class PersonalCodePages(Controller):
    path = _E

    @post("/console/units/{unit_id:uuid}/personal-codes", opt=FACILITATE.opt(), status_code=200)
    async def issue(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        unit_id: FromPath[UUID],
        data: Form,
    ) -> Response[Any]:
        """Personal codes for the number of people given, shown on a sheet of slips (the same
        sheet again when the form is sent twice)."""
        form = FormData(data)
        engagement, organisation = await read_engagement(request, tenant_id, engagement_id)
        container = app_container(request)
        try:
            people = _whole_number(form, "people", MOST_PEOPLE_PER_BATCH)
            provenance = build_provenance(
                request, request.user, tenant_id, "IssuePersonalCodes", command_key=form.key
            )
            command = IssuePersonalCodes(engagement_id=engagement_id, unit_id=unit_id, people=people)
            issued = await issue_personal_codes(
                container, tenant_id, command, provenance, str(request.base_url)
            )
        except (FormInvalid, DomainError) as error:
            return await _console_refusing(request, tenant_id, engagement_id, unit_id, form, error)
        return _sheet(request, engagement, organisation, tenant_id, unit_id, issued, frozenset(), again=False)

    @get("/console/units/{unit_id:uuid}/personal-codes/sheet", opt=FACILITATE.opt())
    async def sheet(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], unit_id: FromPath[UUID]
    ) -> Response[Any]:
        """The unit's sheet of slips printed again: the same codes, revoked slips marked."""
        engagement, organisation = await read_engagement(request, tenant_id, engagement_id)
        try:
            issued, revoked = await personal_code_sheet(
                app_container(request), tenant_id, engagement_id, unit_id, str(request.base_url)
            )
        except DomainError as error:
            return await _console_refusing(request, tenant_id, engagement_id, unit_id, FormData({}), error)
        return _sheet(request, engagement, organisation, tenant_id, unit_id, issued, revoked, again=True)

    @post("/console/units/{unit_id:uuid}/personal-codes/revoke-slip", opt=FACILITATE.opt(), status_code=303)
    async def revoke_slip(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        unit_id: FromPath[UUID],
        data: Form,
    ) -> Response[Any]:
        """Revoke the code of one slip, by the number printed on it (a lost slip)."""
        form = FormData(data)
        try:
            slip = _slip_number(form)
        except FormInvalid as error:
            return await _console_refusing(request, tenant_id, engagement_id, unit_id, form, error)
        return await self._revoke(request, tenant_id, engagement_id, unit_id, form, slip)

    @post("/console/units/{unit_id:uuid}/personal-codes/revoke", opt=FACILITATE.opt(), status_code=303)
    async def revoke_all(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        unit_id: FromPath[UUID],
        data: Form,
    ) -> Response[Any]:
        """Revoke every personal code of the unit still usable (a lost sheet)."""
        return await self._revoke(request, tenant_id, engagement_id, unit_id, FormData(data), None)

    @staticmethod
    async def _revoke(
        request: Req, tenant_id: UUID, engagement_id: UUID, unit_id: UUID, form: FormData, slip: int | None
    ) -> Response[Any]:
        container = app_container(request)
        provenance = build_provenance(
            request, request.user, tenant_id, "RevokePersonalCodes", command_key=form.key
        )
        try:
            _out, revoked = await revoke_personal_codes(
                container, tenant_id, engagement_id, unit_id, slip, provenance
            )
        except DomainError as error:
            return await _console_refusing(request, tenant_id, engagement_id, unit_id, form, error)
        for code_id in revoked:
            await end_streams(request.app, join_code_id=code_id)
        return Redirect(console_url(tenant_id, engagement_id, "personal-codes"), status_code=303)


def _sheet(
    request: Req,
    engagement: EngagementOut,
    organisation: OrganisationOut,
    tenant_id: UUID,
    unit_id: UUID,
    issued: PersonalCodesIssued,
    revoked: frozenset[int],
    *,
    again: bool,
) -> Template:
    name = names_at(organisation, None).get(unit_id, str(unit_id))
    shown: list[Slip | RevokedSlip] = [
        Slip(name, slip, slip.join_url.split("#", 1)[0], _qr(slip.join_url, name)) for slip in issued.slips
    ]
    shown += [RevokedSlip(name, number) for number in revoked]
    host = (request.url.hostname or "").lower()
    return page(
        "consultant/personal_code_sheet.html",
        engagement=engagement,
        tenant_id=tenant_id,
        unit=name,
        slips=sorted(shown, key=lambda slip: slip.number),
        people=issued.people,
        again=again,
        valid_through=valid_through(issued.expires_at),
        unreachable=app_container(request).settings.public_url is None and host in LOCAL_HOSTS,
    )


def _slip_number(form: FormData) -> int:
    raw = str(form.get("slip") or "").strip()
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise FormInvalid({"slip": _("Give the number printed on the slip.")})
    return int(raw)


PAGES: list[ControllerRouterHandler] = [PersonalCodePages]
POLICY: dict[tuple[str, str], Policy] = {
    ("POST", _UNIT): FACILITATE,
    ("GET", f"{_UNIT}/sheet"): FACILITATE,
    ("POST", f"{_UNIT}/revoke-slip"): FACILITATE,
    ("POST", f"{_UNIT}/revoke"): FACILITATE,
}
