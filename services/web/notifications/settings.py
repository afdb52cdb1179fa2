"""The organisation's choice of who receives which messages (`/t/{tenant}/notifications`),
for those who plan its engagements. Each change is an event in the organisation's store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from domain.errors import DomainError
from domain.notifications import NotificationSettings, Receivers, Topic
from services.access import PAGE_TENANT_PREFIX, PLAN, Policy
from services.requests.commands import container_of
from services.usecases.notifications import ChooseReceivers, notification_settings
from services.web.commands import submit
from services.web.forms import Form, FormData, FormInvalid, refusal
from services.web.i18n import gettext as _
from services.web.notifications.words import receivers_label, topic_label
from services.web.rendering import page

Req = Request[Any, Any, Any]
PATH = f"{PAGE_TENANT_PREFIX}/notifications"


def _choices(form: FormData) -> dict[Topic, Receivers]:
    """The receivers chosen per topic; every topic must be given one of the choices."""
    chosen: dict[Topic, Receivers] = {}
    errors: dict[str, str] = {}
    for topic in Topic:
        given = form.get(topic.value)
        try:
            chosen[topic] = Receivers(str(given))
        except ValueError:
            errors[topic.value] = _("Choose who receives these messages.")
    if errors:
        raise FormInvalid(errors)
    return chosen


class NotificationPages(Controller):
    path = PATH

    @get("/", opt=PLAN.opt())
    async def settings(
        self, request: Req, tenant_id: FromPath[UUID], saved: FromQuery[bool] = False
    ) -> Template:
        """Who receives which messages, as chosen, and the form to choose again."""
        return await _settings_page(request, tenant_id, saved=saved)

    @post("/", opt=PLAN.opt(), status_code=303)
    async def choose(self, request: Req, tenant_id: FromPath[UUID], data: Form) -> Response[Any]:
        form = FormData(data)
        try:
            choices = _choices(form)
            await submit(request, tenant_id, ChooseReceivers(tenant_id=tenant_id, choices=choices), form.key)
        except (FormInvalid, DomainError) as error:
            errors, status_code = refusal(error)
            return await _settings_page(
                request, tenant_id, errors=errors, form=dict(form.data), status_code=status_code
            )
        return Redirect(f"/t/{tenant_id}/notifications?saved=1", status_code=303)


async def _settings_page(
    request: Req,
    tenant_id: UUID,
    *,
    errors: Mapping[str, str] | None = None,
    form: Mapping[str, Any] | None = None,
    status_code: int = 200,
    saved: bool = False,
) -> Template:
    settings: NotificationSettings | None = await notification_settings(container_of(request), tenant_id)
    chosen = {
        t.value: (settings.receivers_of(t) if settings else Receivers.PLANNING_GROUP).value for t in Topic
    }
    turned_off = sorted(settings.turned_off.items()) if settings else []
    return page(
        "notifications/settings.html",
        status_code=status_code,
        tenant_id=tenant_id,
        topics=[(t.value, topic_label(t)) for t in Topic],
        options=[(r.value, receivers_label(r)) for r in Receivers],
        chosen={**chosen, **(form or {})},
        turned_off=[(address, [topic_label(t) for t in topics]) for address, topics in turned_off],
        errors=errors or {},
        saved=saved,
    )


PAGES: list[ControllerRouterHandler] = [NotificationPages]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", PATH): PLAN,
    ("POST", PATH): PLAN,
}
