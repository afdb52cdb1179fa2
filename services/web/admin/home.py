"""The consultancy admin's home: where the platform is administered from.

Its sections are links to the pages of administration that exist in this build: a page is
linked when the pages' access table declares it (`services.access.policy_for`), so a section
added by another area of pages shows up here once its route is declared."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from services.access import ADMINISTER, Policy, policy_for
from services.auth.guards import platform_guard
from services.web.rendering import page

ADMIN = "/admin"
# The sections of administration, by path (their titles are the template's).
SECTIONS = (f"{ADMIN}/organisations", f"{ADMIN}/people", f"{ADMIN}/instruments")


def declared_sections() -> set[str]:
    """The sections whose page is declared (and so served)."""
    return {path for path in SECTIONS if policy_for("GET", path) is not None}


@get(ADMIN, guards=[platform_guard])
async def admin_home(request: Request[Any, Any, Any]) -> Template:
    """The administration home: client organisations, people and instruments."""
    return page("admin/home.html", sections=declared_sections())


PAGES: list[ControllerRouterHandler] = [admin_home]
POLICY: dict[tuple[str, str], Policy] = {("GET", ADMIN): ADMINISTER}
