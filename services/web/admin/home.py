"""The consultancy admin's home: where the platform is administered from.

Its sections are plain links to the pages of administration: client organisations, people,
instruments and the outbox (their titles and descriptions are the template's)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from services.access import ADMINISTER, Policy
from services.auth.guards import platform_guard
from services.web.rendering import page

ADMIN = "/admin"


@get(ADMIN, guards=[platform_guard])
async def admin_home(request: Request[Any, Any, Any]) -> Template:
    """The administration home: client organisations, people, instruments and the outbox."""
    return page("admin/home.html")


PAGES: list[ControllerRouterHandler] = [admin_home]
POLICY: dict[tuple[str, str], Policy] = {("GET", ADMIN): ADMINISTER}
