"""axe-core over every page each demo role reaches, on the demo's three years of history.

Each page is opened in Chromium as the role that uses it (English; a few in Danish too),
screenshotted under test-artifacts/screenshots/a11y-<role>-<page>.png and held to axe-core's
rules: no serious or critical violation, no script error, no failed asset. A crawl per role
then follows every link the role is shown and fails on one that leads nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ADMIN, AUDITOR, CLIENT_ADMIN, CONSULTANT, Browsing, LiveApp, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EMAILS = {
    "consultant": CONSULTANT,
    "consultant-da": CONSULTANT,
    "admin": ADMIN,
    "client": CLIENT_ADMIN,
    "auditor": AUDITOR,
}
LANGUAGES = {"consultant-da": "da"}


@dataclass(frozen=True)
class Visit:
    role: str
    name: str
    path: str  # with {t}, {e2024}, {e2025}, {e2026}, {unit}, {counterpart}, {card}, {agreement}

    @property
    def id(self) -> str:
        return f"{self.role}-{self.name}"


_E = "/t/{t}/e/{e2026}"
_U = _E + "/u/{unit}"

VISITS = [
    # The consultant: portfolio, the organisation, the 2026 engagement's pages, the years.
    Visit("consultant", "portfolio", "/portfolio"),
    Visit("consultant", "organisations", "/organisations"),
    Visit("consultant", "tenant-home", "/t/{t}"),
    Visit("consultant", "new-engagement", "/t/{t}/engagements/new"),
    Visit("consultant", "console", _E + "/console"),
    Visit("consultant", "schedule", _E + "/schedule"),
    Visit("consultant", "board", _E + "/board"),
    Visit("consultant", "dashboard-2024", "/t/{t}/e/{e2024}/dashboard"),
    Visit("consultant", "dashboard-2025", "/t/{t}/e/{e2025}/dashboard"),
    Visit("consultant", "dashboard-2026", _E + "/dashboard"),
    Visit("consultant", "matrix-2024", "/t/{t}/e/{e2024}/matrix"),
    Visit("consultant", "matrix-2025", "/t/{t}/e/{e2025}/matrix"),
    Visit("consultant", "matrix-2026", _E + "/matrix"),
    Visit("consultant", "history", "/t/{t}/history"),
    Visit("consultant", "follow-up", _E + "/follow-up"),
    Visit("consultant", "report", _E + "/report"),
    # A unit table's pages, as its facilitator sees them after the day.
    Visit("consultant", "table-home", _U),
    Visit("consultant", "table-dimensions", _U + "/dimensions"),
    Visit("consultant", "table-relations", _U + "/relations"),
    Visit("consultant", "table-rate", _U + "/rate"),
    Visit("consultant", "table-rating", _U + "/rate/{counterpart}"),
    Visit("consultant", "table-cards", _U + "/cards"),
    Visit("consultant", "table-schedule", _U + "/schedule"),
    Visit("consultant", "table-dialogue", _U + "/dialogues/{card}"),
    Visit("consultant", "table-wrap-up", _U + "/wrap-up"),
    # Danish, the default language.
    Visit("consultant-da", "portfolio", "/portfolio"),
    Visit("consultant-da", "console", _E + "/console"),
    Visit("consultant-da", "dashboard-2026", _E + "/dashboard"),
    Visit("consultant-da", "history", "/t/{t}/history"),
    Visit("consultant-da", "table-rating", _U + "/rate/{counterpart}"),
    # The consultancy's admin.
    Visit("admin", "portfolio", "/portfolio"),
    Visit("admin", "organisations", "/organisations"),
    Visit("admin", "outbox", "/admin/outbox"),
    # The planning group (client admin): the organisation, the meeting, the follow-through.
    Visit("client", "tenant-home", "/t/{t}"),
    Visit("client", "follow-up", _E + "/follow-up"),
    Visit("client", "agreements", _E + "/agreements"),
    Visit("client", "check-ins", _E + "/agreements/{agreement}/check-ins"),
    Visit("client", "report", _E + "/report"),
    Visit("client", "dashboard-2025", "/t/{t}/e/{e2025}/dashboard"),
    Visit("client", "history", "/t/{t}/history"),
    Visit("client", "board", _E + "/board"),
    # The auditor.
    Visit("auditor", "audit-trail", "/t/{t}/audit"),
    Visit("auditor", "audit-decisions", "/t/{t}/audit/decisions"),
    Visit("auditor", "audit-verify", "/t/{t}/audit/verify"),
]


@pytest.fixture(scope="module")
def ids(live_app: LiveApp) -> dict[str, str]:
    """What the page addresses are made of: the demo's tenant, engagements, a unit table of
    2026 with the relation it rated, its accepted dance card, and an agreement."""
    tenant = live_app.tenant_id
    e2026 = live_app.engagements[2026]
    engagement = live_app.api(f"/api/v1/tenants/{tenant}/engagements/{e2026}")
    card = next(c for c in engagement["cards"] if c["status"] == "accepted" and c["round"])
    agreement = next(a for a in engagement["agreements"] if a["status"] in ("accepted", "in_force"))
    return {
        "t": str(tenant),
        **{f"e{year}": str(engagement_id) for year, engagement_id in live_app.engagements.items()},
        "unit": card["from_unit"],
        "counterpart": card["to_unit"],
        "card": card["card_id"],
        "agreement": agreement["agreement_id"],
    }


@dataclass
class Tour:
    """One signed-in browser per role, kept for the module: signing in once is enough."""

    browsing: Browsing
    pages: dict[str, Page] = field(default_factory=dict)

    def page_for(self, role: str) -> Page:
        if role not in self.pages:
            page = self.browsing.page()
            sign_in(page, EMAILS[role])
            expect(page).not_to_have_url(re.compile(r"/login"))
            if role in LANGUAGES:
                page.context.add_cookies(
                    [{"name": "balkort_lang", "value": LANGUAGES[role], "url": self.browsing.app.base_url}]
                )
            self.pages[role] = page
        self.browsing.problems.clear()
        return self.pages[role]


@pytest.fixture(scope="module")
def tour(live_app: LiveApp, browser: Browser) -> Iterator[Tour]:
    browsing = Browsing(live_app, browser)
    try:
        yield Tour(browsing)
    finally:
        browsing.close()


@pytest.mark.parametrize("visit", VISITS, ids=lambda v: v.id)
def test_the_page_passes_axe(visit: Visit, tour: Tour, ids: dict[str, str]) -> None:
    page = tour.page_for(visit.role)
    path = visit.path.format(**ids)
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, f"{path}: {response.status}"
    assert urlsplit(page.url).path == path, f"{path} led to {page.url}"
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    if visit.role in LANGUAGES:
        expect(page.locator("html")).to_have_attribute("lang", LANGUAGES[visit.role])
    tour.browsing.check(page, f"a11y-{visit.id}")


def test_the_lineage_of_a_decision_passes_axe(tour: Tour, ids: dict[str, str]) -> None:
    page = tour.page_for("auditor")
    page.goto(f"/t/{ids['t']}/audit/decisions")
    page.get_by_role("link", name=re.compile(r"^Lineage of the decision")).first.click()
    expect(page).to_have_url(re.compile(r"/audit/lineage/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lineage")
    expect(page.locator("#lineage-back")).to_contain_text("Rating")
    tour.browsing.check(page, "a11y-auditor-audit-lineage")


# -- Every link a role is shown leads somewhere -------------------------------------------------

# Links that act or leave rather than show a page.
_NOT_FOLLOWED = re.compile(r"^(mailto:|javascript:|tel:)|/logout$")
# Of many links of one shape (ids and queries aside), a few are enough.
_PER_SHAPE = 2
_MAX_FETCHES = 250
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.found.append(href)


def _links(html: str, base: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return [urljoin(base, href).split("#", 1)[0] for href in parser.found if not _NOT_FOLLOWED.search(href)]


def _shape(url: str) -> str:
    return _UUID.sub("{id}", urlsplit(url).path)


@pytest.mark.parametrize("role", ["consultant", "client", "auditor", "admin"])
def test_every_link_a_role_is_shown_leads_somewhere(role: str, tour: Tour) -> None:
    page = tour.page_for(role)
    origin = tour.browsing.app.base_url
    start = page.url
    queue, found_on = [start], {start: "(home)"}
    shapes: dict[str, int] = {}
    broken: list[str] = []
    fetched = 0
    while queue and fetched < _MAX_FETCHES:
        url = queue.pop(0)
        response = page.request.get(url, max_redirects=5)
        fetched += 1
        if response.status >= 400:
            broken.append(f"{response.status} {url}  (linked from {found_on[url]})")
            continue
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        for link in _links(response.text(), response.url):
            if not link.startswith(origin) or link in found_on:
                continue
            found_on[link] = url
            shape = _shape(link)
            shapes[shape] = shapes.get(shape, 0) + 1
            if shapes[shape] <= _PER_SHAPE:
                queue.append(link)
    assert not broken, f"links shown to the {role} that lead nowhere:\n" + "\n".join(broken)
    assert fetched > 1, f"the {role}'s home ({start}) links nowhere"
