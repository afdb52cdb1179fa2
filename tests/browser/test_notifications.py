"""Who receives which messages, chosen by the planning group on a phone, and a recipient
turning a kind of message off by the link in it without signing in: in Chromium, held to
axe-core's rules, screenshotted under test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from domain.notifications import Topic
from services.mail.unsubscribe import Unsubscribe, key_for, unsubscribe_path
from services.settings import Settings
from tests.browser.conftest import CLIENT_ADMIN, Browsing, sign_in

pytestmark = [pytest.mark.browser]


def test_the_planning_group_chooses_who_receives_check_in_reminders_on_a_phone(browsing: Browsing) -> None:
    page = browsing.page(phone=True)
    sign_in(page, CLIENT_ADMIN)
    # Signed in through the English form; the rest in Danish, the default.
    page.context.add_cookies([{"name": "balkort_lang", "value": "da", "url": browsing.app.base_url}])
    page.goto(f"/t/{browsing.app.tenant_id}")
    link = page.get_by_role("link", name="Beskeder og påmindelser")
    expect(link).to_have_attribute("href", f"/t/{browsing.app.tenant_id}/notifications")
    page.goto(f"/t/{browsing.app.tenant_id}/notifications")
    expect(page.get_by_role("heading", name="Beskeder og påmindelser", level=1)).to_be_visible()
    browsing.check(page, "notifications-settings-da-phone")
    page.get_by_role(
        "group", name="Opfølgning på aftaler, når den forfalder (6, 12 og 24 måneder)"
    ).get_by_label("Begge").check()
    page.get_by_role("button", name="Gem valgene").click()
    expect(page.get_by_role("status")).to_have_text("Dine valg er gemt.")
    expect(
        page.get_by_role(
            "group", name="Opfølgning på aftaler, når den forfalder (6, 12 og 24 måneder)"
        ).get_by_label("Begge")
    ).to_be_checked()
    browsing.check(page, "notifications-saved-da-phone")


def test_a_recipient_turns_the_weekly_digest_off_by_its_link_without_signing_in(browsing: Browsing) -> None:
    settings = Settings(data_dir=browsing.app.log_path.parent / "var")
    link = unsubscribe_path(
        key_for(settings), Unsubscribe(browsing.app.tenant_id, Topic.DIGEST, CLIENT_ADMIN)
    )
    page = browsing.page(language=None, phone=True)
    page.goto(link)
    expect(page.get_by_text("vil ikke længere modtage beskeder af denne slags")).to_be_visible()
    browsing.check(page, "unsubscribe-da-phone")
    page.get_by_role("button", name="Slå disse beskeder fra").click()
    expect(page.get_by_role("status")).to_contain_text("Udført")
    browsing.check(page, "unsubscribed-da-phone")
