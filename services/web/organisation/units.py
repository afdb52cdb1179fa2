"""A client organisation's units over the years, for the planning group and its consultants:
the units with their history (names over time, mergers, splits), and adding, renaming, merging,
splitting and retiring units on the day the change takes effect.

The same commands as the API's (`services/http/organisation_routes.py`), handed to the same
front door; the day a change takes effect is when it happened (the provenance's `occurred_at`,
as `X-Occurred-At` gives it on the API), so the relations' history across the years follows
each unit through its renames, mergers and splits. The day may lie in the past, not ahead."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from domain.errors import AlreadyExists, DomainError, NotFound
from domain.organisation import UnitStatus
from projections.documents import OrganisationOut, UnitOut
from projections.queries import names_at
from services.access import PAGE_TENANT_PREFIX, PLAN, Policy
from services.requests.commands import Req, run
from services.requests.provenance import PAST_HORIZON
from services.requests.reads import known_tenant, organisation_view
from services.usecases import organisation as units
from services.usecases.bus import Command
from services.web.forms import Form, FormData, domain_field, domain_message, values
from services.web.i18n import ZONE
from services.web.i18n import gettext as _
from services.web.rendering import page

_T = PAGE_TENANT_PREFIX
UNITS = f"{_T}/units"
ACTIVE = UnitStatus.ACTIVE.value
Errors = dict[str, str]
# The refusal of units created already under the ids a form's key derives: the form was sent again.
REPEATED_FORM = "unit_ids_taken"
# The merger's and the split's fields, by the names the command's refusals give them.
MERGE_FIELDS = {"name": "merge_name", "unit_ids": "merge_unit_ids", "takes_effect": "merge_takes_effect"}
RETIRE_FIELDS = {"takes_effect": "retire_takes_effect"}
SPLIT_FIELDS = {"name": "split_names", "names": "split_names", "takes_effect": "split_takes_effect"}


class Refused(Exception):
    """A form that makes no command: messages by field."""

    def __init__(self, errors: Errors) -> None:
        super().__init__(errors)
        self.errors = errors


def units_url(tenant_id: UUID) -> str:
    return f"/t/{tenant_id}/units"


def takes_effect(shown: dict[str, Any], field: str, today: date) -> datetime:
    """The start of the day the change takes effect (today when left blank), refused at
    `field` when it is not a date, lies ahead, or lies further back than anything recorded."""
    raw = str(shown.get(field, "")).strip()
    if not raw:
        day = today
    else:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise Refused({field: _("Please enter a date.")}) from None
    if day > today:
        raise Refused({field: _("A change takes effect today at the latest; record it on the day.")})
    if day < today - PAST_HORIZON + timedelta(days=1):
        raise Refused({field: _("This date lies further back than anything the product records.")})
    if day == today:
        return datetime.now(ZONE)
    return datetime.combine(day, time(), tzinfo=ZONE)


def _name(shown: dict[str, Any], field: str) -> str:
    name = " ".join(str(shown.get(field, "")).split())
    if not name:
        raise Refused({field: _("Please fill this in.")})
    if len(name) > 200:
        raise Refused({field: _("This is too long.")})
    return name


async def _organisation(request: Req, tenant_id: UUID) -> OrganisationOut | None:
    try:
        return await organisation_view(request, tenant_id)
    except NotFound:
        return None


def _unit(organisation: OrganisationOut | None, unit_id: UUID) -> UnitOut:
    for unit in organisation.units if organisation else []:
        if unit.unit_id == unit_id:
            return unit
    raise NotFound("unit_not_in_organisation", unit=str(unit_id), organisation="")


def _today() -> date:
    return datetime.now(ZONE).date()


async def _units_page(
    request: Req, tenant_id: UUID, form: dict[str, Any], errors: Errors, *, status_code: int = 200
) -> Template:
    container = await known_tenant(request, tenant_id)
    tenant = await container.offloop(container.control.tenant, tenant_id)
    organisation = await _organisation(request, tenant_id)
    listed = sorted(organisation.units if organisation else [], key=lambda u: (u.status != ACTIVE, u.name))
    return page(
        "organisation/units.html",
        status_code=status_code,
        tenant=tenant,
        organisation=organisation,
        units=listed,
        active=[u for u in listed if u.status == ACTIVE],
        names=names_at(organisation, None) if organisation else {},
        today=_today(),
        form=form,
        errors=errors,
    )


async def _unit_page(
    request: Req,
    tenant_id: UUID,
    unit_id: UUID,
    form: dict[str, Any],
    errors: Errors,
    *,
    status_code: int = 200,
) -> Template:
    container = await known_tenant(request, tenant_id)
    tenant = await container.offloop(container.control.tenant, tenant_id)
    organisation = await _organisation(request, tenant_id)
    return page(
        "organisation/unit.html",
        status_code=status_code,
        tenant=tenant,
        unit=_unit(organisation, unit_id),
        names=names_at(organisation, None) if organisation else {},
        today=_today(),
        form=form,
        errors=errors,
    )


async def _record(
    request: Req,
    tenant_id: UUID,
    command: Command[Any],
    key: str | None,
    happened: datetime,
    fields: Mapping[str, str] | None = None,
) -> Errors:
    """Runs the command; the refusal at its field (named as the form names it: `fields`), or
    no errors. The form's key names the units it creates, so the same form sent again is
    refused for those ids (`unit_ids_taken`): recorded already, which is no error; a name
    taken by another unit is."""
    try:
        await run(request, tenant_id, command, key[:64] if key else None, happened=happened)
    except AlreadyExists as error:
        if key and error.code == REPEATED_FORM:
            return {}
        return {(fields or {}).get(domain_field(error), domain_field(error)): domain_message(error)}
    except DomainError as error:
        field = domain_field(error)
        return {(fields or {}).get(field, field): domain_message(error)}
    return {}


class UnitPages(Controller):
    path = UNITS

    @get("/", opt=PLAN.opt())
    async def units(self, request: Req, tenant_id: FromPath[UUID]) -> Template:
        """The units with their history, and the forms to add a unit and to merge units."""
        return await _units_page(request, tenant_id, {}, {})

    @post("/", opt=PLAN.opt(), status_code=303)
    async def add(self, request: Req, tenant_id: FromPath[UUID], data: Form) -> Response[Any]:
        """Adds a unit from the day it takes effect."""
        form = FormData(data)
        shown = values(form)
        try:
            name, day = _name(shown, "name"), takes_effect(shown, "takes_effect", _today())
        except Refused as refused:
            return await _units_page(request, tenant_id, shown, refused.errors, status_code=400)
        command = units.AddUnit(tenant_id=tenant_id, name=name)
        errors = await _record(request, tenant_id, command, form.key, day)
        if errors:
            return await _units_page(request, tenant_id, shown, errors, status_code=409)
        return Redirect(units_url(tenant_id), status_code=303)

    @post("/mergers", opt=PLAN.opt(), status_code=303)
    async def merge(self, request: Req, tenant_id: FromPath[UUID], data: Form) -> Response[Any]:
        """Merges two or more units into a new one from the day it takes effect."""
        form = FormData(data)
        shown = values(form, lists=frozenset({"merge_unit_ids"}))
        try:
            chosen = _chosen_units(shown.get("merge_unit_ids", []))
            name = _name(shown, "merge_name")
            day = takes_effect(shown, "merge_takes_effect", _today())
        except Refused as refused:
            return await _units_page(request, tenant_id, shown, refused.errors, status_code=400)
        command = units.MergeUnits(tenant_id=tenant_id, unit_ids=chosen, name=name)
        errors = await _record(request, tenant_id, command, form.key, day, MERGE_FIELDS)
        if errors:
            return await _units_page(request, tenant_id, shown, errors, status_code=409)
        return Redirect(units_url(tenant_id), status_code=303)

    @get("/{unit_id:uuid}", opt=PLAN.opt())
    async def unit(self, request: Req, tenant_id: FromPath[UUID], unit_id: FromPath[UUID]) -> Template:
        """One unit's history, and the forms to rename or split it."""
        return await _unit_page(request, tenant_id, unit_id, {}, {})

    @post("/{unit_id:uuid}/rename", opt=PLAN.opt(), status_code=303)
    async def rename(
        self, request: Req, tenant_id: FromPath[UUID], unit_id: FromPath[UUID], data: Form
    ) -> Response[Any]:
        """Renames the unit from the day it takes effect; its earlier names stay in its history."""
        form = FormData(data)
        shown = values(form)
        try:
            name, day = _name(shown, "name"), takes_effect(shown, "takes_effect", _today())
        except Refused as refused:
            return await _unit_page(request, tenant_id, unit_id, shown, refused.errors, status_code=400)
        command = units.RenameUnit(tenant_id=tenant_id, unit_id=unit_id, name=name)
        errors = await _record(request, tenant_id, command, form.key, day)
        if errors:
            return await _unit_page(request, tenant_id, unit_id, shown, errors, status_code=409)
        return Redirect(units_url(tenant_id), status_code=303)

    @post("/{unit_id:uuid}/split", opt=PLAN.opt(), status_code=303)
    async def split(
        self, request: Req, tenant_id: FromPath[UUID], unit_id: FromPath[UUID], data: Form
    ) -> Response[Any]:
        """Splits the unit into two or more new units (one name a line) from the day it takes effect."""
        form = FormData(data)
        shown = values(form)
        try:
            names = tuple(
                " ".join(n.split()) for n in str(shown.get("split_names", "")).splitlines() if n.strip()
            )
            if len(names) < 2:
                raise Refused({"split_names": _("Give at least two names, one a line.")})
            if any(len(n) > 200 for n in names):
                raise Refused({"split_names": _("This is too long.")})
            day = takes_effect(shown, "split_takes_effect", _today())
        except Refused as refused:
            return await _unit_page(request, tenant_id, unit_id, shown, refused.errors, status_code=400)
        command = units.SplitUnit(tenant_id=tenant_id, unit_id=unit_id, names=names)
        errors = await _record(request, tenant_id, command, form.key, day, SPLIT_FIELDS)
        if errors:
            return await _unit_page(request, tenant_id, unit_id, shown, errors, status_code=409)
        return Redirect(units_url(tenant_id), status_code=303)

    @post("/{unit_id:uuid}/retire", opt=PLAN.opt(), status_code=303)
    async def retire(
        self, request: Req, tenant_id: FromPath[UUID], unit_id: FromPath[UUID], data: Form
    ) -> Response[Any]:
        """Retires a unit that no longer exists, from the day it takes effect; its history stays."""
        form = FormData(data)
        shown = values(form)
        try:
            day = takes_effect(shown, "retire_takes_effect", _today())
        except Refused as refused:
            return await _unit_page(request, tenant_id, unit_id, shown, refused.errors, status_code=400)
        command = units.RetireUnit(tenant_id=tenant_id, unit_id=unit_id)
        errors = await _record(request, tenant_id, command, form.key, day, RETIRE_FIELDS)
        if errors:
            return await _unit_page(request, tenant_id, unit_id, shown, errors, status_code=409)
        return Redirect(units_url(tenant_id), status_code=303)


def _chosen_units(raw: list[Any]) -> tuple[UUID, ...]:
    try:
        chosen = tuple(dict.fromkeys(UUID(str(u)) for u in raw))
    except ValueError:
        raise Refused({"merge_unit_ids": _("Please choose from the list.")}) from None
    if len(chosen) < 2:
        raise Refused({"merge_unit_ids": _("Choose at least two different units to merge.")})
    return chosen


PAGES: list[ControllerRouterHandler] = [UnitPages]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", UNITS): PLAN,
    ("POST", UNITS): PLAN,
    ("POST", f"{UNITS}/mergers"): PLAN,
    ("GET", f"{UNITS}/{{unit_id:uuid}}"): PLAN,
    ("POST", f"{UNITS}/{{unit_id:uuid}}/rename"): PLAN,
    ("POST", f"{UNITS}/{{unit_id:uuid}}/split"): PLAN,
    ("POST", f"{UNITS}/{{unit_id:uuid}}/retire"): PLAN,
}
