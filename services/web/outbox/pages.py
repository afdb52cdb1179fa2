"""`/admin/outbox`: the consultancy admin sees every message by state and organisation,
downloads what the embedded default wrote as .eml, and sends a failed message again (a
recorded action: who, on whose authority, when, under which request)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, get, post
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromQuery, QueryParameter
from litestar.response import File, Redirect, Template
from litestar.types import ControllerRouterHandler

from projections.outbox.intents import PLATFORM_ID
from projections.outbox.rows import Outgoing, SendAgain, State
from services.access import ADMINISTER, Policy
from services.auth.guards import platform_guard, principal_from
from services.bootstrap import Container
from services.mail.render import UnknownMessageKind, subject
from services.mail.transport import outbox_directory
from services.requests.provenance import correlation_id_of
from services.web.i18n import current_language
from services.web.i18n import gettext as _
from services.web.rendering import page

Req = Request[Any, Any, Any]
OUTBOX = "/admin/outbox"
SHOWN = 200
EML_NAME = re.compile(r"^[0-9a-f]{40}\.eml$")


def _container(request: Req) -> Container:
    container: Container = request.app.state.container
    return container


def _state_labels() -> dict[State, str]:
    return {
        State.WAITING: _("Waiting"),
        State.FAILING: _("Failing, will be tried again"),
        State.FAILED: _("Failed"),
        State.SENT: _("Sent"),
        State.VOID: _("Not sent"),
    }


def _subject(message: Outgoing) -> str:
    try:
        return subject(message.kind, current_language(), dict(message.intent.params))
    except (UnknownMessageKind, LookupError, ValueError, TypeError):
        return message.kind


@get(OUTBOX, guards=[platform_guard])
async def outbox_page(
    request: Req,
    shown_state: Annotated[str | None, QueryParameter(name="state")] = None,
    organisation: FromQuery[UUID | None] = None,
) -> Template:
    """Messages by state (waiting, failing, failed, sent), for one organisation or all."""
    container = _container(request)
    chosen = State(shown_state) if shown_state in {s.value for s in State} else None
    store = container.outbox.store
    messages = await anyio.to_thread.run_sync(lambda: store.messages(chosen, organisation, SHOWN))
    counts = await anyio.to_thread.run_sync(store.counts)
    names = {t.id: t.name for t in await container.offloop(container.control.tenants)}
    names[PLATFORM_ID] = _("The platform")
    totals: dict[UUID, dict[State, int]] = {}
    for (tenant_id, row_state), count in counts.items():
        totals.setdefault(tenant_id, {})[row_state] = count
    return page(
        "outbox/outbox.html",
        messages=[(m, _subject(m)) for m in messages],
        totals=sorted(totals.items(), key=lambda item: names.get(item[0], str(item[0])).casefold()),
        names=names,
        states=_state_labels(),
        chosen=chosen,
        organisation=organisation,
        files=not container.settings.smtp_url,
        shown=SHOWN,
    )


@get(f"{OUTBOX}/message.eml", guards=[platform_guard])
async def download_message(request: Req, name: FromQuery[str]) -> File:
    """A message as the embedded default wrote it (.eml), by its file name."""
    if not EML_NAME.match(name):
        raise ValidationException(
            extra=[{"key": "name", "message": "not a message's file name", "source": "query"}]
        )
    path = outbox_directory(_container(request).settings) / name
    if not await anyio.to_thread.run_sync(path.is_file):
        raise NotFoundException(_("No such message."))
    return File(path=path, filename=name, media_type="message/rfc822")


@post(f"{OUTBOX}/send-again", guards=[platform_guard], status_code=303)
async def send_again(request: Req) -> Redirect:
    """A failed message back to waiting, its attempts counted from zero; recorded with who asked."""
    form = await request.form()
    key = str(form.get("key", ""))
    principal = principal_from(request)
    action = SendAgain(
        key=key,
        actor_id=principal.user_id,
        actor_role=str(principal.platform_role.value if principal.platform_role else ""),
        at=datetime.now(UTC),
        correlation_id=correlation_id_of(request.scope),
    )
    container = _container(request)
    if not await anyio.to_thread.run_sync(container.outbox.store.send_again, action):
        raise ValidationException(
            extra=[{"key": "key", "message": "only a failed message can be sent again", "source": "body"}]
        )
    container.mail.wake()
    return Redirect(f"{OUTBOX}?state={State.WAITING.value}", status_code=303)


PAGES: list[ControllerRouterHandler] = [outbox_page, download_message, send_again]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", OUTBOX): ADMINISTER,
    ("GET", f"{OUTBOX}/message.eml"): ADMINISTER,
    ("POST", f"{OUTBOX}/send-again"): ADMINISTER,
}
