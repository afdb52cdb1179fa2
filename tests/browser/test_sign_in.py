"""Signing in through the real form, choosing a language, and what a wrong password shows."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CONSULTANT, Browsing, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_consultant_signs_in_through_the_form_and_lands_on_the_portfolio(browsing: Browsing) -> None:
    page = browsing.page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    browsing.check(page, "login")

    sign_in(page, CONSULTANT)

    expect(page).to_have_url(re.compile(r"/portfolio$"))
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    browsing.check(page, "portfolio")


def test_a_page_asked_for_before_signing_in_opens_after_it(browsing: Browsing) -> None:
    page = browsing.page()
    page.goto("/organisations")
    expect(page).to_have_url(re.compile(r"/login\?next="))

    page.get_by_label("Email").fill(CONSULTANT)
    page.get_by_label("Password").fill("balkort-demo")
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page).to_have_url(re.compile(r"/organisations$"))
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/organisations")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_pages_are_danish_until_english_is_chosen(browsing: Browsing) -> None:
    page = browsing.page(language=None)
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "da")
    browsing.check(page, "login-da")
    page.goto("/join")
    expect(page.locator("html")).to_have_attribute("lang", "da")
    browsing.check(page, "join-da")

    language = page.locator("form[action='/language']")
    language.locator("select").select_option("en")
    language.get_by_role("button").click()

    expect(page).to_have_url(re.compile(r"/join$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Join a theme day")
    expect(page.get_by_label("Join code")).to_be_visible()
    browsing.check(page, "join")
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_a_wrong_password_is_told_next_to_the_form(browsing: Browsing) -> None:
    page = browsing.page()
    sign_in(page, CONSULTANT, "not the password")

    expect(page).to_have_url(re.compile(r"/login$"))
    error = page.get_by_role("alert")
    expect(error).to_have_text("Wrong email or password.")
    form = page.locator("form[action='/login']")
    expect(form.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(CONSULTANT)
    expect(page.get_by_label("Password")).to_have_value("")
    browsing.check(page, "login-error")

    # The form still works after the error.
    page.get_by_label("Password").fill("balkort-demo")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/portfolio$"))


def test_a_wrong_join_code_is_told_at_the_field(browsing: Browsing) -> None:
    page = browsing.page(phone=True)
    page.goto("/join")
    page.get_by_label("Join code").fill("ABCD-EFGH")
    page.get_by_role("button", name="Join", exact=True).click()

    expect(page).to_have_url(re.compile(r"/join$"))
    field = page.get_by_label("Join code")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-code-error")).to_have_text(
        "That code is not valid. Check it, or ask your facilitator."
    )
    browsing.check(page, "join-error-phone")
