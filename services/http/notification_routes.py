"""Who of an organisation receives which messages (docs/adr/0031), through the API: the same
use case as the page `/t/{tenant}/notifications`, for those who plan its engagements."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, put
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody
from litestar.types import ControllerRouterHandler

from domain.notifications import NotificationSettings, Receivers, Topic
from services.access import PLAN
from services.requests.commands import container_of, run
from services.requests.problems import COMMAND_ERRORS, QUERY_ERRORS
from services.usecases.notifications import ChooseReceivers, notification_settings

Req = Request[Any, Any, Any]
PATH = "/api/v1/tenants/{tenant_id:uuid}/notifications"


class NotificationsIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Who receives the messages of each topic: every topic named once."""

    receivers: dict[Topic, Receivers]


class NotificationsOut(msgspec.Struct, frozen=True, kw_only=True):
    """Who receives the messages of each topic, and the addresses that turned topics off by
    the link in a message."""

    receivers: dict[Topic, Receivers]
    turned_off: dict[str, list[Topic]]


def _out(settings: NotificationSettings | None) -> NotificationsOut:
    return NotificationsOut(
        receivers={t: settings.receivers_of(t) if settings else Receivers.PLANNING_GROUP for t in Topic},
        turned_off={a: list(topics) for a, topics in sorted(settings.turned_off.items())} if settings else {},
    )


class NotificationController(Controller):
    path = PATH
    tags = ["notifications"]

    @get("/", opt=PLAN.opt(), responses=QUERY_ERRORS)
    async def show(self, request: Req, tenant_id: FromPath[UUID]) -> NotificationsOut:
        """Who receives which messages, as chosen (the planning group where nothing was chosen)."""
        return _out(await notification_settings(container_of(request), tenant_id))

    @put("/", opt=PLAN.opt(), status_code=200, responses=COMMAND_ERRORS)
    async def choose(
        self, request: Req, tenant_id: FromPath[UUID], data: JSONBody[NotificationsIn]
    ) -> NotificationsOut:
        """Chooses who receives the messages of every topic; each choice that changes is an
        event, a choice already in force records nothing. Every topic must be named (400 names
        the one missing)."""
        missing = [t for t in Topic if t not in data.receivers]
        if missing:
            raise ValidationException(
                "Choose who receives the messages of every topic",
                extra=[
                    {"key": f"receivers.{t.value}", "source": "body", "message": "missing"} for t in missing
                ],
            )
        await run(request, tenant_id, ChooseReceivers(tenant_id=tenant_id, choices=dict(data.receivers)))
        return _out(await notification_settings(container_of(request), tenant_id))


NOTIFICATION_ROUTES: list[ControllerRouterHandler] = [NotificationController]
