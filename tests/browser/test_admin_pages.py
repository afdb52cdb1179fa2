"""The consultancy admin in Chromium, on the demo: from the portfolio to the administration,
a client organisation onboarded, its units added, renamed and merged, a new instrument made from
the built-in one, and the organisation erased after its slug is typed again. Every page on the
way is held to axe-core's rules, with no script error and no server error behind it."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ADMIN, Browsing, assert_accessible

pytestmark = [pytest.mark.browser]


def _checked(browsing: Browsing, page: Page) -> None:
    """The page as it stands: loaded, one main heading, nothing broken, accessible."""
    page.wait_for_load_state("load")
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    problems, browsing.problems[:] = list(browsing.problems), []
    assert not problems, f"{page.url}:\n" + "\n".join(problems)
    assert_accessible(page)


def test_the_admin_onboards_an_organisation_adds_its_units_and_a_new_instrument_version(
    browsing: Browsing,
) -> None:
    page = browsing.signed_in(ADMIN)
    page.get_by_role("link", name="Administration", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/admin$"))
    _checked(browsing, page)

    # A client organisation, onboarded.
    page.get_by_role("link", name="Organisations", exact=True).last.click()
    expect(page).to_have_url(re.compile(r"/admin/organisations$"))
    _checked(browsing, page)
    slug = f"nordby-{secrets.token_hex(3)}"
    page.get_by_label("Name", exact=False).first.fill("Nordby Kommune")
    page.get_by_label("Slug").fill(slug)
    page.get_by_role("button", name="Onboard organisation").click()
    expect(page).to_have_url(re.compile(r"/admin/organisations/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Nordby Kommune")
    _checked(browsing, page)
    organisation = page.url

    # Its units: three added, one renamed, two merged.
    page.get_by_role("link", name="Units over the years").click()
    expect(page).to_have_url(re.compile(r"/t/[0-9a-f-]{36}/units$"))
    _checked(browsing, page)
    for name in ("Visitationen", "Hjemmeplejen", "Akutteamet"):
        page.locator("#f-name").fill(name)
        page.get_by_role("button", name="Add unit").click()
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    page.get_by_role("link", name="Visitationen", exact=True).click()
    _checked(browsing, page)
    page.get_by_label("New name").fill("Visitation og Hjælpemidler")
    page.get_by_role("button", name="Rename", exact=True).click()
    expect(page.get_by_role("link", name="Visitation og Hjælpemidler", exact=True)).to_be_visible()
    page.get_by_label("Hjemmeplejen").check()
    page.get_by_label("Akutteamet").check()
    page.get_by_label("Name of the merged unit").fill("Pleje og Akut")
    page.get_by_role("button", name="Merge units").click()
    expect(page.get_by_role("link", name="Pleje og Akut", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"Merged .* into Pleje og Akut")).first).to_be_visible()
    _checked(browsing, page)

    # A new instrument from the built-in one, with a dimension of its own.
    page.goto("/admin/instruments")
    _checked(browsing, page)
    page.get_by_role("link", name=re.compile(r"^New version from this one")).first.click()
    expect(page).to_have_url(re.compile(r"/new-version\?from=1$"))
    _checked(browsing, page)
    name = f"Nordby ordlyd {slug}"
    page.get_by_label("Name of the new instrument").fill(name)
    page.locator("#f-dimension-7-key").fill("tillid")
    page.locator("#f-dimension-7-name_da").fill("Tillid")
    page.locator("#f-dimension-7-name_en").fill("Trust")
    page.locator("#f-dimension-7-question_da").fill("Hvor meget stoler I på hinanden?")
    page.locator("#f-dimension-7-question_en").fill("How much do you trust each other?")
    page.get_by_role("button", name="Publish the new version").click()
    expect(page).to_have_url(re.compile(r"/admin/instruments$"))
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    _checked(browsing, page)

    # And erased again, once its slug is typed.
    page.goto(f"{organisation}/erase")
    _checked(browsing, page)
    page.get_by_label(re.compile(r"^Type the slug")).fill(slug)
    page.get_by_role("button", name="Erase for good").click()
    expect(page.get_by_role("status")).to_contain_text("is erased")
    _checked(browsing, page)
