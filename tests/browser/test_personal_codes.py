"""Personal codes in a real browser: the consultant prepares an engagement where each participant
rates on their own, prints a sheet of slips for a unit, two people join with their own slips on
their phones and rate, and the console counts "2 of 3 rated" without saying who. The console and
the sheet are held to axe-core, in English and in Danish."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import CONSULTANT, Browsing
from tests.browser.test_theme_day import Table, _advance, _map_relations, _rate_everything, _today

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UNITS = ("Visitationen", "Hjemmesygeplejen")


def _visitation(page: Page, table: str) -> Locator:
    """Visitationen's count in the console's `table` (personal codes, or progress)."""
    row = page.locator(f"{table} tr").filter(
        has=page.get_by_role("rowheader", name="Visitationen", exact=True)
    )
    return row.locator("[data-personal-codes], [data-people-rated]")


def test_a_unit_rates_one_by_one_with_a_slip_each_and_the_console_counts_them(browsing: Browsing) -> None:
    app = browsing.app
    console = browsing.signed_in(CONSULTANT)
    console.goto(f"/t/{app.tenant_id}/engagements/new")
    console.get_by_label("Title").fill("Each their own say")
    console.get_by_label(re.compile(r"^Theme day")).fill(_today())
    console.get_by_label("Focus").fill("Discharge from hospital to home")
    console.get_by_label("Target group").fill("Staff of two units")
    console.get_by_label("Shared work process").fill("From notice of discharge to home")
    for unit in UNITS:
        console.get_by_label(unit, exact=True).check()
    console.get_by_label("Planning group members").fill("Hanne Østergaard")
    console.locator("details.settings summary").click()
    console.get_by_label("How the units rate").select_option("individual")
    console.get_by_label("Fewest raters whose ratings are shown").fill("2")
    console.get_by_role("button", name="Create the engagement").click()
    expect(console).to_have_url(re.compile(r"/e/[0-9a-f-]{36}/console$"))
    base = console.url.split(app.base_url, 1)[1].removesuffix("/console")
    _advance(console, "Theme day open")

    expect(console.get_by_role("heading", name="Personal codes")).to_be_visible()
    browsing.check(console, "console-personal-codes")
    console.get_by_label("People in Visitationen").fill("3")
    console.get_by_label("People in Visitationen").press("Enter")
    expect(console.locator(".personal-slip")).to_have_count(3)
    expect(console.get_by_text("Visitationen now has codes for 3 people.")).to_be_visible()
    browsing.check(console, "personal-code-sheet")
    codes = [
        slip.locator(".join-code").inner_text().strip() for slip in console.locator(".personal-slip").all()
    ]
    assert len(set(codes)) == 3

    console.goto(f"{base}/console")
    _advance(console, "Mapping and rating")
    expect(_visitation(console, "#personal-codes")).to_have_text("0 of 3 rated")

    # Two people, each with their own slip on their own phone.
    for index, code in enumerate(codes[:2]):
        page = browsing.joined(code, phone=True)
        expect(page.get_by_role("heading", level=1)).to_have_text("Visitationen")
        table = Table("Visitationen", page, re.sub(r"/$", "", page.url.split(app.base_url, 1)[1]))
        if index == 0:
            _map_relations(table, ("Hjemmesygeplejen",))
        _rate_everything(table, 2 + index)

    console.goto(f"{base}/console")
    expect(_visitation(console, "#personal-codes")).to_have_text("2 of 3 rated")
    expect(_visitation(console, "#progress")).to_have_text("2 of 3 rated")
    assert all(code not in console.content() for code in codes)

    danish = browsing.signed_in(CONSULTANT)
    danish.context.add_cookies([{"name": "balkort_lang", "value": "da", "url": app.base_url}])
    danish.goto(f"{base}/console")
    expect(danish.get_by_role("heading", name="Personlige koder")).to_be_visible()
    expect(_visitation(danish, "#personal-codes")).to_have_text("2 af 3 har vurderet")
    browsing.check(danish, "console-personal-codes-da")
