"""The web router: every page, behind the same authentication and tenant guard as the API,
with the language chosen per request and CSRF checked on forms (errors are shown as pages by
the app's handlers: `services.web.errors.page_aware`).

Which access each page needs is declared beside its handlers (`POLICY` of each module of pages); gathered
here as `WEB_POLICY`, the pages' rows of the declared table (`services.access.DECLARED`)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.datastructures import CacheControlHeader
from litestar.plugins.htmx import HTMXRequest
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from services.access import ACCOUNT, DECLARED, PUBLIC, Policy
from services.web.account import pages as account_pages
from services.web.admin import home as admin_home
from services.web.admin import instruments as admin_instruments
from services.web.admin import lifecycle as organisation_lifecycle
from services.web.admin import organisations as admin_organisations
from services.web.audit import pages as audit_pages
from services.web.auth import pages as auth_pages
from services.web.board import pages as board_pages
from services.web.consultant import console, join_codes, personal_codes, portfolio, schedule
from services.web.dashboards import exports
from services.web.dashboards import pages as dashboards_pages
from services.web.follow_up import check_ins, meeting
from services.web.forms import form_csrf_guard
from services.web.i18n import LANGUAGE_COOKIE, set_language
from services.web.notifications import settings as notification_settings
from services.web.notifications import unsubscribe
from services.web.organisation import erasure, units
from services.web.organisation import instruments as pinned_instruments
from services.web.outbox import pages as outbox_pages
from services.web.participant import cards, dialogues, mapping, rating, table, wrap_up
from services.web.people import links as people_links
from services.web.people import members as people_members
from services.web.rendering import STATIC_DIR
from services.web.report import pages as report_pages

STATIC_PATH = "/static"
# Each module of pages, by the area of the product it serves (as the templates are laid out).
_AREAS = (
    portfolio,
    console,
    join_codes,
    personal_codes,
    schedule,
    table,
    mapping,
    rating,
    cards,
    dialogues,
    wrap_up,
    board_pages,
    dashboards_pages,
    meeting,
    check_ins,
    report_pages,
    exports,
    audit_pages,
    admin_home,
    admin_organisations,
    organisation_lifecycle,
    units,
    admin_instruments,
    pinned_instruments,
    erasure,
    notification_settings,
    unsubscribe,
    people_members,
    people_links,
    outbox_pages,
    account_pages,
)


async def _speak_the_users_language(request: Request[Any, Any, Any]) -> None:
    set_language(request.cookies.get(LANGUAGE_COOKIE, ""))


def web_routers() -> list[ControllerRouterHandler]:
    pages: list[ControllerRouterHandler] = [*auth_pages.AUTH_PAGES]
    for area in _AREAS:
        pages.extend(area.PAGES)
    return [
        Router(
            path="/",
            route_handlers=pages,
            guards=[form_csrf_guard],
            before_request=_speak_the_users_language,
            request_class=HTMXRequest,
            include_in_schema=False,
        ),
        create_static_files_router(
            STATIC_PATH,
            directories=[STATIC_DIR],
            opt={"exclude_from_auth": True},
            cache_control=CacheControlHeader(max_age=3600, public=True),
            include_in_schema=False,
        ),
    ]


WEB_POLICY: dict[tuple[str, str], Policy] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/join"): PUBLIC,
    ("POST", "/join"): PUBLIC,
    ("POST", "/language"): PUBLIC,
    ("POST", "/logout"): ACCOUNT,
    ("GET", "/organisations"): ACCOUNT,
    ("GET", f"{STATIC_PATH}/{{file_path:path}}"): PUBLIC,
    ("HEAD", f"{STATIC_PATH}/{{file_path:path}}"): PUBLIC,
}
for _area in _AREAS:
    WEB_POLICY.update(_area.POLICY)
DECLARED.declare("pages", WEB_POLICY)
