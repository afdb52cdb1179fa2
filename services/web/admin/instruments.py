"""The rating instruments, for the consultancy admin: every instrument with its published
versions, and a new version made from an existing one.

A published version never changes: an engagement pins the version it was prepared with (a copy
of its wording is in the engagement's own record), so the pages offer "a new version from this
one" instead of an edit. The new version is published as the API publishes it
(`services/http/instrument_routes.py`): the next version of a loaded instrument, or, from the
built-in instrument (which never changes), version 1 of a new instrument under a name of its own."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from domain.default_instrument import DEFAULT_INSTRUMENT_ID
from domain.errors import DomainError
from domain.instrument import InstrumentVersion
from services.access import ADMINISTER, Policy
from services.auth.guards import platform_guard
from services.controlplane import PLATFORM_ID
from services.requests.commands import Req, container_of
from services.requests.provenance import build_provenance
from services.web.admin.instrument_form import VersionForm, VersionInvalid
from services.web.forms import Form, FormData, domain_message
from services.web.i18n import gettext as _
from services.web.rendering import page

INSTRUMENTS = "/admin/instruments"
NEW_VERSION = f"{INSTRUMENTS}/{{instrument_id:uuid}}/new-version"


def new_version_url(instrument_id: UUID, version: int) -> str:
    return f"{INSTRUMENTS}/{instrument_id}/new-version?from={version}"


def _version_number(raw: object) -> int | None:
    """A version's number as a query or a form gives it (ASCII digits), else None: the latest."""
    text = str(raw or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 7 else None


async def _source(request: Req, instrument_id: UUID, version: int | None) -> InstrumentVersion:
    container = container_of(request)
    return await container.offloop(container.control.instrument_version, instrument_id, version)


async def _form_page(
    request: Req,
    source: InstrumentVersion,
    form: VersionForm,
    name: str,
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> Template:
    return page(
        "admin/instrument_version.html",
        status_code=status_code,
        source=source,
        built_in=source.instrument_id == DEFAULT_INSTRUMENT_ID,
        form=form,
        new_name=name,
        errors=errors,
    )


class InstrumentPages(Controller):
    path = INSTRUMENTS
    guards = [platform_guard]  # noqa: RUF012 - Litestar reads the class attribute

    @get("/")
    async def instruments(self, request: Req) -> Template:
        """Every instrument with its published versions, oldest first."""
        container = container_of(request)
        listed = await container.offloop(container.control.instruments)
        versions = {
            i.id: await container.offloop(container.control.instrument_versions, i.id) for i in listed
        }
        return page("admin/instruments.html", instruments=listed, versions=versions)

    @get("/{instrument_id:uuid}/new-version")
    async def new_version(self, request: Req, instrument_id: FromPath[UUID]) -> Template:
        """The form of a new version, filled in with the version it starts from (the latest
        unless the query's `from` names one)."""
        source = await _source(request, instrument_id, _version_number(request.query_params.get("from")))
        return await _form_page(request, source, VersionForm.of(source), "", {})

    @post("/{instrument_id:uuid}/new-version", status_code=303)
    async def publish(self, request: Req, instrument_id: FromPath[UUID], data: Form) -> Response[Any]:
        """Publishes the new version (a new instrument's version 1, from the built-in one)."""
        posted = FormData(data)
        raw_from = str(posted.get("from") or "")
        source = await _source(
            request, instrument_id, int(raw_from) if raw_from.isascii() and raw_from.isdigit() else None
        )
        form = VersionForm.posted(posted.data)
        built_in = instrument_id == DEFAULT_INSTRUMENT_ID
        name = " ".join(str(posted.get("name") or "").split())
        try:
            low, high, dimensions, bands = form.content()
            if built_in and not name:
                raise VersionInvalid({"name": _("Give the new instrument a name of its own.")})
        except VersionInvalid as invalid:
            return await _form_page(
                request, source, form.with_blank_rows(), name, invalid.errors, status_code=400
            )
        container = container_of(request)
        control = container.control
        try:
            if built_in:
                provenance = build_provenance(request, request.user, PLATFORM_ID, "CreateInstrument")
                await container.offloop(
                    control.create_instrument, name, low, high, dimensions, bands, provenance
                )
            else:
                provenance = build_provenance(request, request.user, PLATFORM_ID, "PublishInstrumentVersion")
                await container.offloop(
                    control.publish_instrument_version,
                    instrument_id,
                    low,
                    high,
                    dimensions,
                    bands,
                    provenance,
                )
        except DomainError as error:
            field = "name" if error.code == "instrument_name_taken" else ""
            errors = {field: domain_message(error)}
            return await _form_page(request, source, form.with_blank_rows(), name, errors, status_code=409)
        return Redirect(INSTRUMENTS, status_code=303)


PAGES: list[ControllerRouterHandler] = [InstrumentPages]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", INSTRUMENTS): ADMINISTER,
    ("GET", NEW_VERSION): ADMINISTER,
    ("POST", NEW_VERSION): ADMINISTER,
}
