"""The account page in a real browser, on a phone: reached by one's name in the header, the
language of one's e-mails chosen and saved, the page held to axe before and after."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN, Browsing

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_signed_in_person_reaches_their_account_by_their_name_and_chooses_english_e_mails(
    browsing: Browsing,
) -> None:
    page = browsing.signed_in(ADMIN, phone=True)
    page.locator("#account-link").click()
    expect(page).to_have_url(re.compile(r"/account$"))
    browsing.check(page, "account")
    form = page.locator("#language-form")
    form.get_by_label("English").check()
    form.get_by_role("button", name="Save the choice").click()
    expect(page.get_by_role("status")).to_contain_text("Your choice was saved.")
    expect(form.get_by_label("English")).to_be_checked()
    browsing.check(page, "account-saved")
    # Back to Danish, as the demo's admin was.
    form.get_by_label("Danish").check()
    form.get_by_role("button", name="Save the choice").click()
    expect(form.get_by_label("Danish")).to_be_checked()
